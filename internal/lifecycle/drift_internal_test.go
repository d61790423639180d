package lifecycle

import (
	"reflect"
	"testing"
)

func TestChangedFields(t *testing.T) {
	obj := func(data map[string]any, extra ...string) map[string]any {
		md := map[string]any{"name": "cfg", "resourceVersion": "7", "generation": int64(3), "managedFields": []any{"x"}}
		for _, k := range extra {
			md["labels"] = map[string]any{k: "v"}
		}
		return map[string]any{"kind": "ConfigMap", "metadata": md, "data": data}
	}
	for _, tc := range []struct {
		name  string
		live  map[string]any
		apply map[string]any
		limit int
		want  []string
	}{
		{name: "same", live: obj(map[string]any{"a": "1"}), apply: obj(map[string]any{"a": "1"}), limit: 5},
		{name: "a value changed", live: obj(map[string]any{"a": "1"}), apply: obj(map[string]any{"a": "2"}), limit: 5, want: []string{".data.a"}},
		{name: "a key removed", live: obj(map[string]any{}), apply: obj(map[string]any{"a": "1"}), limit: 5, want: []string{".data.a"}},
		{name: "bookkeeping the dry run changes is not drift",
			live: obj(map[string]any{"a": "1"}),
			apply: func() map[string]any {
				o := obj(map[string]any{"a": "1"})
				md := o["metadata"].(map[string]any)
				md["resourceVersion"], md["generation"], md["managedFields"] = "8", int64(4), []any{"y"}
				return o
			}(), limit: 5},
		{name: "a label", live: obj(nil), apply: obj(nil, "team"), limit: 5, want: []string{".metadata.labels"}},
		{name: "capped", live: obj(map[string]any{"a": "1", "b": "1", "c": "1"}), apply: obj(map[string]any{"a": "2", "b": "2", "c": "2"}), limit: 2,
			want: []string{".data.a", ".data.b", "(and 1 more)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := changedFields(normalise(tc.live), normalise(tc.apply), tc.limit)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("changedFields = %q, want %q", got, tc.want)
			}
		})
	}
}
