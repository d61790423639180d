package admission_test

import (
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// TestDeleteWithManagerFinalizerNeedsInstallIdentity (review of issue 12): once the
// extension manager has put kubeext.dev/uninstall on an Extension, deleting it makes
// the manager uninstall the release as the extension's install identity (Finalize ->
// Delete -> helmFor, impersonating e.g. kubeext-installer, which the manager may do by
// name). Deleting is then an action as that identity, so it needs the same check as a
// write (EXT-IDENTITY-001): a user who may delete Extensions but may not impersonate
// kubeext-installer must not be able to make the manager uninstall cert-manager (and
// the CRDs its chart templates) for them. Today the webhook reviews only CREATE and
// UPDATE (Reviewed, validator.go), so the delete goes through.
func TestDeleteWithManagerFinalizerNeedsInstallIdentity(t *testing.T) {
	kc := pluginUser(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	user, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	withInstaller := newType(t, multipleInstances, func(et *v1alpha1.ExtensionType) {
		et.Spec.Install.ServiceAccount = &v1alpha1.ServiceAccountReference{Namespace: "kubeext-system", Name: "kubeext-installer"}
	})
	managed := func(e *v1alpha1.Extension) { e.Finalizers = []string{v1alpha1.FinalizerUninstall} }

	tests := []struct {
		name string
		ext  *v1alpha1.Extension
		deny bool
	}{
		{name: "deleting one that installs as kubeext-installer, which the user may not impersonate, is refused",
			ext: extension(withInstaller, pinned("1.4.0"), managed), deny: true},
		{name: "deleting one that installs as installer, which the user may impersonate, passes",
			ext: extension(withInstaller, pinned("1.4.0"), installAs, managed)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A cluster admin declares it; the manager's finalizer is on it.
			if err := env.Client.Create(ctx, tt.ext); err != nil {
				t.Fatal(err)
			}
			installedAt(t, tt.ext, "1.4.0", "1.36")
			t.Cleanup(func() {
				// No manager runs here: drop the finalizer so the record goes.
				_ = env.Client.Patch(ctx, &v1alpha1.Extension{ObjectMeta: tt.ext.ObjectMeta},
					client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`)))
			})
			err := user.Delete(ctx, &v1alpha1.Extension{ObjectMeta: tt.ext.ObjectMeta})
			if !tt.deny {
				if err != nil {
					t.Fatalf("delete: %v", err)
				}
				return
			}
			if err == nil {
				got := &v1alpha1.Extension{}
				if gerr := env.Client.Get(ctx, client.ObjectKeyFromObject(tt.ext), got); gerr == nil && got.DeletionTimestamp != nil {
					t.Fatalf("the delete was allowed: extension %s is being deleted, and the manager would now uninstall its release as "+
						"kubeext-system/kubeext-installer for a user who may not impersonate it", tt.ext.Name)
				}
				t.Fatal("the delete was allowed")
			}
			if apierrors.IsNotFound(err) {
				t.Fatalf("want a refusal, got: %v", err)
			}
		})
	}
}
