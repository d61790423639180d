package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// TestGarbageCollectorOffDuringInit: the built plugin initialises initgc before the
// packages whose init functions allocate the most, and collects no garbage until
// every package is initialised (see package initgc).
func TestGarbageCollectorOffDuringInit(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: this test builds the plugin binary and runs it (seconds on a warm build cache, minutes on a cold one); `make test` runs it")
	}
	dir := t.TempDir()
	if err := testenv.BuildCommands(dir, "kubectl-ext"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(dir, "kubectl-ext"), "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1,gctrace=1", "GOGC=100")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl-ext version: %v\n%s", err, stderr.String())
	}

	// "init PACKAGE @0.5 ms, ..." per package with init work, in order; "gc N @..." per
	// collection.
	var inits []string
	lastInit, firstGC := -1, -1
	for i, line := range strings.Split(stderr.String(), "\n") {
		switch f := strings.Fields(line); {
		case len(f) > 1 && f[0] == "init":
			inits, lastInit = append(inits, f[1]), i
		case len(f) > 1 && f[0] == "gc" && firstGC < 0:
			firstGC = i
		}
	}
	first := slices.Index(inits, "github.com/kubeext/kubectl-ext/cmd/kubectl-ext/internal/initgc")
	if first < 0 {
		t.Fatalf("initgc was not initialised:\n%s", stderr.String())
	}
	for _, heavy := range []string{
		"github.com/santhosh-tekuri/jsonschema/v6",
		"k8s.io/client-go/kubernetes/scheme",
		"k8s.io/kubectl/pkg/scheme",
		"sigs.k8s.io/controller-runtime/pkg/client/apiutil",
		"github.com/open-policy-agent/opa/v1/ast",
	} {
		if i := slices.Index(inits, heavy); i >= 0 && i < first {
			t.Errorf("%s is initialised before initgc", heavy)
		}
	}
	if firstGC >= 0 && firstGC < lastInit {
		t.Errorf("a collection ran during init:\n%s", stderr.String())
	}
}

// BenchmarkStartup is a whole run of `kubectl-ext version` as a process: the runtime's
// start, every package's init, the command tree and the command.
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	if err := testenv.BuildCommands(dir, "kubectl-ext"); err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(dir, "kubectl-ext")
	for b.Loop() {
		if out, err := exec.Command(bin, "version").CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
	}
}
