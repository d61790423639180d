package policy

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// The policies read only listed trains; the engine spells them out with the train rule
// of internal/api/v1alpha1. These cases are the ones that rule decides: a type naming
// no train, and catalog entries listing none.
func TestEvaluateReadsTheTrainRuleOfTheAPI(t *testing.T) {
	unlisted := func(tt *v1alpha1.ExtensionType) {
		for i := range tt.Status.Versions {
			tt.Status.Versions[i].ReleaseTrains = nil
		}
	}
	noTrains := func(tt *v1alpha1.ExtensionType) { tt.Spec.ReleaseTrains = nil }
	tests := []struct {
		name    string
		typ     []func(*v1alpha1.ExtensionType)
		train   string
		version string
		deny    []string
	}{
		{"a type naming no train has Preview", []func(*v1alpha1.ExtensionType){noTrains}, "Preview", "1.4.2", nil},
		{"a type naming no train has no Nightly", []func(*v1alpha1.ExtensionType){noTrains}, "Nightly", "1.4.2", []string{"EXT-VERSION-003", "EXT-VERSION-005"}},
		{"an entry listing no train is offered by Stable", []func(*v1alpha1.ExtensionType){unlisted}, "Stable", "1.5.0", nil},
		{"an entry listing no train is offered by Preview", []func(*v1alpha1.ExtensionType){unlisted}, "Preview", "1.5.0", nil},
		{"a prerelease listing no train is offered by Preview", []func(*v1alpha1.ExtensionType){unlisted}, "Preview", "1.6.0-rc.1", nil},
		{"a prerelease listing no train is not offered by Stable", []func(*v1alpha1.ExtensionType){unlisted}, "Stable", "1.6.0-rc.1", []string{"EXT-VERSION-005"}},
		{"unlisted entries of a type naming no train follow the default trains", []func(*v1alpha1.ExtensionType){unlisted, noTrains}, "Stable", "1.6.0-rc.1", []string{"EXT-VERSION-005"}},
	}
	e := engine(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := createInput(newExtension(version(tt.version), func(x *v1alpha1.Extension) { x.Spec.ReleaseTrain = tt.train }))
			for _, f := range tt.typ {
				f(in.ExtensionType)
			}
			before := in.ExtensionType.DeepCopy()
			d, err := evaluate(e, context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(d.Deny); !slices.Equal(got, orEmpty(tt.deny)) {
				t.Errorf("deny = %v, want %v\n%s", got, tt.deny, strings.Join(Lines(d.Deny), "\n"))
			}
			if !reflect.DeepEqual(in.ExtensionType, before) {
				t.Errorf("Evaluate changed the caller's type: %+v", in.ExtensionType)
			}
		})
	}
}
