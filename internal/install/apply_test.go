package install

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
)

// TestEstablishedCondition: init waits on the Established condition and, when it
// times out, says why from the condition's message or reason.
func TestEstablishedCondition(t *testing.T) {
	crd := func(conds ...map[string]any) *unstructured.Unstructured {
		var cs []any
		for _, c := range conds {
			cs = append(cs, c)
		}
		u := &unstructured.Unstructured{Object: map[string]any{}}
		if conds != nil {
			_ = unstructured.SetNestedSlice(u.Object, cs, "status", "conditions")
		}
		return u
	}
	tests := []struct {
		name    string
		crd     *unstructured.Unstructured
		want    bool
		wantWhy string
	}{
		{"no status yet", crd(), false, "no Established condition yet"},
		{"names accepted, not established", crd(map[string]any{"type": "NamesAccepted", "status": "True"}), false, "no Established condition yet"},
		{"established", crd(map[string]any{"type": "NamesAccepted", "status": "True"}, map[string]any{"type": "Established", "status": "True"}), true, "Established"},
		{"not established, with a message", crd(map[string]any{"type": "Established", "status": "False", "reason": "Installing", "message": "the initial names have not been accepted"}), false, "Established is False: the initial names have not been accepted"},
		{"not established, a reason only", crd(map[string]any{"type": "Established", "status": "False", "reason": "Installing"}), false, "Established is False: Installing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, why := establishedCondition(tt.crd)
			if ok != tt.want || why != tt.wantWhy {
				t.Errorf("= %v, %q; want %v, %q", ok, why, tt.want, tt.wantWhy)
			}
		})
	}
}

func TestCRDGroupKind(t *testing.T) {
	m, err := Build(Selection{})
	if err != nil {
		t.Fatal(err)
	}
	var got []schema.GroupKind
	for _, c := range m.CRDs {
		got = append(got, crdGroupKind(c))
	}
	want := []schema.GroupKind{{Group: "kubeext.dev", Kind: "Extension"}, {Group: "kubeext.dev", Kind: "ExtensionType"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("the embedded CRDs serve %v, want %v", got, want)
	}
}

// TestAPIError: the errors a user can fix say how, and stay the API errors they were.
func TestAPIError(t *testing.T) {
	gr := schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}
	tests := []struct {
		name string
		err  error
		want string
		is   func(error) bool
	}{
		{"forbidden", apierrors.NewForbidden(gr, "extensions.kubeext.dev", errors.New("no")), "run it as a cluster administrator", apierrors.IsForbidden},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Kind: "ConfigMap"}, "x", field.ErrorList{field.Invalid(field.NewPath("data"), 1, "bad")}), "--show-managed-fields", apierrors.IsInvalid},
		{"anything else", apierrors.NewServiceUnavailable("later"), "later", apierrors.IsServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := apiError(tt.err)
			if !strings.Contains(got.Error(), tt.want) || !tt.is(got) {
				t.Errorf("apiError = %v, want it to say %q and stay what it was", got, tt.want)
			}
		})
	}
}

// server is an API server of a few lines behind client-go's fake dynamic client: Get
// and server-side apply of whole objects, a resourceVersion that moves only when an
// object changes, dry runs that keep nothing, and CRDs Established as soon as they are
// applied (unless neverEstablish).
type server struct {
	objs           map[string]*unstructured.Unstructured // "resource/namespace/name"
	rv             int
	applied        []string // ObjectName of each applied object, dry runs included
	neverEstablish bool
}

func key(gvr schema.GroupVersionResource, ns, name string) string {
	return gvr.Resource + "/" + ns + "/" + name
}

func (s *server) client() *dynamicfake.FakeDynamicClient {
	c := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
	c.PrependReactor("get", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		g := a.(clienttesting.GetAction)
		if o, ok := s.objs[key(g.GetResource(), g.GetNamespace(), g.GetName())]; ok {
			return true, o.DeepCopy(), nil
		}
		return true, nil, apierrors.NewNotFound(g.GetResource().GroupResource(), g.GetName())
	})
	c.PrependReactor("patch", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		p := a.(clienttesting.PatchActionImpl)
		if p.PatchType != types.ApplyPatchType || p.PatchOptions.FieldManager != FieldManager || !*p.PatchOptions.Force {
			return true, nil, fmt.Errorf("not a forced server-side apply by %s: %s %+v", FieldManager, p.PatchType, p.PatchOptions)
		}
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(p.Patch); err != nil {
			return true, nil, err
		}
		s.applied = append(s.applied, ObjectName(o))
		k := key(p.GetResource(), p.GetNamespace(), p.GetName())
		if o.GetKind() == "CustomResourceDefinition" && !s.neverEstablish {
			_ = unstructured.SetNestedSlice(o.Object, []any{map[string]any{"type": "Established", "status": "True"}}, "status", "conditions")
		}
		if live, ok := s.objs[k]; ok {
			o.SetResourceVersion(live.GetResourceVersion())
			if reflect.DeepEqual(live.Object, o.Object) {
				return true, live.DeepCopy(), nil
			}
		}
		if len(p.PatchOptions.DryRun) > 0 {
			return true, o, nil // changed, but not kept
		}
		s.rv++
		o.SetResourceVersion(fmt.Sprint(s.rv))
		s.objs[k] = o.DeepCopy()
		return true, o, nil
	})
	return c
}

