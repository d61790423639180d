package install

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// cluster is a fixed cluster for the check: which objects exist, and how the API server
// answers the probe's dry-run create.
type cluster struct {
	established    bool     // the CRDs exist and are Established (false: they are missing)
	notEstablished bool     // the CRDs exist but are not Established
	types          []string // ExtensionTypes
	webhook        bool     // the ValidatingWebhookConfiguration exists
	url            string   // it calls this URL instead of a Service
	service        bool     // the Service exists
	ready          int      // ready endpoints of the Service
	notReady       int      // endpoints that are not ready
	typesNotServed bool     // listing ExtensionTypes finds no such kind
	probe          error    // what creating the probe returns
	warnings       []string // the API server's warnings
	// The extension manager: its Deployment's available replicas (-1: no Deployment),
	// and its leader election Lease (nil: none).
	managerAvailable int
	lease            *coordinationv1.Lease
}

// checkNow is the clock of the check's lease verdicts.
var checkNow = time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)

func lease(ns, holder string, renewedAgo time.Duration) *coordinationv1.Lease {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ManagerLease},
		Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](15), RenewTime: &metav1.MicroTime{Time: checkNow.Add(-renewedAgo)}}}
	if holder != "" {
		l.Spec.HolderIdentity = &holder
	}
	return l
}

func (c cluster) checker(t *testing.T, in embedded, requireWebhook, requireManager bool) *Checker {
	t.Helper()
	var objs []client.Object
	for _, name := range in.CRDs {
		if !c.established && !c.notEstablished {
			break
		}
		crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1alpha1", Served: true}, {Name: "v1alpha0"}}}}
		status := apiextensionsv1.ConditionTrue
		if c.notEstablished {
			status = apiextensionsv1.ConditionFalse
		}
		crd.Status.Conditions = []apiextensionsv1.CustomResourceDefinitionCondition{{Type: apiextensionsv1.Established, Status: status}}
		objs = append(objs, crd)
	}
	for _, name := range c.types {
		objs = append(objs, &v1alpha1.ExtensionType{ObjectMeta: metav1.ObjectMeta{Name: name}})
	}
	if c.webhook {
		cc := admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: in.Service.Namespace, Name: in.Service.Name}}
		if c.url != "" {
			cc = admissionregistrationv1.WebhookClientConfig{URL: &c.url, CABundle: []byte("ca")}
		}
		objs = append(objs, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: in.Webhook},
			Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "extensions.kubeext.dev", ClientConfig: cc,
				FailurePolicy: ptr.To(admissionregistrationv1.Fail)}}})
	}
	if c.service {
		objs = append(objs, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: in.Service.Namespace, Name: in.Service.Name}})
		slice := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: in.Service.Namespace, Name: in.Service.Name + "-x",
			Labels: map[string]string{discoveryv1.LabelServiceName: in.Service.Name}}, AddressType: discoveryv1.AddressTypeIPv4}
		for i := 0; i < c.ready+c.notReady; i++ {
			slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.0.1"},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(i < c.ready)}})
		}
		objs = append(objs, slice)
	}
	if c.managerAvailable >= 0 {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: in.Manager.Namespace, Name: in.Manager.Name},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "manager", Image: "ghcr.io/kubeext/kubeext-extension-manager:v1"}}}}},
			Status: appsv1.DeploymentStatus{AvailableReplicas: int32(c.managerAvailable)}}
		objs = append(objs, d)
	}
	if c.lease != nil {
		objs = append(objs, c.lease)
	}
	fc := fake.NewClientBuilder().WithScheme(Scheme()).WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		Create: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			o := &client.CreateOptions{}
			o.ApplyOptions(opts)
			if _, ok := obj.(*v1alpha1.Extension); !ok || len(o.DryRun) != 1 || o.DryRun[0] != metav1.DryRunAll {
				t.Errorf("the check created %T with %+v: it may only dry-run an Extension", obj, o)
			}
			return c.probe
		},
		List: func(ctx context.Context, cl client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if _, ok := list.(*v1alpha1.ExtensionTypeList); ok && c.typesNotServed {
				return &meta.NoKindMatchError{GroupKind: schema.GroupKind{Group: "kubeext.dev", Kind: "ExtensionType"}}
			}
			return cl.List(ctx, list, opts...)
		},
	}).Build()
	return &Checker{Client: fc, Warnings: func() []string { return c.warnings }, RequireWebhook: requireWebhook,
		RequireManager: requireManager, Now: func() time.Time { return checkNow }}
}

func denial(msg string) error { return errors.New(msg) }

