package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// Get reads one extension.
func (m *Manager) Get(ctx context.Context, name string) (*v1alpha1.Extension, error) {
	e := &v1alpha1.Extension{}
	if err := m.Client.Get(ctx, types.NamespacedName{Name: name}, e); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%w: %s (`kubectl ext list` shows the extensions)", ErrNotFound, name)
		}
		return nil, explain(err, "get", "extensions.kubeext.dev")
	}
	return e, nil
}

// List reads every extension, sorted by name.
func (m *Manager) List(ctx context.Context) (*v1alpha1.ExtensionList, error) {
	l := &v1alpha1.ExtensionList{}
	if err := m.Client.List(ctx, l); err != nil {
		return nil, explain(err, "list", "extensions.kubeext.dev")
	}
	return l, nil
}

// build turns a create request into the Extension to record.
func (m *Manager) build(req CreateRequest, t *v1alpha1.ExtensionType) (*v1alpha1.Extension, error) {
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
		e.Spec.ReleaseTrain = v1alpha1.ReleaseTrainStable
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
	return e, nil
}

// Create installs a new extension. It returns the recorded extension (for a dry run,
// the extension that would be recorded).
func (m *Manager) Create(ctx context.Context, req CreateRequest) (*v1alpha1.Extension, error) {
	t, err := m.getType(ctx, req.ExtensionType)
	if err != nil {
		return nil, err
	}
	if err := m.ensureCatalog(ctx, t); err != nil {
		return nil, err
	}
	e, err := m.build(req, t)
	if err != nil {
		return nil, err
	}
	if err := m.judge(ctx, policy.Request{Operation: policy.OperationCreate, Object: e, UserInfo: policy.UserInfo{Username: m.holder()}}); err != nil {
		return nil, err
	}
	version, err := m.resolveVersion(ctx, t, e)
	if err != nil {
		return nil, err
	}
	if _, err := values(req.Settings, req.Protected); err != nil {
		return nil, err
	}
	if req.DryRun == DryRunClient {
		e.Status.TargetVersion = version
		return e, nil
	}

	existing := &v1alpha1.Extension{}
	err = m.Client.Get(ctx, types.NamespacedName{Name: req.Name}, existing)
	switch {
	case err == nil:
		return m.recreate(ctx, req, t, e, existing, version)
	case !apierrors.IsNotFound(err):
		return nil, explain(err, "get", "extensions.kubeext.dev")
	}

	if req.DryRun == DryRunServer {
		if err := m.Client.Create(ctx, e.DeepCopy(), client.DryRunAll); err != nil {
			return nil, explain(err, "create", "extensions.kubeext.dev")
		}
		ch, err := m.loadChart(ctx, t, version)
		if err != nil {
			return nil, err
		}
		_ = ch
		e.Status.TargetVersion = version
		return e, nil
	}

	ns := ReleaseNamespace(e)
	if err := m.ensureNamespace(ctx, ns, req.DryRun); err != nil {
		return nil, err
	}
	l, err := acquire(ctx, m.Client, ns, e.Name, m.holder(), m.now)
	if err != nil {
		return nil, err
	}
	defer l.release(context.WithoutCancel(ctx))

	m.progress("Creating extension %s (type %s, version %s)", e.Name, t.Name, version)
	if err := m.Client.Create(ctx, e); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("%w: %s (created meanwhile by another command; retry)", ErrAlreadyExists, e.Name)
		}
		return nil, explain(err, "create", "extensions.kubeext.dev")
	}
	return m.install(ctx, t, e, version, req.Settings, req.Protected, req.Wait, req.Timeout)
}

