package lifecycle_test

import (
	"context"
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// TestKstatus: what kstatus, the library Flux's health checks use, computes from the
// status the lifecycle writes: Current once an operation succeeded, Failed once one
// failed, InProgress while one is under way (seen from inside the Helm step).
func TestKstatus(t *testing.T) {
	install := func(ctx context.Context, m *lifecycle.Manager) {
		_, _ = m.Create(ctx, lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName})
	}
	// An upgrade changes no generation: only the Reconciling condition tells kstatus.
	upgrade := func(ctx context.Context, m *lifecycle.Manager) {
		_, _ = m.Update(ctx, lifecycle.UpdateRequest{Name: "podinfo", TargetVersion: "1.4.1"})
	}
	for _, tc := range []struct {
		name  string
		setup helmSetup
		objs  []client.Object
		run   func(context.Context, *lifecycle.Manager)
		want  status.Status
	}{
		{name: "an install that succeeded is Current", run: install, want: status.CurrentStatus},
		{name: "an install that failed is Failed", setup: helmSetup{installErr: errors.New("template: boom")}, run: install, want: status.FailedStatus},
		{name: "an upgrade that succeeded is Current", setup: helmSetup{deployed: true},
			objs: []client.Object{installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)}, run: upgrade, want: status.CurrentStatus},
		{name: "an upgrade that failed is Failed", setup: helmSetup{deployed: true, upgradeErr: errors.New("timed out"), rolledBack: true},
			objs: []client.Object{installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)}, run: upgrade, want: status.FailedStatus},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.setup, append([]client.Object{podinfoType(false)}, tc.objs...)...)
			var during status.Status
			h.helm.during = func() { during = kstatusOf(t, h.c, "podinfo") }
			tc.run(context.Background(), h.m)
			if during != status.InProgressStatus {
				t.Errorf("during the Helm step kstatus = %s, want InProgress", during)
			}
			if got := kstatusOf(t, h.c, "podinfo"); got != tc.want {
				t.Errorf("afterwards kstatus = %s, want %s", got, tc.want)
			}
		})
	}
}

func kstatusOf(t *testing.T, c client.Client, name string) status.Status {
	t.Helper()
	e := &v1alpha1.Extension{}
	if err := c.Get(context.Background(), client.ObjectKey{Name: name}, e); err != nil {
		t.Fatal(err)
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(e)
	if err != nil {
		t.Fatal(err)
	}
	res, err := status.Compute(&unstructured.Unstructured{Object: obj})
	if err != nil {
		t.Fatal(err)
	}
	return res.Status
}
