package lifecycle

import (
	"testing"

	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

func TestPinnedTrain(t *testing.T) {
	typ := &v1alpha1.ExtensionType{
		Spec: v1alpha1.ExtensionTypeSpec{ReleaseTrains: []v1alpha1.ReleaseTrain{
			{Name: "Stable"}, {Name: "Preview", IncludePrerelease: true}, {Name: "Nightly", IncludePrerelease: true},
		}},
		Status: v1alpha1.ExtensionTypeStatus{Versions: []v1alpha1.TypeVersion{
			{Version: "1.4.0"}, {Version: "1.5.0-rc.1"}, {Version: "2.0.0-beta.1", ReleaseTrains: []string{"Nightly"}},
		}},
	}
	spec := func(auto bool, version, train string) v1alpha1.ExtensionSpec {
		return v1alpha1.ExtensionSpec{AutoUpgradeMinorVersion: ptr.To(auto), Version: version, ReleaseTrain: train}
	}
	tests := []struct {
		name string
		spec v1alpha1.ExtensionSpec
		want string
	}{
		{"auto-upgrade keeps its train", spec(true, "", "Stable"), "Stable"},
		{"a release pinned on Stable stays on Stable", spec(false, "1.4.0", "Stable"), "Stable"},
		{"a prerelease pinned on Stable goes to the first train that offers it", spec(false, "1.5.0-rc.1", "Stable"), "Preview"},
		{"a prerelease already on a train that offers it stays", spec(false, "1.5.0-rc.1", "Nightly"), "Nightly"},
		{"an entry that lists its trains", spec(false, "2.0.0-beta.1", "Stable"), "Nightly"},
		{"a version the catalog lacks keeps the train, for the policies to refuse", spec(false, "9.9.9", "Stable"), "Stable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pinnedTrain(typ, tt.spec); got != tt.want {
				t.Errorf("pinnedTrain = %q, want %q", got, tt.want)
			}
		})
	}
}
