package policy

import (
	"context"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// Small builders for test objects: a catalog type, extensions, and inputs.

func podinfoType() *v1alpha1.ExtensionType {
	return &v1alpha1.ExtensionType{
		ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo"},
		Spec: v1alpha1.ExtensionTypeSpec{
			Chart: v1alpha1.ChartSource{Repository: "https://charts.example.org", Name: "podinfo"},
			Scopes: v1alpha1.Scopes{
				Default:   v1alpha1.ScopeCluster,
				Cluster:   &v1alpha1.ClusterScopeOptions{DefaultReleaseNamespace: "podinfo"},
				Namespace: &v1alpha1.NamespaceScopeOptions{},
			},
			ReleaseTrains: []v1alpha1.ReleaseTrain{
				{Name: v1alpha1.ReleaseTrainStable},
				{Name: v1alpha1.ReleaseTrainPreview, IncludePrerelease: true},
			},
			UpgradePolicy: v1alpha1.UpgradePolicyKubernetesMinor,
		},
		Status: v1alpha1.ExtensionTypeStatus{Versions: []v1alpha1.TypeVersion{
			{Version: "2.0.0", KubeVersion: ">=1.37.0-0", ReleaseTrains: []string{"Stable", "Preview"}},
			{Version: "1.6.0-rc.1", KubeVersion: ">=1.30.0-0", ReleaseTrains: []string{"Preview"}},
			{Version: "1.5.0", KubeVersion: ">=1.30.0-0", ReleaseTrains: []string{"Stable", "Preview"}},
			{Version: "1.4.2", KubeVersion: ">=1.30.0-0", ReleaseTrains: []string{"Stable", "Preview"}},
			{Version: "1.4.1", KubeVersion: ">=1.30.0-0", ReleaseTrains: []string{"Stable", "Preview"}},
			{Version: "1.3.0", KubeVersion: ">=1.28.0-0 <1.36.0-0", ReleaseTrains: []string{"Stable", "Preview"}},
		}},
	}
}

type extOption func(*v1alpha1.Extension)

// newExtension is "podinfo", cluster-scoped in namespace podinfo, pinned to 1.4.2.
func newExtension(opts ...extOption) *v1alpha1.Extension {
	ext := &v1alpha1.Extension{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo"},
		Spec: v1alpha1.ExtensionSpec{
			ExtensionType:           "example.podinfo",
			Scope:                   v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "podinfo"}},
			AutoUpgradeMinorVersion: ptr(false),
			ReleaseTrain:            "Stable",
			Version:                 "1.4.2",
		},
	}
	for _, o := range opts {
		o(ext)
	}
	return ext
}

func ptr[T any](v T) *T { return &v }

func named(n string) extOption { return func(e *v1alpha1.Extension) { e.Name = n } }

func version(v string) extOption { return func(e *v1alpha1.Extension) { e.Spec.Version = v } }

func autoUpgrade(on bool) extOption {
	return func(e *v1alpha1.Extension) {
		e.Spec.AutoUpgradeMinorVersion = ptr(on)
		if on {
			e.Spec.Version = ""
		}
	}
}

func releaseNamespace(ns string) extOption {
	return func(e *v1alpha1.Extension) {
		e.Spec.Scope = v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: ns}}
	}
}

func targetNamespace(ns string) extOption {
	return func(e *v1alpha1.Extension) {
		e.Spec.Scope = v1alpha1.Scope{Namespace: &v1alpha1.NamespaceScope{TargetNamespace: ns}}
	}
}

func annotated(k, v string) extOption {
	return func(e *v1alpha1.Extension) {
		if e.Annotations == nil {
			e.Annotations = map[string]string{}
		}
		e.Annotations[k] = v
	}
}

// installedAt records the extension as installed at v on Kubernetes 1.36.
func installedAt(v string) extOption {
	return func(e *v1alpha1.Extension) {
		e.Status = v1alpha1.ExtensionStatus{
			ProvisioningState: v1alpha1.ProvisioningSucceeded,
			Scope:             v1alpha1.ScopeCluster,
			CurrentVersion:    v,
			KubernetesVersion: "1.36",
			Release:           v1alpha1.ReleaseRef{Name: e.Name, Namespace: "podinfo", Revision: 1},
		}
	}
}

func targeting(v string) extOption {
	return func(e *v1alpha1.Extension) { e.Status.TargetVersion = v }
}

func cluster136() ClusterInfo {
	return ClusterInfo{KubernetesVersion: "1.36.2", Minor: "1.36"}
}

func createInput(obj *v1alpha1.Extension) Input {
	return Input{
		Request: Request{
			Operation: OperationCreate,
			UserInfo:  UserInfo{Username: "alice", Groups: []string{"system:authenticated"}},
			Object:    obj,
		},
		Cluster:       cluster136(),
		ExtensionType: podinfoType(),
	}
}

func updateInput(old, obj *v1alpha1.Extension) Input {
	in := createInput(obj)
	in.Request.Operation = OperationUpdate
	in.Request.OldObject = old
	return in
}

func statusInput(old, obj *v1alpha1.Extension) Input {
	in := updateInput(old, obj)
	in.Request.SubResource = SubResourceStatus
	return in
}

// newEngine compiles a fresh engine, for tests that change its configuration.
func newEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	e, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// sharedEngine is compiled once for the tests that leave its configuration alone.
var sharedEngine = sync.OnceValues(func() (*Engine, error) {
	return New(context.Background(), Options{})
})

func engine(t testing.TB) *Engine {
	t.Helper()
	e, err := sharedEngine()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func ids(results []Result) []string {
	out := []string{}
	for _, r := range results {
		out = append(out, r.ID)
	}
	return out
}
