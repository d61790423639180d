package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// Who Helm acts as. The plugin's own reads and writes (Extensions, their status,
// protected-settings Secrets, Leases) always keep the caller's identity; only Helm's
// actions on a release run as the extension's install identity:
//
//  1. the Extension's spec.serviceAccountName, in its release namespace;
//  2. with namespace scope, a ServiceAccount the plugin makes for the extension in its
//     target namespace (kubeext-NAME), bound to a Role of that namespace alone;
//  3. with cluster scope, the ExtensionType's spec.install.serviceAccount;
//  4. otherwise the caller, the documented default for interactive cluster-scope use.
//
// The Extension's choice wins over the type's without the type having to allow it:
// naming a ServiceAccount grants nothing, because whoever runs the operation must hold
// `impersonate` on it, which the API server checks on every request.

// Identity is who Helm acts as for one extension (v1alpha1.InstallIdentityOf
// decides, for the plugin and the webhook alike).
type Identity = v1alpha1.InstallIdentity

// InstallAccountName is the ServiceAccount the plugin makes for a namespace-scoped
// extension.
func InstallAccountName(extension string) string { return v1alpha1.InstallAccountName(extension) }

// IdentityOf says who Helm acts as for extension e of type t.
func IdentityOf(t *v1alpha1.ExtensionType, e *v1alpha1.Extension) Identity {
	return v1alpha1.InstallIdentityOf(t, e)
}

// impersonationChecker is a Helm that can ask whether the caller may impersonate a
// ServiceAccount without acting as it; HelmClient is one.
type impersonationChecker interface {
	CheckImpersonation(ctx context.Context, namespace, name string) error
}

// CheckImpersonation implements impersonationChecker.
func (h HelmClient) CheckImpersonation(ctx context.Context, namespace, name string) error {
	return h.Client.CheckImpersonation(ctx, namespace, name)
}

// mayActAs checks, before anything is written, that the caller may act as the
// extension's install identity: the webhook refuses a write of the Extension by anyone
// else (EXT-IDENTITY-001), and here the caller is told which grant to add. Acting as
// the caller needs no check here; the webhook says what it takes.
func (m *Manager) mayActAs(ctx context.Context, t *v1alpha1.ExtensionType, e *v1alpha1.Extension) error {
	id := IdentityOf(t, e)
	c, ok := m.helm.(impersonationChecker)
	if id.Caller() || !ok {
		return nil
	}
	if err := c.CheckImpersonation(ctx, id.Namespace, id.Name); err != nil {
		return fmt.Errorf("extension %s installs as %s: %w", e.Name, id, err)
	}
	return nil
}

// Impersonator is a Helm that can act as a ServiceAccount; HelmClient is one.
type Impersonator interface {
	// As checks that the caller may impersonate the ServiceAccount and returns the
	// Helm that acts as it.
	As(ctx context.Context, namespace, name string) (Helm, error)
}

// WaitAllowed implements grantWaiter.
func (h HelmClient) WaitAllowed(ctx context.Context, namespace, verb, resource string, timeout time.Duration) error {
	return h.Client.WaitAllowed(ctx, namespace, verb, resource, timeout)
}

// As implements Impersonator: it asks the API server whether the caller may
// impersonate the ServiceAccount, then returns a HelmClient whose every request does.
func (h HelmClient) As(ctx context.Context, namespace, name string) (Helm, error) {
	if err := h.Client.CheckImpersonation(ctx, namespace, name); err != nil {
		return nil, err
	}
	return HelmClient{h.Client.As(namespace, name)}, nil
}

// helmFor returns the Helm that acts for extension e: m's own when Helm acts as the
// caller, otherwise one that impersonates the install ServiceAccount, which for
// namespace scope it makes first. t is e's type; when nil it is read (an extension
// whose type is gone runs as the caller unless it names its own ServiceAccount).
func (m *Manager) helmFor(ctx context.Context, t *v1alpha1.ExtensionType, e *v1alpha1.Extension) (Helm, error) {
	if t == nil && e.Spec.ServiceAccountName == "" && ScopeOf(e) == v1alpha1.ScopeCluster {
		got := &v1alpha1.ExtensionType{}
		err := m.client.Get(ctx, types.NamespacedName{Name: e.Spec.ExtensionType}, got)
		switch {
		case err == nil:
			t = got
		case !apierrors.IsNotFound(err):
			return nil, explain(err, "get", "extensiontypes.kubeext.dev")
		}
	}
	id := IdentityOf(t, e)
	if id.Caller() {
		return m.helm, nil
	}
	imp, ok := m.helm.(Impersonator)
	if !ok {
		return nil, fmt.Errorf("extension %s installs as %s, but this Helm cannot impersonate", e.Name, id)
	}
	// Checked before the ServiceAccount is made, so a caller without the grant is
	// told so before anything is written.
	h, err := imp.As(ctx, id.Namespace, id.Name)
	if err != nil {
		return nil, fmt.Errorf("extension %s installs as %s: %w", e.Name, id, err)
	}
	if id.Managed {
		made, err := m.ensureInstallAccount(ctx, e)
		if err != nil {
			return nil, err
		}
		// A RoleBinding just made is not in force until the API server's RBAC cache
		// has it; Helm's first request (listing its release records) would be refused.
		if w, ok := h.(grantWaiter); ok && made {
			if err := w.WaitAllowed(ctx, id.Namespace, "list", "secrets", 30*time.Second); err != nil {
				return nil, err
			}
		}
	}
	return &identityHelm{Helm: h, m: m, e: e, id: id}, nil
}