// mapper maps each kind of the manifests and of the CRDs to its resource, namespaced
// when its object names a namespace.
func mapper(m Manifests) meta.RESTMapper {
	var gvs []schema.GroupVersion // the versions a mapping without one prefers
	for _, o := range m.All() {
		if gv := o.GroupVersionKind().GroupVersion(); !slices.Contains(gvs, gv) {
			gvs = append(gvs, gv)
		}
	}
	rm := meta.NewDefaultRESTMapper(gvs)
	for _, c := range m.CRDs {
		rm.Add(crdGroupKind(c).WithVersion("v1alpha1"), meta.RESTScopeRoot)
	}
	for _, o := range m.All() {
		scope := meta.RESTScopeRoot
		if o.GetNamespace() != "" {
			scope = meta.RESTScopeNamespace
		}
		rm.Add(o.GroupVersionKind(), scope)
	}
	return rm
}

func outcomes(out string) map[string]string {
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		name, outcome, _ := strings.Cut(l, " ")
		got[name] = outcome
	}
	return got
}

// TestApply: what init applies, in which order, and what it says for each object on a
// fresh cluster, on a second run, and in a server dry run.
func TestApply(t *testing.T) {
	m, err := Build(Selection{Catalog: true, Webhook: true, Image: testImage})
	if err != nil {
		t.Fatal(err)
	}
	policy := "configmap/" + PolicyConfigMap.Name
	apply := func(t *testing.T, s *server, dryRun bool) map[string]string {
		t.Helper()
		var out strings.Builder
		a := Applier{Dynamic: s.client(), Mapper: mapper(m), DryRun: dryRun, Out: &out, Timeout: 5 * time.Second}
		if err := a.Apply(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		got := outcomes(out.String())
		if len(got) != len(m.All()) {
			t.Errorf("%d lines, want one per object (%d):\n%s", len(got), len(m.All()), out.String())
		}
		return got
	}

	t.Run("a fresh cluster, then again", func(t *testing.T) {
		s := &server{objs: map[string]*unstructured.Unstructured{}}
		for name, outcome := range apply(t, s, false) {
			if outcome != "serverside-applied" {
				t.Errorf("first run: %s %s", name, outcome)
			}
		}
		var want []string
		for _, o := range m.All() {
			want = append(want, ObjectName(o))
		}
		if !reflect.DeepEqual(s.applied, want) {
			t.Errorf("applied in the order %v, want %v", s.applied, want)
		}
		rvs := s.rv
		for name, outcome := range apply(t, s, false) {
			if outcome != "unchanged" && !(name == policy && strings.HasPrefix(outcome, "unchanged (it exists")) {
				t.Errorf("second run: %s %s", name, outcome)
			}
		}
		if s.rv != rvs {
			t.Errorf("the second run changed %d objects", s.rv-rvs)
		}
		if slices.Contains(s.applied[len(want):], policy) {
			t.Errorf("the second run applied the existing policy ConfigMap")
		}
	})

	t.Run("a server dry run on a fresh cluster", func(t *testing.T) {
		s := &server{objs: map[string]*unstructured.Unstructured{}}
		got := apply(t, s, true)
		for _, o := range m.All() {
			name, want := ObjectName(o), "serverside-applied (server dry run)"
			switch {
			case o.GetKind() == "ExtensionType":
				want = "skipped: its CustomResourceDefinition is not installed yet (server dry run)"
			case o.GetNamespace() == "kubeext-system":
				// default exists on every cluster (the webhook's Events Role lives there).
				want = "skipped: namespace kubeext-system does not exist yet (server dry run)"
			}
			if got[name] != want {
				t.Errorf("%s %q, want %q", name, got[name], want)
			}
		}
		if len(s.objs) != 0 {
			t.Errorf("a dry run kept %d objects", len(s.objs))
		}
	})

	t.Run("CRDs that are never Established", func(t *testing.T) {
		s := &server{objs: map[string]*unstructured.Unstructured{}, neverEstablish: true}
		var out strings.Builder
		a := Applier{Dynamic: s.client(), Mapper: mapper(m), Out: &out, Timeout: 300 * time.Millisecond}
		err := a.Apply(context.Background(), m)
		if err == nil || !strings.Contains(err.Error(), "is not Established after 300ms (no Established condition yet)") {
			t.Fatalf("err = %v, want a timeout that says why", err)
		}
		if len(s.applied) != len(m.CRDs) {
			t.Errorf("applied %v after the CRDs failed, want only the CRDs", s.applied)
		}
	})
}
