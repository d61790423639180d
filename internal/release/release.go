// Package release is the Helm wiring: install, upgrade, roll back and uninstall one
// extension's release with the Helm SDK, with secrets storage in the release namespace,
// from the same cli-runtime flags the plugin takes. Every action that reads a stored
// revision first checks it against what kubectl ext recorded (integrity.go). A failed
// install is uninstalled, a failed upgrade rolled back, and a release an interrupted
// command left pending-* is recovered.
package release

import (
	"context"
	"errors"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Client runs Helm actions against the cluster of Getter.
type Client struct {
	Getter genericclioptions.RESTClientGetter
	// Debug receives Helm's debug log; nil discards it.
	Debug func(format string, v ...any)
	// Configure, when set, supplies the Helm configuration of a namespace instead of
	// one built from Getter: tests give Helm's in-memory storage and fake kube client.
	Configure func(namespace string) (*action.Configuration, error)
}

// Request describes an install or an upgrade.
type Request struct {
	Name, Namespace string
	Chart           *chart.Chart
	Values          map[string]any
	// Wait waits until the release's workloads are ready, up to Timeout.
	Wait    bool
	Timeout time.Duration
	// Description is recorded in the release history.
	Description string
	// Expect is what kubectl ext recorded of the release; an upgrade refuses a stored
	// release that does not match it.
	Expect Record
	// Proceed, when set, is asked before each step the client takes on its own after
	// Helm's action failed (uninstalling a failed install, rolling back a failed
	// upgrade). An error stops the client there and is returned with Helm's: the
	// caller that lost its lock while Helm waited must not act on a release another
	// command may own now.
	Proceed func() error
	// Progress, when set, is told how many of the release's objects are ready while
	// Helm waits for them (with Wait).
	Progress ReadyProgress
	// Operation is the identity of the command (its lock's holder) that stores the
	// revision: stamped into it (OperationLabel), so that recovery, should the command
	// be interrupted, knows the revision for that command's.
	Operation string
}

// proceed asks req.Proceed, if set, before a step taken after failed.
func (req Request) proceed(failed error) error {
	if req.Proceed == nil {
		return nil
	}
	if err := req.Proceed(); err != nil {
		return errors.Join(failed, err)
	}
	return nil
}

// ErrNotFound: the release does not exist.
var ErrNotFound = errors.New("release not found")

func (c *Client) config(namespace string) (*action.Configuration, error) {
	if c.Configure != nil {
		return c.Configure(namespace)
	}
	cfg := &action.Configuration{}
	log := c.Debug
	if log == nil {
		log = func(string, ...any) {}
	}
	if err := cfg.Init(namespaced{c.Getter, namespace}, namespace, "secret", log); err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	return cfg, nil
}

// Last returns the newest revision of the release, or ErrNotFound.
func (c *Client) Last(name, namespace string) (*helmrelease.Release, error) {
	cfg, err := c.config(namespace)
	if err != nil {
		return nil, err
	}
	rel, err := cfg.Releases.Last(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, ErrNotFound
	}
	return rel, err
}

// History returns every stored revision, oldest first.
func (c *Client) History(name, namespace string) ([]*helmrelease.Release, error) {
	cfg, err := c.config(namespace)
	if err != nil {
		return nil, err
	}
	h := action.NewHistory(cfg)
	h.Max = 256
	rels, err := h.Run(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, ErrNotFound
	}
	return rels, err
}

// maxHistory bounds the revisions Helm keeps, so values a settings change replaced
// (rotated secrets among them) do not linger in old release records.
const maxHistory = 5

// last is the newest stored revision, nil when the release does not exist. Helm finds
// a release's records by label, so a Secret that copies a record's labels under
// another name is listed beside it, and Helm's actions would take either: a revision
// stored twice, which Helm never does, is refused as drift.
func last(cfg *action.Configuration, name, namespace string) (*helmrelease.Release, error) {
	hist, err := cfg.Releases.History(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var newest *helmrelease.Release
	seen := map[int]bool{}
	var twice []string
	for _, r := range hist {
		if seen[r.Version] {
			twice = append(twice, fmt.Sprintf("revision %d is stored twice", r.Version))
		}
		seen[r.Version] = true
		if newest == nil || r.Version > newest.Version {
			newest = r
		}
	}
	if len(twice) > 0 {
		return nil, &DriftError{Name: name, Namespace: namespace, Differences: twice}
	}
	return newest, nil
}

// verifyStored checks, just before Helm acts on it by itself, the record of
// rec.Revision as Helm reads it (by its key) against rec: the namespace's admins may
// have rewritten it since the action began, while Helm waited.
func verifyStored(cfg *action.Configuration, name, namespace string, rec Record) error {
	if _, err := last(cfg, name, namespace); err != nil {
		return err
	}
	rel, err := cfg.Releases.Get(name, rec.Revision)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return &DriftError{Name: name, Namespace: namespace, Differences: []string{fmt.Sprintf("revision %d no longer exists", rec.Revision)}}
	}
	if err != nil {
		return err
	}
	if diffs := contentDiffs(rel, rec); len(diffs) > 0 {
		return &DriftError{Name: name, Namespace: namespace, Differences: diffs}
	}
	return nil
}

// Install installs a new release. A release that exists already, which kubectl ext
// never recorded, is refused with a *DriftError. If the install fails, the release is
// uninstalled again so nothing half-installed stays, and the error carries Helm's
// message.
func (c *Client) Install(ctx context.Context, req Request) (*helmrelease.Release, error) {
	cfg, b, err := c.boundConfig(ctx, req.Namespace)
	if err != nil {
		return nil, err
	}
	defer b.stop()
	before, err := last(cfg, req.Name, req.Namespace)
	if err != nil {
		return nil, fmt.Errorf("helm install: reading release %s/%s: %w", req.Namespace, req.Name, err)
	}
	if err := Verify(req.Name, req.Namespace, before, Record{}); err != nil {
		return nil, err
	}
	return c.install(ctx, cfg, b, req)
}

func (c *Client) install(ctx context.Context, cfg *action.Configuration, b *boundContexts, req Request) (*helmrelease.Release, error) {
	if err := c.watchWaits(ctx, cfg, req); err != nil {
		return nil, err
	}
	waitsBound(cfg, b)
	stopDuringHelm(cfg)
	in := action.NewInstall(cfg)
	in.ReleaseName, in.Namespace = req.Name, req.Namespace
	in.Wait, in.Timeout = req.Wait, timeoutOr(req.Timeout)
	in.Description = req.Description
	in.Labels = operationLabels(req.Operation)
	// Run, not RunWithContext: the latter returns on ctx.Done with the install still
	// running (interrupted_transport.go); ctx reaches Helm's requests instead.
	rel, err := in.Run(req.Chart, req.Values)
	if err == nil {
		return rel, nil
	}
	b.cleaningUp()
	installErr := fmt.Errorf("helm install: %w", err)
	// No release existed before, so a stored one is this install's.
	if _, lerr := cfg.Releases.Last(req.Name); lerr != nil {
		return nil, installErr // nothing was stored
	}
	if err := req.proceed(installErr); err != nil {
		return nil, err
	}
	// The uninstall deletes what the stored record lists and runs its delete hooks: the
	// record must still be the one this install stored, which Helm returned.
	if rel == nil {
		return nil, fmt.Errorf("%w; the stored release was left in place: Helm returned no record to check it against", installErr)
	}
	if err := verifyStored(cfg, req.Name, req.Namespace, RecordOf(rel)); err != nil {
		return nil, errors.Join(installErr, fmt.Errorf("not uninstalling the failed release: %w", err))
	}
	un := action.NewUninstall(cfg)
	un.Timeout = timeoutOr(req.Timeout)
	if _, uerr := un.Run(req.Name); uerr != nil {
		return nil, errors.Join(installErr, fmt.Errorf("uninstalling the failed release: %w", uerr))
	}
	return nil, fmt.Errorf("%w (the failed release was uninstalled)", installErr)
}

// Adopt replaces a release whose stored records kubectl ext does not trust: it deletes
// the records (storage only: nothing they list is touched, no hook of theirs runs) and
// installs the request's chart and values afresh. Objects the chart renders that
// exist already with this release's Helm ownership are taken over; objects only the
// old records listed stay in the cluster.
func (c *Client) Adopt(ctx context.Context, req Request) (*helmrelease.Release, error) {
	cfg, b, err := c.boundConfig(ctx, req.Namespace)
	if err != nil {
		return nil, err
	}
	defer b.stop()
	hist, err := cfg.Releases.History(req.Name)
	if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, fmt.Errorf("adopting release %s/%s: %w", req.Namespace, req.Name, err)
	}
	for _, r := range hist {
		if _, err := cfg.Releases.Delete(r.Name, r.Version); err != nil {
			return nil, fmt.Errorf("adopting release %s/%s: deleting the record of revision %d: %w", req.Namespace, req.Name, r.Version, err)
		}
	}
	return c.install(ctx, cfg, b, req)
}

