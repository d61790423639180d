package admission_test

import (
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// TestManifestsApplyOnServer: the shipped kustomizations (CRDs and webhook; the
// extension manager; the overlay of all three) pass the API server's own validation (server-side dry
// run) with the real kubectl.
func TestManifestsApplyOnServer(t *testing.T) {
	requireEnv(t)
	ctx := testCtx(t)
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	// A dry run creates nothing, so objects in a new namespace need the namespace first.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kubeext-system"}}
	if err := env.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	res, err := env.Kubectl(ctx, "", "apply", "--dry-run=server", "-k", filepath.Join(root, "manifests"))
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("kubectl apply --dry-run=server -k manifests/ failed (exit %d):\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	for _, want := range []string{
		"customresourcedefinition.apiextensions.k8s.io/extensions.kubeext.dev",
		"deployment.apps/kubeext-webhook",
		"poddisruptionbudget.policy/kubeext-webhook",
		"validatingwebhookconfiguration.admissionregistration.k8s.io/kubeext-webhook",
		"configmap/kubeext-policy",
		"clusterrole.rbac.authorization.k8s.io/kubeext-webhook",
	} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("the dry run did not cover %s:\n%s", want, res.Stdout)
		}
	}

	res, err = env.Kubectl(ctx, "", "apply", "--dry-run=server", "-k", filepath.Join(root, "manifests", "extension-manager"))
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("kubectl apply --dry-run=server -k manifests/extension-manager/: %v (exit %d)\n%s\n%s", err, res.ExitCode, res.Stdout, res.Stderr)
	}
	if !strings.Contains(res.Stdout, "deployment.apps/kubeext-extension-manager created (server dry run)") {
		t.Errorf("the dry run did not cover the manager's Deployment:\n%s", res.Stdout)
	}
	// The overlay of all three (CRDs, webhook, manager) builds and passes too.
	res, err = env.Kubectl(ctx, "", "apply", "--dry-run=server", "-k", filepath.Join(root, "manifests", "with-manager"))
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("kubectl apply --dry-run=server -k manifests/with-manager/: %v (exit %d)\n%s\n%s", err, res.ExitCode, res.Stdout, res.Stderr)
	}
	for _, want := range []string{"deployment.apps/kubeext-webhook", "deployment.apps/kubeext-extension-manager", "customresourcedefinition.apiextensions.k8s.io/extensions.kubeext.dev"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("the overlay's dry run did not cover %s:\n%s", want, res.Stdout)
		}
	}
}
