package policy

import (
	"reflect"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/randfill"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// TestToValueMatchesJSON: the direct conversion of a review's input gives the value the
// JSON round trip gives, for inputs and types filled at random (every field, nil or
// empty or set, times, maps, nested objects).
func TestToValueMatchesJSON(t *testing.T) {
	f := randfill.NewWithSeed(20261130).NilChance(0.2).NumElements(0, 3).Funcs(
		// managedFields hold JSON; random bytes are not (the engine drops them anyway).
		func(x *metav1.FieldsV1, c randfill.Continue) { x.Raw = []byte(`{"f:metadata":{}}`) },
	)
	check := func(t *testing.T, x any) {
		t.Helper()
		got, err := toValue(x)
		if err != nil {
			t.Fatal(err)
		}
		want, err := viaJSONValue(x)
		if err != nil {
			t.Fatal(err)
		}
		if got.Compare(want) != 0 {
			t.Fatalf("direct conversion differs from JSON:\n got %v\nwant %v", got, want)
		}
	}
	for range 300 {
		var in Input
		f.Fill(&in)
		check(t, in)
		var tin TypeInput
		f.Fill(&tin)
		check(t, tin)
		var e v1alpha1.Extension
		f.Fill(&e)
		check(t, &e)
	}
	// The zero values: empty, not null, where JSON says so.
	check(t, Input{})
	check(t, Input{Request: Request{Object: &v1alpha1.Extension{}}})
}

func viaJSONValue(x any) (ast.Value, error) {
	return viaJSON(reflectValue(x))
}

func reflectValue(x any) reflect.Value { return reflect.ValueOf(x) }