// recreate handles create of a name that exists: a Failed (or interrupted) extension
// of the same type and scope is recovered; anything else is an error.
func (m *Manager) recreate(ctx context.Context, req CreateRequest, t *v1alpha1.ExtensionType, want, existing *v1alpha1.Extension, version string) (*v1alpha1.Extension, error) {
	ns := ReleaseNamespace(existing)
	l, err := acquire(ctx, m.Client, ns, existing.Name, m.holder(), m.now)
	if err != nil {
		return nil, err
	}
	defer l.release(context.WithoutCancel(ctx))
	if !inProgress(existing.Status.ProvisioningState) && existing.Status.ProvisioningState != v1alpha1.ProvisioningFailed {
		return nil, fmt.Errorf("%w: %s is %s; change it with `kubectl ext update %s`", ErrAlreadyExists, existing.Name,
			orNone(string(existing.Status.ProvisioningState)), existing.Name)
	}
	if existing.Spec.ExtensionType != want.Spec.ExtensionType || ReleaseNamespace(existing) != ReleaseNamespace(want) || ScopeOf(existing) != ScopeOf(want) {
		return nil, fmt.Errorf("%w: %s failed earlier with another type or scope; delete it first with `kubectl ext delete %s`", ErrAlreadyExists, existing.Name, existing.Name)
	}
	if err := m.recover(ctx, existing, l, req.Timeout); err != nil {
		return nil, err
	}
	m.progress("Extension %s failed earlier (%s); creating it again", existing.Name, errorMessage(existing))
	updated := existing.DeepCopy()
	updated.Spec = want.Spec
	if err := m.judge(ctx, policy.Request{Operation: policy.OperationUpdate, Object: updated, OldObject: existing, UserInfo: policy.UserInfo{Username: m.holder()}}); err != nil {
		return nil, err
	}
	if err := m.Client.Update(ctx, updated); err != nil {
		return nil, conflictOr(err, existing.Name)
	}
	return m.install(ctx, t, updated, version, req.Settings, req.Protected, req.Wait, req.Timeout)
}

func errorMessage(e *v1alpha1.Extension) string {
	if e.Status.ErrorInfo != nil && e.Status.ErrorInfo.Message != "" {
		return e.Status.ErrorInfo.Message
	}
	return string(e.Status.ProvisioningState)
}

func orNone(s string) string {
	if s == "" {
		return "recorded without a state"
	}
	return s
}

// install runs the Helm step of create (install, or upgrade when a deployed release
// already exists) and records the outcome.
func (m *Manager) install(ctx context.Context, t *v1alpha1.ExtensionType, e *v1alpha1.Extension, version string, s, protected map[string]string, wait bool, timeout time.Duration) (*v1alpha1.Extension, error) {
	if err := m.begin(ctx, e, v1alpha1.ProvisioningCreating, version); err != nil {
		return nil, m.fail(ctx, e, "StatusDenied", err)
	}
	if protected != nil {
		if err := m.writeProtected(ctx, e, protected, DryRunNone); err != nil {
			return nil, m.fail(ctx, e, "ProtectedSettingsFailed", err)
		}
	}
	rev, err := m.helmApply(ctx, t, e, version, s, protected, wait, timeout, "install")
	if err != nil {
		return e, err
	}
	if err := m.succeed(ctx, e, version, rev); err != nil {
		return e, err
	}
	m.progress("Extension %s is Succeeded at version %s (release %s/%s revision %d)", e.Name, version, ReleaseNamespace(e), e.Name, rev)
	return e, nil
}

// helmApply pulls the chart and installs or upgrades the release; on failure the
// status is Failed with Helm's error.
func (m *Manager) helmApply(ctx context.Context, t *v1alpha1.ExtensionType, e *v1alpha1.Extension, version string, s, protected map[string]string, wait bool, timeout time.Duration, what string) (int, error) {
	ch, err := m.loadChart(ctx, t, version)
	if err != nil {
		return 0, m.fail(ctx, e, "ChartUnavailable", err)
	}
	vals, err := values(s, protected)
	if err != nil {
		return 0, m.fail(ctx, e, "InvalidSettings", err)
	}
	req := release.Request{Name: e.Name, Namespace: ReleaseNamespace(e), Chart: ch, Values: vals, Wait: wait, Timeout: timeout,
		Description: fmt.Sprintf("kubectl ext %s: version %s", what, version)}
	deployed, err := m.Helm.Deployed(e.Name, req.Namespace)
	if err != nil {
		return 0, m.fail(ctx, e, "HelmFailed", err)
	}
	var rev int
	if deployed {
		m.progress("Upgrading release %s/%s to chart version %s%s", req.Namespace, e.Name, version, waitNote(wait))
		rev, err = m.Helm.Upgrade(ctx, req)
	} else {
		m.progress("Installing release %s/%s, chart version %s%s", req.Namespace, e.Name, version, waitNote(wait))
		rev, err = m.Helm.Install(ctx, req)
	}
	if err != nil {
		return 0, m.fail(ctx, e, "HelmFailed", err)
	}
	return rev, nil
}

