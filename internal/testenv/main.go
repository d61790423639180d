package testenv

import (
	"flag"
	"fmt"
	"os"
	"testing"
)

// Main starts one control plane for a test package, runs its tests, and stops it:
//
//	var env *testenv.Env
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env, testenv.Options{})) }
//
// A control plane that cannot start fails the package with the reason; it never skips.
func Main(m *testing.M, env **Env, opts Options) int {
	e, err := Start(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		return 1
	}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: stopping the control plane: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// FuzzWorker reports whether this test binary runs as a worker of `go test -fuzz`.
// Workers execute only the fuzz target, so a package's TestMain can skip starting a
// control plane for them. Call it after flag.Parse (testing.M.Run parses flags).
func FuzzWorker() bool {
	f := flag.Lookup("test.fuzzworker")
	return f != nil && f.Value.String() == "true"
}
