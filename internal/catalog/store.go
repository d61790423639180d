package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
)

// The resources the catalog reads and writes, as Explain names them.
const (
	resourceTypes  = "extensiontypes.kubeext.dev"
	resourceStatus = "extensiontypes.kubeext.dev/status"
)

// Catalog reads and syncs the extension types of one cluster.
type Catalog struct {
	Client client.Client
	// Charts opens a type's chart source, usually chartsource.New with the caller's
	// options.
	Charts func(v1alpha1.ChartSource) (chartsource.Source, error)
	// Progress receives a line when EnsureSynced reads a chart source; nil discards it.
	Progress io.Writer
	// Now stamps status.syncedAt; nil means time.Now.
	Now func() time.Time
	// Explain turns an API error into a message a user can act on (lifecycle.Explain);
	// nil returns it unchanged. It is injected because lifecycle, which owns that
	// wording, imports this package.
	Explain func(err error, verb, resource string) error
}

// TypeNotFoundError says an extension type does not exist and which ones do.
type TypeNotFoundError struct {
	Name string
	// Known lists the existing types, sorted; nil when they could not be listed.
	Known []string
	// Listed is false when listing the known types failed.
	Listed bool
}

func (e *TypeNotFoundError) Error() string {
	if !e.Listed {
		return fmt.Sprintf("extension type %q does not exist", e.Name)
	}
	known := "none; add one with `kubectl ext type add` or `kubectl ext init`"
	if len(e.Known) > 0 {
		known = strings.Join(e.Known, ", ")
	}
	return fmt.Sprintf("extension type %q does not exist (known types: %s)", e.Name, known)
}

// IsTypeNotFound reports whether err says an extension type does not exist.
func IsTypeNotFound(err error) bool {
	var nf *TypeNotFoundError
	return errors.As(err, &nf)
}

func (c *Catalog) explain(err error, verb, resource string) error {
	if err == nil || c.Explain == nil {
		return err
	}
	return c.Explain(err, verb, resource)
}

func (c *Catalog) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Get reads an extension type. One that does not exist is a *TypeNotFoundError
// listing the known types; a missing CRD is not that, but an API error to explain.
func (c *Catalog) Get(ctx context.Context, name string) (*v1alpha1.ExtensionType, error) {
	t := &v1alpha1.ExtensionType{}
	err := c.Client.Get(ctx, types.NamespacedName{Name: name}, t)
	if apierrors.IsNotFound(err) && !crdMissing(err) {
		nf := &TypeNotFoundError{Name: name}
		if list, lerr := c.List(ctx); lerr == nil {
			nf.Listed = true
			for _, it := range list {
				nf.Known = append(nf.Known, it.Name)
			}
		}
		return nil, nf
	}
	if err != nil {
		return nil, c.explain(err, "get", resourceTypes)
	}
	return t, nil
}

// crdMissing reports whether a NotFound comes from the API server not serving the
// resource at all rather than from a missing object.
func crdMissing(err error) bool {
	return meta.IsNoMatchError(err) || strings.Contains(err.Error(), "the server could not find the requested resource")
}

// List reads every extension type, sorted by name.
func (c *Catalog) List(ctx context.Context) ([]v1alpha1.ExtensionType, error) {
	list := &v1alpha1.ExtensionTypeList{}
	if err := c.Client.List(ctx, list); err != nil {
		return nil, c.explain(err, "list", resourceTypes)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

// NeverSynced reports whether the type's versions were never read: no sync time and
// no versions (a type whose sync found nothing has a time and is not synced again).
func NeverSynced(t *v1alpha1.ExtensionType) bool {
	return t.Status.SyncedAt == nil && len(t.Status.Versions) == 0
}

// EnsureSynced syncs the type when its versions were never read, so a type just
// added can be used at once; otherwise it leaves the versions as last read.
func (c *Catalog) EnsureSynced(ctx context.Context, t *v1alpha1.ExtensionType) error {
	if !NeverSynced(t) {
		return nil
	}
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, "Reading the versions of extension type %s from %s\n", t.Name, t.Spec.Chart.Repository)
	}
	return c.Sync(ctx, t)
}

// Sync reads the type's versions from its chart source once and writes them, with
// the time and a Synced condition, to status.versions through the status
// subresource. When another writer changed the type meanwhile (a conflict), the type
// is read again and the write retried (client-go's retry.RetryOnConflict); t ends up
// as written. A source that cannot be read is recorded as Synced=False, and its
// error returned.
func (c *Catalog) Sync(ctx context.Context, t *v1alpha1.ExtensionType) error {
	src, err := c.Charts(t.Spec.Chart)
	if err != nil {
		return fmt.Errorf("extension type %s: %w", t.Name, err)
	}
	cvs, srcErr := src.Versions(ctx)
	now := metav1.NewTime(c.now())
	first := true
	werr := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if !first {
			fresh := &v1alpha1.ExtensionType{}
			if err := c.Client.Get(ctx, client.ObjectKeyFromObject(t), fresh); err != nil {
				return c.explain(err, "get", resourceTypes)
			}
			*t = *fresh
		}
		first = false
		record(t, cvs, srcErr, now)
		return c.Client.Status().Update(ctx, t)
	})
	if srcErr != nil {
		// The Synced=False write is best effort: the source's error is what matters.
		return fmt.Errorf("reading the versions of extension type %s from %s: %w", t.Name, t.Spec.Chart.Repository, srcErr)
	}
	if werr != nil {
		var status apierrors.APIStatus
		if errors.As(werr, &status) {
			werr = c.explain(werr, "update", resourceStatus)
		}
		return fmt.Errorf("writing the versions of extension type %s: %w", t.Name, werr)
	}
	return nil
}

// record sets what a sync read on the type's status: the versions and the time, or
// only a failed Synced condition (the versions last read stay usable).
func record(t *v1alpha1.ExtensionType, cvs []chartsource.ChartVersion, srcErr error, now metav1.Time) {
	if srcErr != nil {
		meta.SetStatusCondition(&t.Status.Conditions, metav1.Condition{
			Type: "Synced", Status: metav1.ConditionFalse, Reason: "SourceError",
			Message: srcErr.Error(), ObservedGeneration: t.Generation,
		})
		return
	}
	t.Status.Versions = Versions(t, cvs)
	t.Status.SyncedAt = &now
	meta.SetStatusCondition(&t.Status.Conditions, metav1.Condition{
		Type: "Synced", Status: metav1.ConditionTrue, Reason: "Synced",
		Message: fmt.Sprintf("%d versions", len(cvs)), ObservedGeneration: t.Generation,
	})
}