func waitNote(wait bool) string {
	if wait {
		return " and waiting for its workloads to be ready"
	}
	return ""
}

func conflictOr(err error, name string) error {
	if apierrors.IsConflict(err) {
		return fmt.Errorf("extension %s was changed by another command while this one ran; nothing was applied: retry", name)
	}
	return explain(err, "update", "extensions.kubeext.dev")
}

// Update changes an extension's settings, protected settings, version or train.
func (m *Manager) Update(ctx context.Context, req UpdateRequest) (*v1alpha1.Extension, error) {
	e, err := m.Get(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	if req.Version != nil && req.AutoUpgrade == nil && ptr.Deref(e.Spec.AutoUpgradeMinorVersion, true) {
		return nil, fmt.Errorf("--version pins the extension, so it needs --auto-upgrade-minor-version false: %s upgrades its minor version automatically", e.Name)
	}
	t, err := m.getType(ctx, e.Spec.ExtensionType)
	if err != nil {
		return nil, err
	}
	if err := m.ensureCatalog(ctx, t); err != nil {
		return nil, err
	}

	var l *lock
	if req.DryRun == DryRunNone {
		l, err = acquire(ctx, m.Client, ReleaseNamespace(e), e.Name, m.holder(), m.now)
		if err != nil {
			return nil, err
		}
		defer l.release(context.WithoutCancel(ctx))
		// Re-read under the lock: the spec this update merges into is the current one.
		if e, err = m.Get(ctx, req.Name); err != nil {
			return nil, err
		}
		if err := m.recover(ctx, e, l, req.Timeout); err != nil {
			return nil, err
		}
	}

	old := e.DeepCopy()
	if req.AutoUpgrade != nil {
		e.Spec.AutoUpgradeMinorVersion = ptr.To(*req.AutoUpgrade)
		if *req.AutoUpgrade && req.Version == nil {
			e.Spec.Version = ""
		}
	}
	if req.Version != nil {
		e.Spec.Version = *req.Version
	}
	if req.ReleaseTrain != nil {
		e.Spec.ReleaseTrain = *req.ReleaseTrain
	}
	if len(req.Settings) > 0 {
		merged := maps.Clone(e.Spec.ConfigurationSettings)
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, req.Settings)
		e.Spec.ConfigurationSettings = merged
	}
	if req.Protected != nil && e.Spec.ConfigurationProtectedSettings == nil {
		e.Spec.ConfigurationProtectedSettings = &v1alpha1.ProtectedSettingsRef{SecretName: ProtectedSecretName(e.Name)}
	}

	if err := m.judge(ctx, policy.Request{Operation: policy.OperationUpdate, Object: e, OldObject: old, UserInfo: policy.UserInfo{Username: m.holder()}}); err != nil {
		return nil, err
	}
	target := e.Status.CurrentVersion
	if !ptr.Deref(e.Spec.AutoUpgradeMinorVersion, true) {
		target = e.Spec.Version
	} else if req.TargetVersion != "" {
		target = req.TargetVersion
	}
	if target == "" {
		if target, err = m.resolveVersion(ctx, t, e); err != nil {
			return nil, err
		}
	}
	protected := req.Protected
	if protected == nil {
		if protected, err = m.readProtected(ctx, e); err != nil {
			return nil, err
		}
	}
	if _, err := values(e.Spec.ConfigurationSettings, protected); err != nil {
		return nil, err
	}
	if target != e.Status.CurrentVersion {
		moved := e.DeepCopy()
		moved.Status.TargetVersion = target
		if err := m.judge(ctx, policy.Request{Operation: policy.OperationUpdate, SubResource: policy.SubResourceStatus, Object: moved, OldObject: e, UserInfo: policy.UserInfo{Username: m.holder()}}); err != nil {
			return nil, err
		}
	}
	switch req.DryRun {
	case DryRunClient:
		e.Status.TargetVersion = target
		return e, nil
	case DryRunServer:
		if err := m.Client.Update(ctx, e.DeepCopy(), client.DryRunAll); err != nil {
			return nil, conflictOr(err, e.Name)
		}
		if req.Protected != nil {
			if err := m.writeProtected(ctx, e, req.Protected, DryRunServer); err != nil {
				return nil, err
			}
		}
		e.Status.TargetVersion = target
		return e, nil
	}

	if err := m.Client.Update(ctx, e); err != nil {
		return nil, conflictOr(err, e.Name)
	}
	if err := m.begin(ctx, e, v1alpha1.ProvisioningUpdating, target); err != nil {
		return nil, m.fail(ctx, e, "StatusDenied", err)
	}
	if req.Protected != nil {
		if err := m.writeProtected(ctx, e, req.Protected, DryRunNone); err != nil {
			return nil, m.fail(ctx, e, "ProtectedSettingsFailed", err)
		}
	}
	rev, err := m.helmApply(ctx, t, e, target, e.Spec.ConfigurationSettings, protected, req.Wait, req.Timeout, "update")
	if err != nil {
		return e, err
	}
	if err := m.succeed(ctx, e, target, rev); err != nil {
		return e, err
	}
	m.progress("Extension %s is Succeeded at version %s (release %s/%s revision %d)", e.Name, target, ReleaseNamespace(e), e.Name, rev)
	return e, nil
}

