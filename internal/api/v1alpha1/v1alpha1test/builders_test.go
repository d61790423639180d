package v1alpha1test_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
)

func TestExtensionOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []v1alpha1test.ExtensionOption
		want func(*v1alpha1.Extension)
	}{
		{
			name: "with no option the extension is cluster-scoped in podinfo on the API's defaults",
			want: func(*v1alpha1.Extension) {},
		},
		{
			name: "turning automatic upgrades on clears a pinned version, which goes only with them off",
			opts: []v1alpha1test.ExtensionOption{v1alpha1test.Pinned("1.4.2"), v1alpha1test.AutoUpgrade(true)},
			want: func(e *v1alpha1.Extension) { e.Spec.AutoUpgradeMinorVersion = ptr.To(true) },
		},
		{
			name: "an installed namespace-scoped extension records its release in the target namespace",
			opts: []v1alpha1test.ExtensionOption{v1alpha1test.TargetNamespace("team-a"), v1alpha1test.Installed("1.4.1", "1.36")},
			want: func(e *v1alpha1.Extension) {
				e.Spec.Scope = v1alpha1.Scope{Namespace: &v1alpha1.NamespaceScope{TargetNamespace: "team-a"}}
				e.Status = v1alpha1.ExtensionStatus{
					ProvisioningState: v1alpha1.ProvisioningSucceeded,
					Scope:             v1alpha1.ScopeNamespace,
					CurrentVersion:    "1.4.1",
					KubernetesVersion: "1.36",
					Release:           v1alpha1.ReleaseRef{Name: "ext", Namespace: "team-a", Revision: 1},
				}
			},
		},
		{
			name: "an installed cluster-scoped extension records its release in the release namespace",
			opts: []v1alpha1test.ExtensionOption{v1alpha1test.ReleaseNamespace("tools"), v1alpha1test.Installed("2.0.0", "1.37")},
			want: func(e *v1alpha1.Extension) {
				e.Spec.Scope = v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "tools"}}
				e.Status = v1alpha1.ExtensionStatus{
					ProvisioningState: v1alpha1.ProvisioningSucceeded,
					Scope:             v1alpha1.ScopeCluster,
					CurrentVersion:    "2.0.0",
					KubernetesVersion: "1.37",
					Release:           v1alpha1.ReleaseRef{Name: "ext", Namespace: "tools", Revision: 1},
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := v1alpha1test.Extension("ext", "example.podinfo", tt.opts...)
			want := &v1alpha1.Extension{}
			want.Name = "ext"
			want.Spec.ExtensionType = "example.podinfo"
			want.Spec.Scope = v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "podinfo"}}
			tt.want(want)
			if !equality.Semantic.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestTypeOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []v1alpha1test.TypeOption
		// check reports what is wrong with the built type, or "".
		check func(*v1alpha1.ExtensionType) string
	}{
		{
			name: "with no option the type allows both scopes and leaves trains to the API's defaults",
			check: func(et *v1alpha1.ExtensionType) string {
				if et.Spec.Scopes.Namespace == nil || et.Spec.Scopes.Cluster == nil || et.Spec.ReleaseTrains != nil {
					return "want both scopes and no trains"
				}
				return ""
			},
		},
		{
			name: "a default release namespace on a cluster-only type keeps the other cluster options",
			opts: []v1alpha1test.TypeOption{v1alpha1test.ClusterOnly, v1alpha1test.MultipleInstances, v1alpha1test.DefaultReleaseNamespace("tools")},
			check: func(et *v1alpha1.ExtensionType) string {
				c := et.Spec.Scopes.Cluster
				if et.Spec.Scopes.Namespace != nil || !c.AllowMultipleInstances || c.DefaultReleaseNamespace != "tools" {
					return "want cluster scope only, multiple instances, release namespace tools"
				}
				return ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			et := v1alpha1test.Type("example.podinfo", tt.opts...)
			if msg := tt.check(et); msg != "" {
				t.Errorf("%s: got %+v", msg, et.Spec)
			}
		})
	}
}
