package cli_test

import (
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// TestActionableErrors: an unreachable cluster, RBAC and missing CRDs each get a
// message that says what to do. It runs last in the package: it removes the CRDs for
// a moment.
func TestActionableErrors(t *testing.T) {
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
		crds, err := testenv.CRDs()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range crds {
			if err := env.Client.Delete(testCtx(t), c.DeepCopy()); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			for _, c := range crds {
				c := c.DeepCopy()
				waitFor(t, "the CRD "+c.Name+" is recreated", func() bool {
					err := env.Client.Create(testCtx(t), c)
					return err == nil || apierrors.IsAlreadyExists(err)
				})
				waitFor(t, "the CRD "+c.Name+" is established", func() bool {
					got := &apiextensionsv1.CustomResourceDefinition{}
					if env.Client.Get(testCtx(t), nameKey(c.Name), got) != nil {
						return false
					}
					for _, cond := range got.Status.Conditions {
						if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
							return true
						}
					}
					return false
				})
			}
		})
		var res testenv.Result
		waitFor(t, "the plugin notices the CRDs are gone", func() bool {
			res = kext(t, "list")
			return res.ExitCode == 1 && strings.Contains(res.Stderr, "CRDs are not installed")
		})
		if !strings.Contains(res.Stderr, "kubectl ext init") {
			t.Errorf("the message does not say how to install them: %s", res.Stderr)
		}
	})
}
