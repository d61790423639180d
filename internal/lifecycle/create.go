package lifecycle

import (
	"context"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/failpoint"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// CreateRequest is `kubectl ext create`.
type CreateRequest struct {
	Name             string
	ExtensionType    string
	Scope            v1alpha1.ScopeName // "" = the type's default
	ReleaseNamespace string
	TargetNamespace  string
	AutoUpgrade      *bool // nil = true
	Version          string
	ReleaseTrain     string // "" = Stable
	Settings         map[string]string
	// Protected settings; nil means none.
	Protected map[string]string
	Wait      bool
	Timeout   time.Duration
	DryRun    DryRun
}

// Create installs a new extension. It returns the recorded extension (for a dry run,
// the extension that would be recorded). No protected value appears in its error.
func (m *Manager) Create(ctx context.Context, req CreateRequest) (*v1alpha1.Extension, error) {
	ctx, op := startOperation(ctx, req.Protected)
	e, err := m.create(ctx, req)
	return e, op.redactErr(err)
}

func (m *Manager) create(ctx context.Context, req CreateRequest) (*v1alpha1.Extension, error) {
	t, err := m.extensionType(ctx, req.ExtensionType)
	if err != nil {
		return nil, err
	}
	e := newExtension(req, t)
	if err := m.judge(ctx, policy.Request{Operation: policy.OperationCreate, Object: e}); err != nil {
		return nil, err
	}
	version, err := m.resolveVersion(ctx, t, e)
	if err != nil {
		return nil, err
	}
	// The chart is pulled, and the settings checked against it, before anything is
	// written; the install below uses this chart.
	pc, err := m.checkSettings(ctx, t, version, req.Settings, req.Protected, settingKeys(req.Settings, req.Protected), nil, req.Timeout)
	if err != nil {
		return nil, err
	}
	if req.DryRun == DryRunClient {
		e.Status.TargetVersion = version
		return e, nil
	}

	if err := m.mayActAs(ctx, t, e); err != nil {
		return nil, err
	}
	existing := &v1alpha1.Extension{}
	err = m.client.Get(ctx, types.NamespacedName{Name: req.Name}, existing)
	switch {
	case err == nil:
		return m.recreate(ctx, req, t, e, existing, version, pc.chart)
	case !apierrors.IsNotFound(err):
		return nil, explain(err, "get", "extensions.kubeext.dev")
	}

	// The API server and its admission webhook judge the Extension (a server dry run)
	// before the release namespace is created, so a write they refuse, or cannot
	// review because the webhook is down or slow, leaves no empty namespace behind.
	// Removing a namespace this command created once the write is refused would race:
	// between its creation and its removal another create of the same release
	// namespace may start using it, and a dry run deletes nothing. A webhook lost
	// between the dry run and the write can still leave the namespace, empty and
	// labelled managed-by kubectl-ext, which the same command again then uses.
	if err := m.client.Create(ctx, e.DeepCopy(), client.DryRunAll); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("%w: %s (created meanwhile by another command; retry)", ErrAlreadyExists, e.Name)
		}
		return nil, explain(err, "create", "extensions.kubeext.dev")
	}
	if req.DryRun == DryRunServer {
		e.Status.TargetVersion = version
		return e, nil
	}

	ns := ReleaseNamespace(e)
	if err := m.ensureNamespace(ctx, ns); err != nil {
		return nil, err
	}
	l, err := m.acquire(ctx, ns, e.Name, req.Timeout)
	if err != nil {
		return nil, err
	}
	defer releaseDetached(ctx, l)
	operationOf(ctx).hold(l)

	m.progress("Creating extension %s (type %s, version %s)", e.Name, t.Name, version)
	failpoint.Hit(ctx, failpoint.BeforeExtensionWrite)
	if err := stillHeld(ctx); err != nil {
		return nil, err
	}
	if err := m.client.Create(ctx, e); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("%w: %s (created meanwhile by another command; retry)", ErrAlreadyExists, e.Name)
		}
		return nil, explain(err, "create", "extensions.kubeext.dev")
	}
	failpoint.Hit(ctx, failpoint.AfterExtensionWrite)
	return m.apply(ctx, applyStep{Type: t, Extension: e, State: v1alpha1.ProvisioningCreating, Version: version, Chart: pc.chart,
		Protected: req.Protected, WriteProtected: req.Protected != nil, Wait: req.Wait, Timeout: req.Timeout})
}

