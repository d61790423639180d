package cli

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// initCheckRow is one line of `kubectl ext init --check`.
type initCheckRow struct {
	Component, Status, Detail string
	// Problem, when set, makes --check exit 1: a required part is missing or broken.
	Problem string
}

// initWarnings collects the API server's warnings for one client.
type initWarnings struct {
	mu   sync.Mutex
	text []string
}

func (w *initWarnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.text = append(w.text, text)
}

func (w *initWarnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.text...)
}

// initInstalled names what init installs, read from the embedded manifests.
type initInstalled struct {
	CRDs         []string // CustomResourceDefinition names
	ExtensionCRD string   // the one an Extension needs
	Catalog      []string // ExtensionType names of the default catalog
	Webhook      string   // the ValidatingWebhookConfiguration's name
	Service      types.NamespacedName
}

func readInitInstalled() (initInstalled, error) {
	var in initInstalled
	m, err := buildInitManifests(initSelection{Catalog: true})
	if err != nil {
		return in, err
	}
	for _, c := range m.CRDs {
		in.CRDs = append(in.CRDs, c.GetName())
		if initCRDGroupKind(c) == v1alpha1.GroupVersion.WithKind("Extension").GroupKind() {
			in.ExtensionCRD = c.GetName()
		}
	}
	for _, t := range m.Rest {
		in.Catalog = append(in.Catalog, t.GetName())
	}
	objs, err := initWebhookObjects()
	if err != nil {
		return in, err
	}
	for _, o := range objs {
		if o.GetKind() != "ValidatingWebhookConfiguration" {
			continue
		}
		vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, vwc); err != nil {
			return in, fmt.Errorf("the embedded %s: %w", initObjectName(o), err)
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

func (o *InitOptions) runCheck(cmd *cobra.Command) error {
	ctx := cmd.Context()
	in, err := readInitInstalled()
	if err != nil {
		return err
	}
	cfg, err := o.f.flags.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("no cluster to talk to (check --kubeconfig and --context): %w", err)
	}
	cfg = rest.CopyConfig(cfg)
	warnings := &initWarnings{}
	cfg.WarningHandler = warnings
	s := scheme()
	if err := apiextensionsv1.AddToScheme(s); err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return err
	}
	ck := &initChecker{c: c, warnings: warnings, in: in, requireWebhook: o.WithWebhook}
	rows := ck.rows(ctx)

	w := printers.GetNewTabWriter(o.Out)
	fmt.Fprintln(w, "COMPONENT\tSTATUS\tDETAIL")
	var problems []string
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\n", r.Component, r.Status, r.Detail)
		if r.Problem != "" {
			problems = append(problems, r.Problem)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(problems) > 0 {
		fix := "kubectl ext init"
		if o.WithWebhook {
			fix += " --with-webhook"
		}
		return fmt.Errorf("%s; install or repair with `%s` (see docs/operations.md for the webhook)", strings.Join(problems, "; "), fix)
	}
	return nil
}

// initChecker looks at one cluster.
type initChecker struct {
	c              client.Client
	warnings       *initWarnings
	in             initInstalled
	requireWebhook bool

	established map[string]bool
}

func (k *initChecker) rows(ctx context.Context) []initCheckRow {
	k.established = map[string]bool{}
	var rows []initCheckRow
	for _, name := range k.in.CRDs {
		rows = append(rows, k.crd(ctx, name))
	}
	rows = append(rows, k.types(ctx))
	vwcRow, vwc := k.webhookConfiguration(ctx)
	rows = append(rows, vwcRow, k.service(ctx, vwc), k.answers(ctx))
	return rows
}

func (k *initChecker) crd(ctx context.Context, name string) initCheckRow {
	r := initCheckRow{Component: "customresourcedefinition/" + name}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	err := k.c.Get(ctx, client.ObjectKey{Name: name}, crd)
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
			r.Status, r.Detail = "Established", "served versions: "+initServedVersions(crd)
			return r
		}
	}
	r.Status, r.Detail = "NotEstablished", "see `kubectl get crd "+name+" -o yaml`"
	r.Problem = "customresourcedefinition " + name + " is not Established"
	return r
}

