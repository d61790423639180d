package cli_test

import (
	"bytes"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubeext/kubectl-ext/internal/cli"
)

// BenchmarkRootCommand is the plugin's own share of a start of `kubectl ext version`
// after the packages' init: building the command tree with every flag, and running
// the command. Every command of the plugin pays it.
func BenchmarkRootCommand(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var out, errOut bytes.Buffer
		streams := genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut}
		if code := cli.Execute(cli.NewRootCommand(streams), streams, []string{"version"}); code != 0 {
			b.Fatalf("exit %d: %s", code, errOut.String())
		}
	}
}
