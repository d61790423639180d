package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// Difference is one way an extension's release, or an object of it, no longer matches
// what kubectl ext applied.
type Difference struct {
	// Object is "release NAMESPACE/NAME" or "KIND NAMESPACE/NAME".
	Object string `json:"object"`
	// Field is the path of a changed field (".data.message"); "" for the whole object.
	Field string `json:"field,omitempty"`
	// Change says what happened: "deleted", "changed", or the release's story.
	Change string `json:"change"`
}

func (d Difference) String() string {
	if d.Field == "" {
		return d.Object + ": " + d.Change
	}
	return d.Object + " " + d.Field + ": " + d.Change
}

// IsRelease reports whether the difference is the release's own (a revision kubectl
// ext did not record), which only adopting the release corrects.
func (d Difference) IsRelease() bool { return strings.HasPrefix(d.Object, "release ") }

// releaseReader reads stored releases; HelmClient has it.
type releaseReader interface {
	History(name, namespace string) ([]*helmrelease.Release, error)
}

// DriftFieldOwner is the field manager of the server-side dry-runs Drift sends; a dry
// run stores nothing, so the name never appears in an object.
const DriftFieldOwner = "kubeext-drift"

// maxFieldsPerObject bounds what one object contributes to a report.
const maxFieldsPerObject = 5