func initServedVersions(crd *apiextensionsv1.CustomResourceDefinition) string {
	var vs []string
	for _, v := range crd.Spec.Versions {
		if v.Served {
			vs = append(vs, v.Name)
		}
	}
	return strings.Join(vs, ", ")
}

func (k *initChecker) types(ctx context.Context) initCheckRow {
	r := initCheckRow{Component: "extension types"}
	list := &v1alpha1.ExtensionTypeList{}
	if err := k.c.List(ctx, list); err != nil {
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
func (k *initChecker) webhookConfiguration(ctx context.Context) (initCheckRow, *admissionregistrationv1.ValidatingWebhookConfiguration) {
	r := initCheckRow{Component: "validatingwebhookconfiguration/" + k.in.Webhook}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	err := k.c.Get(ctx, client.ObjectKey{Name: k.in.Webhook}, vwc)
	switch {
	case apierrors.IsNotFound(err):
		r.Status = "Missing"
		r.Detail = "optional; install it with `kubectl ext init --with-webhook`"
		if k.requireWebhook {
			r.Detail = "install it with `kubectl ext init --with-webhook`"
			r.Problem = "validatingwebhookconfiguration " + k.in.Webhook + " is missing"
		}
		return r, nil
	case err != nil:
		r.Status, r.Detail = "Unknown", err.Error()
		if k.requireWebhook {
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
func (k *initChecker) service(ctx context.Context, vwc *admissionregistrationv1.ValidatingWebhookConfiguration) initCheckRow {
	svc := k.in.Service
	if vwc != nil && len(vwc.Webhooks) > 0 {
		cc := vwc.Webhooks[0].ClientConfig
		if cc.Service == nil && cc.URL != nil {
			return initCheckRow{Component: "webhook service", Status: "NotUsed", Detail: "the webhook configuration calls " + *cc.URL}
		}
		if cc.Service != nil {
			svc = types.NamespacedName{Namespace: cc.Service.Namespace, Name: cc.Service.Name}
		}
	}
	r := initCheckRow{Component: fmt.Sprintf("service/%s -n %s", svc.Name, svc.Namespace)}
	problem := func(p string) {
		if k.requireWebhook {
			r.Problem = fmt.Sprintf("service %s %s", svc, p)
		}
	}
	err := k.c.Get(ctx, svc, &corev1.Service{})
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
	if err := k.c.List(ctx, slices, client.InNamespace(svc.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
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

var initRuleID = regexp.MustCompile(`\[EXT-[A-Z0-9]+-[0-9]+\]`)

// answers asks the API server to create, in a dry run, an Extension every policy
// refuses (an unknown type, both scopes, a version that is not semver) and reads who
// answered: the kubeext webhook's denial carries [EXT-...] rule ids.
func (k *initChecker) answers(ctx context.Context) initCheckRow {
	r := initCheckRow{Component: "webhook answers"}
	problem := func(p string) {
		if k.requireWebhook {
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
	err := k.c.Create(ctx, probe, client.DryRunAll)
	if err == nil {
		var ids []string
		for _, w := range k.warnings.all() {
			ids = append(ids, initRuleID.FindAllString(w, -1)...)
		}
		if len(ids) > 0 {
			r.Status, r.Detail = "Yes", "warned (its rules are set to warn, not deny): "+strings.Join(initUnique(ids), " ")
			return r
		}
		r.Status, r.Detail = "No", "an invalid Extension was accepted (server dry run): nothing reviews Extensions"
		problem("an invalid Extension was accepted")
		return r
	}
	msg := err.Error()
	switch ids := initRuleID.FindAllString(msg, -1); {
	case strings.Contains(msg, "admission webhook") && len(ids) > 0:
		r.Status, r.Detail = "Yes", "denied an invalid Extension (server dry run): "+strings.Join(initUnique(ids), " ")
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

func initUnique(in []string) []string {
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
