package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// inventoryOf reads data.inventory back, without the types' bodies.
func inventoryOf(t *testing.T, e *Engine) map[string]any {
	t.Helper()
	data, err := e.DataDocument(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	types := map[string]any{}
	for name := range doc["types"].(map[string]any) {
		types[name] = true
	}
	doc["types"] = types
	return doc
}

func TestInventoryIndexes(t *testing.T) {
	released := func(name, ns string) extOption {
		return func(e *v1alpha1.Extension) { e.Status.Release = v1alpha1.ReleaseRef{Name: name, Namespace: ns} }
	}
	// Each step is applied to the same engine, in order; want is the whole inventory after it.
	steps := []struct {
		name string
		do   func(e *Engine) error
		want string
	}{
		{
			name: "a new engine knows nothing",
			do:   func(*Engine) error { return nil },
			want: `{"instances":{},"releases":{},"types":{}}`,
		},
		{
			name: "a cluster-scoped extension: its release where its scope puts it, one instance of its type",
			do:   func(e *Engine) error { return e.SetExtension(newExtension(named("a"), releaseNamespace("ns-a"))) },
			want: `{"instances":{"example.podinfo":{"cluster":["a"],"namespaces":{}}},"releases":{"ns-a":{"a":["a"]}},"types":{}}`,
		},
		{
			name: "a namespace-scoped one of the same type, and a type",
			do: func(e *Engine) error {
				if err := e.SetExtensionType(podinfoType()); err != nil {
					return err
				}
				return e.SetExtension(newExtension(named("b"), targetNamespace("team")))
			},
			want: `{"instances":{"example.podinfo":{"cluster":["a"],"namespaces":{"team":["b"]}}},"releases":{"ns-a":{"a":["a"]},"team":{"b":["b"]}},"types":{"example.podinfo":true}}`,
		},
		{
			name: "a recorded release wins over the name and the scope",
			do: func(e *Engine) error {
				return e.SetExtension(newExtension(named("b"), targetNamespace("team"), released("legacy", "old")))
			},
			want: `{"instances":{"example.podinfo":{"cluster":["a"],"namespaces":{"team":["b"]}}},"releases":{"ns-a":{"a":["a"]},"old":{"legacy":["b"]}},"types":{"example.podinfo":true}}`,
		},
		{
			name: "two extensions claiming one release are both listed",
			do: func(e *Engine) error {
				return e.SetExtension(newExtension(named("c"), releaseNamespace("old"), released("legacy", "")))
			},
			want: `{"instances":{"example.podinfo":{"cluster":["a","c"],"namespaces":{"team":["b"]}}},"releases":{"ns-a":{"a":["a"]},"old":{"legacy":["b","c"]}},"types":{"example.podinfo":true}}`,
		},
		{
			name: "an extension that moves leaves nothing behind",
			do:   func(e *Engine) error { return e.SetExtension(newExtension(named("a"), targetNamespace("team-2"))) },
			want: `{"instances":{"example.podinfo":{"cluster":["c"],"namespaces":{"team":["b"],"team-2":["a"]}}},"releases":{"old":{"legacy":["b","c"]},"team-2":{"a":["a"]}},"types":{"example.podinfo":true}}`,
		},
		{
			name: "deletes empty what they leave empty; deleting twice is no error",
			do: func(e *Engine) error {
				for _, n := range []string{"a", "b", "b", "c", "nobody"} {
					if err := e.DeleteExtension(n); err != nil {
						return err
					}
				}
				if err := e.DeleteExtensionType("example.podinfo"); err != nil {
					return err
				}
				return e.DeleteExtensionType("example.podinfo")
			},
			want: `{"instances":{},"releases":{},"types":{}}`,
		},
		{
			name: "a replace is the whole inventory",
			do: func(e *Engine) error {
				return e.ReplaceInventory([]v1alpha1.Extension{*newExtension(named("x"), targetNamespace("t"))}, []v1alpha1.ExtensionType{*podinfoType()})
			},
			want: `{"instances":{"example.podinfo":{"cluster":[],"namespaces":{"t":["x"]}}},"releases":{"t":{"x":["x"]}},"types":{"example.podinfo":true}}`,
		},
	}
	e := newEngine(t, Options{})
	for _, st := range steps {
		if err := st.do(e); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, _ := json.Marshal(inventoryOf(t, e))
		if string(got) != st.want {
			t.Fatalf("%s:\n got %s\nwant %s", st.name, got, st.want)
		}
	}
}

// TestReviewCostIsFlatInTheCluster: with 1,000 other extensions the review's input is
// the same document, byte for byte, as with 10, and the rules that look the others up
// still find the one that matters.
func TestReviewCostIsFlatInTheCluster(t *testing.T) {
	var inputs []string
	for _, n := range []int{10, 1000} {
		s := typicalUpdate(n)
		e := newEngine(t, Options{})
		if d, err := evaluate(e, context.Background(), s); err != nil || !d.Allowed() {
			t.Fatalf("%d extensions: %+v, %v", n, d, err)
		}
		in, err := e.InputDocument(s.Input)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(in))

		// A new namespace-scoped instance where the last of the n already is.
		clash := createInput(newExtension(named("newcomer"), targetNamespace(fmt.Sprintf("team-%d", n-1))))
		d, err := e.Evaluate(context.Background(), clash.Input)
		if err != nil {
			t.Fatal(err)
		}
		if ids := resultIDs(d.Deny); ids != "EXT-SCOPE-008" {
			t.Errorf("%d extensions: a second instance in team-%d is denied by %q, want EXT-SCOPE-008", n, n-1, ids)
		}
	}
	if inputs[0] != inputs[1] {
		t.Errorf("the input grows with the cluster:\n%d bytes with 10 extensions\n%d bytes with 1,000", len(inputs[0]), len(inputs[1]))
	}
}

