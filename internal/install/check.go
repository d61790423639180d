package install

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// CheckRow is one line of `kubectl ext init --check`.
type CheckRow struct {
	Component, Status, Detail string
	// Problem, when set, makes --check exit 1: a required part is missing or broken.
	Problem string
}

// warnings collects the API server's warnings for one client.
type warnings struct {
	mu   sync.Mutex
	text []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.text = append(w.text, text)
}

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.text...)
}

// embedded names what init installs, read from the embedded manifests.
type embedded struct {
	CRDs         []string // CustomResourceDefinition names
	ExtensionCRD string   // the one an Extension needs
	Catalog      []string // ExtensionType names of the default catalog
	Webhook      string   // the ValidatingWebhookConfiguration's name
	Service      types.NamespacedName
}

func readEmbedded() (embedded, error) {
	var in embedded
	m, err := Build(Selection{Catalog: true})
	if err != nil {
		return in, err
	}
	for _, c := range m.CRDs {
		in.CRDs = append(in.CRDs, c.GetName())
		if crdGroupKind(c) == v1alpha1.GroupVersion.WithKind("Extension").GroupKind() {
			in.ExtensionCRD = c.GetName()
		}
	}
	for _, t := range m.Rest {
		in.Catalog = append(in.Catalog, t.GetName())
	}
	objs, err := webhookObjects()
	if err != nil {
		return in, err
	}
	for _, o := range objs {
		if o.GetKind() != "ValidatingWebhookConfiguration" {
			continue
		}
		vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, vwc); err != nil {
			return in, fmt.Errorf("the embedded %s: %w", ObjectName(o), err)
		}
		in.Webhook = vwc.Name
		for _, wh := range vwc.Webhooks {
			if s := wh.ClientConfig.Service; s != nil {
				in.Service = types.NamespacedName{Namespace: s.Namespace, Name: s.Name}
			}
		}
	}
	if in.ExtensionCRD == "" || in.Webhook == "" || in.Service.Name == "" {
		return in, fmt.Errorf("the embedded manifests lack the Extension CRD or the webhook's configuration and Service")
	}
	return in, nil
}

// Checker looks at one cluster: what init installs, and whether the webhook answers.
type Checker struct {
	Client client.Client
	// Warnings returns the API server's warnings to Client so far: a webhook whose
	// rules only warn accepts the probe and says so in a warning.
	Warnings func() []string
	// RequireWebhook makes a missing or silent webhook a problem, not a note.
	RequireWebhook bool
}

// checkRun is one Check: the Checker, what init installs, and the CRDs found
// Established (the probe needs the Extension CRD).
type checkRun struct {
	*Checker
	in          embedded
	established map[string]bool
}

// NewChecker returns a Checker for the cluster of cfg.
func NewChecker(cfg *rest.Config, requireWebhook bool) (*Checker, error) {
	cfg = rest.CopyConfig(cfg)
	w := &warnings{}
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		return nil, err
	}
	return &Checker{Client: c, Warnings: w.all, RequireWebhook: requireWebhook}, nil
}

// Check reports on each CRD, the extension types, the webhook configuration, its
// Service, and whether the webhook answers a probe. It fails only when the embedded
// manifests are broken: what it finds on the cluster is in the rows.
func (k *Checker) Check(ctx context.Context) ([]CheckRow, error) {
	in, err := readEmbedded()
	if err != nil {
		return nil, err
	}
	run := &checkRun{Checker: k, in: in, established: map[string]bool{}}
	return run.rows(ctx), nil
}

// Problems lists what makes a check fail: the rows' problems, in order.
func Problems(rows []CheckRow) []string {
	var out []string
	for _, r := range rows {
		if r.Problem != "" {
			out = append(out, r.Problem)
		}
	}
	return out
}

func (k *checkRun) rows(ctx context.Context) []CheckRow {
	var rows []CheckRow
	for _, name := range k.in.CRDs {
		rows = append(rows, k.crd(ctx, name))
	}
	rows = append(rows, k.types(ctx))
	vwcRow, vwc := k.webhookConfiguration(ctx)
	rows = append(rows, vwcRow, k.service(ctx, vwc), k.answers(ctx))
	return rows
}