// Upgrade upgrades an existing release whose newest revision is the one req.Expect
// records (else a *DriftError, and nothing changes). Values are the request's alone:
// Helm's value reuse is off. If the upgrade fails, the release is rolled back to the
// recorded revision; the error then comes with the new revision the rollback stored
// (the same manifest and values under a new number), which the caller records.
func (c *Client) Upgrade(ctx context.Context, req Request) (*helmrelease.Release, error) {
	cfg, b, err := c.boundConfig(ctx, req.Namespace)
	if err != nil {
		return nil, err
	}
	defer b.stop()
	before, err := last(cfg, req.Name, req.Namespace)
	if err != nil {
		return nil, fmt.Errorf("helm upgrade: reading release %s/%s: %w", req.Namespace, req.Name, err)
	}
	if before == nil && req.Expect.IsZero() {
		return nil, fmt.Errorf("helm upgrade: reading release %s/%s: %w", req.Namespace, req.Name, driver.ErrReleaseNotFound)
	}
	if err := Verify(req.Name, req.Namespace, before, req.Expect); err != nil {
		return nil, err
	}
	if err := c.watchWaits(ctx, cfg, req); err != nil {
		return nil, err
	}
	waitsBound(cfg, b)
	stopDuringHelm(cfg)
	up := action.NewUpgrade(cfg)
	up.Namespace = req.Namespace
	up.Wait, up.Timeout = req.Wait, timeoutOr(req.Timeout)
	up.Description = req.Description
	up.Labels = operationLabels(req.Operation)
	// Without ResetValues, Helm reuses the stored values when the request has none, so
	// settings cleared (or values forged in the record) would survive.
	up.ResetValues, up.ReuseValues = true, false
	up.MaxHistory = maxHistory
	// Run, as for install: ctx reaches Helm's requests (interrupted_transport.go).
	rel, err := up.Run(req.Name, req.Chart, req.Values)
	if err == nil {
		return rel, nil
	}
	b.cleaningUp()
	upErr := fmt.Errorf("helm upgrade: %w", err)
	after, lerr := cfg.Releases.Last(req.Name)
	if lerr != nil || after.Version == before.Version {
		return nil, upErr // the upgrade never stored a revision: nothing changed
	}
	// The rollback restores the recorded revision's objects and does not wait for them
	// to become ready: their readiness was settled when that revision was recorded, and
	// a rollback that timed out waiting would leave a failed revision nobody recorded,
	// which every later command would then refuse as drift.
	if err := req.proceed(upErr); err != nil {
		return nil, err
	}
	// Helm's rollback reads the recorded revision again and re-applies its manifest
	// and hooks: it is checked once more.
	if err := verifyStored(cfg, req.Name, req.Namespace, req.Expect); err != nil {
		return nil, errors.Join(upErr, fmt.Errorf("not rolling back: %w", err))
	}
	rb := action.NewRollback(cfg)
	rb.Version, rb.Timeout, rb.Wait = before.Version, timeoutOr(req.Timeout), false
	rb.MaxHistory = maxHistory
	if rerr := rb.Run(req.Name); rerr != nil {
		return nil, errors.Join(upErr, fmt.Errorf("rolling back to revision %d: %w", before.Version, rerr))
	}
	back, lerr := cfg.Releases.Last(req.Name)
	if lerr != nil {
		return nil, errors.Join(upErr, fmt.Errorf("reading the rolled-back release: %w", lerr))
	}
	return back, fmt.Errorf("%w (rolled back to revision %d)", upErr, before.Version)
}

