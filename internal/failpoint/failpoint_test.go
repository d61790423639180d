package failpoint_test

import (
	"context"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/failpoint"
)

// TestProductionBuildIgnoresTheEnvironment: without the failpoints tag, a failpoint
// named in the environment neither stops nor prints, whatever the context.
func TestProductionBuildIgnoresTheEnvironment(t *testing.T) {
	if failpoint.Enabled {
		t.Skip("this build has the failpoints tag; TestHit covers it")
	}
	t.Setenv(failpoint.Env, "create/"+failpoint.DuringHelm)
	failpoint.SetProcessContext(context.Background())
	// A context never done: a Hit that stopped would hang the test.
	if failpoint.Hit(context.Background(), failpoint.DuringHelm) || failpoint.HitProcess(failpoint.DuringHelm) {
		t.Fatal("a production build stopped at a failpoint")
	}
}
