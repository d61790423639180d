package manager_test

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/testenv"
	"github.com/kubeext/kubectl-ext/internal/testenv/webhooktest"
)

// TestOneManagerOverTwoContexts: run outside the clusters, as AKS runs its extension
// manager, one process given --contexts manages an Extension declared on each of two
// clusters of one kubeconfig (each with the shipped webhook), and each cluster's
// release is installed in that cluster only.
func TestOneManagerOverTwoContexts(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	typ, _ := fileType(t, podinfo(t, "1.4.0")...)

	vwc, err := webhooktest.Registration()
	if err != nil {
		t.Fatal(err)
	}
	two, err := testenv.Start(testenv.Options{ValidatingWebhooks: []*admissionregistrationv1.ValidatingWebhookConfiguration{vwc}})
	if err != nil {
		t.Fatal(err)
	}
	stop, err := (&webhooktest.Server{}).Setup(two)
	if err != nil {
		_ = two.Stop()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stop()
		_ = two.Stop()
	})
	// The same type on the second cluster.
	et := &v1alpha1.ExtensionType{}
	if err := env.Client.Get(testCtx(t), client.ObjectKey{Name: typ}, et); err != nil {
		t.Fatal(err)
	}
	copyType := &v1alpha1.ExtensionType{ObjectMeta: metav1.ObjectMeta{Name: typ, Annotations: et.Annotations}, Spec: et.Spec}
	if err := two.Client.Create(testCtx(t), copyType); err != nil {
		t.Fatal(err)
	}

	// One kubeconfig with both clusters, as contexts "one" and "two".
	merged := clientcmdMerge(t, map[string]string{"one": env.Kubeconfig, "two": two.Kubeconfig})

	d1, d2 := h.ext(typ, map[string]string{"message": "on one"}), h.ext(typ, map[string]string{"message": "on two"})
	d1.mustApply(t)
	declare(t, two.Client, d2)
	h.startManager("--kubeconfig", merged, "--contexts", "one,two")

	e1 := h.waitSettled(d1.name, 90*time.Second)
	var e2 *v1alpha1.Extension
	h.eventually("the extension on the second cluster to be installed", 90*time.Second, func() (bool, string) {
		e2 = &v1alpha1.Extension{}
		if err := two.Client.Get(testCtx(t), client.ObjectKey{Name: d2.name}, e2); err != nil {
			return false, err.Error()
		}
		return settled(e2), describe(e2)
	})
	if e1.Status.CurrentVersion != "1.4.0" || e2.Status.CurrentVersion != "1.4.0" {
		t.Errorf("versions: one %s, two %s", describe(e1), describe(e2))
	}
	// Each release lives in its own cluster only.
	if err := env.Client.Get(testCtx(t), client.ObjectKey{Name: d2.namespace}, &corev1.Namespace{}); err == nil {
		t.Errorf("cluster one has the release namespace %s of cluster two's extension", d2.namespace)
	}
	if err := two.Client.Get(testCtx(t), client.ObjectKey{Name: d1.namespace}, &corev1.Namespace{}); err == nil {
		t.Errorf("cluster two has the release namespace %s of cluster one's extension", d1.namespace)
	}
	cm := &corev1.ConfigMap{}
	if err := two.Client.Get(testCtx(t), client.ObjectKey{Namespace: d2.namespace, Name: d2.name}, cm); err != nil {
		t.Fatalf("the release's ConfigMap on cluster two: %v", err)
	}
	if got := cm.Data["message"]; got != "on two" {
		t.Errorf("cluster two's release has message %q, want %q", got, "on two")
	}
}

// declare writes a declaration with a client, as GitOps would on a cluster kubectl
// is not pointed at.
func declare(t *testing.T, c client.Client, d decl) {
	t.Helper()
	e := &v1alpha1.Extension{}
	if err := yaml.Unmarshal(d.yaml(t), e); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(testCtx(t), e); err != nil {
		t.Fatalf("declaring %s: %v", d.name, err)
	}
}

