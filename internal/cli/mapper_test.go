package cli

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestRESTMapperAsksDiscoveryOnlyForOtherKinds: the kinds every command uses are
// mapped without discovery; any other kind is mapped by discovery, made only then,
// and discovery's failure is the mapping's.
func TestRESTMapperAsksDiscoveryOnlyForOtherKinds(t *testing.T) {
	deployment := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	down := errors.New("discovery is down")
	tests := []struct {
		name          string
		gk            schema.GroupKind
		discoveryErr  error
		wantResource  string
		wantScope     meta.RESTScopeName
		wantDiscovery bool
		wantErr       error
	}{
		{name: "Extension", gk: schema.GroupKind{Group: "kubeext.dev", Kind: "Extension"},
			wantResource: "extensions", wantScope: meta.RESTScopeNameRoot},
		{name: "ExtensionType", gk: schema.GroupKind{Group: "kubeext.dev", Kind: "ExtensionType"},
			wantResource: "extensiontypes", wantScope: meta.RESTScopeNameRoot},
		{name: "Event", gk: schema.GroupKind{Kind: "Event"}, wantResource: "events", wantScope: meta.RESTScopeNameNamespace},
		{name: "Lease", gk: schema.GroupKind{Group: "coordination.k8s.io", Kind: "Lease"},
			wantResource: "leases", wantScope: meta.RESTScopeNameNamespace},
		{name: "a kind only discovery knows", gk: deployment.GroupKind(),
			wantResource: "deployments", wantScope: meta.RESTScopeNameNamespace, wantDiscovery: true},
		{name: "a core kind only discovery knows", gk: schema.GroupKind{Kind: "Pod"}, discoveryErr: down,
			wantDiscovery: true, wantErr: down},
		{name: "a kind nobody knows", gk: schema.GroupKind{Group: "example.com", Kind: "Widget"},
			wantDiscovery: true, wantErr: &meta.NoKindMatchError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked := false
			m := newRESTMapper(func() (meta.RESTMapper, error) {
				asked = true
				d := meta.NewDefaultRESTMapper([]schema.GroupVersion{deployment.GroupVersion()})
				d.Add(deployment, meta.RESTScopeNamespace)
				return d, tt.discoveryErr
			})
			got, err := m.RESTMapping(tt.gk)
			if asked != tt.wantDiscovery {
				t.Errorf("discovery asked: %v, want %v", asked, tt.wantDiscovery)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) && !(meta.IsNoMatchError(tt.wantErr) && meta.IsNoMatchError(err)) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Resource.Resource != tt.wantResource || got.Scope.Name() != tt.wantScope {
				t.Errorf("mapped to %s (%s), want %s (%s)", got.Resource.Resource, got.Scope.Name(), tt.wantResource, tt.wantScope)
			}
		})
	}
}
