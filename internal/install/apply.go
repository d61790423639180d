package install

import (
	"context"
	"fmt"
	"io"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
)

// FieldManager owns the fields `kubectl ext init` applies.
const FieldManager = "kubectl-ext"

var (
	crdResource       = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	namespaceResource = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

// Applier applies the manifests with server-side apply (field manager kubectl-ext,
// conflicts forced) through a dynamic client, finding each kind's resource with a
// discovery-backed RESTMapper, and prints one line per object like kubectl.
type Applier struct {
	Dynamic dynamic.Interface
	Mapper  meta.RESTMapper
	// DryRun has the API server check every object and keep none.
	DryRun bool
	// Out gets "KIND/NAME OUTCOME" for each object.
	Out io.Writer
	// Timeout bounds the wait for the CRDs to be Established and served.
	Timeout time.Duration
}

// Apply applies the CRDs, waits for them to be Established and served, then applies
// the namespaces and the rest.
func (ap Applier) Apply(ctx context.Context, m Manifests) error {
	a := &applyRun{dyn: ap.Dynamic, mapper: ap.Mapper, dryRun: ap.DryRun, out: ap.Out,
		crdKinds: map[schema.GroupKind]string{}, crdServed: map[string]bool{},
		namespaces: map[string]bool{}, nsExists: map[string]bool{}}
	for _, c := range m.CRDs {
		a.crdKinds[crdGroupKind(c)] = c.GetName()
	}
	for _, n := range m.Namespaces {
		a.namespaces[n.GetName()] = true
	}
	if err := a.applyAll(ctx, m.CRDs); err != nil {
		return err
	}
	if !a.dryRun {
		if err := a.waitForCRDs(ctx, m.CRDs, ap.Timeout); err != nil {
			return err
		}
	}
	if err := a.applyAll(ctx, m.Namespaces); err != nil {
		return err
	}
	return a.applyAll(ctx, m.Rest)
}

// applyRun is one Apply: the clients, and what the run has learnt of the cluster.
type applyRun struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
	dryRun bool
	out    io.Writer

	// What this run would create: in a server dry run nothing is created, so objects
	// of a kind whose CRD is not installed yet, or in a namespace that does not exist
	// yet, are skipped (and said so) instead of failing the run.
	crdKinds   map[schema.GroupKind]string // kind -> the name of its CRD
	crdServed  map[string]bool
	namespaces map[string]bool
	nsExists   map[string]bool
}

func (a *applyRun) applyAll(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		outcome, err := a.apply(ctx, o)
		if err != nil {
			return err
		}
		if a.dryRun {
			outcome += " (server dry run)"
		}
		if _, err := fmt.Fprintf(a.out, "%s %s\n", ObjectName(o), outcome); err != nil {
			return err
		}
	}
	return nil
}

// apply applies one object and says what happened: serverside-applied, or unchanged
// when its resourceVersion did not move (in a dry run: when the object the API server
// returns equals the live one).
func (a *applyRun) apply(ctx context.Context, o *unstructured.Unstructured) (string, error) {
	name := ObjectName(o)
	if crd := a.crdKinds[o.GroupVersionKind().GroupKind()]; a.dryRun && crd != "" {
		served, err := a.crdEstablished(ctx, crd)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, apiError(err))
		}
		if !served {
			return "skipped: its CustomResourceDefinition is not installed yet", nil
		}
	}
	ri, err := a.resource(o)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	if ns := o.GetNamespace(); a.dryRun && ns != "" && a.namespaces[ns] {
		exists, err := a.namespaceExists(ctx, ns)
		if err != nil {
			return "", fmt.Errorf("%s: %w", name, apiError(err))
		}
		if !exists {
			return fmt.Sprintf("skipped: namespace %s does not exist yet", ns), nil
		}
	}
	live, err := ri.Get(ctx, o.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		live = nil
	case err != nil:
		return "", fmt.Errorf("reading %s: %w", name, apiError(err))
	}
	if live != nil && keepsExisting(o) {
		return "unchanged (it exists; init never overwrites the policy configuration)", nil
	}
	adopted := ""
	if live != nil && webhookConfigKinds[o.GroupVersionKind().GroupKind()] {
		if adopted, err = a.adoptWebhooks(ctx, ri, o, live); err != nil {
			return "", err
		}
		if adopted != "" && a.dryRun {
			return "serverside-applied, " + adopted, nil // the server would judge an apply against the unadopted object
		}
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if a.dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	got, err := ri.Apply(ctx, o.GetName(), o, opts)
	if adopted != "" && err == nil {
		return "serverside-applied, " + adopted, nil
	}
	if err != nil {
		return "", fmt.Errorf("applying %s: %w", name, apiError(err))
	}
	if live != nil {
		if a.dryRun && equality.Semantic.DeepEqual(live.Object, got.Object) ||
			!a.dryRun && live.GetResourceVersion() == got.GetResourceVersion() {
			return "unchanged", nil
		}
	}
	return "serverside-applied", nil
}