// TestInventoryMemoryIsBounded: 1,000 extensions cost the engine little memory, and
// a stream of updates and reviews leaves none behind.
func TestInventoryMemoryIsBounded(t *testing.T) {
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	s := typicalUpdate(1000)
	base := heap()
	e := newEngine(t, Options{})
	if _, err := evaluate(e, context.Background(), s); err != nil {
		t.Fatal(err)
	}
	loaded := heap()
	ctx := context.Background()
	for i := range 2000 {
		moved := s.Extensions[i%1000].DeepCopy()
		moved.Spec.Scope.Namespace.TargetNamespace = fmt.Sprintf("moved-%d", i%1000)
		if err := e.SetExtension(moved); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Evaluate(ctx, s.Input); err != nil {
			t.Fatal(err)
		}
	}
	after := heap()
	const mib = 1 << 20
	t.Logf("engine with 1,000 extensions: %.1f MiB; after 2,000 updates and reviews: %.1f MiB",
		float64(loaded-base)/mib, float64(int64(after)-int64(base))/mib)
	if loaded-base > 16*mib {
		t.Errorf("an engine with 1,000 extensions holds %.1f MiB, want under 16", float64(loaded-base)/mib)
	}
	if int64(after)-int64(loaded) > 4*mib {
		t.Errorf("2,000 updates and reviews left %.1f MiB behind, want under 4", float64(int64(after)-int64(loaded))/mib)
	}
	runtime.KeepAlive(e)
}

// TestInventoryIncrementalEqualsReplace: after random sequences of sets and deletes
// (names that matter in storage paths, both or neither scope, recorded releases or
// none), the inventory kept event by event equals the one ReplaceInventory builds from
// the same objects. A release name recorded in the same namespace once left the new
// entry out of the store, and EXT-SCOPE-009 missed the collision.
func TestInventoryIncrementalEqualsReplace(t *testing.T) {
	rnd := rand.New(rand.NewPCG(13, 13))
	pick := func(xs ...string) string { return xs[rnd.IntN(len(xs))] }
	names := []string{"a", "b", "-", "0", "x/y", "ü"}
	nss := []string{"", "n1", "n/2", "-", "0"}
	typs := []string{"t1", "", "t/2"}
	for run := range 500 {
		inc := engine(t)
		objs := map[string]*v1alpha1.Extension{}
		for step := range 12 {
			name := pick(names...)
			if rnd.IntN(4) == 0 {
				delete(objs, name)
				if err := inc.DeleteExtension(name); err != nil {
					t.Fatal(err)
				}
			} else {
				e := &v1alpha1.Extension{}
				e.Name = name
				e.Spec.ExtensionType = pick(typs...)
				switch rnd.IntN(4) {
				case 0:
					e.Spec.Scope.Cluster = &v1alpha1.ClusterScope{ReleaseNamespace: pick(nss...)}
				case 1:
					e.Spec.Scope.Namespace = &v1alpha1.NamespaceScope{TargetNamespace: pick(nss...)}
				case 2:
					e.Spec.Scope.Cluster = &v1alpha1.ClusterScope{ReleaseNamespace: pick(nss...)}
					e.Spec.Scope.Namespace = &v1alpha1.NamespaceScope{TargetNamespace: pick(nss...)}
				}
				if rnd.IntN(2) == 0 {
					e.Status.Release = v1alpha1.ReleaseRef{Name: pick(append(names, "")...), Namespace: pick(nss...)}
				}
				objs[name] = e
				if err := inc.SetExtension(e); err != nil {
					t.Fatalf("run %d step %d: %v", run, step, err)
				}
			}
			var all []v1alpha1.Extension
			for _, e := range objs {
				all = append(all, *e)
			}
			full := engine(t)
			if err := full.ReplaceInventory(all, nil); err != nil {
				t.Fatal(err)
			}
			got, want := inventoryOf(t, inc), inventoryOf(t, full)
			if !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Fatalf("run %d step %d (%s): diverged\n got %s\nwant %s", run, step, name, g, w)
			}
		}
	}
}

// TestInventoryConcurrentWritesAndReads: evaluations, reads of the data document,
// replaces and updates at once (run it with -race).
func TestInventoryConcurrentWritesAndReads(t *testing.T) {
	e := engine(t)
	if err := e.SetExtensionType(podinfoType()); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan error, 3)
	go func() {
		defer func() { errs <- nil }()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			ns := []string{"a", "b", "c"}[i%3]
			if err := e.SetExtension(newExtension(named("x"), targetNamespace(ns))); err != nil {
				errs <- err
				return
			}
			if err := e.SetExtension(newExtension(named("y"), targetNamespace(ns))); err != nil {
				errs <- err
				return
			}
		}
	}()
	go func() {
		defer func() { errs <- nil }()
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := e.ReplaceInventory([]v1alpha1.Extension{*newExtension(named("w"), targetNamespace("a"))}, []v1alpha1.ExtensionType{*podinfoType()}); err != nil {
				errs <- err
				return
			}
			if _, err := e.DataDocument(context.Background()); err != nil {
				errs <- err
				return
			}
		}
	}()
	go func() {
		defer func() { errs <- nil }()
		s := createInput(newExtension(named("z"), targetNamespace("a")))
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := e.Evaluate(context.Background(), s.Input); err != nil {
				errs <- err
				return
			}
		}
	}()
	time.Sleep(time.Second)
	close(done)
	for range 3 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func resultIDs(rs []Result) string {
	var out string
	for i, r := range rs {
		if i > 0 {
			out += ","
		}
		out += r.ID
	}
	return out
}
