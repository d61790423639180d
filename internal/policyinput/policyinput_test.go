package policyinput_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	clienttesting "k8s.io/client-go/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/randfill"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/policyinput"
)

// versioner is a ClusterVersioner with a fixed answer, counting its calls.
type versioner struct {
	info  policy.ClusterInfo
	err   error
	calls int
}

func (v *versioner) ClusterInfo(context.Context) (policy.ClusterInfo, error) {
	v.calls++
	return v.info, v.err
}

var on137 = policy.ClusterInfo{KubernetesVersion: "1.37.1", Minor: "1.37"}

func ext(name, typ string) *v1alpha1.Extension {
	return &v1alpha1.Extension{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.ExtensionSpec{ExtensionType: typ}}
}

// recorder is an Inventory that records what it is told, in order.
type recorder struct{ log []string }

func (r *recorder) SetExtension(e *v1alpha1.Extension) error {
	r.log = append(r.log, "set extension "+e.Name)
	return nil
}

func (r *recorder) DeleteExtension(name string) error {
	r.log = append(r.log, "delete extension "+name)
	return nil
}

func (r *recorder) SetExtensionType(t *v1alpha1.ExtensionType) error {
	r.log = append(r.log, "set type "+t.Name+"@"+t.ResourceVersion)
	return nil
}

func (r *recorder) DeleteExtensionType(name string) error {
	r.log = append(r.log, "delete type "+name)
	return nil
}

func (r *recorder) ReplaceInventory(exts []v1alpha1.Extension, types []v1alpha1.ExtensionType) error {
	var names []string
	for _, t := range types {
		names = append(names, "type "+t.Name)
	}
	for _, e := range exts {
		names = append(names, e.Name)
	}
	r.log = append(r.log, "replace "+strings.Join(names, ","))
	return nil
}

func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGathererInput(t *testing.T) {
	tests := []struct {
		name    string
		cluster *versioner
		object  *v1alpha1.Extension
		wantErr string
	}{
		{name: "the write and the cluster's version", object: ext("podinfo", "example.podinfo")},
		{name: "the cluster's version failing is an error", cluster: &versioner{err: errors.New("no /version")}, object: ext("podinfo", ""), wantErr: "no /version"},
		{name: "a request without an object is an error", wantErr: "the request has no object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cluster := tt.cluster
			if cluster == nil {
				cluster = &versioner{info: on137}
			}
			// The reader is never asked: the input is the write alone.
			reader := fake.NewClientBuilder().WithScheme(newScheme(t)).WithInterceptorFuncs(interceptor.Funcs{
				Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
					return errors.New("read")
				},
				List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
					return errors.New("list")
				},
			}).Build()
			in, err := policyinput.Gatherer{Reader: reader, Cluster: cluster}.Input(context.Background(), policy.Request{Operation: policy.OperationCreate, Object: tt.object})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || in.Cluster != on137 || in.Request.Object != tt.object {
				t.Fatalf("Input = %+v, %v; want the request and %+v", in, err, on137)
			}
		})
	}
}

func TestGathererLoad(t *testing.T) {
	typ := &v1alpha1.ExtensionType{ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo"}}
	tests := []struct {
		name    string
		objs    []client.Object
		funcs   interceptor.Funcs
		want    string
		wantErr string
	}{
		{
			name: "every type and extension replaces the inventory",
			objs: []client.Object{typ, ext("podinfo", "example.podinfo"), ext("agent", "example.agent")},
			want: "replace type example.podinfo,agent,podinfo",
		},
		{name: "an empty cluster empties the inventory", want: "replace "},
		{
			name: "types that cannot be listed leave the inventory alone",
			funcs: interceptor.Funcs{List: func(_ context.Context, _ client.WithWatch, l client.ObjectList, _ ...client.ListOption) error {
				if _, ok := l.(*v1alpha1.ExtensionTypeList); ok {
					return apierrors.NewForbidden(schema.GroupResource{Group: "kubeext.dev", Resource: "extensiontypes"}, "", errors.New("no"))
				}
				return nil
			}},
			wantErr: "listing extension types",
		},
		{
			name: "extensions that cannot be listed leave the inventory alone",
			funcs: interceptor.Funcs{List: func(_ context.Context, _ client.WithWatch, l client.ObjectList, _ ...client.ListOption) error {
				if _, ok := l.(*v1alpha1.ExtensionList); ok {
					return errors.New("list refused")
				}
				return nil
			}},
			wantErr: "listing extensions: list refused",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(newScheme(t)).WithObjects(tt.objs...).WithInterceptorFuncs(tt.funcs).Build()
			inv := &recorder{}
			err := policyinput.Gatherer{Reader: c, Cluster: &versioner{info: on137}}.Load(context.Background(), inv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || len(inv.log) != 0 {
					t.Fatalf("Load = %v, inventory told %v; want an error containing %q and nothing told", err, inv.log, tt.wantErr)
				}
				return
			}
			if err != nil || strings.Join(inv.log, ";") != tt.want {
				t.Fatalf("Load = %v, inventory told %q; want %q", err, inv.log, tt.want)
			}
		})
	}
}