func (k *checkRun) crd(ctx context.Context, name string) CheckRow {
	r := CheckRow{Component: "customresourcedefinition/" + name}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	err := k.Client.Get(ctx, client.ObjectKey{Name: name}, crd)
	switch {
	case apierrors.IsNotFound(err):
		r.Status, r.Detail = "Missing", "install it with `kubectl ext init`"
		r.Problem = "customresourcedefinition " + name + " is missing"
		return r
	case err != nil:
		r.Status, r.Detail = "Unknown", err.Error()
		r.Problem = "customresourcedefinition " + name + " could not be read: " + err.Error()
		return r
	}
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			k.established[name] = true
			r.Status, r.Detail = "Established", "served versions: "+servedVersions(crd)
			return r
		}
	}
	r.Status, r.Detail = "NotEstablished", "see `kubectl get crd "+name+" -o yaml`"
	r.Problem = "customresourcedefinition " + name + " is not Established"
	return r
}

func servedVersions(crd *apiextensionsv1.CustomResourceDefinition) string {
	var vs []string
	for _, v := range crd.Spec.Versions {
		if v.Served {
			vs = append(vs, v.Name)
		}
	}
	return strings.Join(vs, ", ")
}

func (k *checkRun) types(ctx context.Context) CheckRow {
	r := CheckRow{Component: "extension types"}
	list := &v1alpha1.ExtensionTypeList{}
	if err := k.Client.List(ctx, list); err != nil {
		r.Status, r.Detail = "Unknown", err.Error()
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			r.Detail = "the ExtensionType CRD is not served"
		}
		return r
	}
	have := map[string]bool{}
	for _, t := range list.Items {
		have[t.Name] = true
	}
	var missing []string
	for _, n := range k.in.Catalog {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	r.Status = fmt.Sprint(len(list.Items))
	r.Detail = fmt.Sprintf("default catalog: %d of %d", len(k.in.Catalog)-len(missing), len(k.in.Catalog))
	if len(missing) > 0 {
		sort.Strings(missing)
		r.Detail += fmt.Sprintf(" (not installed: %s)", strings.Join(missing, ", "))
	}
	return r
}

// webhookConfiguration checks the ValidatingWebhookConfiguration and returns it (nil
// when missing).
func (k *checkRun) webhookConfiguration(ctx context.Context) (CheckRow, *admissionregistrationv1.ValidatingWebhookConfiguration) {
	r := CheckRow{Component: "validatingwebhookconfiguration/" + k.in.Webhook}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	err := k.Client.Get(ctx, client.ObjectKey{Name: k.in.Webhook}, vwc)
	switch {
	case apierrors.IsNotFound(err):
		r.Status = "Missing"
		r.Detail = "optional; install it with `kubectl ext init --with-webhook`"
		if k.RequireWebhook {
			r.Detail = "install it with `kubectl ext init --with-webhook`"
			r.Problem = "validatingwebhookconfiguration " + k.in.Webhook + " is missing"
		}
		return r, nil
	case err != nil:
		r.Status, r.Detail = "Unknown", err.Error()
		if k.RequireWebhook {
			r.Problem = "validatingwebhookconfiguration " + k.in.Webhook + " could not be read: " + err.Error()
		}
		return r, nil
	}
	r.Status = "Present"
	var details []string
	for _, wh := range vwc.Webhooks {
		d := wh.Name
		if wh.FailurePolicy != nil {
			d += ", failurePolicy " + string(*wh.FailurePolicy)
		}
		if len(wh.ClientConfig.CABundle) == 0 {
			d += ", no caBundle yet (the webhook sets it when it starts)"
		}
		details = append(details, d)
	}
	r.Detail = strings.Join(details, "; ")
	return r, vwc
}

