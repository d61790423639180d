// Package v1alpha1test builds Extensions and ExtensionTypes for tests, once for every
// test package: pure tests (policy, lifecycle, catalog) and tests against a real API
// server (admission, cli) start from the same objects. It imports no test
// environment, so a pure test that uses it needs no control plane.
//
// A builder returns the object as a user would write it; options change one thing
// each and apply in order:
//
//	ext := v1alpha1test.Extension("podinfo", "example.podinfo",
//		v1alpha1test.Pinned("1.4.2"), v1alpha1test.Installed("1.4.1", "1.36"))
package v1alpha1test

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// Repository is the chart repository of Type: a name under a reserved domain, never
// fetched. Tests that install charts serve their own (chartsourcetest) and set it with
// Chart.
const Repository = "https://charts.example.org"

// TypeOption changes one thing of an ExtensionType.
type TypeOption func(*v1alpha1.ExtensionType)

// Type returns an ExtensionType of the podinfo chart in Repository, cluster-scoped by
// default (release namespace podinfo), namespace scope allowed. Its release trains and
// upgrade policy are left unset, for the API server's defaults; pure tests that need
// them spelled out add ReleaseTrains and UpgradePolicy.
func Type(name string, opts ...TypeOption) *v1alpha1.ExtensionType {
	t := &v1alpha1.ExtensionType{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ExtensionTypeSpec{
			Chart: v1alpha1.ChartSource{Repository: Repository, Name: "podinfo"},
			Scopes: v1alpha1.Scopes{
				Default:   v1alpha1.ScopeCluster,
				Cluster:   &v1alpha1.ClusterScopeOptions{DefaultReleaseNamespace: "podinfo"},
				Namespace: &v1alpha1.NamespaceScopeOptions{},
			},
		},
	}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Chart sets the chart source.
func Chart(src v1alpha1.ChartSource) TypeOption {
	return func(t *v1alpha1.ExtensionType) { t.Spec.Chart = src }
}

// Description sets the description `kubectl ext type list` shows.
func Description(d string) TypeOption {
	return func(t *v1alpha1.ExtensionType) { t.Spec.Description = d }
}

// DefaultReleaseNamespace sets the cluster scope's default release namespace.
func DefaultReleaseNamespace(ns string) TypeOption {
	return func(t *v1alpha1.ExtensionType) { clusterScope(t).DefaultReleaseNamespace = ns }
}

// ClusterOnly removes the namespace scope: the type installs cluster-wide only.
func ClusterOnly(t *v1alpha1.ExtensionType) { t.Spec.Scopes.Namespace = nil }

// MultipleInstances lets more than one cluster-scoped extension of the type exist.
func MultipleInstances(t *v1alpha1.ExtensionType) {
	clusterScope(t).AllowMultipleInstances = true
}

// UpgradePolicy sets how far automatic upgrades may go.
func UpgradePolicy(p v1alpha1.UpgradePolicy) TypeOption {
	return func(t *v1alpha1.ExtensionType) { t.Spec.UpgradePolicy = p }
}

// ReleaseTrains sets the type's trains, e.g. v1alpha1.DefaultReleaseTrains()... as
// the API server would default them.
func ReleaseTrains(trains ...v1alpha1.ReleaseTrain) TypeOption {
	return func(t *v1alpha1.ExtensionType) { t.Spec.ReleaseTrains = trains }
}

// Versions sets the catalog (status.versions), newest first as sync writes it.
func Versions(vs ...v1alpha1.TypeVersion) TypeOption {
	return func(t *v1alpha1.ExtensionType) { t.Status.Versions = vs }
}

func clusterScope(t *v1alpha1.ExtensionType) *v1alpha1.ClusterScopeOptions {
	if t.Spec.Scopes.Cluster == nil {
		t.Spec.Scopes.Cluster = &v1alpha1.ClusterScopeOptions{}
	}
	return t.Spec.Scopes.Cluster
}

// ExtensionOption changes one thing of an Extension.
type ExtensionOption func(*v1alpha1.Extension)

// Extension returns an extension of the named type, cluster-scoped in release
// namespace podinfo, on the defaults for train and automatic upgrades.
func Extension(name, typeName string, opts ...ExtensionOption) *v1alpha1.Extension {
	e := &v1alpha1.Extension{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ExtensionSpec{
			ExtensionType: typeName,
			Scope:         v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "podinfo"}},
		},
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Named renames the extension.
func Named(n string) ExtensionOption { return func(e *v1alpha1.Extension) { e.Name = n } }

// Pinned turns automatic upgrades off and pins version v, as
// `--auto-upgrade-minor-version false --version v` does.
func Pinned(v string) ExtensionOption {
	return func(e *v1alpha1.Extension) {
		e.Spec.AutoUpgradeMinorVersion = ptr.To(false)
		e.Spec.Version = v
	}
}

// Version sets spec.version alone, leaving automatic upgrades as they are.
func Version(v string) ExtensionOption {
	return func(e *v1alpha1.Extension) { e.Spec.Version = v }
}

// AutoUpgrade sets automatic minor upgrades; turning them on clears the pinned version,
// which goes only with them off.
func AutoUpgrade(on bool) ExtensionOption {
	return func(e *v1alpha1.Extension) {
		e.Spec.AutoUpgradeMinorVersion = ptr.To(on)
		if on {
			e.Spec.Version = ""
		}
	}
}

// Train sets the release train.
func Train(n string) ExtensionOption { return func(e *v1alpha1.Extension) { e.Spec.ReleaseTrain = n } }

// ReleaseNamespace makes the extension cluster-scoped with its release in ns.
func ReleaseNamespace(ns string) ExtensionOption {
	return func(e *v1alpha1.Extension) {
		e.Spec.Scope = v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: ns}}
	}
}

