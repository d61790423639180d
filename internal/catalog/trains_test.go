package catalog_test

import (
	"strings"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/catalog"
)

// An entry listing no train (a hand-written catalog) is a candidate where the train
// rule of internal/api/v1alpha1 offers it, the same rule the policies and the planner
// read: a release on every train, a prerelease on trains that include prereleases.
func TestCandidatesReadTheTrainRuleForEntriesListingNoTrain(t *testing.T) {
	tests := []struct {
		train, want string
		excluded    map[string]string
	}{
		{train: "Stable", want: "2.0.0,1.5.0,1.4.1,1.4.0", excluded: map[string]string{"1.5.0-rc.1": "not on the Stable train"}},
		{train: "preview", want: "2.0.0,1.5.0,1.5.0-rc.1,1.4.1,1.4.0"},
	}
	for _, tt := range tests {
		t.Run(tt.train, func(t *testing.T) {
			typ := synced()
			for i := range typ.Status.Versions {
				typ.Status.Versions[i].ReleaseTrains = nil
			}
			if got := strings.Join(catalog.Names(catalog.Candidates(typ, tt.train, "1.37.1")), ","); got != tt.want {
				t.Errorf("Candidates = %s, want %s", got, tt.want)
			}
			for v, reason := range tt.excluded {
				tv, _ := catalog.Lookup(typ, v)
				if got := catalog.Exclusion(typ, tv, tt.train, "1.37.1"); got != reason {
					t.Errorf("Exclusion(%s) = %q, want %q", v, got, reason)
				}
			}
		})
	}
}
