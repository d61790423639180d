package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"helm.sh/helm/v3/pkg/chart"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/failpoint"
	"github.com/kubeext/kubectl-ext/internal/release"
	"github.com/kubeext/kubectl-ext/internal/settings"
)

// Helm is what the manager needs of Helm; HelmClient adapts *release.Client to it, and
// tests put a fake behind it. Every method that acts on a stored release takes the
// Record kubectl ext keeps in the Extension's status and refuses (release.ErrDrift) a
// stored release that does not match it.
type Helm interface {
	// Install refuses a release that exists already. Install, Upgrade and Adopt return
	// the record of the revision they deployed.
	Install(ctx context.Context, req release.Request) (release.Record, error)
	// Upgrade checks the stored release against req.Expect. A failed upgrade that was
	// rolled back returns the record of the rollback's revision with its error.
	Upgrade(ctx context.Context, req release.Request) (release.Record, error)
	// Adopt drops the stored records, trusting none of them, and installs afresh.
	Adopt(ctx context.Context, req release.Request) (release.Record, error)
	Uninstall(ctx context.Context, name, namespace string, expect release.Record, wait bool, timeout time.Duration) error
	// RecoverPending removes a pending revision an interrupted command left.
	// by is the lock holder identity of the interrupted command (the holder this
	// command took the lock over from, "" for none): the revision must carry its stamp.
	RecoverPending(name, namespace string, expect release.Record, interrupted bool, by string) (string, error)
	// RecoverForUninstall is RecoverPending before an uninstall: it also deletes what
	// the interrupted revision created (the live objects carrying this release's
	// ownership annotations).
	RecoverForUninstall(name, namespace string, expect release.Record, interrupted bool, by string) (string, error)
}

// HelmClient adapts *release.Client to Helm.
type HelmClient struct{ *release.Client }

// Install implements Helm.
func (h HelmClient) Install(ctx context.Context, req release.Request) (release.Record, error) {
	r, err := h.Client.Install(ctx, req)
	return release.RecordOf(r), err
}

// Upgrade implements Helm.
func (h HelmClient) Upgrade(ctx context.Context, req release.Request) (release.Record, error) {
	r, err := h.Client.Upgrade(ctx, req)
	return release.RecordOf(r), err
}

// Adopt implements Helm.
func (h HelmClient) Adopt(ctx context.Context, req release.Request) (release.Record, error) {
	r, err := h.Client.Adopt(ctx, req)
	return release.RecordOf(r), err
}

// recordOf is what an Extension's status records of its release.
func recordOf(e *v1alpha1.Extension) release.Record {
	r := e.Status.Release
	return release.Record{Revision: r.Revision, ManifestDigest: r.ManifestDigest, ValuesDigest: r.ValuesDigest}
}

// setRecord stores a release record in a status.
func setRecord(s *v1alpha1.ExtensionStatus, r release.Record) {
	s.Release.Revision, s.Release.ManifestDigest, s.Release.ValuesDigest = r.Revision, r.ManifestDigest, r.ValuesDigest
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
	// Chart is the chart of Version, pulled and checked against the settings before
	// the Extension was written (checkSettings).
	Chart *chart.Chart
	// Protected are the protected settings the release's values use; with
	// WriteProtected they replace the Secret's first.
	Protected      map[string]string
	WriteProtected bool
	// Adopt replaces a stored release that does not match the record (AdoptRelease).
	Adopt   bool
	Wait    bool
	Timeout time.Duration
}