// Drift compares an installed extension's release with what its status records, and
// the live objects with the manifest of the recorded revision: Helm's own manifest,
// applied as a server-side dry-run and compared with the live object, so that only
// fields the chart sets count (defaults and other controllers' fields do not). It
// returns nothing for an extension with no recorded revision.
func (m *Manager) Drift(ctx context.Context, e *v1alpha1.Extension) ([]Difference, error) {
	rec := recordOf(e)
	if rec.IsZero() {
		return nil, nil
	}
	// The check reads and dry-runs as the install identity, the one that applied
	// the release: it needs no right the extension's operations do not need already.
	rr, c, err := m.driftReaders(ctx, e)
	if err != nil {
		return nil, err
	}
	ns := ReleaseNamespace(e)
	relName := "release " + ns + "/" + e.Name
	history, err := rr.History(e.Name, ns)
	if errors.Is(err, release.ErrNotFound) {
		return []Difference{{Object: relName, Change: "uninstalled outside kubectl ext (no revision is stored)"}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("drift: reading the history of release %s/%s: %w", ns, e.Name, err)
	}
	var diffs []Difference
	var recorded *helmrelease.Release
	for _, r := range history {
		if r.Version == rec.Revision {
			recorded = r
		}
	}
	last := history[len(history)-1]
	if err := release.Verify(e.Name, ns, last, rec); err != nil {
		diffs = append(diffs, Difference{Object: relName, Field: "revision",
			Change: fmt.Sprintf("revision %d (%s, %q) is not the recorded revision %d", last.Version, statusOf(last), descriptionOf(last), rec.Revision)})
	}
	// The recorded revision's content, not its place in the history: a newer revision
	// by hand supersedes it, and its manifest is still what the objects are compared
	// with, so the report names the fields the hand change made.
	if recorded == nil || !sameContent(recorded, rec) {
		// The recorded revision is gone or altered: its manifest cannot be trusted to
		// compare objects against; the release difference says enough.
		if len(diffs) == 0 {
			diffs = append(diffs, Difference{Object: relName, Field: "revision",
				Change: fmt.Sprintf("the recorded revision %d is no longer stored as kubectl ext applied it", rec.Revision)})
		}
		return diffs, nil
	}
	objs, err := objectDrift(ctx, c, ns, recorded.Manifest)
	if err != nil {
		return nil, err
	}
	return append(diffs, objs...), nil
}

// sameContent: a stored revision has the recorded manifest and values.
func sameContent(r *helmrelease.Release, rec release.Record) bool {
	got := release.RecordOf(r)
	return got.ManifestDigest == rec.ManifestDigest && got.ValuesDigest == rec.ValuesDigest
}

func statusOf(r *helmrelease.Release) string {
	if r.Info == nil {
		return "unknown"
	}
	return r.Info.Status.String()
}

func descriptionOf(r *helmrelease.Release) string {
	if r.Info == nil {
		return ""
	}
	return r.Info.Description
}

// driftReaders returns what reads an extension's release records and objects: the
// Helm and a client of its install identity (identity.go), or the manager's own when
// Helm acts as the caller.
func (m *Manager) driftReaders(ctx context.Context, e *v1alpha1.Extension) (releaseReader, client.Client, error) {
	h, err := m.helmFor(ctx, nil, e)
	if err != nil {
		return nil, nil, fmt.Errorf("drift: %w", err)
	}
	if ih, ok := h.(*identityHelm); ok {
		h = ih.Helm
	}
	hc, ok := h.(HelmClient)
	if !ok {
		// A Helm that is not the SDK's (tests): the manager's own client.
		rr, ok := h.(releaseReader)
		if !ok {
			return nil, nil, fmt.Errorf("drift: this Helm client cannot read stored releases")
		}
		return rr, m.client, nil
	}
	if h == m.helm {
		return hc, m.client, nil
	}
	cfg, err := hc.Getter.ToRESTConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("drift: %w", err)
	}
	mapper, err := hc.Getter.ToRESTMapper()
	if err != nil {
		return nil, nil, fmt.Errorf("drift: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: Scheme(), Mapper: mapper})
	if err != nil {
		return nil, nil, fmt.Errorf("drift: %w", err)
	}
	return hc, c, nil
}

// objectDrift compares each object of a manifest with the live one, read and
// dry-run applied with c.
func objectDrift(ctx context.Context, c client.Client, ns, manifest string) ([]Difference, error) {
	var diffs []Difference
	for _, doc := range releaseutil.SplitManifests(manifest) {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil || len(u.Object) == 0 {
			continue
		}
		gvk := u.GroupVersionKind()
		mapping, err := c.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			if meta.IsNoMatchError(err) {
				diffs = append(diffs, Difference{Object: objectName(u), Change: "its kind is no longer served by the cluster"})
				continue
			}
			return nil, fmt.Errorf("drift: %s: %w", objectName(u), err)
		}
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace && u.GetNamespace() == "" {
			u.SetNamespace(ns)
		}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(gvk)
		if err := c.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
			if apierrors.IsNotFound(err) {
				diffs = append(diffs, Difference{Object: objectName(u), Change: "deleted"})
				continue
			}
			return nil, explain(err, "get", mapping.Resource.Resource)
		}
		// What the object would be with the chart's fields applied: it differs from
		// the live object exactly where a chart-set field was changed.
		applied := u.DeepCopy()
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(applied),
			client.FieldOwner(DriftFieldOwner), client.ForceOwnership, client.DryRunAll); err != nil {
			// An edit can leave an object the chart's own fields no longer merge into
			// (two list entries with one key, say); that is drift too, and Helm's
			// upgrade, which patches rather than applies, corrects it. Only an error
			// that says nothing about the object stops the check.
			if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsConflict(err) {
				diffs = append(diffs, Difference{Object: objectName(u), Change: "the chart's object no longer applies to it: " + err.Error()})
				continue
			}
			return nil, explain(err, "apply (dry run)", mapping.Resource.Resource)
		}
		for _, f := range changedFields(normalise(live.Object), normalise(applied.Object), maxFieldsPerObject) {
			diffs = append(diffs, Difference{Object: objectName(u), Field: f, Change: "changed"})
		}
	}
	return diffs, nil
}

func objectName(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetKind() + " " + u.GetName()
	}
	return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
}

// normalise drops what a dry-run changes by itself.
func normalise(o map[string]any) map[string]any {
	o = deepCopyMap(o)
	if md, ok := o["metadata"].(map[string]any); ok {
		for _, k := range []string{"managedFields", "resourceVersion", "generation"} {
			delete(md, k)
		}
	}
	return o
}

func deepCopyMap(o map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: o}).DeepCopy().Object
}

// changedFields lists the paths where a and b differ, sorted, at most limit of them.
func changedFields(a, b map[string]any, limit int) []string {
	var out []string
	diffValues("", a, b, &out)
	sort.Strings(out)
	if len(out) > limit {
		out = append(out[:limit], fmt.Sprintf("(and %d more)", len(out)-limit))
	}
	return out
}

func diffValues(path string, a, b any, out *[]string) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for k := range keys {
			diffValues(path+"."+k, am[k], bm[k], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		if path == "" {
			path = "."
		}
		*out = append(*out, path)
	}
}
