package v1alpha1_test

import (
	"slices"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

func typeWithTrains(trains ...v1alpha1.ReleaseTrain) *v1alpha1.ExtensionType {
	return &v1alpha1.ExtensionType{Spec: v1alpha1.ExtensionTypeSpec{ReleaseTrains: trains}}
}

func TestOffers(t *testing.T) {
	custom := typeWithTrains(
		v1alpha1.ReleaseTrain{Name: "Stable"},
		v1alpha1.ReleaseTrain{Name: "Fast"},
		v1alpha1.ReleaseTrain{Name: "Nightly", IncludePrerelease: true},
	)
	tests := []struct {
		name    string
		typ     *v1alpha1.ExtensionType
		version v1alpha1.TypeVersion
		train   string
		want    bool
	}{
		{"an entry listing the train is offered by it", custom, v1alpha1.TypeVersion{Version: "1.4.2", ReleaseTrains: []string{"Fast"}}, "Fast", true},
		{"train names match case-insensitively", custom, v1alpha1.TypeVersion{Version: "1.4.2", ReleaseTrains: []string{"Fast"}}, "fast", true},
		{"an entry listing other trains is not offered", custom, v1alpha1.TypeVersion{Version: "1.4.2", ReleaseTrains: []string{"Stable"}}, "Fast", false},
		{"a listed prerelease is offered where listed, even on a train without prereleases", custom, v1alpha1.TypeVersion{Version: "1.5.0-rc.1", ReleaseTrains: []string{"Stable"}}, "Stable", true},
		{"an unlisted release is offered by every train", custom, v1alpha1.TypeVersion{Version: "1.4.2"}, "Fast", true},
		{"an unlisted prerelease is offered by a train with prereleases", custom, v1alpha1.TypeVersion{Version: "1.5.0-rc.1"}, "Nightly", true},
		{"an unlisted prerelease is not offered by a train without prereleases", custom, v1alpha1.TypeVersion{Version: "1.5.0-rc.1"}, "Fast", false},
		{"build metadata does not make a prerelease", custom, v1alpha1.TypeVersion{Version: "1.4.2+build-7"}, "Stable", true},
		{"an unlisted entry is offered only by trains of the type", custom, v1alpha1.TypeVersion{Version: "1.4.2"}, "Preview", false},
		{"a type naming no train has Stable", typeWithTrains(), v1alpha1.TypeVersion{Version: "1.4.2"}, "Stable", true},
		{"a type naming no train has Preview, with prereleases", typeWithTrains(), v1alpha1.TypeVersion{Version: "1.5.0-rc.1"}, "Preview", true},
		{"a type naming no train offers no prerelease on Stable", typeWithTrains(), v1alpha1.TypeVersion{Version: "1.5.0-rc.1"}, "Stable", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.typ.Offers(tt.version, tt.train); got != tt.want {
				t.Errorf("Offers(%+v, %q) = %v, want %v", tt.version, tt.train, got, tt.want)
			}
		})
	}
}

func TestResolveTrains(t *testing.T) {
	tests := []struct {
		name       string
		typ        *v1alpha1.ExtensionType
		wantTrains []string   // spec.releaseTrains names after resolving
		wantLists  [][]string // status.versions[*].releaseTrains after resolving
		wantSame   bool       // the type needed nothing and is returned as is
	}{
		{
			name: "a type with no trains gets the default ones and its entries their trains",
			typ: &v1alpha1.ExtensionType{Status: v1alpha1.ExtensionTypeStatus{Versions: []v1alpha1.TypeVersion{
				{Version: "1.5.0-rc.1"}, {Version: "1.4.2"},
			}}},
			wantTrains: []string{"Stable", "Preview"},
			wantLists:  [][]string{{"Preview"}, {"Stable", "Preview"}},
		},
		{
			name: "listed entries keep their lists, unlisted ones are filled",
			typ: &v1alpha1.ExtensionType{
				Spec: v1alpha1.ExtensionTypeSpec{ReleaseTrains: []v1alpha1.ReleaseTrain{{Name: "Fast"}, {Name: "Nightly", IncludePrerelease: true}}},
				Status: v1alpha1.ExtensionTypeStatus{Versions: []v1alpha1.TypeVersion{
					{Version: "2.0.0", ReleaseTrains: []string{"Nightly"}}, {Version: "1.5.0"},
				}},
			},
			wantTrains: []string{"Fast", "Nightly"},
			wantLists:  [][]string{{"Nightly"}, {"Fast", "Nightly"}},
		},
		{
			name: "a type that spells out every train is returned as is",
			typ: &v1alpha1.ExtensionType{
				Spec:   v1alpha1.ExtensionTypeSpec{ReleaseTrains: []v1alpha1.ReleaseTrain{{Name: "Stable"}}},
				Status: v1alpha1.ExtensionTypeStatus{Versions: []v1alpha1.TypeVersion{{Version: "1.4.2", ReleaseTrains: []string{"Stable"}}}},
			},
			wantTrains: []string{"Stable"},
			wantLists:  [][]string{{"Stable"}},
			wantSame:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := toJSON(t, tt.typ)
			got := tt.typ.ResolveTrains()
			if toJSON(t, tt.typ) != before {
				t.Errorf("ResolveTrains changed its receiver: %s", toJSON(t, tt.typ))
			}
			if (got == tt.typ) != tt.wantSame {
				t.Errorf("returned the receiver itself: %v, want %v", got == tt.typ, tt.wantSame)
			}
			var names []string
			for _, tr := range got.Spec.ReleaseTrains {
				names = append(names, tr.Name)
			}
			if !slices.Equal(names, tt.wantTrains) {
				t.Errorf("spec.releaseTrains = %v, want %v", names, tt.wantTrains)
			}
			for i, v := range got.Status.Versions {
				if !slices.Equal(v.ReleaseTrains, tt.wantLists[i]) {
					t.Errorf("%s lists %v, want %v", v.Version, v.ReleaseTrains, tt.wantLists[i])
				}
				if !slices.Equal(v.ReleaseTrains, got.OfferingTrains(tt.typ.Status.Versions[i])) {
					t.Errorf("%s lists %v, but the rule says %v", v.Version, v.ReleaseTrains, got.OfferingTrains(tt.typ.Status.Versions[i]))
				}
			}
		})
	}
	if (*v1alpha1.ExtensionType)(nil).ResolveTrains() != nil {
		t.Error("a nil type resolved to something")
	}
}
