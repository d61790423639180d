package cli_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/testenv"
)

var (
	env *testenv.Env
	// binDir holds the kubectl-ext binary built for this package's tests; it goes first
	// on PATH so the real kubectl discovers the plugin.
	binDir string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kubeext-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := testenv.BuildCommands(dir, "kubectl-ext"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binDir = dir
	// Charts the plugin downloads are cached under a scratch directory.
	cache, err := os.MkdirTemp("", "kubeext-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(cache)
	if _, err := testenv.AssetsDir(); err != nil { // resolve before XDG_CACHE_HOME moves
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	assets, _ := testenv.AssetsDir()
	os.Setenv(testenv.AssetsEnv, assets)
	os.Setenv("XDG_CACHE_HOME", cache)
	return testenv.Main(m, &env, testenv.Options{})
}
