package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
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

// benchCommand runs `kubectl ext ARGS` in-process against the package's control plane
// holding 25 extensions, each time with a new command tree, as each run of the plugin
// makes its clients anew: what one command costs after the packages' init.
func benchCommand(b *testing.B, args ...string) {
	env = shared.Env(b)
	ctx := context.Background()
	prefix := "bench-" + rand.String(5)
	et := v1alpha1test.Type(prefix+".podinfo", v1alpha1test.MultipleInstances,
		v1alpha1test.Chart(v1alpha1.ChartSource{Repository: "https://charts.example.com", Name: "podinfo"}))
	if err := env.Client.Create(ctx, et); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = env.Client.Delete(ctx, et) })
	for i := range 25 {
		e := v1alpha1test.Extension(fmt.Sprintf("%s-%d", prefix, i), et.Name, v1alpha1test.ReleaseNamespace("podinfo"))
		if err := env.Client.Create(ctx, e); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = env.Client.Delete(ctx, e) })
	}
	args = append(slices.Clone(args), "--kubeconfig", env.Kubeconfig, "--cache-dir", b.TempDir())
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "PREFIX", prefix)
	}
	b.ReportAllocs()
	for b.Loop() {
		var out, errOut bytes.Buffer
		streams := genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut}
		if code := cli.Execute(cli.NewRootCommand(streams), streams, args); code != 0 {
			b.Fatalf("exit %d: %s", code, errOut.String())
		}
	}
}

func BenchmarkList(b *testing.B) { benchCommand(b, "list") }

func BenchmarkShow(b *testing.B) { benchCommand(b, "show", "PREFIX-1") }
