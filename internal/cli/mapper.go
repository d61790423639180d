package cli

import (
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// knownKinds are the kinds the plugin's commands read and write on almost every run,
// with their scope: the kubeext.dev kinds of the CRDs this project ships, and core
// kinds every API server serves under these names. Mapping them needs no discovery;
// controller-runtime's mapper would ask the API server for its whole aggregated
// discovery (two requests, a few hundred kilobytes to decode) at every start of the
// plugin, where `kubectl get` reads its discovery cache.
var knownKinds = []struct {
	gvk   schema.GroupVersionKind
	scope meta.RESTScope
}{
	{v1alpha1.GroupVersion.WithKind("Extension"), meta.RESTScopeRoot},
	{v1alpha1.GroupVersion.WithKind("ExtensionType"), meta.RESTScopeRoot},
	{schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot},
	{schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, meta.RESTScopeNamespace},
	{schema.GroupVersionKind{Version: "v1", Kind: "Event"}, meta.RESTScopeNamespace},
	{schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace},
	{schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}, meta.RESTScopeNamespace},
	{schema.GroupVersionKind{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"}, meta.RESTScopeNamespace},
}

// knownMapper maps knownKinds, and nothing else.
func knownMapper() meta.RESTMapper {
	var versions []schema.GroupVersion
	for _, k := range knownKinds {
		if gv := k.gvk.GroupVersion(); !slices.Contains(versions, gv) {
			versions = append(versions, gv)
		}
	}
	// The group versions are the ones preferred when a caller names no version.
	m := meta.NewDefaultRESTMapper(versions)
	for _, k := range knownKinds {
		// The plural the API server serves each of them under is the guessed one
		// (extensions, extensiontypes, secrets, ...); TestKnownKindsAreServed checks it.
		m.Add(k.gvk, k.scope)
	}
	return m
}

// restMapper maps knownKinds itself and asks discovered, made on first need, for every
// other kind: kubectl's mapper over its discovery cache (ConfigFlags.ToRESTMapper),
// which reads the API server only when the cache is cold or misses the kind.
//
// Without the CRDs installed, a known kubeext.dev kind is still mapped, and the API
// server answers its requests with a NotFound that lifecycle.IsCRDMissing recognises.
type restMapper struct {
	known      meta.RESTMapper
	discovered func() (meta.RESTMapper, error)
}

func newRESTMapper(discovered func() (meta.RESTMapper, error)) *restMapper {
	return &restMapper{known: knownMapper(), discovered: discovered}
}

// either returns what known answers, unless it knows no match; then what discovered
// answers.
func either[T any](known func(meta.RESTMapper) (T, error), m *restMapper) (T, error) {
	v, err := known(m.known)
	if !meta.IsNoMatchError(err) {
		return v, err
	}
	d, derr := m.discovered()
	if derr != nil {
		var zero T
		return zero, derr
	}
	return known(d)
}

func (m *restMapper) KindFor(r schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	return either(func(x meta.RESTMapper) (schema.GroupVersionKind, error) { return x.KindFor(r) }, m)
}

func (m *restMapper) KindsFor(r schema.GroupVersionResource) ([]schema.GroupVersionKind, error) {
	return either(func(x meta.RESTMapper) ([]schema.GroupVersionKind, error) { return x.KindsFor(r) }, m)
}

func (m *restMapper) ResourceFor(r schema.GroupVersionResource) (schema.GroupVersionResource, error) {
	return either(func(x meta.RESTMapper) (schema.GroupVersionResource, error) { return x.ResourceFor(r) }, m)
}

func (m *restMapper) ResourcesFor(r schema.GroupVersionResource) ([]schema.GroupVersionResource, error) {
	return either(func(x meta.RESTMapper) ([]schema.GroupVersionResource, error) { return x.ResourcesFor(r) }, m)
}

func (m *restMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	return either(func(x meta.RESTMapper) (*meta.RESTMapping, error) { return x.RESTMapping(gk, versions...) }, m)
}

func (m *restMapper) RESTMappings(gk schema.GroupKind, versions ...string) ([]*meta.RESTMapping, error) {
	return either(func(x meta.RESTMapper) ([]*meta.RESTMapping, error) { return x.RESTMappings(gk, versions...) }, m)
}

// ResourceSingularizer is only ever asked about resources a user typed; discovery
// knows them all.
func (m *restMapper) ResourceSingularizer(resource string) (string, error) {
	d, err := m.discovered()
	if err != nil {
		return "", err
	}
	return d.ResourceSingularizer(resource)
}