// apply runs the step. The Extension is returned even on a Helm failure, so the
// caller can show the Failed status it was left in.
func (m *Manager) apply(ctx context.Context, s applyStep) (*v1alpha1.Extension, error) {
	e := s.Extension
	digest := ""
	if s.WriteProtected {
		digest = ProtectedDigest(s.Protected)
	}
	if err := m.begin(ctx, e, s.State, s.Version, digest); err != nil {
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
	rec, err := m.helmApply(ctx, helmStep{Type: s.Type, Extension: e, Version: s.Version, Chart: s.Chart,
		Settings: e.Spec.ConfigurationSettings, Protected: s.Protected, Adopt: s.Adopt, Wait: s.Wait, Timeout: s.Timeout, Command: command})
	if err != nil {
		return e, err
	}
	failpoint.Hit(ctx, failpoint.BeforeStatusWrite)
	if err := m.succeed(ctx, e, s.Version, rec); err != nil {
		return e, err
	}
	m.progress("Extension %s is Succeeded at version %s (release %s/%s revision %d)", e.Name, s.Version, ReleaseNamespace(e), e.Name, rec.Revision)
	return e, nil
}

// helmStep is one install-or-upgrade of an extension's release.
type helmStep struct {
	Type      *v1alpha1.ExtensionType
	Extension *v1alpha1.Extension
	Version   string
	// Chart is the chart of Version.
	Chart *chart.Chart
	// Settings and Protected become the release's values (protected win).
	Settings, Protected map[string]string
	Adopt               bool
	Wait                bool
	Timeout             time.Duration
	// Command names the command in the release history ("install", "update").
	Command string
}

// helmApply installs the chart's release when nothing is recorded, or upgrades the
// recorded one (or adopts whatever is stored, when asked), returning the record of the
// new revision. On failure the status is Failed with Helm's error,
// redacted (release.Client has already uninstalled or rolled back, and a rollback's
// revision is recorded).
func (m *Manager) helmApply(ctx context.Context, s helmStep) (release.Record, error) {
	e := s.Extension
	vals, err := values(s.Settings, s.Protected)
	if err != nil {
		return release.Record{}, m.fail(ctx, e, "InvalidSettings", err)
	}
	req := release.Request{Name: e.Name, Namespace: ReleaseNamespace(e), Chart: s.Chart, Values: vals, Wait: s.Wait, Timeout: s.Timeout,
		Description: fmt.Sprintf("kubectl ext %s: version %s", s.Command, s.Version), Expect: recordOf(e),
		// A lock lost while Helm waited stops the rollback or uninstall that would follow.
		Proceed: func() error { return stillHeld(ctx) }, Progress: m.liveReady(e),
		// Stamped into the revision: recovery trusts it only for this command.
		Operation: operationOf(ctx).holder()}
	if err := stillHeld(ctx); err != nil {
		return release.Record{}, err
	}
	h, err := m.helmFor(ctx, s.Type, e) // Helm acts as the install identity (identity.go)
	if err != nil {
		return release.Record{}, m.fail(ctx, e, "InstallIdentity", err)
	}
	m.startedEvent(ctx, e, s.Version, s.Adopt, req.Expect.IsZero())
	var rec release.Record
	switch {
	case s.Adopt:
		m.progress("Adopting release %s/%s: replacing its stored records with chart version %s and the extension's own values%s",
			req.Namespace, e.Name, s.Version, waitNote(s.Wait))
		rec, err = h.Adopt(ctx, req)
	case req.Expect.IsZero():
		m.progress("Installing release %s/%s, chart version %s%s", req.Namespace, e.Name, s.Version, waitNote(s.Wait))
		rec, err = h.Install(ctx, req)
	default:
		m.progress("Upgrading release %s/%s to chart version %s%s", req.Namespace, e.Name, s.Version, waitNote(s.Wait))
		rec, err = h.Upgrade(ctx, req)
	}
	if err != nil {
		code := "HelmFailed"
		if errors.Is(err, release.ErrDrift) {
			code = "ReleaseDrift"
		}
		if !rec.IsZero() {
			// The failed upgrade was rolled back: the rollback's revision is what is
			// deployed now, with the recorded manifest and values.
			return release.Record{}, m.failRecorded(ctx, e, code, err, rec)
		}
		return release.Record{}, m.fail(ctx, e, code, err)
	}
	return rec, nil
}

// loadChart pulls the chart of a version.
func (m *Manager) loadChart(ctx context.Context, t *v1alpha1.ExtensionType, version string) (*chart.Chart, error) {
	m.progress("Pulling chart %s %s from %s", t.Spec.Chart.Name, version, t.Spec.Chart.Repository)
	src, err := m.charts(t.Spec.Chart)
	if err != nil {
		return nil, err
	}
	return src.Load(m.withLiveDownload(ctx, t, version), version)
}

// pulledChart is the chart of one version, pulled once per command.
type pulledChart struct {
	version string
	chart   *chart.Chart
}

// checkSettings pulls the chart of version, unless prev holds it, and checks the
// settings against it, so that create and update refuse what Helm would refuse only
// after the Extension was recorded (a failed release), and say what it would take
// without a word (a key the chart never reads). Nothing is written before it:
//   - the values the settings and protected settings make, coalesced with the chart's
//     defaults, must meet the chart's values.schema.json (and its subcharts'), judged
//     by Helm's own validator; a refusal is ErrInvalid naming each key and the
//     schema's complaint, with protected values redacted;
//   - each key of warn that the chart knows in neither its values.yaml nor its schema
//     is a warning on the progress writer, with the nearest key it does know.
//
// A chart that cannot be pulled is an error here too, before anything is written.
//
// The pull is bounded by timeout (the operation's --timeout; 0 is five minutes): a
// repository that never answers would otherwise hold the command for ever.
func (m *Manager) checkSettings(ctx context.Context, t *v1alpha1.ExtensionType, version string, s, protected map[string]string,
	warn []string, prev *pulledChart, timeout time.Duration) (*pulledChart, error) {
	vals, err := values(s, protected)
	if err != nil {
		return nil, &settingsRefusal{code: "InvalidSettings", err: err}
	}
	pc := prev
	if pc == nil || pc.version != version {
		if timeout <= 0 {
			timeout = 5 * time.Minute
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		ch, err := m.loadChart(pctx, t, version)
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(pctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("pulling chart %s %s from %s did not finish within the timeout (%s; --timeout sets it): %w",
				t.Spec.Chart.Name, version, t.Spec.Chart.Repository, timeout, err)
		}
		if err != nil {
			return nil, &settingsRefusal{code: "ChartUnavailable", err: err}
		}
		pc = &pulledChart{version: version, chart: ch}
	}
	if err := settings.Validate(pc.chart, vals, slices.Collect(maps.Values(protected))); err != nil {
		return nil, &settingsRefusal{code: "InvalidSettings", err: fmt.Errorf("%w: %w", ErrInvalid, err)}
	}
	sort.Strings(warn)
	unknown, err := settings.Unknown(pc.chart, warn)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	for _, u := range unknown {
		hint := ""
		if u.Suggestion != "" {
			hint = fmt.Sprintf("; did you mean %s?", u.Suggestion)
		}
		m.progress("Warning: setting %s is not a value of chart %s %s (neither its values.yaml nor its values.schema.json has it), so the chart may never read it%s",
			u.Key, t.Spec.Chart.Name, version, hint)
	}
	return pc, nil
}

// settingsRefusal is checkSettings' error: the chart cannot be pulled, or it refuses
// the settings. code is what the status records when the spec asking for it is
// written already (a declared Extension, UpdateRequest.RecordRefusal).
type settingsRefusal struct {
	code string
	err  error
}

func (r *settingsRefusal) Error() string { return r.err.Error() }
func (r *settingsRefusal) Unwrap() error { return r.err }

// settingKeys lists the keys of settings and protected settings (never values).
func settingKeys(s, protected map[string]string) []string {
	keys := slices.Collect(maps.Keys(s))
	for k := range protected {
		if _, ok := s[k]; !ok {
			keys = append(keys, k)
		}
	}
	return keys
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