// newExtension is the Extension a create request records for its type: the scope
// (asked for, implied by the namespaces given, or the type's default), the release
// namespace (asked for, the type's default, or the extension's name), train Stable
// unless named, and auto-upgrade unless turned off. It reads nothing.
func newExtension(req CreateRequest, t *v1alpha1.ExtensionType) *v1alpha1.Extension {
	scope := req.Scope
	if scope == "" {
		scope = t.Spec.Scopes.Default
		if req.TargetNamespace != "" && req.ReleaseNamespace == "" {
			scope = v1alpha1.ScopeNamespace
		}
		if req.ReleaseNamespace != "" {
			scope = v1alpha1.ScopeCluster
		}
	}
	if scope == "" {
		scope = v1alpha1.ScopeCluster
	}
	e := &v1alpha1.Extension{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Extension"},
		ObjectMeta: metav1.ObjectMeta{Name: req.Name},
		Spec: v1alpha1.ExtensionSpec{
			ExtensionType:           req.ExtensionType,
			AutoUpgradeMinorVersion: ptr.To(ptr.Deref(req.AutoUpgrade, true)),
			ReleaseTrain:            req.ReleaseTrain,
			Version:                 req.Version,
			ConfigurationSettings:   req.Settings,
		},
	}
	if e.Spec.ReleaseTrain == "" {
		e.Spec.ReleaseTrain = pinnedTrain(t, withTrain(e.Spec, v1alpha1.ReleaseTrainStable))
	}
	switch scope {
	case v1alpha1.ScopeCluster:
		ns := req.ReleaseNamespace
		if ns == "" && t.Spec.Scopes.Cluster != nil {
			ns = t.Spec.Scopes.Cluster.DefaultReleaseNamespace
		}
		if ns == "" {
			ns = req.Name
		}
		e.Spec.Scope.Cluster = &v1alpha1.ClusterScope{ReleaseNamespace: ns, TargetNamespace: req.TargetNamespace}
	case v1alpha1.ScopeNamespace:
		e.Spec.Scope.Namespace = &v1alpha1.NamespaceScope{TargetNamespace: req.TargetNamespace, ReleaseNamespace: req.ReleaseNamespace}
	}
	if req.Protected != nil {
		e.Spec.ConfigurationProtectedSettings = &v1alpha1.ProtectedSettingsRef{SecretName: ProtectedSecretName(req.Name)}
	}
	return e
}

