package cli_test

import (
	"context"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// TestInitWithWebhookAdoptsAURLRegistration: through the real kubectl, `kubectl ext
// init --with-webhook --dry-run=server` on a cluster where kubeext-webhook was
// registered with a URL (a webhook run outside the cluster) by another field manager
// passes, says it takes the registration over, and changes nothing. Before, the API
// server refused the apply: the URL and the manifest's service together are invalid.
// (A real run would leave a webhook with failurePolicy Fail and no replica in this
// shared control plane; internal/install's TestWebhookRegistrationAdopted applies it.)
func TestInitWithWebhookAdoptsAURLRegistration(t *testing.T) {
	requireEnv(t)
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	vwcs := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	none := admissionregistrationv1.SideEffectClassNone
	// It reviews a resource nobody writes, and is ignored when it cannot be called, so
	// the other tests of this control plane never meet it.
	byURL := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "kubeext-webhook"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "extensions.kubeext.dev", AdmissionReviewVersions: []string{"v1"},
			SideEffects: &none, FailurePolicy: ptr.To(admissionregistrationv1.Ignore),
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://127.0.0.1:1/validate")},
			Rules: []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{"kubeext.dev"}, APIVersions: []string{"v1alpha1"}, Resources: []string{"nothing"}}}}}}}
	created, err := vwcs.Create(testCtx(t), byURL, metav1.CreateOptions{FieldManager: "kubectl-create"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vwcs.Delete(context.Background(), byURL.Name, metav1.DeleteOptions{}) })

	res := kext(t, "init", "--with-webhook", "--dry-run=server")
	if res.ExitCode != 0 {
		t.Fatalf("exit %d:\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	want := "validatingwebhookconfiguration.admissionregistration.k8s.io/kubeext-webhook serverside-applied, adopted: removed the clientConfig.url of webhook extensions.kubeext.dev (server dry run)"
	if !strings.Contains(res.Stdout, want) {
		t.Errorf("want %q in:\n%s", want, res.Stdout)
	}
	after, err := vwcs.Get(testCtx(t), byURL.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != created.ResourceVersion {
		t.Errorf("the dry run changed the registration")
	}
}
