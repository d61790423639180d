package admission_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
)

// TestAJustWrittenTypeIsJudgedAtOnce: the webhook judges from an inventory its
// informers feed, and a type created or synced a moment ago may not have reached it.
// A write refused for that reason is judged again against the API server's type, so
// an Extension written right after its type (the plugin's `type add` then `create`)
// is allowed on the first try, never after a retry.
func TestAJustWrittenTypeIsJudgedAtOnce(t *testing.T) {
	requireEnv(t)
	ctx := testCtx(t)
	for i := range 5 {
		t.Run(fmt.Sprintf("round %d", i), func(t *testing.T) {
			et := v1alpha1test.Type(uniq("fresh.app"), multipleInstances)
			if err := env.Client.Create(ctx, et); err != nil {
				t.Fatal(err)
			}
			et.Status.Versions = catalog
			if err := env.Client.Status().Update(ctx, et); err != nil {
				t.Fatal(err)
			}
			if err := env.Client.Create(ctx, extension(et.Name, pinned("1.4.0"))); err != nil {
				t.Fatalf("an extension of a type created a moment ago was refused: %v", err)
			}
			// A version the catalog gained a moment ago.
			et.Status.Versions = append(slices.Clone(catalog), v1alpha1.TypeVersion{Version: "1.4.9"})
			if err := env.Client.Status().Update(ctx, et); err != nil {
				t.Fatal(err)
			}
			if err := env.Client.Create(ctx, extension(et.Name, pinned("1.4.9"))); err != nil {
				t.Fatalf("a version synced a moment ago was refused: %v", err)
			}
		})
	}
}
