package policyinput

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// Feed keeps inv in step with the informers of ExtensionTypes and Extensions, the way
// Gatekeeper replicates cluster data into OPA: every add, update and delete the
// informers see is written to the inventory, so a review reads it instead of listing.
// The returned function reports whether both handlers have seen their informer's
// initial list; until then the inventory is incomplete and reviews must wait. onError
// is told about a write the inventory refused (the previous content stays).
func Feed(ctx context.Context, informers cache.Informers, inv Inventory, onError func(error)) (synced func() bool, err error) {
	if onError == nil {
		onError = func(error) {}
	}
	report := func(err error) {
		if err != nil {
			onError(err)
		}
	}
	types, err := feed(ctx, informers, &v1alpha1.ExtensionType{}, "extension types", inv.SetExtensionType, inv.DeleteExtensionType, report)
	if err != nil {
		return nil, err
	}
	exts, err := feed(ctx, informers, &v1alpha1.Extension{}, "extensions", inv.SetExtension, inv.DeleteExtension, report)
	if err != nil {
		return nil, err
	}
	return func() bool { return types.HasSynced() && exts.HasSynced() }, nil
}

// feed writes every add, update and delete of kind's objects that the informers see
// with set and del.
func feed[T client.Object](ctx context.Context, informers cache.Informers, kind T, what string,
	set func(T) error, del func(string) error, report func(error)) (toolscache.ResourceEventHandlerRegistration, error) {
	informer, err := informers.GetInformer(ctx, kind)
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", what, err)
	}
	apply := func(obj any) {
		if o, ok := obj.(T); ok {
			report(set(o))
		}
	}
	reg, err := informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    apply,
		UpdateFunc: func(_, obj any) { apply(obj) },
		DeleteFunc: func(obj any) { report(del(nameOf(obj))) },
	})
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", what, err)
	}
	return reg, nil
}

// IndexedFieldsOnly is an informer transform for Extensions whose only reader is
// Feed: it keeps what the inventory indexes (the name, the type, the scope and the
// recorded release) and drops the rest (settings, status history, managedFields), so
// a process that holds every Extension of a large cluster holds little of each.
// Anything else passes unchanged.
func IndexedFieldsOnly(obj any) (any, error) {
	e, ok := obj.(*v1alpha1.Extension)
	if !ok {
		return obj, nil
	}
	kept := &v1alpha1.Extension{TypeMeta: e.TypeMeta}
	kept.Name, kept.Namespace, kept.UID, kept.ResourceVersion = e.Name, e.Namespace, e.UID, e.ResourceVersion
	kept.Spec.ExtensionType, kept.Spec.Scope = e.Spec.ExtensionType, e.Spec.Scope
	kept.Status.Release = e.Status.Release
	return kept, nil
}

// nameOf names a deleted object, also when the informer missed the deletion and hands
// over its last known state.
func nameOf(obj any) string {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if o, ok := obj.(client.Object); ok {
		return o.GetName()
	}
	return ""
}

// Types reads the ExtensionType a review names: from Cache (the informers that feed
// the inventory), and from API to judge a refusal again, since a type created or
// synced a moment ago may not have reached the informers yet. Types never writes the
// inventory: the informers are its only writer, so an older copy read here can never
// replace a newer one they delivered meanwhile.
type Types struct {
	Cache, API client.Reader
}

// Get returns the type called name from the cache; nil when there is none.
func (t Types) Get(ctx context.Context, name string) (*v1alpha1.ExtensionType, error) {
	return getType(ctx, t.Cache, name)
}

// Fresh reads the type called name from the API server; nil when there is none.
func (t Types) Fresh(ctx context.Context, name string) (*v1alpha1.ExtensionType, error) {
	return getType(ctx, t.API, name)
}

func getType(ctx context.Context, r client.Reader, name string) (*v1alpha1.ExtensionType, error) {
	if name == "" {
		return nil, nil
	}
	t := &v1alpha1.ExtensionType{}
	switch err := r.Get(ctx, client.ObjectKey{Name: name}, t); {
	case err == nil:
		return t, nil
	case apierrors.IsNotFound(err):
		return nil, nil // the policies say so (EXT-TYPE-001)
	default:
		return nil, fmt.Errorf("reading extension type %q: %w", name, err)
	}
}