// TestCheck gives the verdict of each row for fixed clusters: every row's status, a
// detail it must say, and which problems make --check exit 1.
func TestCheck(t *testing.T) {
	in, err := readEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	crd := "customresourcedefinition/" + in.ExtensionCRD
	vwc := "validatingwebhookconfiguration/" + in.Webhook
	svc := "service/" + in.Service.Name + " -n " + in.Service.Namespace
	const types, answers = "extension types", "webhook answers"
	deploy := "deployment/" + in.Manager.Name + " -n " + in.Manager.Namespace
	leaseAt := func(ns string) string { return "lease/" + ManagerLease + " -n " + ns }
	denied := denial(`admission webhook "extensions.kubeext.dev" denied the request: [EXT-SCOPE-001] both scopes; [EXT-VERSION-002] not semver`)
	healthy := cluster{established: true, types: in.Catalog, webhook: true, service: true, ready: 2, probe: denied, managerAvailable: -1}
	withManager := func(available int, l *coordinationv1.Lease) cluster {
		c := healthy
		c.managerAvailable, c.lease = available, l
		return c
	}

	tests := []struct {
		name           string
		cluster        cluster
		requireWebhook bool
		requireManager bool
		status         map[string]string // component -> status
		detail         map[string]string // component -> part of its detail
		problems       []string          // parts of each problem, in order
	}{
		{
			name:    "an empty cluster",
			cluster: cluster{typesNotServed: true, managerAvailable: -1},
			status: map[string]string{crd: "Missing", types: "Unknown", vwc: "Missing", svc: "Missing", answers: "Unknown",
				deploy: "Missing", leaseAt("kubeext-system"): "Missing"},
			detail: map[string]string{types: "the ExtensionType CRD is not served", vwc: "optional;", answers: "needs the Extension CRD",
				deploy: "optional; install it with `kubectl ext init --with-manager`"},
			problems: []string{"customresourcedefinition " + in.CRDs[0] + " is missing", "customresourcedefinition " + in.CRDs[1] + " is missing"},
		},
		{
			name:     "CRDs not Established",
			cluster:  cluster{notEstablished: true, managerAvailable: -1},
			status:   map[string]string{crd: "NotEstablished", answers: "Unknown"},
			problems: []string{"is not Established", "is not Established"},
		},
		{
			name:    "the CRDs and part of the catalog, no webhook",
			cluster: cluster{established: true, types: append([]string{"my.own"}, in.Catalog[1:]...), managerAvailable: -1},
			status:  map[string]string{crd: "Established", types: "5", vwc: "Missing", answers: "No"},
			detail: map[string]string{crd: "served versions: v1alpha1", types: "default catalog: 4 of 5 (not installed: " + in.Catalog[0] + ")",
				answers: "an invalid Extension was accepted (server dry run): nothing reviews Extensions"},
		},
		{
			name:           "no webhook, required",
			cluster:        cluster{established: true, managerAvailable: -1},
			requireWebhook: true,
			status:         map[string]string{vwc: "Missing", svc: "Missing", answers: "No"},
			detail:         map[string]string{vwc: "install it with `kubectl ext init --with-webhook`"},
			problems:       []string{"validatingwebhookconfiguration " + in.Webhook + " is missing", "service " + in.Service.String() + " is missing", "the webhook does not answer: an invalid Extension was accepted"},
		},
		{
			name:           "a webhook that denies",
			cluster:        healthy,
			requireWebhook: true,
			status:         map[string]string{crd: "Established", types: "5", vwc: "Present", svc: "Ready", answers: "Yes"},
			detail: map[string]string{vwc: "extensions.kubeext.dev, failurePolicy Fail, no caBundle yet", svc: "2 ready endpoints",
				answers: "denied an invalid Extension (server dry run): [EXT-SCOPE-001] [EXT-VERSION-002]"},
		},
		{
			name: "a webhook that only warns",
			cluster: func() cluster {
				c := healthy
				c.probe, c.warnings = nil, []string{"[EXT-SCOPE-001] both scopes", "[EXT-SCOPE-001] again", "unrelated"}
				return c
			}(),
			requireWebhook: true,
			status:         map[string]string{answers: "Yes"},
			detail:         map[string]string{answers: "warned (its rules are set to warn, not deny): [EXT-SCOPE-001]"},
		},
		{
			name: "a webhook the API server cannot call",
			cluster: func() cluster {
				c := healthy
				c.ready, c.notReady = 0, 1
				c.probe = denial(`Internal error occurred: failed calling webhook "extensions.kubeext.dev": connection refused`)
				return c
			}(),
			requireWebhook: true,
			status:         map[string]string{svc: "NotReady", answers: "No"},
			detail:         map[string]string{svc: "no ready endpoints", answers: "the API server could not call it"},
			problems:       []string{"service " + in.Service.String() + " has no ready endpoints", "the webhook does not answer: the API server could not call it"},
		},
		{
			name: "another webhook denies, not required",
			cluster: func() cluster {
				c := healthy
				c.probe = denial(`admission webhook "policy.example.com" denied the request: no`)
				return c
			}(),
			status: map[string]string{answers: "No"},
			detail: map[string]string{answers: "another webhook denied the request, without kubeext rule ids"},
		},
		{
			name: "a webhook called by URL",
			cluster: func() cluster {
				c := healthy
				c.url, c.service = "https://webhook.example.com/validate", false
				return c
			}(),
			requireWebhook: true,
			status:         map[string]string{"webhook service": "NotUsed", vwc: "Present", answers: "Yes"},
			detail:         map[string]string{"webhook service": "calls https://webhook.example.com/validate"},
		},
		{
			name:           "no manager, required",
			cluster:        healthy,
			requireManager: true,
			status:         map[string]string{deploy: "Missing", leaseAt("kubeext-system"): "Missing"},
			detail:         map[string]string{deploy: "install it with `kubectl ext init --with-manager`"},
			problems: []string{"the extension manager's deployment " + in.Manager.String() + " is missing",
				"no extension manager leads: lease kubeext-system/" + ManagerLease + " is missing"},
		},
		{
			name:           "a manager that runs and leads",
			cluster:        withManager(2, lease("kubeext-system", "kubeext-extension-manager-7d9f-abcde_1234", 3*time.Second)),
			requireManager: true,
			status:         map[string]string{deploy: "Available", leaseAt("kubeext-system"): "Held"},
			detail: map[string]string{deploy: "2/2 replicas available, image ghcr.io/kubeext/kubeext-extension-manager:v1",
				leaseAt("kubeext-system"): "held by kubeext-extension-manager-7d9f-abcde_1234, renewed 3s ago"},
		},
		{
			name:           "a manager without nodes to run on",
			cluster:        withManager(0, nil),
			requireManager: true,
			status:         map[string]string{deploy: "NotAvailable", leaseAt("kubeext-system"): "Missing"},
			detail:         map[string]string{deploy: "0/2 replicas available"},
			problems: []string{"the extension manager's deployment " + in.Manager.String() + " has no available replica",
				"no extension manager leads"},
		},
		{
			name:           "a leader that stopped without giving the lease up",
			cluster:        withManager(1, lease("kubeext-system", "old-leader", time.Minute)),
			requireManager: true,
			status:         map[string]string{deploy: "Available", leaseAt("kubeext-system"): "Expired"},
			detail:         map[string]string{leaseAt("kubeext-system"): "held by old-leader, renewed 1m0s ago (lease duration 15s)"},
			problems:       []string{"no extension manager leads: lease kubeext-system/" + ManagerLease + " expired"},
		},
		{
			name:           "a lease given up",
			cluster:        withManager(1, lease("kubeext-system", "", time.Second)),
			requireManager: true,
			status:         map[string]string{leaseAt("kubeext-system"): "Released"},
			problems:       []string{"has no holder"},
		},
		{
			name:    "a manager outside the cluster, not required",
			cluster: withManager(-1, lease("kube-system", "alice@laptop", time.Second)),
			status:  map[string]string{deploy: "Missing", leaseAt("kube-system"): "Held"},
			detail:  map[string]string{leaseAt("kube-system"): "held by alice@laptop (a manager running outside the cluster), renewed 1s ago"},
		},
		{
			name:    "an expired lease, not required",
			cluster: withManager(0, lease("kubeext-system", "old-leader", time.Hour)),
			status:  map[string]string{deploy: "NotAvailable", leaseAt("kubeext-system"): "Expired"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := tt.cluster.checker(t, in, tt.requireWebhook, tt.requireManager).Check(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			byComponent := map[string]CheckRow{}
			for _, r := range rows {
				byComponent[r.Component] = r
			}
			if len(rows) != len(in.CRDs)+6 {
				t.Errorf("%d rows, want one per CRD, the types, the webhook configuration, its service, the probe, the manager's Deployment and its Lease: %+v", len(rows), rows)
			}
			for c, want := range tt.status {
				if r, ok := byComponent[c]; !ok || r.Status != want {
					t.Errorf("%s: status %q, want %q (rows: %+v)", c, r.Status, want, rows)
				}
			}
			for c, want := range tt.detail {
				if r := byComponent[c]; !strings.Contains(r.Detail, want) {
					t.Errorf("%s: detail %q lacks %q", c, r.Detail, want)
				}
			}
			got := Problems(rows)
			if len(got) != len(tt.problems) {
				t.Fatalf("problems = %q, want %d like %q", got, len(tt.problems), tt.problems)
			}
			for i, want := range tt.problems {
				if !strings.Contains(got[i], want) {
					t.Errorf("problem %d = %q, want it to say %q", i, got[i], want)
				}
			}
		})
	}
}
