package policy

import (
	"context"
	"io/fs"
	"path"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/manifests"
)

// TestShippedCatalogPassesTheTypeRules: every ExtensionType `kubectl ext init` installs
// is allowed by the webhook's type rules, as written and with a synced catalog.
func TestShippedCatalogPassesTheTypeRules(t *testing.T) {
	files, err := fs.Glob(manifests.Catalog, path.Join(manifests.CatalogDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no catalog manifests: %v", err)
	}
	for _, f := range files {
		t.Run(path.Base(f), func(t *testing.T) {
			b, err := fs.ReadFile(manifests.Catalog, f)
			if err != nil {
				t.Fatal(err)
			}
			et := &v1alpha1.ExtensionType{}
			if err := yaml.UnmarshalStrict(b, et); err != nil {
				t.Fatal(err)
			}
			d, err := engine(t).EvaluateType(context.Background(), typeCreate(et))
			if err != nil {
				t.Fatal(err)
			}
			if !d.Allowed() {
				t.Errorf("creating %s is denied: %v", et.Name, d.Deny)
			}
			synced := et.DeepCopy()
			for _, tr := range synced.Trains() {
				synced.Status.Versions = append(synced.Status.Versions, v1alpha1.TypeVersion{Version: "1.0.0", ReleaseTrains: []string{tr.Name}})
			}
			if d, err := engine(t).EvaluateType(context.Background(), typeStatus(synced)); err != nil || !d.Allowed() {
				t.Errorf("a sync of %s naming each of its trains is denied: %v %v", et.Name, d.Deny, err)
			}
		})
	}
}

// TestEvaluateTypeJudgesEachRule: one write per type rule, denied with its id, and the
// write that fixes it allowed.
func TestEvaluateTypeJudgesEachRule(t *testing.T) {
	tests := []struct {
		name   string
		deny   TypeInput
		allow  TypeInput
		wantID string
	}{
		{
			name:   "http repository; https",
			deny:   typeCreate(typeRepository(podinfoType(), "http://charts.example.org")),
			allow:  typeCreate(typeRepository(podinfoType(), "https://charts.example.org")),
			wantID: "EXT-TYPEDEF-001",
		},
		{
			name: "a v-prefixed version; without the v",
			deny: typeStatus(func() *v1alpha1.ExtensionType {
				et := podinfoType()
				et.Status.Versions[0].Version = "v2.0.0"
				return et
			}()),
			allow:  typeStatus(podinfoType()),
			wantID: "EXT-TYPEDEF-002",
		},
		{
			name: "a version on a train of a type that names none, beyond the defaults; on a default train",
			deny: typeStatus(func() *v1alpha1.ExtensionType {
				et := podinfoType()
				et.Spec.ReleaseTrains = nil
				et.Status.Versions[0].ReleaseTrains = []string{"Fast"}
				return et
			}()),
			allow: typeStatus(func() *v1alpha1.ExtensionType {
				et := podinfoType()
				et.Spec.ReleaseTrains = nil
				et.Status.Versions[0].ReleaseTrains = []string{"Preview"}
				return et
			}()),
			wantID: "EXT-TYPEDEF-003",
		},
		{
			name: "two trains differing in case; distinct trains",
			deny: typeCreate(func() *v1alpha1.ExtensionType {
				et := podinfoType()
				et.Spec.ReleaseTrains = append(et.Spec.ReleaseTrains, v1alpha1.ReleaseTrain{Name: "PREVIEW"})
				return et
			}()),
			allow:  typeCreate(podinfoType()),
			wantID: "EXT-TYPEDEF-004",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := engine(t).EvaluateType(context.Background(), tt.deny)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(ids(d.Deny), tt.wantID) {
				t.Errorf("denied by %v, want %s", ids(d.Deny), tt.wantID)
			}
			if d, err := engine(t).EvaluateType(context.Background(), tt.allow); err != nil || !d.Allowed() {
				t.Errorf("the fixed write: %v %v", d.Deny, err)
			}
		})
	}
}