func TestTypes(t *testing.T) {
	typ := &v1alpha1.ExtensionType{ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo"}}
	cache := fake.NewClientBuilder().WithScheme(newScheme(t)).Build() // the informers have not seen it
	api := fake.NewClientBuilder().WithScheme(newScheme(t)).WithObjects(typ).Build()
	broken := fake.NewClientBuilder().WithScheme(newScheme(t)).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
			return errors.New("connection refused")
		},
	}).Build()
	ctx := context.Background()
	types := policyinput.Types{Cache: cache, API: api}
	if got, err := types.Get(ctx, typ.Name); got != nil || err != nil {
		t.Errorf("Get = %v, %v; want the cache's answer: none", got, err)
	}
	if got, err := types.Fresh(ctx, typ.Name); got == nil || got.Name != typ.Name || err != nil {
		t.Errorf("Fresh = %v, %v; want the API server's type", got, err)
	}
	if got, err := types.Fresh(ctx, ""); got != nil || err != nil {
		t.Errorf("Fresh of no name = %v, %v; want none", got, err)
	}
	if _, err := (policyinput.Types{Cache: broken, API: broken}).Fresh(ctx, typ.Name); err == nil || !strings.Contains(err.Error(), `reading extension type "example.podinfo"`) {
		t.Errorf("Fresh from a failing API server = %v, want the error", err)
	}
}

func TestDiscovery(t *testing.T) {
	tests := []struct {
		name    string
		version version.Info
		want    policy.ClusterInfo
		wantErr string
	}{
		{name: "the server's version is the cluster's", version: version.Info{GitVersion: "v1.37.1"}, want: on137},
		{name: "an emulated version is the effective one", version: version.Info{GitVersion: "v1.37.1", EmulationMajor: "1", EmulationMinor: "36"},
			want: policy.ClusterInfo{KubernetesVersion: "1.36.0", Minor: "1.36"}},
		{name: "a version that is not one is an error", version: version.Info{GitVersion: "banana"}, wantErr: "not a Kubernetes version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{}, FakedServerVersion: &tt.version}
			got, err := policyinput.Discovery{Client: d}.ClusterInfo(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.KubernetesVersion != tt.want.KubernetesVersion || got.Minor != tt.want.Minor {
				t.Fatalf("ClusterInfo = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestCachedVersion(t *testing.T) {
	tests := []struct {
		name string
		// errs are the source's answers, one per call; nil answers on137.
		errs      []error
		calls     int
		wantCalls int
		wantErrs  int
	}{
		{name: "after the first read the version comes from the cache", errs: []error{nil}, calls: 3, wantCalls: 1},
		{name: "until a read succeeds every call reads through", errs: []error{errors.New("down"), errors.New("down"), nil}, calls: 4, wantCalls: 3, wantErrs: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &sequence{errs: tt.errs}
			cv := &policyinput.CachedVersion{Source: src}
			errs := 0
			for range tt.calls {
				info, err := cv.ClusterInfo(context.Background())
				if err != nil {
					errs++
					continue
				}
				if info != on137 {
					t.Errorf("ClusterInfo = %+v, want %+v", info, on137)
				}
			}
			if src.calls != tt.wantCalls || errs != tt.wantErrs {
				t.Errorf("source read %d times with %d errors, want %d and %d", src.calls, errs, tt.wantCalls, tt.wantErrs)
			}
		})
	}
}

// sequence answers with errs in turn, then on137.
type sequence struct {
	errs  []error
	calls int
}

func (s *sequence) ClusterInfo(context.Context) (policy.ClusterInfo, error) {
	s.calls++
	if s.calls <= len(s.errs) && s.errs[s.calls-1] != nil {
		return policy.ClusterInfo{}, s.errs[s.calls-1]
	}
	return on137, nil
}

// TestIndexedFieldsOnlyKeepsWhatTheInventoryIndexes: an inventory fed the transformed
// Extensions is the inventory fed the whole ones, for randomly filled Extensions, and
// the transform drops the rest.
func TestIndexedFieldsOnlyKeepsWhatTheInventoryIndexes(t *testing.T) {
	f := randfill.NewWithSeed(13).NilChance(0.3).NumElements(0, 2)
	whole, err := policy.New(context.Background(), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	slim, err := policy.New(context.Background(), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		e := &v1alpha1.Extension{}
		f.Fill(e)
		e.Name = fmt.Sprintf("ext-%d", i%40) // updates of the same extensions too
		kept, err := policyinput.IndexedFieldsOnly(e.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		k := kept.(*v1alpha1.Extension)
		if k.Spec.ConfigurationSettings != nil || k.Status.Statuses != nil || k.Annotations != nil || k.ManagedFields != nil {
			t.Fatalf("the transform kept more than the inventory reads: %+v", k)
		}
		if err := whole.SetExtension(e); err != nil {
			t.Fatal(err)
		}
		if err := slim.SetExtension(k); err != nil {
			t.Fatal(err)
		}
	}
	a, err := whole.DataDocument(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := slim.DataDocument(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Errorf("the inventories differ:\nwhole %s\nslim  %s", a, b)
	}
	if other, _ := policyinput.IndexedFieldsOnly("not an extension"); other != "not an extension" {
		t.Error("the transform changed an object that is not an Extension")
	}
}