// service checks the Service the webhook configuration calls (the shipped one when
// the configuration is missing) for ready endpoints.
func (k *checkRun) service(ctx context.Context, vwc *admissionregistrationv1.ValidatingWebhookConfiguration) CheckRow {
	svc := k.in.Service
	if vwc != nil && len(vwc.Webhooks) > 0 {
		cc := vwc.Webhooks[0].ClientConfig
		if cc.Service == nil && cc.URL != nil {
			return CheckRow{Component: "webhook service", Status: "NotUsed", Detail: "the webhook configuration calls " + *cc.URL}
		}
		if cc.Service != nil {
			svc = types.NamespacedName{Namespace: cc.Service.Namespace, Name: cc.Service.Name}
		}
	}
	r := CheckRow{Component: fmt.Sprintf("service/%s -n %s", svc.Name, svc.Namespace)}
	problem := func(p string) {
		if k.RequireWebhook {
			r.Problem = fmt.Sprintf("service %s %s", svc, p)
		}
	}
	err := k.Client.Get(ctx, svc, &corev1.Service{})
	switch {
	case apierrors.IsNotFound(err):
		r.Status = "Missing"
		problem("is missing")
		return r
	case err != nil:
		r.Status, r.Detail = "Unknown", err.Error()
		problem("could not be read: " + err.Error())
		return r
	}
	slices := &discoveryv1.EndpointSliceList{}
	if err := k.Client.List(ctx, slices, client.InNamespace(svc.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
		r.Status, r.Detail = "Unknown", err.Error()
		problem("endpoints could not be read: " + err.Error())
		return r
	}
	ready := 0
	for _, s := range slices.Items {
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				ready += len(ep.Addresses)
			}
		}
	}
	if ready == 0 {
		r.Status = "NotReady"
		r.Detail = fmt.Sprintf("no ready endpoints: see `kubectl -n %s get pods,endpointslices`", svc.Namespace)
		problem("has no ready endpoints")
		return r
	}
	r.Status, r.Detail = "Ready", fmt.Sprintf("%d ready endpoints", ready)
	return r
}

var ruleID = regexp.MustCompile(`\[EXT-[A-Z0-9]+-[0-9]+\]`)

// answers asks the API server to create, in a dry run, an Extension every policy
// refuses (an unknown type, both scopes, a version that is not semver) and reads who
// answered: the kubeext webhook's denial carries [EXT-...] rule ids.
func (k *checkRun) answers(ctx context.Context) CheckRow {
	r := CheckRow{Component: "webhook answers"}
	problem := func(p string) {
		if k.RequireWebhook {
			r.Problem = "the webhook does not answer: " + p
		}
	}
	if !k.established[k.in.ExtensionCRD] {
		r.Status, r.Detail = "Unknown", "needs the Extension CRD"
		problem("the Extension CRD is not Established")
		return r
	}
	probe := &v1alpha1.Extension{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "kubeext-init-check-",
			Annotations:  map[string]string{"kubeext.dev/purpose": "kubectl ext init --check: a server-side dry run the webhook must deny"},
		},
		Spec: v1alpha1.ExtensionSpec{
			ExtensionType: "kubeext-init-check.invalid",
			Scope: v1alpha1.Scope{
				Cluster:   &v1alpha1.ClusterScope{ReleaseNamespace: "kube-system"},
				Namespace: &v1alpha1.NamespaceScope{TargetNamespace: "kube-system"},
			},
			AutoUpgradeMinorVersion: ptr.To(true),
			Version:                 "not-a-version",
		},
	}
	err := k.Client.Create(ctx, probe, client.DryRunAll)
	if err == nil {
		var ids []string
		var warned []string
		if k.Warnings != nil {
			warned = k.Warnings()
		}
		for _, w := range warned {
			ids = append(ids, ruleID.FindAllString(w, -1)...)
		}
		if len(ids) > 0 {
			r.Status, r.Detail = "Yes", "warned (its rules are set to warn, not deny): "+strings.Join(unique(ids), " ")
			return r
		}
		r.Status, r.Detail = "No", "an invalid Extension was accepted (server dry run): nothing reviews Extensions"
		problem("an invalid Extension was accepted")
		return r
	}
	msg := err.Error()
	switch ids := ruleID.FindAllString(msg, -1); {
	case strings.Contains(msg, "admission webhook") && len(ids) > 0:
		r.Status, r.Detail = "Yes", "denied an invalid Extension (server dry run): "+strings.Join(unique(ids), " ")
	case strings.Contains(msg, "failed calling webhook"):
		r.Status, r.Detail = "No", "the API server could not call it: "+msg
		problem("the API server could not call it")
	case strings.Contains(msg, "admission webhook"):
		r.Status, r.Detail = "No", "another webhook denied the request, without kubeext rule ids: "+msg
		problem("another webhook answered, without kubeext rule ids")
	default:
		r.Status, r.Detail = "Unknown", msg
		problem(msg)
	}
	return r
}

func unique(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
