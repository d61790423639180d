package install

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

// TestWebhookRegistrationAdopted: `kubectl ext init --with-webhook` on a cluster where
// kubeext-webhook was registered differently, by another field manager (a webhook
// run outside the cluster, called by URL; selectors and match conditions that let
// writes pass unreviewed; an entry of an older release), takes the registration
// over: the embedded service clientConfig replaces the URL (server-side apply alone
// is refused: url and service together are invalid), what would let writes pass
// unreviewed is cleared, the caBundle the webhook's certificate rotator keeps stays,
// and an entry reviewing another API group is left to its owner. A server dry run
// says so and changes nothing.
func TestWebhookRegistrationAdopted(t *testing.T) {
	env := shared.Env(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	vwcs := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	const name = "kubeext-webhook"
	// Nothing reviews kubeext.dev writes once the test is over: the package's other
	// tests apply extension types.
	t.Cleanup(func() { _ = vwcs.Delete(context.Background(), name, metav1.DeleteOptions{}) })

	all, err := Build(Selection{Webhook: true, Image: testImage})
	if err != nil {
		t.Fatal(err)
	}
	// Only the configuration is applied: the package's other tests see kubeext-system
	// created by their own init (and without a controller manager, a namespace once
	// deleted is never gone).
	var m Manifests
	for _, o := range all.Rest {
		if webhookConfigKinds[o.GroupVersionKind().GroupKind()] {
			m.Rest = append(m.Rest, o)
		}
	}
	want := embeddedWebhooks(t, m)
	ours := want[0]
	none := admissionregistrationv1.SideEffectClassNone
	rules := []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{"kubeext.dev"}, APIVersions: []string{"v1alpha1"}, Resources: []string{"extensions"}}}}
	byURL := func(name, url string) admissionregistrationv1.ValidatingWebhook {
		return admissionregistrationv1.ValidatingWebhook{Name: name, AdmissionReviewVersions: []string{"v1"}, SideEffects: &none,
			FailurePolicy: ptr.To(admissionregistrationv1.Ignore), Rules: rules,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(url), CABundle: []byte("-----BEGIN CERTIFICATE-----\nkept\n")}}
	}
	foreign := byURL("policy.example.com", "https://policy.example.com/validate")
	foreign.Rules = []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{"example.com"}, APIVersions: []string{"v1"}, Resources: []string{"widgets"}}}}

	tests := []struct {
		name     string
		existing []admissionregistrationv1.ValidatingWebhook
		// wantNames are the webhooks of the configuration afterwards, in its order.
		wantNames []string
		// wantSaid are what init's output says it adopted.
		wantSaid []string
	}{{
		name:      "registered with a URL",
		existing:  []admissionregistrationv1.ValidatingWebhook{byURL(ours.Name, "https://10.0.0.1:9443/validate")},
		wantNames: []string{ours.Name},
		wantSaid:  []string{"clientConfig.url of webhook " + ours.Name},
	}, {
		name: "a URL, selectors, match conditions, an older entry and another group's webhook",
		existing: func() []admissionregistrationv1.ValidatingWebhook {
			w := byURL(ours.Name, "https://10.0.0.1:9443/validate")
			w.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"reviewed": "yes"}}
			w.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
			w.MatchConditions = []admissionregistrationv1.MatchCondition{{Name: "not-admins", Expression: `!("system:masters" in request.userInfo.groups)`}}
			return []admissionregistrationv1.ValidatingWebhook{w, byURL("old.kubeext.dev", "https://10.0.0.1:9443/old"), foreign}
		}(),
		wantNames: []string{ours.Name, foreign.Name},
		wantSaid: []string{"clientConfig.url of webhook " + ours.Name, "objectSelector of webhook " + ours.Name,
			"namespaceSelector of webhook " + ours.Name, "matchConditions of webhook " + ours.Name, "webhook old.kubeext.dev"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_ = vwcs.Delete(ctx, name, metav1.DeleteOptions{})
			existing := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}, Webhooks: tt.existing}
			if _, err := vwcs.Create(ctx, existing, metav1.CreateOptions{FieldManager: "kubectl-create"}); err != nil {
				t.Fatal(err)
			}
			before, err := vwcs.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			apply := func(dryRun bool) string {
				t.Helper()
				var out strings.Builder
				mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
				if err := (Applier{Dynamic: dyn, Mapper: mapper, Out: &out, DryRun: dryRun, Timeout: time.Minute}).Apply(ctx, m); err != nil {
					t.Fatalf("init --with-webhook (dry run %v): %v\n%s", dryRun, err, out.String())
				}
				return out.String()
			}

			out := apply(true)
			if got, err := vwcs.Get(ctx, name, metav1.GetOptions{}); err != nil || got.ResourceVersion != before.ResourceVersion {
				t.Errorf("the server dry run changed the configuration (%v)", err)
			}
			for _, s := range tt.wantSaid {
				if !strings.Contains(out, s) {
					t.Errorf("the dry run does not say it would remove the %s:\n%s", s, out)
				}
			}

			out = apply(false)
			for _, s := range tt.wantSaid {
				if !strings.Contains(out, s) {
					t.Errorf("init does not say it removed the %s:\n%s", s, out)
				}
			}
			got, err := vwcs.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, w := range got.Webhooks {
				names = append(names, w.Name)
			}
			if !slices.Equal(names, tt.wantNames) {
				t.Fatalf("webhooks %v, want %v", names, tt.wantNames)
			}
			w := got.Webhooks[0]
			if w.ClientConfig.URL != nil || w.ClientConfig.Service == nil || *w.ClientConfig.Service.Path != *ours.ClientConfig.Service.Path ||
				w.ClientConfig.Service.Name != ours.ClientConfig.Service.Name || w.ClientConfig.Service.Namespace != ours.ClientConfig.Service.Namespace {
				t.Errorf("clientConfig %+v, want the service of the manifest, no URL", w.ClientConfig)
			}
			if string(w.ClientConfig.CABundle) != "-----BEGIN CERTIFICATE-----\nkept\n" {
				t.Errorf("the caBundle the webhook's rotator keeps was not kept: %q", w.ClientConfig.CABundle)
			}
			if len(w.ObjectSelector.MatchLabels)+len(w.ObjectSelector.MatchExpressions)+len(w.NamespaceSelector.MatchLabels)+len(w.NamespaceSelector.MatchExpressions) != 0 ||
				len(w.MatchConditions) != 0 {
				t.Errorf("writes can still pass unreviewed: objectSelector %v, namespaceSelector %v, matchConditions %v", w.ObjectSelector, w.NamespaceSelector, w.MatchConditions)
			}
			if *w.FailurePolicy != *ours.FailurePolicy || len(w.Rules) != len(ours.Rules) {
				t.Errorf("failurePolicy %s and %d rules, want the manifest's %s and %d", *w.FailurePolicy, len(w.Rules), *ours.FailurePolicy, len(ours.Rules))
			}
			if len(got.Webhooks) > 1 && (got.Webhooks[1].ClientConfig.URL == nil || *got.Webhooks[1].ClientConfig.URL != *foreign.ClientConfig.URL) {
				t.Errorf("another group's webhook was changed: %+v", got.Webhooks[1])
			}

			again := apply(false)
			if !strings.Contains(again, "validatingwebhookconfiguration.admissionregistration.k8s.io/"+name+" unchanged") {
				t.Errorf("a second run is not unchanged:\n%s", again)
			}
		})
	}
}