// Uninstall removes the release, when its newest revision is the one expect records
// (else a *DriftError: an uninstall deletes what the stored manifest lists and runs
// its hooks). A release that does not exist is not an error.
//
// Once started, an uninstall is finished even after ctx is cancelled (a half-deleted
// release helps nobody), but its requests give up cleanupTimeout after that, so an
// API server that no longer answers cannot hold the command.
func (c *Client) Uninstall(ctx context.Context, name, namespace string, expect Record, wait bool, timeout time.Duration) error {
	cfg, b, err := c.boundConfig(ctx, namespace)
	if err != nil {
		return err
	}
	defer b.stop()
	b.cleaningUp()
	stored, err := last(cfg, name, namespace)
	if err != nil {
		return fmt.Errorf("helm uninstall: reading release %s/%s: %w", namespace, name, err)
	}
	if stored == nil {
		return nil
	}
	if err := Verify(name, namespace, stored, expect); err != nil && !interruptedUninstall(stored, expect) {
		return err
	}
	stopDuringHelm(cfg)
	un := action.NewUninstall(cfg)
	un.Wait, un.Timeout = wait, timeoutOr(timeout)
	un.IgnoreNotFound = true
	if _, err := un.Run(name); err != nil {
		return fmt.Errorf("helm uninstall: %w", err)
	}
	return nil
}

