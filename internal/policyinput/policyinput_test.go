package policyinput_test

import (
	"context"
	"errors"
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

func TestGathererInput(t *testing.T) {
	typ := &v1alpha1.ExtensionType{ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo"}}
	tests := []struct {
		name    string
		objs    []client.Object
		funcs   interceptor.Funcs
		cluster *versioner
		object  *v1alpha1.Extension
		// wantType is the type's name in the input, "" for none; wantOthers the other
		// extensions' names.
		wantType   string
		wantOthers string
		wantErr    string
	}{
		{
			name:   "the write's type, the cluster and the other extensions are gathered, the object's own record left out",
			objs:   []client.Object{typ, ext("podinfo", "example.podinfo"), ext("agent", "example.agent"), ext("web", "example.podinfo")},
			object: ext("podinfo", "example.podinfo"), wantType: "example.podinfo", wantOthers: "agent,web",
		},
		{
			name: "an unknown type is left out for the policies to report, not an error",
			objs: []client.Object{ext("agent", "example.agent")}, object: ext("podinfo", "example.nope"), wantOthers: "agent",
		},
		{
			name: "an extension naming no type reads none",
			objs: []client.Object{typ}, object: ext("podinfo", ""),
		},
		{
			name: "a type that cannot be read is an error",
			funcs: interceptor.Funcs{Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
				return apierrors.NewForbidden(schema.GroupResource{Group: "kubeext.dev", Resource: "extensiontypes"}, "example.podinfo", errors.New("no"))
			}},
			object: ext("podinfo", "example.podinfo"), wantErr: `reading extension type "example.podinfo"`,
		},
		{
			name: "extensions that cannot be listed are an error",
			funcs: interceptor.Funcs{List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
				return errors.New("list refused")
			}},
			object: ext("podinfo", ""), wantErr: "listing extensions: list refused",
		},
		{
			name: "the cluster's version failing is an error", cluster: &versioner{err: errors.New("no /version")},
			object: ext("podinfo", ""), wantErr: "no /version",
		},
		{name: "a request without an object is an error", wantErr: "the request has no object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := runtime.NewScheme()
			if err := v1alpha1.AddToScheme(s); err != nil {
				t.Fatal(err)
			}
			c := fake.NewClientBuilder().WithScheme(s).WithObjects(tt.objs...).WithInterceptorFuncs(tt.funcs).Build()
			cluster := tt.cluster
			if cluster == nil {
				cluster = &versioner{info: on137}
			}
			in, err := policyinput.Gatherer{Reader: c, Cluster: cluster}.Input(context.Background(), policy.Request{Operation: policy.OperationCreate, Object: tt.object})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gotType := ""
			if in.ExtensionType != nil {
				gotType = in.ExtensionType.Name
			}
			var others []string
			for _, e := range in.Extensions {
				others = append(others, e.Name)
			}
			if gotType != tt.wantType || strings.Join(others, ",") != tt.wantOthers || in.Cluster != on137 || in.Request.Object != tt.object {
				t.Errorf("input has type %q, others %v, cluster %+v; want %q, %s, %+v and the request", gotType, others, in.Cluster, tt.wantType, tt.wantOthers, on137)
			}
			if in.Extensions == nil {
				t.Error("no other extensions must be an empty list, not null, for the policies")
			}
		})
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
