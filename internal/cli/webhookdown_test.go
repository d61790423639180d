package cli_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/testenv/webhooktest"
)

// Reliability matrix: the admission webhook down or slower than its timeout
//
// TestWebhookDown (issue 15's webhook rows): with the webhook registered but not
// serving, or holding each review longer than the registration's timeoutSeconds (the
// shipped 5 s), an Extension write fails closed (failurePolicy Fail), the plugin says
// the webhook could not be reached and what to check, not that the write was denied,
// and writes the webhook does not review go through. A webhook slower than usual but
// within its timeout only slows the write.
func TestWebhookDown(t *testing.T) {
	requireEnv(t)
	e, vwc := startRegistered(t)
	stop, err := (&webhooktest.Server{}).Setup(e)
	if err != nil {
		t.Fatal(err)
	}
	// The type is recorded while the webhook serves (it reviews types too).
	url := chartsourcetest.ServeHTTP(t, chartsourcetest.Charts(t, chartsourcetest.Podinfo()))
	et := v1alpha1test.Type(uniq("down.podinfo"), v1alpha1test.Chart(v1alpha1.ChartSource{Repository: url, Name: "podinfo"}),
		v1alpha1test.DefaultReleaseNamespace(uniq("podinfo")), v1alpha1test.MultipleInstances)
	allowLoopbackHTTP(et)
	releaseNS := et.Spec.Scopes.Cluster.DefaultReleaseNamespace
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
	timeout := time.Duration(*vwc.Webhooks[0].TimeoutSeconds) * time.Second

	// The rows share the control plane, one webhook state after another.
	for _, tt := range []struct {
		row string
		// serve starts the webhook as the row wants it; nil leaves it down.
		serve *webhooktest.Server
		// refused: the Extension write fails closed; else it lands.
		refused bool
	}{
		{row: "down", refused: true},
		{row: "slower-than-timeout", serve: &webhooktest.Server{Delay: timeout + 2*time.Second}, refused: true},
		{row: "slow-within-timeout", serve: &webhooktest.Server{Delay: timeout / 5}},
	} {
		t.Run(tt.row, func(t *testing.T) {
			if tt.serve != nil {
				stop, err := tt.serve.Setup(e)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if err := stop(); err != nil {
						t.Error(err)
					}
				})
			}
			name := uniq("down")
			began := time.Now()
			res, err := e.Kubectl(testCtx(t), binDir, "ext", "create", name, "--extension-type", et.Name, "--no-wait")
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(began)
			t.Logf("create took %s", took.Round(100*time.Millisecond))
			got := &v1alpha1.Extension{}
			getErr := e.Client.Get(testCtx(t), nameKey(name), got)
			if !tt.refused {
				if res.ExitCode != 0 || getErr != nil || got.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded {
					t.Errorf("create with a webhook slow within its timeout: exit %d, %v %+v\n%s", res.ExitCode, getErr, got.Status, res.Stderr)
				}
				// The webhook was slow indeed: the proxy held the create's reviews.
				if tt.serve.Held() == 0 || took < tt.serve.Delay {
					t.Errorf("create took %s and the proxy held %d reviews for %s: the webhook was not slow", took, tt.serve.Held(), tt.serve.Delay)
				}
				return
			}
			if res.ExitCode == 0 || !strings.Contains(res.Stderr, "could not reach the kubeext admission webhook, so it refused to create extensions.kubeext.dev") ||
				!strings.Contains(res.Stderr, "kubectl ext init --check") ||
				strings.Contains(strings.ToLower(res.Stderr), "denied") {
				t.Errorf("create with the webhook %s: exit %d, want an error saying the webhook could not be reached, not denied:\n%s", tt.row, res.ExitCode, res.Stderr)
			}
			t.Logf("the plugin says: %s", res.Stderr)
			if tt.serve != nil && took < timeout {
				t.Errorf("create was refused after %s, before the webhook's timeout %s: the webhook was not what stopped it", took, timeout)
			}
			if !apierrors.IsNotFound(getErr) {
				t.Errorf("extension %s: %v, want none (fail closed)", name, getErr)
			}
			// Nor its release namespace: the Extension is judged (a server dry run)
			// before the namespace is created.
			if err := e.Client.Get(testCtx(t), nameKey(releaseNS), &corev1.Namespace{}); !apierrors.IsNotFound(err) {
				t.Errorf("release namespace %s: %v, want none left by the refused create", releaseNS, err)
			}
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: uniq("unrelated")}}
			if err := e.Client.Create(testCtx(t), cm); err != nil {
				t.Errorf("a write the webhook does not review failed: %v", err)
			}
		})
	}
}