// RecoverPending repairs a release an interrupted kubectl ext command left in
// pending-install, pending-upgrade or pending-rollback, and says what it did (""
// when nothing was pending). interrupted says that the Extension's status shows a
// command that never finished; expect is the revision recorded before it.
//
// A pending revision is trusted only when it is the one that command would have
// stored: the next after the recorded one, with the recorded revision (if any) still
// deployed and unchanged. Anything else is a *DriftError. Recovery then deletes the
// pending record only: rolling back or uninstalling would act on its manifest, which
// nobody recorded, so nothing in the cluster is touched. The next upgrade diffs
// against the recorded revision; objects the interrupted command created stay until
// an upgrade or install of the release takes them over (before an uninstall, which
// nothing follows, RecoverForUninstall deletes them instead).
func (c *Client) RecoverPending(name, namespace string, expect Record, interrupted bool, by string) (string, error) {
	return c.recoverPending(name, namespace, expect, interrupted, by, false)
}

// RecoverForUninstall is RecoverPending before an uninstall: forgetting the
// interrupted revision would leave what it created, with no release left to delete
// it. So, once the revision is trusted on the same conditions, the live objects its
// manifest lists that carry this release's Helm ownership annotations are deleted
// before its record is removed (see deleteOwned); the uninstall of the recorded
// revision, if any, deletes the rest.
func (c *Client) RecoverForUninstall(name, namespace string, expect Record, interrupted bool, by string) (string, error) {
	return c.recoverPending(name, namespace, expect, interrupted, by, true)
}

func (c *Client) recoverPending(name, namespace string, expect Record, interrupted bool, by string, uninstall bool) (string, error) {
	cfg, err := c.config(namespace)
	if err != nil {
		return "", err
	}
	pending, err := last(cfg, name, namespace)
	if err != nil {
		return "", err
	}
	if pending == nil || pending.Info == nil {
		return "", nil
	}
	if !pending.Info.Status.IsPending() {
		return recoverUnrecorded(cfg, name, namespace, pending, expect, interrupted, by, uninstall)
	}
	var recorded *helmrelease.Release
	if !expect.IsZero() {
		recorded, err = cfg.Releases.Get(name, expect.Revision)
		if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
			return "", err
		}
	}
	if err := VerifyPending(name, namespace, pending, recorded, expect, interrupted); err != nil {
		return "", err
	}
	// A pending revision with no stamp was stored before kubectl ext stamped them: it is
	// trusted on the conditions above alone, as it was then.
	if stamped(pending) && !storedBy(pending, by) {
		return "", &DriftError{Name: name, Namespace: namespace, Differences: []string{notStoredBy(pending, by)}}
	}
	deleted := ""
	if uninstall {
		if deleted, err = deleteOwned(cfg, name, namespace, pending); err != nil {
			return "", err
		}
	}
	if _, err := cfg.Releases.Delete(name, pending.Version); err != nil {
		return "", fmt.Errorf("removing the interrupted revision %d: %w", pending.Version, err)
	}
	if deleted != "" || expect.IsZero() && uninstall {
		return fmt.Sprintf("release %s/%s was left %s by an interrupted command: %sremoved its record",
			namespace, name, pending.Info.Status, deleted), nil
	}
	if expect.IsZero() {
		return fmt.Sprintf("release %s/%s was left %s by an interrupted command: removed its record; the next install takes over what it created",
			namespace, name, pending.Info.Status), nil
	}
	return fmt.Sprintf("release %s/%s was left %s by an interrupted command: removed its record; recorded revision %d stays the deployed one",
		namespace, name, pending.Info.Status, expect.Revision), nil
}

func timeoutOr(d time.Duration) time.Duration {
	if d <= 0 {
		return 5 * time.Minute
	}
	return d
}

// namespaced makes Helm's kube client default to the release namespace, whatever
// namespace the user's kubeconfig or -n names.
type namespaced struct {
	genericclioptions.RESTClientGetter
	namespace string
}

func (n namespaced) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return namespacedConfig{n.RESTClientGetter.ToRawKubeConfigLoader(), n.namespace}
}

type namespacedConfig struct {
	base      clientcmd.ClientConfig
	namespace string
}

func (n namespacedConfig) RawConfig() (clientcmdapi.Config, error) { return n.base.RawConfig() }
func (n namespacedConfig) ClientConfig() (*rest.Config, error)     { return n.base.ClientConfig() }
func (n namespacedConfig) Namespace() (string, bool, error)        { return n.namespace, true, nil }
func (n namespacedConfig) ConfigAccess() clientcmd.ConfigAccess    { return n.base.ConfigAccess() }
