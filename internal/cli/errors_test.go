package cli_test

import (
	"strings"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// TestActionableErrors: an unreachable cluster, RBAC and missing CRDs each get a
// message that says what to do. The cluster without CRDs is a control plane of its
// own, started without them, so this test changes nothing the package's other tests
// share and may run in any order.
func TestActionableErrors(t *testing.T) {
	requireEnv(t)
	t.Run("an unreachable cluster says how to point at another", func(t *testing.T) {
		res := kext(t, "list", "--server", "https://127.0.0.1:1", "--insecure-skip-tls-verify")
		if res.ExitCode != 1 || !strings.Contains(res.Stderr, "cannot reach the cluster") {
			t.Fatalf("exit %d: %s", res.ExitCode, res.Stderr)
		}
	})
	t.Run("RBAC forbidden names the verb and the resource", func(t *testing.T) {
		res := kext(t, "list", "--as", "someone-without-rights")
		if res.ExitCode != 1 || !strings.Contains(res.Stderr, "forbidden: you may not list extensions.kubeext.dev") {
			t.Fatalf("exit %d: %s", res.ExitCode, res.Stderr)
		}
	})
	t.Run("missing CRDs say how to install them", func(t *testing.T) {
		bare, err := testenv.Start(testenv.Options{WithoutCRDs: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := bare.Stop(); err != nil {
				t.Error(err)
			}
		})
		// The plugin maps its kinds without discovery, so it hears of the missing CRDs
		// as a NotFound; show must not take it for a missing extension.
		for _, args := range [][]string{{"ext", "list"}, {"ext", "show", "some-extension"}} {
			res, err := bare.Kubectl(testCtx(t), binDir, args...)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != 1 || !strings.Contains(res.Stderr, "CRDs are not installed") {
				t.Fatalf("%v: exit %d: %s", args, res.ExitCode, res.Stderr)
			}
			if !strings.Contains(res.Stderr, "kubectl ext init") {
				t.Errorf("%v: the message does not say how to install them: %s", args, res.Stderr)
			}
		}
	})
}