// embeddedWebhooks returns the webhooks of the embedded ValidatingWebhookConfiguration.
func embeddedWebhooks(t *testing.T, m Manifests) []admissionregistrationv1.ValidatingWebhook {
	t.Helper()
	for _, o := range m.Rest {
		if o.GetKind() != "ValidatingWebhookConfiguration" {
			continue
		}
		var vwc admissionregistrationv1.ValidatingWebhookConfiguration
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &vwc); err != nil {
			t.Fatal(err)
		}
		return vwc.Webhooks
	}
	t.Fatal("no ValidatingWebhookConfiguration in the manifests")
	return nil
}

// TestAdoptRefusedSaysWhatToRun: when the API server refuses the update that takes
// the registration over, init stops and says the commands that fix it.
func TestAdoptRefusedSaysWhatToRun(t *testing.T) {
	m, err := Build(Selection{Webhook: true, Image: testImage})
	if err != nil {
		t.Fatal(err)
	}
	var o *unstructured.Unstructured
	for _, x := range m.Rest {
		if webhookConfigKinds[x.GroupVersionKind().GroupKind()] {
			o = x
		}
	}
	live := o.DeepCopy()
	hooks, _, _ := unstructured.NestedSlice(live.Object, "webhooks")
	cc := hooks[0].(map[string]any)["clientConfig"].(map[string]any)
	delete(cc, "service")
	cc["url"] = "https://10.0.0.1:9443/validate"
	_ = unstructured.SetNestedSlice(live.Object, hooks, "webhooks")
	gvr := schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"}

	tests := []struct {
		name     string
		refusal  error
		wantSaid []string
	}{
		{"forbidden", apierrors.NewForbidden(gvr.GroupResource(), o.GetName(), errors.New("no update")),
			[]string{"could not take it over", "run it as a cluster administrator",
				"kubectl delete validatingwebhookconfiguration.admissionregistration.k8s.io kubeext-webhook && kubectl ext init --with-webhook"}},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Group: gvr.Group, Kind: o.GetKind()}, o.GetName(), nil),
			[]string{"could not take it over", "kubectl delete validatingwebhookconfiguration.admissionregistration.k8s.io kubeext-webhook"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
			updates := 0
			c.PrependReactor("update", "*", func(clienttesting.Action) (bool, runtime.Object, error) {
				updates++
				return true, nil, tt.refusal
			})
			c.PrependReactor("get", "*", func(clienttesting.Action) (bool, runtime.Object, error) {
				return true, live.DeepCopy(), nil
			})
			a := &applyRun{dyn: c}
			_, err := a.adoptWebhooks(context.Background(), c.Resource(gvr), o, live)
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tt.wantSaid {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%v\ndoes not say %q", err, s)
				}
			}
			if updates != 1 {
				t.Errorf("%d updates, want 1 (only a conflict is retried)", updates)
			}
		})
	}
}
