package install

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
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
	"github.com/kubeext/kubectl-ext/manifests"
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
	Manager      types.NamespacedName // the extension manager's Deployment
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
	objs, err := kustomizationObjects(manifests.Webhook, manifests.WebhookKustomizationFile)
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
	mgr, err := kustomizationObjects(manifests.ExtensionManager, manifests.ManagerKustomizationFile)
	if err != nil {
		return in, err
	}
	for _, o := range mgr {
		if o.GetKind() == "Deployment" {
			in.Manager = types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}
		}
	}
	if in.ExtensionCRD == "" || in.Webhook == "" || in.Service.Name == "" || in.Manager.Name == "" {
		return in, fmt.Errorf("the embedded manifests lack the Extension CRD, the webhook's configuration and Service, or the manager's Deployment")
	}
	return in, nil
}

// Checker looks at one cluster: what init installs, whether the webhook answers, and
// whether an extension manager runs and leads.
type Checker struct {
	Client client.Client
	// Warnings returns the API server's warnings to Client so far: a webhook whose
	// rules only warn accepts the probe and says so in a warning.
	Warnings func() []string
	// RequireWebhook makes a missing or silent webhook a problem, not a note.
	RequireWebhook bool
	// RequireManager makes a missing, unavailable or leaderless extension manager a
	// problem, not a note.
	RequireManager bool
	// Now is the clock a Lease's expiry is judged by; nil means time.Now.
	Now func() time.Time
}

// checkRun is one Check: the Checker, what init installs, and the CRDs found
// Established (the probe needs the Extension CRD).
type checkRun struct {
	*Checker
	in          embedded
	established map[string]bool
}

// NewChecker returns a Checker for the cluster of cfg.
func NewChecker(cfg *rest.Config, requireWebhook, requireManager bool) (*Checker, error) {
	cfg = rest.CopyConfig(cfg)
	w := &warnings{}
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		return nil, err
	}
	return &Checker{Client: c, Warnings: w.all, RequireWebhook: requireWebhook, RequireManager: requireManager}, nil
}

// Check reports on each CRD, the extension types, the webhook configuration, its
// Service, whether the webhook answers a probe, the manager's Deployment and who
// holds its leader election Lease. It fails only when the embedded
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
	return append(rows, k.managerDeployment(ctx), k.managerLease(ctx))
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

// ManagerLease is the extension manager's leader election Lease (cmd/extension-manager
// takes the same name). In the cluster it lives in the manager's namespace; a manager
// run outside the cluster keeps it in kube-system unless told otherwise.
const ManagerLease = "extension-manager.kubeext.dev"

// outOfClusterLeaseNamespace is where a manager run from a kubeconfig elects its
// leader by default (--leader-election-namespace).
const outOfClusterLeaseNamespace = "kube-system"

func (k *checkRun) managerDeployment(ctx context.Context) CheckRow {
	key := k.in.Manager
	r := CheckRow{Component: fmt.Sprintf("deployment/%s -n %s", key.Name, key.Namespace)}
	d := &appsv1.Deployment{}
	err := k.Client.Get(ctx, key, d)
	switch {
	case apierrors.IsNotFound(err):
		r.Status = "Missing"
		r.Detail = "optional; install it with `kubectl ext init --with-manager`, or run bin/extension-manager outside the cluster (docs/manager.md)"
		if k.RequireManager {
			r.Detail = "install it with `kubectl ext init --with-manager`"
			r.Problem = "the extension manager's deployment " + key.String() + " is missing"
		}
		return r
	case err != nil:
		r.Status, r.Detail = "Unknown", err.Error()
		if k.RequireManager {
			r.Problem = "the extension manager's deployment " + key.String() + " could not be read: " + err.Error()
		}
		return r
	}
	want := ptr.Deref(d.Spec.Replicas, 1)
	var images []string
	for _, c := range d.Spec.Template.Spec.Containers {
		images = append(images, c.Image)
	}
	r.Detail = fmt.Sprintf("%d/%d replicas available, image %s", d.Status.AvailableReplicas, want, strings.Join(images, ", "))
	if d.Status.AvailableReplicas > 0 {
		r.Status = "Available"
		return r
	}
	r.Status = "NotAvailable"
	r.Detail += fmt.Sprintf("; see `kubectl -n %s get pods -l app.kubernetes.io/name=%s`", key.Namespace, key.Name)
	if k.RequireManager {
		r.Problem = fmt.Sprintf("the extension manager's deployment %s has no available replica", key)
	}
	return r
}

// managerLease reports who leads: the Lease in the manager's namespace, else the one
// a manager outside the cluster keeps in kube-system.
func (k *checkRun) managerLease(ctx context.Context) CheckRow {
	namespaces := []string{k.in.Manager.Namespace, outOfClusterLeaseNamespace}
	r := CheckRow{Component: fmt.Sprintf("lease/%s -n %s", ManagerLease, namespaces[0])}
	problem := func(p string) {
		if k.RequireManager {
			r.Problem = p
		}
	}
	var lease *coordinationv1.Lease
	for _, ns := range namespaces {
		l := &coordinationv1.Lease{}
		err := k.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: ManagerLease}, l)
		if apierrors.IsNotFound(err) {
			continue
		}
		r.Component = fmt.Sprintf("lease/%s -n %s", ManagerLease, ns)
		if err != nil {
			r.Status, r.Detail = "Unknown", err.Error()
			problem("the extension manager's leader election lease could not be read: " + err.Error())
			return r
		}
		lease = l
		break
	}
	if lease == nil {
		r.Status, r.Detail = "Missing", "no extension manager has been elected leader"
		problem("no extension manager leads: lease " + namespaces[0] + "/" + ManagerLease + " is missing")
		return r
	}
	outside := ""
	if lease.Namespace == outOfClusterLeaseNamespace && k.in.Manager.Namespace != outOfClusterLeaseNamespace {
		outside = " (a manager running outside the cluster)"
	}
	holder := ptr.Deref(lease.Spec.HolderIdentity, "")
	if holder == "" {
		r.Status, r.Detail = "Released", "no holder: the last leader stopped and gave the lease up"+outside
		problem("no extension manager leads: lease " + lease.Namespace + "/" + ManagerLease + " has no holder")
		return r
	}
	now := time.Now
	if k.Now != nil {
		now = k.Now
	}
	r.Detail = "held by " + holder + outside
	if lease.Spec.RenewTime == nil {
		r.Status = "Held"
		return r
	}
	age := now().Sub(lease.Spec.RenewTime.Time).Truncate(time.Second)
	r.Detail += fmt.Sprintf(", renewed %s ago", age)
	if d := time.Duration(ptr.Deref(lease.Spec.LeaseDurationSeconds, 0)) * time.Second; d > 0 && age > d {
		r.Status = "Expired"
		r.Detail += fmt.Sprintf(" (lease duration %s): the leader stopped without giving it up; a standby takes over", d)
		problem("no extension manager leads: lease " + lease.Namespace + "/" + ManagerLease + " expired")
		return r
	}
	r.Status = "Held"
	return r
}
