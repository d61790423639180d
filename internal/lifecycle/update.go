package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/failpoint"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// UpdateRequest is `kubectl ext update`; nil fields stay as they are.
type UpdateRequest struct {
	Name         string
	AutoUpgrade  *bool
	Version      *string
	ReleaseTrain *string
	// Settings are merged key by key into the current ones.
	Settings map[string]string
	// Protected, when non-nil, replaces the whole set of protected settings.
	Protected map[string]string
	Wait      bool
	Timeout   time.Duration
	DryRun    DryRun
	// TargetVersion, when set, moves an auto-upgrading extension to this version (the
	// upgrade command); the policies judge the move like any other.
	TargetVersion string
	// Recheck, when set, is asked about the extension as read under the lock, before
	// anything is done: an error stops the update there (the extension manager finding
	// that someone else applied the spec, or failed an upgrade it owns, meanwhile).
	Recheck func(*v1alpha1.Extension) error
	// AdoptRelease replaces a stored release that does not match what kubectl ext
	// recorded: its records are dropped (nothing they list is touched) and the chart is
	// installed afresh with the Extension's own values. Without it such a release is
	// refused with release.ErrDrift.
	AdoptRelease bool
	// ExtensionType and Scope, when set, must equal the extension's own: both are
	// immutable, and az's update command lines give them.
	ExtensionType string
	Scope         v1alpha1.ScopeName
	// RecordRefusal records a chart that cannot be pulled, or settings it refuses, as
	// the extension's Failed status, under the lock: the spec asking for them is
	// written already (Converge, for a declared Extension), so the status is where its
	// writer looks. Without it such an update writes nothing.
	RecordRefusal bool
}

// Update changes an extension's settings, protected settings, version or train: it
// merges the request into the spec read under the extension's lock, has the
// policies judge the new spec and the version move, records the spec, and installs
// or upgrades the release (apply).
// An Extension being deleted is refused (ErrBeingDeleted). No protected value appears
// in the error.
func (m *Manager) Update(ctx context.Context, req UpdateRequest) (*v1alpha1.Extension, error) {
	ctx, op := startOperation(ctx, req.Protected)
	e, err := m.update(ctx, req)
	return e, op.redactErr(err)
}