// grantWaiter is a Helm that can wait for its identity's grants to take effect;
// HelmClient is one.
type grantWaiter interface {
	WaitAllowed(ctx context.Context, namespace, verb, resource string, timeout time.Duration) error
}

// identityHelm is the Helm of an install identity: it says in words what the
// ServiceAccount was not allowed to do, and removes a managed ServiceAccount once
// no release is left to need it.
type identityHelm struct {
	Helm
	m  *Manager
	e  *v1alpha1.Extension
	id Identity
}

func (h *identityHelm) Install(ctx context.Context, req release.Request) (release.Record, error) {
	rec, err := h.Helm.Install(ctx, req)
	if err == nil {
		return rec, nil
	}
	err = h.m.forbidden(err, h.e, h.id)
	// A failed install is uninstalled (release.Client), so nothing needs the account;
	// the next operation makes it again.
	if h.id.Managed {
		// Bounded like a status write: after Ctrl-C the clean-up must end.
		rctx, cancel := detached(ctx)
		defer cancel()
		if rerr := h.m.removeInstallAccount(rctx, h.e); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}
	return rec, err
}

func (h *identityHelm) Upgrade(ctx context.Context, req release.Request) (release.Record, error) {
	rec, err := h.Helm.Upgrade(ctx, req)
	if err != nil {
		err = h.m.forbidden(err, h.e, h.id)
	}
	return rec, err
}

func (h *identityHelm) Adopt(ctx context.Context, req release.Request) (release.Record, error) {
	rec, err := h.Helm.Adopt(ctx, req)
	if err != nil {
		err = h.m.forbidden(err, h.e, h.id)
	}
	return rec, err
}

func (h *identityHelm) Uninstall(ctx context.Context, name, namespace string, expect release.Record, wait bool, timeout time.Duration) error {
	if err := h.Helm.Uninstall(ctx, name, namespace, expect, wait, timeout); err != nil {
		return h.m.forbidden(err, h.e, h.id)
	}
	if h.id.Managed {
		return h.m.removeInstallAccount(context.Background(), h.e)
	}
	return nil
}

// forbiddenAtClusterScope matches the API server's refusal of a cluster-scoped
// request (k8s.io/apiserver's forbidden message), e.g.
// `clusterroles.rbac.authorization.k8s.io "x" is forbidden: User "system:serviceaccount:ns:sa"
// cannot create resource "clusterroles" in API group "rbac.authorization.k8s.io" at the
// cluster scope`. Helm flattens several objects' errors into one (multierror), so the
// text, not one typed error, is what names every refused object.
var forbiddenAtClusterScope = regexp.MustCompile(`"([^"]*)" is forbidden: User "[^"]*" cannot (\w+) resource "([^"]+)" in API group "([^"]*)" at the cluster scope`)

// ErrClusterScopedObject: a namespace-scoped extension's chart has a cluster-scoped object.
var ErrClusterScopedObject = errors.New("namespace-scoped extensions cannot create cluster-scoped objects")

// forbidden turns the API server's refusals of the install identity into a message
// that names the objects: for a namespace-scoped extension, the cluster-scoped objects
// its chart has; otherwise what the ServiceAccount needs to be granted.
func (m *Manager) forbidden(err error, e *v1alpha1.Extension, id Identity) error {
	matches := forbiddenAtClusterScope.FindAllStringSubmatch(err.Error(), -1)
	if len(matches) == 0 {
		if apierrors.IsForbidden(err) || strings.Contains(err.Error(), " is forbidden: ") {
			return fmt.Errorf("%s was refused (grant it what the chart needs, or name another with spec.serviceAccountName): %w", id, err)
		}
		return err
	}
	seen := map[string]bool{}
	var objects []string
	for _, mt := range matches {
		name, verb, gr := mt[1], mt[2], schema.GroupResource{Group: mt[4], Resource: mt[3]}
		kind := gr.String()
		if gvk, kerr := m.client.RESTMapper().KindFor(gr.WithVersion("")); kerr == nil {
			kind = gvk.Kind
		}
		o := fmt.Sprintf("%s %q (%s)", kind, name, verb)
		if !seen[o] {
			seen[o] = true
			objects = append(objects, o)
		}
	}
	if ScopeOf(e) == v1alpha1.ScopeNamespace {
		return fmt.Errorf("%w: the chart of extension %s has %s, which %s may not touch; "+
			"install the type with cluster scope instead (Helm said: %w)",
			ErrClusterScopedObject, e.Name, strings.Join(objects, ", "), id, err)
	}
	return fmt.Errorf("%s may not touch %s; grant it what the chart needs (see docs/security.md): %w",
		id, strings.Join(objects, ", "), err)
}