// clientcmdMerge writes one kubeconfig holding the current context of each file
// under the given context name.
func clientcmdMerge(t *testing.T, files map[string]string) string {
	t.Helper()
	out := clientcmdapi.NewConfig()
	for name, f := range files {
		cfg, err := clientcmd.LoadFromFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ctx := cfg.Contexts[cfg.CurrentContext]
		cluster, user := *cfg.Clusters[ctx.Cluster], *cfg.AuthInfos[ctx.AuthInfo]
		out.Clusters[name], out.AuthInfos[name] = &cluster, &user
		c := *ctx
		c.Cluster, c.AuthInfo = name, name
		out.Contexts[name] = &c
		out.CurrentContext = name
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*out, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDeclaredProtectedSettings: an Extension declared with
// spec.configurationProtectedSettings naming a Secret the user made (labelled for the
// extension) is installed with its values, and the Secret is taken over (owned by the
// Extension, its digest recorded). A later change of the Secret is not fed into the
// release until the Extension's annotation names the new digest, which the manager's
// Event prints; then it is.
func TestDeclaredProtectedSettings(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	typ, _ := fileType(t, podinfo(t, "1.4.0")...)
	d := h.ext(typ, map[string]string{"message": "with a secret"})
	secretName := d.name + "-creds"
	d.extra = map[string]any{"configurationProtectedSettings": map[string]any{"secretName": secretName}}

	mustCreate(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: d.namespace}})
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: d.namespace, Name: secretName, Labels: map[string]string{lifecycle.LabelExtension: d.name}},
		Data:       map[string][]byte{lifecycle.ProtectedSettingsKey: mustJSON(t, map[string]string{"apiKey": "first-secret"})},
	}
	mustCreate(t, secret)
	h.startManager()
	d.mustApply(t)

	e := h.waitSettled(d.name, 90*time.Second)
	if want := lifecycle.ProtectedDigest(map[string]string{"apiKey": "first-secret"}); e.Status.ProtectedSettingsDigest != want {
		t.Errorf("status.protectedSettingsDigest = %q, want %q", e.Status.ProtectedSettingsDigest, want)
	}
	if got := releaseValue(t, d, "apiKey"); got != "first-secret" {
		t.Errorf("the release's apiKey = %q, want the Secret's", got)
	}
	taken := &corev1.Secret{}
	if err := env.Client.Get(testCtx(t), client.ObjectKeyFromObject(secret), taken); err != nil {
		t.Fatal(err)
	}
	if len(taken.OwnerReferences) != 1 || taken.OwnerReferences[0].UID != e.UID || taken.Labels[lifecycle.LabelManagedBy] != lifecycle.ManagedBy {
		t.Errorf("the Secret was not taken over: labels %v, ownerReferences %v", taken.Labels, taken.OwnerReferences)
	}

	// Someone changes the Secret: not applied by itself, even when something else
	// makes the manager apply the spec (a settings change).
	taken.Data[lifecycle.ProtectedSettingsKey] = mustJSON(t, map[string]string{"apiKey": "second-secret"})
	if err := env.Client.Update(testCtx(t), taken); err != nil {
		t.Fatal(err)
	}
	d.settings = map[string]string{"message": "changed"}
	d.mustApply(t)
	newDigest := lifecycle.ProtectedDigest(map[string]string{"apiKey": "second-secret"})
	h.waitEvent(d.name, "ProtectedSettingsChanged", 60*time.Second, newDigest)
	if got := releaseValue(t, d, "apiKey"); got != "first-secret" {
		t.Fatalf("a Secret changed outside kubectl ext was fed into the release: apiKey = %q", got)
	}

	// The writer accepts it by naming its digest.
	mustKubectl(t, "annotate", "ext", d.name, "--overwrite", v1alpha1.AnnotationProtectedSettingsDigest+"="+newDigest)
	h.eventually("the accepted protected settings to be applied", 90*time.Second, func() (bool, string) {
		got := releaseValue(t, d, "apiKey")
		e := mustGetExt(t, d.name)
		return got == "second-secret" && settled(e) && e.Status.ProtectedSettingsDigest == newDigest, "apiKey " + got + "; " + describe(e)
	})
}

func mustCreate(t *testing.T, o client.Object) {
	t.Helper()
	if err := env.Client.Create(testCtx(t), o); err != nil {
		t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// releaseValue is a key of the values of the release's newest revision; "" when
// there is no release or no such key.
func releaseValue(t *testing.T, d decl, key string) string {
	t.Helper()
	r := lastRevision(t, d.name, d.namespace)
	if r == nil {
		return ""
	}
	v, _ := r.Config[key].(string)
	return v
}