func (m *Manager) update(ctx context.Context, req UpdateRequest) (*v1alpha1.Extension, error) {
	e, err := m.Get(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	if err := beingDeleted(e); err != nil {
		return nil, err
	}
	// A request that cannot apply is refused before the lock is taken or the type read.
	spec, err := MergeSpec(e.Spec, req)
	if err != nil {
		return nil, err
	}
	t, err := m.extensionType(ctx, e.Spec.ExtensionType)
	if err != nil {
		return nil, err
	}
	var pc *pulledChart
	if req.DryRun == DryRunNone {
		// Settings the chart refuses are refused before the lock is taken, or anything
		// an interrupted command left is recovered: nothing is written for them. They
		// are checked again, against the same chart unless the version moved, once the
		// spec is read under the lock. A refusal to record waits for the lock.
		if !req.RecordRefusal {
			next := e.DeepCopy()
			next.Spec = spec
			target, protected, err := m.updateInputs(ctx, t, next, req)
			if err != nil {
				return nil, err
			}
			if pc, err = m.checkSettings(ctx, t, target, next.Spec.ConfigurationSettings, protected, warnKeys(next, target, req, protected), nil, req.Timeout); err != nil {
				return nil, err
			}
		}
		l, err := m.acquire(ctx, ReleaseNamespace(e), e.Name, req.Timeout)
		if err != nil {
			return nil, err
		}
		defer releaseDetached(ctx, l)
		operationOf(ctx).hold(l)
		// Re-read under the lock: the spec this update merges into is the current one.
		if e, err = m.Get(ctx, req.Name); err != nil {
			return nil, err
		}
		if err := beingDeleted(e); err != nil {
			return nil, err
		}
		if req.Recheck != nil {
			if err := req.Recheck(e); err != nil {
				return e, err
			}
		}
		then := thenApply
		if req.AdoptRelease {
			then = thenAdopt
		}
		if err := m.recover(ctx, e, l, then); err != nil {
			return nil, err
		}
		if g := e.Status.ObservedGeneration; g > 0 && g < e.Generation {
			// An update killed after its spec write (or a spec edited by hand) left a
			// spec no command applied: this one applies it under its own change.
			m.progress("Recovered: the spec of generation %d of extension %s was never applied (status at generation %d); applying it", e.Generation, e.Name, g)
		}
	}
	u, err := m.prepareUpdate(ctx, t, e, req, pc)
	var refusal *settingsRefusal
	if req.RecordRefusal && req.DryRun == DryRunNone && errors.As(err, &refusal) {
		return e, m.fail(ctx, e, refusal.code, err)
	}
	if err != nil {
		return nil, err
	}
	if req.DryRun != DryRunClient {
		if err := m.mayActAs(ctx, t, u.next); err != nil {
			return nil, err
		}
	}
	switch req.DryRun {
	case DryRunClient:
		u.next.Status.TargetVersion = u.target
		return u.next, nil
	case DryRunServer:
		if err := m.client.Update(ctx, u.next.DeepCopy(), client.DryRunAll); err != nil {
			return nil, conflictOr(err, e.Name)
		}
		if req.Protected != nil {
			if err := m.writeProtected(ctx, u.next, req.Protected, DryRunServer); err != nil {
				return nil, err
			}
		}
		u.next.Status.TargetVersion = u.target
		return u.next, nil
	}
	failpoint.Hit(ctx, failpoint.BeforeExtensionWrite)
	if err := stillHeld(ctx); err != nil {
		return nil, err
	}
	if err := m.client.Update(ctx, u.next); err != nil {
		return nil, conflictOr(err, e.Name)
	}
	failpoint.Hit(ctx, failpoint.AfterExtensionWrite)
	state := v1alpha1.ProvisioningUpdating
	if recordOf(e).IsZero() && e.Status.CurrentVersion == "" {
		// Declared (kubectl apply, GitOps) and never installed: this is its install.
		state = v1alpha1.ProvisioningCreating
	}
	return m.apply(ctx, applyStep{Type: t, Extension: u.next, State: state, Version: u.target, Chart: u.chart.chart,
		Protected: u.protected, WriteProtected: req.Protected != nil, Adopt: req.AdoptRelease, Wait: req.Wait, Timeout: req.Timeout})
}

// preparedUpdate is an update the policies allowed, not yet written.
type preparedUpdate struct {
	// next is the extension with the merged spec.
	next *v1alpha1.Extension
	// target is the version the release moves to.
	target string
	// protected are the protected settings the release's values use: the request's,
	// or the Secret's when the request leaves them.
	protected map[string]string
	// chart is the chart of target, against which the settings were checked.
	chart *pulledChart
}

// prepareUpdate merges the request into e, has the policies judge the new spec, picks
// the target version and, when it moves, has the policies judge the move too (as the
// webhook judges status.targetVersion), and checks the settings against the chart of
// the target version (checkSettings): pre's, when it was pulled for that version
// already (the settings then were warned about already).
func (m *Manager) prepareUpdate(ctx context.Context, t *v1alpha1.ExtensionType, e *v1alpha1.Extension, req UpdateRequest, pre *pulledChart) (preparedUpdate, error) {
	spec, err := MergeSpec(e.Spec, req)
	if err != nil {
		return preparedUpdate{}, err
	}
	if req.ReleaseTrain == nil {
		spec.ReleaseTrain = pinnedTrain(t, spec)
	}
	next := e.DeepCopy()
	next.Spec = spec
	if err := m.judge(ctx, policy.Request{Operation: policy.OperationUpdate, Object: next, OldObject: e}); err != nil {
		return preparedUpdate{}, err
	}
	u := preparedUpdate{next: next}
	if u.target, u.protected, err = m.updateInputs(ctx, t, next, req); err != nil {
		return preparedUpdate{}, err
	}
	var warn []string
	if pre == nil {
		warn = warnKeys(next, u.target, req, u.protected)
	}
	if u.chart, err = m.checkSettings(ctx, t, u.target, next.Spec.ConfigurationSettings, u.protected, warn, pre, req.Timeout); err != nil {
		return preparedUpdate{}, err
	}
	if u.target != next.Status.CurrentVersion {
		moved := next.DeepCopy()
		moved.Status.TargetVersion = u.target
		if err := m.judge(ctx, policy.Request{Operation: policy.OperationUpdate, SubResource: policy.SubResourceStatus, Object: moved, OldObject: next}); err != nil {
			return preparedUpdate{}, err
		}
	}
	return u, nil
}

// updateInputs are the version an update moves the extension (its merged spec) to and
// the protected settings its release's values use: the request's, or the Secret's when
// the request leaves them.
func (m *Manager) updateInputs(ctx context.Context, t *v1alpha1.ExtensionType, next *v1alpha1.Extension, req UpdateRequest) (string, map[string]string, error) {
	target := updateTarget(next, req.TargetVersion)
	if target == "" {
		var err error
		if target, err = m.resolveVersion(ctx, t, next); err != nil {
			return "", nil, err
		}
	}
	protected := req.Protected
	if protected == nil {
		var err error
		if protected, err = m.readProtected(ctx, next); err != nil {
			return "", nil, err
		}
	}
	return target, protected, nil
}

// warnKeys are the setting keys an update warns about when the chart does not know
// them: the ones the request gives, or every one when the version moves (the new
// chart may have dropped a key the old one read).
func warnKeys(next *v1alpha1.Extension, target string, req UpdateRequest, protected map[string]string) []string {
	if target != next.Status.CurrentVersion {
		return settingKeys(next.Spec.ConfigurationSettings, protected)
	}
	return settingKeys(req.Settings, req.Protected)
}

// updateTarget is the version an updated extension moves to: its pinned version, the
// upgrade command's target for an auto-upgrading one, else the installed version; ""
// when nothing is installed yet (the caller resolves the train's newest).
func updateTarget(e *v1alpha1.Extension, upgradeTo string) string {
	switch {
	case !ptr.Deref(e.Spec.AutoUpgradeMinorVersion, true):
		return e.Spec.Version
	case upgradeTo != "":
		return upgradeTo
	}
	return e.Status.CurrentVersion
}

// MergeSpec applies an update request to a spec and returns the new spec; spec is not
// changed. Settings merge key by key; turning auto-upgrade on without a version drops
// the pin; protected settings, when given, get the extension's Secret. A version
// alone is refused for an auto-upgrading extension: it would pin it silently; so is a
// train alone for a pinned one (az: a train only with auto-upgrade), and a type or
// scope other than the extension's (both immutable).
func MergeSpec(spec v1alpha1.ExtensionSpec, req UpdateRequest) (v1alpha1.ExtensionSpec, error) {
	if req.ExtensionType != "" && !strings.EqualFold(req.ExtensionType, spec.ExtensionType) {
		return spec, fmt.Errorf("the extension type is immutable: %s is of type %s, not %s (to change it, delete the extension and create it again)", req.Name, spec.ExtensionType, req.ExtensionType)
	}
	if scope := (&v1alpha1.Extension{Spec: spec}).ScopeName(); req.Scope != "" && req.Scope != scope {
		return spec, fmt.Errorf("the scope is immutable: %s has %s scope, not %s (to change it, delete the extension and create it again)", req.Name, scope, req.Scope)
	}
	if req.Version != nil && req.AutoUpgrade == nil && ptr.Deref(spec.AutoUpgradeMinorVersion, true) {
		return spec, fmt.Errorf("--version pins the extension, so it needs --auto-upgrade-minor-version false: %s upgrades its minor version automatically", req.Name)
	}
	if req.ReleaseTrain != nil && req.AutoUpgrade == nil && !ptr.Deref(spec.AutoUpgradeMinorVersion, true) {
		return spec, fmt.Errorf("--release-train can only be set if auto-upgrade is true: %s is pinned to %s; give --auto-upgrade-minor-version true with it", req.Name, spec.Version)
	}
	out := *spec.DeepCopy()
	if req.AutoUpgrade != nil {
		out.AutoUpgradeMinorVersion = ptr.To(*req.AutoUpgrade)
		if *req.AutoUpgrade && req.Version == nil {
			out.Version = ""
		}
	}
	if req.Version != nil {
		out.Version = *req.Version
	}
	if req.ReleaseTrain != nil {
		out.ReleaseTrain = *req.ReleaseTrain
	}
	if len(req.Settings) > 0 {
		merged := maps.Clone(out.ConfigurationSettings)
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, req.Settings)
		out.ConfigurationSettings = merged
	}
	if req.Protected != nil && out.ConfigurationProtectedSettings == nil {
		out.ConfigurationProtectedSettings = &v1alpha1.ProtectedSettingsRef{SecretName: ProtectedSecretName(req.Name)}
	}
	return out, nil
}
