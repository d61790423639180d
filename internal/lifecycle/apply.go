package lifecycle

import (
	"context"
	"time"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// applyStep is the tail create and update share once the Extension is recorded:
// mark it in progress toward Version, replace the protected settings when asked,
// install or upgrade the release, and record the outcome.
type applyStep struct {
	Type      *v1alpha1.ExtensionType
	Extension *v1alpha1.Extension
	// State is Creating or Updating.
	State   v1alpha1.ProvisioningState
	Version string
	// Protected are the protected settings the release's values use; with
	// WriteProtected they replace the Secret's first.
	Protected      map[string]string
	WriteProtected bool
	Wait           bool
	Timeout        time.Duration
}

// apply runs the step. The Extension is returned even on a Helm failure, so the
// caller can show the Failed status it was left in.
func (m *Manager) apply(ctx context.Context, s applyStep) (*v1alpha1.Extension, error) {
	e := s.Extension
	if err := m.begin(ctx, e, s.State, s.Version); err != nil {
		return nil, m.fail(ctx, e, "StatusDenied", err)
	}
	if s.WriteProtected {
		if err := m.writeProtected(ctx, e, s.Protected, DryRunNone); err != nil {
			return nil, m.fail(ctx, e, "ProtectedSettingsFailed", err)
		}
	}
	command := "update"
	if s.State == v1alpha1.ProvisioningCreating {
		command = "install"
	}
	rev, err := m.helmApply(ctx, helmStep{Type: s.Type, Extension: e, Version: s.Version,
		Settings: e.Spec.ConfigurationSettings, Protected: s.Protected, Wait: s.Wait, Timeout: s.Timeout, Command: command})
	if err != nil {
		return e, err
	}
	if err := m.succeed(ctx, e, s.Version, rev); err != nil {
		return e, err
	}
	m.progress("Extension %s is Succeeded at version %s (release %s/%s revision %d)", e.Name, s.Version, ReleaseNamespace(e), e.Name, rev)
	return e, nil
}