// recreate handles create of a name that exists: a Failed (or interrupted) extension
// of the same type and scope is recovered and installed again; so is one recorded
// without a state, which a create killed between its Extension write and its first
// status write leaves (and a declared Extension nothing installed yet); anything else
// is an error.
func (m *Manager) recreate(ctx context.Context, req CreateRequest, t *v1alpha1.ExtensionType, want, existing *v1alpha1.Extension,
	version string, ch *chart.Chart) (*v1alpha1.Extension, error) {
	// As az's create (an ARM PUT), create of an extension that is already what was
	// asked for does nothing and succeeds, so a fleet's create run again after a
	// partial failure lands on the clusters that had it already. It writes nothing and
	// takes no lock: Succeeded at the current generation means no command is applying
	// another spec (an update writes the spec, raising the generation, before it says
	// Updating).
	if sameSpec(existing, want, req.Protected) && existing.Status.ProvisioningState == v1alpha1.ProvisioningSucceeded &&
		existing.Status.ObservedGeneration == existing.Generation && existing.DeletionTimestamp == nil {
		m.progress("Extension %s already exists with this spec: nothing to do", existing.Name)
		return existing, nil
	}
	if err := recreatable(existing, want); err != nil {
		return nil, err
	}
	if req.DryRun == DryRunServer {
		// What the create would write, judged by the API server and the webhook;
		// nothing is recovered, locked or installed.
		updated := existing.DeepCopy()
		updated.Spec = want.Spec
		if err := m.judge(ctx, policy.Request{Operation: policy.OperationUpdate, Object: updated, OldObject: existing}); err != nil {
			return nil, err
		}
		if err := m.client.Update(ctx, updated.DeepCopy(), client.DryRunAll); err != nil {
			return nil, conflictOr(err, existing.Name)
		}
		updated.Status.TargetVersion = version
		return updated, nil
	}
	l, err := m.acquire(ctx, ReleaseNamespace(existing), existing.Name, req.Timeout)
	if err != nil {
		return nil, err
	}
	defer releaseDetached(ctx, l)
	operationOf(ctx).hold(l)
	unstarted := existing.Status.ProvisioningState == ""
	if err := m.recover(ctx, existing, l, thenApply); err != nil {
		return nil, err
	}
	if unstarted {
		m.progress("Recovered: extension %s was recorded without a state (a create interrupted before its first status write, or declared and never installed); installing it", existing.Name)
	} else {
		m.progress("Extension %s failed earlier (%s); creating it again", existing.Name, errorMessage(existing))
	}
	updated := existing.DeepCopy()
	updated.Spec = want.Spec
	if err := m.judge(ctx, policy.Request{Operation: policy.OperationUpdate, Object: updated, OldObject: existing}); err != nil {
		return nil, err
	}
	if err := stillHeld(ctx); err != nil {
		return nil, err
	}
	failpoint.Hit(ctx, failpoint.BeforeExtensionWrite)
	if err := m.client.Update(ctx, updated); err != nil {
		return nil, conflictOr(err, existing.Name)
	}
	failpoint.Hit(ctx, failpoint.AfterExtensionWrite)
	return m.apply(ctx, applyStep{Type: t, Extension: updated, State: v1alpha1.ProvisioningCreating, Version: version, Chart: ch,
		Protected: req.Protected, WriteProtected: req.Protected != nil, Wait: req.Wait, Timeout: req.Timeout})
}

// recreatable refuses a create of a name that exists unless it is a Failed,
// interrupted or never-started extension of the same type, scope and release
// namespace.
func recreatable(existing, want *v1alpha1.Extension) error {
	if err := beingDeleted(existing); err != nil {
		return err
	}
	state := existing.Status.ProvisioningState
	if state != "" && !inProgress(state) && state != v1alpha1.ProvisioningFailed {
		return fmt.Errorf("%w: %s is %s with another spec than this create asks for; change it with `kubectl ext update %s`", ErrAlreadyExists, existing.Name,
			orNone(string(state)), existing.Name)
	}
	if existing.Spec.ExtensionType != want.Spec.ExtensionType || ReleaseNamespace(existing) != ReleaseNamespace(want) || ScopeOf(existing) != ScopeOf(want) {
		return fmt.Errorf("%w: %s failed earlier with another type or scope; delete it first with `kubectl ext delete %s`", ErrAlreadyExists, existing.Name, existing.Name)
	}
	return nil
}

// ensureNamespace creates the release namespace when it does not exist.
func (m *Manager) ensureNamespace(ctx context.Context, ns string) error {
	n := &corev1.Namespace{}
	err := m.client.Get(ctx, types.NamespacedName{Name: ns}, n)
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return explain(err, "get", "namespaces")
	}
	m.progress("Creating namespace %s", ns)
	n = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"app.kubernetes.io/managed-by": "kubectl-ext"}}}
	if err := m.client.Create(ctx, n); err != nil && !apierrors.IsAlreadyExists(err) {
		return explain(err, "create", "namespaces")
	}
	return nil
}

// sameSpec tells whether existing's spec is the one a create asks for (want, and the
// protected settings given, compared by the digest the status records): every field,
// an empty settings map as none.
func sameSpec(existing, want *v1alpha1.Extension, protected map[string]string) bool {
	a, b := existing.Spec.DeepCopy(), want.Spec.DeepCopy()
	for _, s := range []*v1alpha1.ExtensionSpec{a, b} {
		if len(s.ConfigurationSettings) == 0 {
			s.ConfigurationSettings = nil
		}
	}
	if !equality.Semantic.DeepEqual(a, b) {
		return false
	}
	return protected == nil || existing.Status.ProtectedSettingsDigest == ProtectedDigest(protected)
}
