package policy

import (
	"reflect"
	"testing"
	"time"

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
		func(x *metav1.FieldsV1, c randfill.Continue) { x.SetRawString(`{"f:metadata":{}}`) },
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

// TestToValueEdges: what random filling rarely produces.
func TestToValueEdges(t *testing.T) {
	zeroInZone := metav1.NewTime(time.Time{}.In(time.FixedZone("x", 3600)))
	withZone := v1alpha1.Extension{}
	withZone.CreationTimestamp = zeroInZone
	badUTF8 := &v1alpha1.Extension{}
	badUTF8.Labels = map[string]string{"k": "a\xffb"}
	cases := []struct {
		name string
		x    any
	}{
		{"an Extension by value whose zero creationTimestamp has a location", withZone},
		{"the same through a pointer", &withZone},
		{"a label with invalid UTF-8", Input{Request: Request{Object: badUTF8}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := toValue(c.x)
			if err != nil {
				t.Fatal(err)
			}
			want, err := viaJSONValue(c.x)
			if err != nil {
				t.Fatal(err)
			}
			if got.Compare(want) != 0 {
				t.Errorf("toValue differs from JSON:\n got %v\nwant %v", got, want)
			}
		})
	}
}