func (a *applyRun) resource(o *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := o.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if r, ok := a.mapper.(meta.ResettableRESTMapper); ok && meta.IsNoMatchError(err) {
		r.Reset() // discovery was read (or cached on disk) before the kind was served
		m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		return a.dyn.Resource(m.Resource), nil
	}
	if o.GetNamespace() == "" {
		return nil, fmt.Errorf("the embedded manifest names no namespace")
	}
	return a.dyn.Resource(m.Resource).Namespace(o.GetNamespace()), nil
}

// crdEstablished reports whether the CRD is installed and Established (before this
// run, in a dry run: a dry run does not install it).
func (a *applyRun) crdEstablished(ctx context.Context, name string) (bool, error) {
	if ok, known := a.crdServed[name]; known {
		return ok, nil
	}
	live, err := a.dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return false, err
	}
	ok := err == nil
	if ok {
		ok, _ = establishedCondition(live)
	}
	a.crdServed[name] = ok
	return ok, nil
}

func (a *applyRun) namespaceExists(ctx context.Context, ns string) (bool, error) {
	if exists, ok := a.nsExists[ns]; ok {
		return exists, nil
	}
	_, err := a.dyn.Resource(namespaceResource).Get(ctx, ns, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return false, err
	}
	a.nsExists[ns] = err == nil
	return err == nil, nil
}

// waitForCRDs waits until every CRD is Established and the RESTMapper serves its kind,
// so the objects of those kinds can be applied next.
func (a *applyRun) waitForCRDs(parent context.Context, crds []*unstructured.Unstructured, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	for _, c := range crds {
		var why string
		err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			live, err := a.dyn.Resource(crdResource).Get(ctx, c.GetName(), metav1.GetOptions{})
			if err != nil {
				if apierrors.IsNotFound(err) {
					why = "it is not found"
					return false, nil
				}
				return false, apiError(err)
			}
			ok, msg := establishedCondition(live)
			why = msg
			return ok, nil
		})
		switch {
		case err == nil:
		case parent.Err() != nil:
			return parent.Err()
		case ctx.Err() == nil:
			return fmt.Errorf("waiting for customresourcedefinition %s: %w", c.GetName(), err)
		default:
			return fmt.Errorf("customresourcedefinition %s is not Established after %s (%s); see `kubectl get crd %s -o yaml`, or wait longer with --timeout",
				c.GetName(), timeout, why, c.GetName())
		}
	}
	// Discovery serves a new kind shortly after its CRD is Established. The mapper may
	// hold discovery from before (read earlier in this run, or cached on disk for
	// hours): read it afresh.
	if r, ok := a.mapper.(meta.ResettableRESTMapper); ok {
		r.Reset()
	}
	for _, c := range crds {
		gk := crdGroupKind(c)
		err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(context.Context) (bool, error) {
			_, err := a.mapper.RESTMapping(gk)
			if r, ok := a.mapper.(meta.ResettableRESTMapper); ok && meta.IsNoMatchError(err) {
				r.Reset() // the mapper read discovery before the CRD existed
				_, err = a.mapper.RESTMapping(gk)
			}
			if err != nil && !meta.IsNoMatchError(err) {
				return false, err
			}
			return err == nil, nil
		})
		switch {
		case err == nil:
		case parent.Err() != nil:
			return parent.Err()
		default:
			return fmt.Errorf("the API server does not serve %s after %s although its CRD is Established: %w", gk, timeout, err)
		}
	}
	return nil
}

// establishedCondition reads a CRD's Established condition; the message says why not.
func establishedCondition(crd *unstructured.Unstructured) (bool, string) {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] != "Established" {
			continue
		}
		if cm["status"] == "True" {
			return true, "Established"
		}
		msg, _ := cm["message"].(string)
		if msg == "" {
			msg, _ = cm["reason"].(string)
		}
		return false, "Established is " + fmt.Sprint(cm["status"]) + ": " + msg
	}
	return false, "no Established condition yet"
}

func crdGroupKind(crd *unstructured.Unstructured) schema.GroupKind {
	g, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	k, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	return schema.GroupKind{Group: g, Kind: k}
}

// apiError adds what to do to the errors a user can fix.
func apiError(err error) error {
	switch {
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%w (kubectl ext init installs CRDs and cluster-wide objects: run it as a cluster administrator)", err)
	case apierrors.IsInvalid(err):
		return fmt.Errorf("%w (server-side apply keeps the fields other field managers set: see them with `kubectl get --show-managed-fields -o yaml`, then remove them or delete the object and run init again)", err)
	}
	return err
}