// Delete uninstalls an extension and removes its record and Secret. It returns
// ErrNotFound when there is nothing to delete.
func (m *Manager) Delete(ctx context.Context, req DeleteRequest) error {
	e, err := m.Get(ctx, req.Name)
	if err != nil {
		return err
	}
	if req.Force {
		m.progress("Removing the record of extension %s only; release %s/%s stays installed", e.Name, ReleaseNamespace(e), e.Name)
		return m.deleteRecord(ctx, e)
	}
	ns := ReleaseNamespace(e)
	l, err := acquire(ctx, m.Client, ns, e.Name, m.holder(), m.now)
	if err != nil {
		return err
	}
	defer l.release(context.WithoutCancel(ctx))
	if err := m.recover(ctx, e, l, req.Timeout); err != nil {
		return err
	}
	if err := m.setStatus(ctx, e, func(s *v1alpha1.ExtensionStatus) {
		s.ProvisioningState = v1alpha1.ProvisioningDeleting
		s.TargetVersion = ""
	}); err != nil {
		return err
	}
	m.progress("Uninstalling release %s/%s%s", ns, e.Name, waitNote(req.Wait))
	if err := m.Helm.Uninstall(e.Name, ns, req.Wait, req.Timeout); err != nil {
		return m.fail(ctx, e, "UninstallFailed", err)
	}
	if e.Spec.ConfigurationProtectedSettings != nil {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: e.Spec.ConfigurationProtectedSettings.SecretName}}
		if err := m.Client.Delete(ctx, s); err != nil && !apierrors.IsNotFound(err) {
			return m.fail(ctx, e, "UninstallFailed", explain(err, "delete", "secrets"))
		}
	}
	return m.deleteRecord(ctx, e)
}

func (m *Manager) deleteRecord(ctx context.Context, e *v1alpha1.Extension) error {
	if err := m.Client.Delete(ctx, e); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return explain(err, "delete", "extensions.kubeext.dev")
	}
	m.progress("Deleted extension %s", e.Name)
	return nil
}

// IsNotFound reports whether err says the extension does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