// installAccountLabels mark what the plugin made for an extension.
func installAccountLabels(e *v1alpha1.Extension) map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, LabelExtension: e.Name}
}

// installRules are what a namespace-scoped chart may do in its namespace: the
// workload, configuration, networking and namespaced RBAC kinds charts ship, and the
// Secrets of Helm's own release records. It is deliberately less than the built-in
// `admin`: no pods/exec, attach, portforward or proxy, no serviceaccounts/token, no
// impersonation, nothing the chart's install does not need. A chart that needs more
// (e.g. custom resources) names its own ServiceAccount with spec.serviceAccountName.
var installRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets", "services", "serviceaccounts", "persistentvolumeclaims", "pods"},
		Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	{APIGroups: []string{""}, Resources: []string{"events", "endpoints"}, Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets", "daemonsets", "replicasets"},
		Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	{APIGroups: []string{"policy"}, Resources: []string{"poddisruptionbudgets"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses", "networkpolicies"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
}

// InstallAccount returns the ServiceAccount, Role and RoleBinding the plugin makes for
// a namespace-scoped extension, labelled and owned by it (a namespaced object may
// have a cluster-scoped owner, so the garbage collector removes them with the
// Extension even if the uninstall did not).
func InstallAccount(e *v1alpha1.Extension) (*corev1.ServiceAccount, *rbacv1.Role, *rbacv1.RoleBinding) {
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ReleaseNamespace(e), Name: InstallAccountName(e.Name), Labels: installAccountLabels(e),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Extension", Name: e.Name, UID: e.UID}}}
	}
	sa := &corev1.ServiceAccount{ObjectMeta: meta(), AutomountServiceAccountToken: ptr.To(false)}
	role := &rbacv1.Role{ObjectMeta: meta(), Rules: installRules}
	rb := &rbacv1.RoleBinding{ObjectMeta: meta(),
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: sa.Namespace, Name: sa.Name}}}
	return sa, role, rb
}

// accountOwnedBy reports whether o is labelled for e and carries e's ownerReference,
// as protected-settings Secrets must be.
func accountOwnedBy(o client.Object, e *v1alpha1.Extension) bool {
	if o.GetLabels()[LabelManagedBy] != ManagedBy || o.GetLabels()[LabelExtension] != e.Name || e.UID == "" {
		return false
	}
	for _, r := range o.GetOwnerReferences() {
		if r.UID == e.UID && r.Kind == "Extension" && r.Name == e.Name {
			return true
		}
	}
	return false
}

// ensureInstallAccount makes (or brings up to date) the ServiceAccount, Role and
// RoleBinding of a namespace-scoped extension. An object of that name the extension
// does not own is never taken over: someone else made it, with rights the plugin
// cannot vouch for.
func (m *Manager) ensureInstallAccount(ctx context.Context, e *v1alpha1.Extension) (made bool, err error) {
	sa, role, rb := InstallAccount(e)
	for _, want := range []client.Object{sa, role, rb} {
		kind := fmt.Sprintf("%T", want)[strings.LastIndex(fmt.Sprintf("%T", want), ".")+1:]
		have := want.DeepCopyObject().(client.Object)
		err := m.client.Get(ctx, client.ObjectKeyFromObject(want), have)
		switch {
		case apierrors.IsNotFound(err):
			if err := m.client.Create(ctx, want); err != nil {
				return made, fmt.Errorf("making the install %s %s/%s of extension %s: %w", kind, want.GetNamespace(), want.GetName(), e.Name, explain(err, "create", strings.ToLower(kind)+"s"))
			}
			made = true
			continue
		case err != nil:
			return made, explain(err, "get", strings.ToLower(kind)+"s")
		case !accountOwnedBy(have, e):
			return made, fmt.Errorf("%s %s/%s exists but was not made by kubectl ext for extension %s; "+
				"remove it, or name the ServiceAccount to use with spec.serviceAccountName", kind, want.GetNamespace(), want.GetName(), e.Name)
		}
		want.SetResourceVersion(have.GetResourceVersion())
		if err := m.client.Update(ctx, want); err != nil {
			return made, fmt.Errorf("updating the install %s %s/%s of extension %s: %w", kind, want.GetNamespace(), want.GetName(), e.Name, explain(err, "update", strings.ToLower(kind)+"s"))
		}
	}
	return made, nil
}

// removeInstallAccount deletes what ensureInstallAccount made, binding first so the
// ServiceAccount's rights go before it does; objects it does not own stay.
func (m *Manager) removeInstallAccount(ctx context.Context, e *v1alpha1.Extension) error {
	sa, role, rb := InstallAccount(e)
	var errs []error
	for _, o := range []client.Object{rb, role, sa} {
		have := o.DeepCopyObject().(client.Object)
		if err := m.client.Get(ctx, client.ObjectKeyFromObject(o), have); err != nil {
			if !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
			continue
		}
		if !accountOwnedBy(have, e) {
			continue
		}
		if err := m.client.Delete(ctx, have, client.Preconditions{UID: ptr.To(have.GetUID())}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing the install ServiceAccount %s/%s of extension %s: %w", sa.Namespace, sa.Name, e.Name, err)
	}
	return nil
}
