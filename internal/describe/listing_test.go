package describe

import (
	"maps"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

func TestListing(t *testing.T) {
	ext := func(name string, annotations map[string]string) v1alpha1.Extension {
		return v1alpha1.Extension{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations,
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl-ext"}}}}
	}
	tests := []struct {
		name      string
		items     []v1alpha1.Extension
		contexts  []string
		annotate  bool
		wantNames []string
		wantCtxs  []string
	}{
		{name: "one cluster: by name, no contexts",
			items:     []v1alpha1.Extension{ext("flux", nil), ext("cert-manager", nil), ext("podinfo", nil)},
			wantNames: []string{"cert-manager", "flux", "podinfo"}},
		{name: "one cluster: annotate without contexts adds nothing",
			items: []v1alpha1.Extension{ext("b", nil), ext("a", nil)}, annotate: true,
			wantNames: []string{"a", "b"}},
		{name: "a fleet: by context, then name, for the table",
			items:     []v1alpha1.Extension{ext("podinfo", nil), ext("flux", nil), ext("podinfo", nil), ext("agent", nil)},
			contexts:  []string{"prod", "prod", "dev", "prod"},
			wantNames: []string{"podinfo", "agent", "flux", "podinfo"}, wantCtxs: []string{"dev", "prod", "prod", "prod"}},
		{name: "a fleet: annotated for the machine formats, other annotations kept",
			items:    []v1alpha1.Extension{ext("b", map[string]string{"team": "x"}), ext("a", nil)},
			contexts: []string{"one", "two"}, annotate: true,
			wantNames: []string{"b", "a"}, wantCtxs: []string{"one", "two"}},
		{name: "nothing to list", items: nil, contexts: []string{}, wantNames: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := make([]v1alpha1.Extension, len(tt.items))
			for i := range tt.items {
				tt.items[i].DeepCopyInto(&in[i])
			}
			got, ctxs := Listing(in, tt.contexts, tt.annotate)
			names := []string{}
			for i, e := range got {
				names = append(names, e.Name)
				if e.ManagedFields != nil {
					t.Errorf("%s keeps its managed fields", e.Name)
				}
				ctx, annotated := e.Annotations[ContextAnnotation]
				switch want := tt.annotate && tt.contexts != nil; {
				case want && ctx != ctxs[i]:
					t.Errorf("%s: %s = %q, want %q", e.Name, ContextAnnotation, ctx, ctxs[i])
				case !want && annotated:
					t.Errorf("%s: annotated with %q without a fleet's machine output", e.Name, ctx)
				}
				own := maps.Clone(e.Annotations)
				delete(own, ContextAnnotation)
				for _, orig := range tt.items {
					if orig.Name == e.Name && !maps.Equal(orig.Annotations, own) {
						t.Errorf("%s: annotations %v, want its own %v kept", e.Name, e.Annotations, orig.Annotations)
					}
				}
			}
			if !slices.Equal(names, tt.wantNames) {
				t.Errorf("names %v, want %v", names, tt.wantNames)
			}
			if !slices.Equal(ctxs, tt.wantCtxs) {
				t.Errorf("contexts %v, want %v", ctxs, tt.wantCtxs)
			}
			// The input is left as it was: it may be the manager's cache.
			for i := range in {
				if in[i].ManagedFields == nil || in[i].Annotations[ContextAnnotation] != "" {
					t.Errorf("input %s was modified: %+v", in[i].Name, in[i].ObjectMeta)
				}
			}
		})
	}
}
