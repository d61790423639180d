package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	helmrelease "helm.sh/helm/v3/pkg/release"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/release"
	"github.com/kubeext/kubectl-ext/internal/settings"
)

// Helm is what the manager needs of Helm; HelmClient adapts *release.Client to it, and
// tests put a fake behind it.
type Helm interface {
	// Install and Upgrade return the new revision.
	Install(ctx context.Context, req release.Request) (int, error)
	Upgrade(ctx context.Context, req release.Request) (int, error)
	Uninstall(name, namespace string, wait bool, timeout time.Duration) error
	RecoverPending(name, namespace string, timeout time.Duration) (string, error)
	// Deployed reports whether a deployed revision of the release exists.
	Deployed(name, namespace string) (bool, error)
}

// HelmClient adapts *release.Client to Helm.
type HelmClient struct{ *release.Client }

// Install implements Helm.
func (h HelmClient) Install(ctx context.Context, req release.Request) (int, error) {
	r, err := h.Client.Install(ctx, req)
	if err != nil {
		return 0, err
	}
	return r.Version, nil
}

// Upgrade implements Helm.
func (h HelmClient) Upgrade(ctx context.Context, req release.Request) (int, error) {
	r, err := h.Client.Upgrade(ctx, req)
	if err != nil {
		return 0, err
	}
	return r.Version, nil
}

// Deployed implements Helm.
func (h HelmClient) Deployed(name, namespace string) (bool, error) {
	hist, err := h.Client.History(name, namespace)
	if errors.Is(err, release.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, r := range hist {
		if r.Info != nil && r.Info.Status == helmrelease.StatusDeployed {
			return true, nil
		}
	}
	return false, nil
}

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

// helmStep is one install-or-upgrade of an extension's release.
type helmStep struct {
	Type      *v1alpha1.ExtensionType
	Extension *v1alpha1.Extension
	Version   string
	// Settings and Protected become the release's values (protected win).
	Settings, Protected map[string]string
	Wait                bool
	Timeout             time.Duration
	// Command names the command in the release history ("install", "update").
	Command string
}

// helmApply pulls the chart and installs the release, or upgrades it when a deployed
// revision exists, returning the new revision. On failure the status is Failed with
// Helm's error (release.Client has already uninstalled or rolled back).
func (m *Manager) helmApply(ctx context.Context, s helmStep) (int, error) {
	e := s.Extension
	ch, err := m.loadChart(ctx, s.Type, s.Version)
	if err != nil {
		return 0, m.fail(ctx, e, "ChartUnavailable", err)
	}
	vals, err := values(s.Settings, s.Protected)
	if err != nil {
		return 0, m.fail(ctx, e, "InvalidSettings", err)
	}
	req := release.Request{Name: e.Name, Namespace: ReleaseNamespace(e), Chart: ch, Values: vals, Wait: s.Wait, Timeout: s.Timeout,
		Description: fmt.Sprintf("kubectl ext %s: version %s", s.Command, s.Version)}
	deployed, err := m.helm.Deployed(e.Name, req.Namespace)
	if err != nil {
		return 0, m.fail(ctx, e, "HelmFailed", err)
	}
	var rev int
	if deployed {
		m.progress("Upgrading release %s/%s to chart version %s%s", req.Namespace, e.Name, s.Version, waitNote(s.Wait))
		rev, err = m.helm.Upgrade(ctx, req)
	} else {
		m.progress("Installing release %s/%s, chart version %s%s", req.Namespace, e.Name, s.Version, waitNote(s.Wait))
		rev, err = m.helm.Install(ctx, req)
	}
	if err != nil {
		return 0, m.fail(ctx, e, "HelmFailed", err)
	}
	return rev, nil
}

// loadChart pulls the chart of a version.
func (m *Manager) loadChart(ctx context.Context, t *v1alpha1.ExtensionType, version string) (*chart.Chart, error) {
	m.progress("Pulling chart %s %s from %s", t.Spec.Chart.Name, version, t.Spec.Chart.Repository)
	src, err := m.charts(t.Spec.Chart)
	if err != nil {
		return nil, err
	}
	return src.Load(ctx, version)
}

// values merges settings and protected settings (protected win) into Helm values.
func values(s, protected map[string]string) (map[string]any, error) {
	v, err := settings.Values(settings.Merge(s, protected))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return v, nil
}

func waitNote(wait bool) string {
	if wait {
		return " and waiting for its workloads to be ready"
	}
	return ""
}
