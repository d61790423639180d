package cli_test

import (
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/testenv"
	"github.com/kubeext/kubectl-ext/internal/testenv/webhooktest"
)

// TestWebhookDown (issue 15's webhook row): with the webhook registered but not
// serving, an Extension write fails closed (failurePolicy Fail), the plugin says the
// webhook could not be reached and what to check, not that the write was denied, and
// writes the webhook does not review go through.
func TestWebhookDown(t *testing.T) {
	requireEnv(t)
	vwc, err := webhooktest.Registration()
	if err != nil {
		t.Fatal(err)
	}
	e, err := testenv.Start(testenv.Options{ValidatingWebhooks: []*admissionregistrationv1.ValidatingWebhookConfiguration{vwc}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop() })
	stop, err := (&webhooktest.Server{}).Setup(e)
	if err != nil {
		t.Fatal(err)
	}
	// The type is recorded while the webhook serves (it reviews types too).
	url := chartsourcetest.ServeHTTP(t, chartsourcetest.Charts(t, chartsourcetest.Podinfo()))
	et := v1alpha1test.Type(uniq("down.podinfo"), v1alpha1test.Chart(v1alpha1.ChartSource{Repository: url, Name: "podinfo"}),
		v1alpha1test.DefaultReleaseNamespace(uniq("podinfo")))
	allowLoopbackHTTP(et)
	if err := e.Client.Create(testCtx(t), et); err != nil {
		t.Fatal(err)
	}
	// Its versions are read while the webhook serves too, so that create's first write
	// is the Extension's.
	if res, err := e.Kubectl(testCtx(t), binDir, "ext", "type", "sync", et.Name); err != nil || res.ExitCode != 0 {
		t.Fatalf("type sync: %v %s", err, res.Stderr)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	name := uniq("down")
	res, err := e.Kubectl(testCtx(t), binDir, "ext", "create", name, "--extension-type", et.Name, "--no-wait")
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "could not reach the kubeext admission webhook, so it refused to create extensions.kubeext.dev") ||
		!strings.Contains(res.Stderr, "kubectl ext init --check") ||
		strings.Contains(strings.ToLower(res.Stderr), "denied") {
		t.Errorf("create with the webhook down: exit %d, want an error saying the webhook could not be reached, not denied:\n%s", res.ExitCode, res.Stderr)
	}
	if err := e.Client.Get(testCtx(t), nameKey(name), &v1alpha1.Extension{}); !apierrors.IsNotFound(err) {
		t.Errorf("extension %s: %v, want none (fail closed)", name, err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: uniq("unrelated")}}
	if err := e.Client.Create(testCtx(t), cm); err != nil {
		t.Errorf("a write the webhook does not review failed: %v", err)
	}
}
