package cli_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// The package's one control plane and its kubectl-ext binary, each made by the first
// test that needs it, so the pure tests (goldens, argument parsing, validation) run
// without either and `go test -short` needs neither.
var (
	shared = &testenv.Shared{}
	bins   = &testenv.Binaries{Names: []string{"kubectl-ext"}}
	env    *testenv.Env
	// binDir holds the kubectl-ext binary built for this package's tests; it goes first
	// on PATH so the real kubectl discovers the plugin.
	binDir string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	// Charts the plugin downloads are cached under a scratch directory: XDG_CACHE_HOME
	// moves there. The control plane's assets stay where they were built, so their cache
	// root is pinned first.
	if os.Getenv(testenv.CacheDirEnv) == "" {
		if root, err := testenv.CacheRoot(); err == nil {
			os.Setenv(testenv.CacheDirEnv, root)
		}
	}
	cache, err := os.MkdirTemp("", "kubeext-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(cache)
	os.Setenv("XDG_CACHE_HOME", cache)
	return testenv.Run(m, shared, bins)
}

// requireEnv is the first line of every test that talks to a cluster or runs the real
// kubectl: it starts the control plane and builds the plugin on first use, and skips
// the test under -short (`make test-unit`).
func requireEnv(t *testing.T) {
	t.Helper()
	env = shared.Env(t)
	binDir = bins.Dir(t)
}
