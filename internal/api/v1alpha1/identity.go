package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// ReleaseNamespace is where an extension's release, protected-settings Secret and
// lock live: the release namespace with cluster scope, the target namespace with
// namespace scope.
func (e *Extension) ReleaseNamespace() string {
	switch {
	case e.Spec.Scope.Cluster != nil:
		return e.Spec.Scope.Cluster.ReleaseNamespace
	case e.Spec.Scope.Namespace != nil:
		return e.Spec.Scope.Namespace.TargetNamespace
	}
	return ""
}

// ScopeName names an extension's scope.
func (e *Extension) ScopeName() ScopeName {
	if e.Spec.Scope.Namespace != nil && e.Spec.Scope.Cluster == nil {
		return ScopeNamespace
	}
	return ScopeCluster
}

// InstallAccountName is the ServiceAccount (and Role and RoleBinding) made for a
// namespace-scoped extension: kubeext-NAME, shortened with a hash when the
// extension's name is too long for it.
func InstallAccountName(extension string) string {
	const maxName = 253
	n := "kubeext-" + extension
	if len(n) <= maxName {
		return n
	}
	sum := sha256.Sum256([]byte(extension))
	return n[:maxName-11] + "-" + hex.EncodeToString(sum[:5])
}

// InstallIdentity is who Helm acts as for one extension: a ServiceAccount, or, when
// Name is empty, whoever runs the operation. It is decided, never stored.
// +kubebuilder:object:generate=false
type InstallIdentity struct {
	// Namespace and Name of the ServiceAccount; both empty means the caller.
	Namespace, Name string
	// Managed: the ServiceAccount, its Role and RoleBinding are made for the extension
	// before the install and removed after the uninstall (namespace scope).
	Managed bool
	// From says where the choice came from, for messages.
	From string
}

// Caller reports whether Helm acts as whoever runs the operation.
func (id InstallIdentity) Caller() bool { return id.Name == "" }

func (id InstallIdentity) String() string {
	if id.Caller() {
		return "the caller"
	}
	return fmt.Sprintf("ServiceAccount %s/%s (%s)", id.Namespace, id.Name, id.From)
}

// InstallIdentityOf says who Helm acts as for extension e of type t, the first that
// applies of:
//
//  1. the Extension's spec.serviceAccountName, in its release namespace;
//  2. with namespace scope, kubeext-NAME in its target namespace;
//  3. with cluster scope, the ExtensionType's spec.install.serviceAccount;
//  4. otherwise the caller.
//
// t may be nil (the type is unknown): then a cluster-scoped extension without
// spec.serviceAccountName runs as the caller.
func InstallIdentityOf(t *ExtensionType, e *Extension) InstallIdentity {
	ns := e.ReleaseNamespace()
	switch {
	case e.Spec.ServiceAccountName != "":
		return InstallIdentity{Namespace: ns, Name: e.Spec.ServiceAccountName, From: "the extension's spec.serviceAccountName"}
	case e.ScopeName() == ScopeNamespace:
		return InstallIdentity{Namespace: ns, Name: InstallAccountName(e.Name), Managed: true, From: "made by kubectl ext for the namespace-scoped extension"}
	case t != nil && t.Spec.Install.ServiceAccount != nil:
		sa := t.Spec.Install.ServiceAccount
		return InstallIdentity{Namespace: sa.Namespace, Name: sa.Name, From: fmt.Sprintf("extension type %s's spec.install.serviceAccount", t.Name)}
	}
	return InstallIdentity{From: "no install ServiceAccount is named"}
}
