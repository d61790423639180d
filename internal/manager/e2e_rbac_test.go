package manager_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// managerUser is who the in-cluster manager is: its ServiceAccount.
const managerUser = "system:serviceaccount:kubeext-system:kubeext-extension-manager"

// TestManagerWithItsShippedRBAC: the manager run with the identity and the RBAC that
// `kubectl ext init --with-manager` installs (not as a cluster admin, as the other
// tests run it) holds the leader Lease in kubeext-system, installs a declared
// extension of a type that installs as kubeext-installer, corrects a deleted object of
// it (drift is checked as the install identity) and uninstalls it on delete.
func TestManagerWithItsShippedRBAC(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if res := kubectlExt(t, "init", "--with-manager"); res.ExitCode != 0 {
		t.Fatalf("kubectl ext init --with-manager: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	dir := chartsourcetest.Charts(t, podinfo(t, "1.4.0"))
	et := v1alpha1test.Type(uniq("e2e.podinfo"), v1alpha1test.Description("installs as kubeext-installer"),
		v1alpha1test.Chart(v1alpha1.ChartSource{Repository: "file://" + dir, Name: "podinfo"}),
		v1alpha1test.DefaultReleaseNamespace(uniq("podinfo")), v1alpha1test.MultipleInstances)
	et.Spec.Install.ServiceAccount = &v1alpha1.ServiceAccountReference{Namespace: "kubeext-system", Name: "kubeext-installer"}
	mustCreate(t, et)

	kubeconfig, err := env.KubeconfigFor(managerUser, "system:serviceaccounts", "system:serviceaccounts:kubeext-system", "system:authenticated")
	if err != nil {
		t.Fatal(err)
	}
	leaseNS := "kubeext-system"
	h.startManager("--kubeconfig", kubeconfig, "--leader-elect", "--leader-election-namespace", leaseNS)
	d := h.ext(et.Name, map[string]string{"message": "as its ServiceAccount"})
	d.mustApply(t)
	e := h.waitSettled(d.name, 120*time.Second)
	if e.Status.Release.Revision != 1 {
		t.Errorf("after the install: %s", describe(e))
	}
	// Deleting the release's ConfigMap is drift the manager corrects.
	cm := &corev1.ConfigMap{}
	if err := env.Client.Get(testCtx(t), client.ObjectKey{Namespace: d.namespace, Name: d.name}, cm); err != nil {
		t.Fatalf("the release's ConfigMap: %v", err)
	}
	if err := env.Client.Delete(testCtx(t), cm); err != nil {
		t.Fatal(err)
	}
	h.waitEvent(d.name, "DriftCorrected", 90*time.Second)
	h.eventually("the deleted ConfigMap to be back", 60*time.Second, func() (bool, string) {
		_, err := configMap(t, d.name, d.namespace)
		return err == nil, "ConfigMap: " + errString(err)
	})
	mustKubectl(t, "delete", "ext", d.name, "--timeout=90s")
	if hist := history(t, d.name, d.namespace); len(hist) != 0 {
		t.Errorf("the release is still stored after the delete: %s", summary(hist))
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// kubectlExt runs `kubectl ext ARGS` as the cluster admin.
func kubectlExt(t *testing.T, args ...string) testenv.Result {
	t.Helper()
	return kubectl(t, append([]string{"ext"}, args...)...)
}