// TargetNamespace makes the extension namespace-scoped to ns.
func TargetNamespace(ns string) ExtensionOption {
	return func(e *v1alpha1.Extension) {
		e.Spec.Scope = v1alpha1.Scope{Namespace: &v1alpha1.NamespaceScope{TargetNamespace: ns}}
	}
}

// Annotation sets one annotation.
func Annotation(k, v string) ExtensionOption {
	return func(e *v1alpha1.Extension) {
		if e.Annotations == nil {
			e.Annotations = map[string]string{}
		}
		e.Annotations[k] = v
	}
}

// InstallAs names the ServiceAccount (in the release namespace) Helm acts as for the
// extension: spec.serviceAccountName.
func InstallAs(sa string) ExtensionOption {
	return func(e *v1alpha1.Extension) { e.Spec.ServiceAccountName = sa }
}

// Installed records, in the status, a successful install of version v adopted at
// Kubernetes minor kube (e.g. "1.36"), with its first Helm revision named after the
// extension in the namespace of its current scope. Apply it after the scope options.
func Installed(v, kube string) ExtensionOption {
	return func(e *v1alpha1.Extension) {
		scope, ns := v1alpha1.ScopeCluster, ""
		switch {
		case e.Spec.Scope.Cluster != nil:
			ns = e.Spec.Scope.Cluster.ReleaseNamespace
		case e.Spec.Scope.Namespace != nil:
			scope, ns = v1alpha1.ScopeNamespace, e.Spec.Scope.Namespace.TargetNamespace
		}
		e.Status = v1alpha1.ExtensionStatus{
			ProvisioningState: v1alpha1.ProvisioningSucceeded,
			Scope:             scope,
			CurrentVersion:    v,
			KubernetesVersion: kube,
			Release:           v1alpha1.ReleaseRef{Name: e.Name, Namespace: ns, Revision: 1},
		}
	}
}

// Targeting records, in the status, an upgrade to v under way.
func Targeting(v string) ExtensionOption {
	return func(e *v1alpha1.Extension) { e.Status.TargetVersion = v }
}
