// Package release is the Helm wiring: install, upgrade, roll back and uninstall one
// extension's release with the Helm SDK, with secrets storage in the release namespace,
// from the same cli-runtime flags the plugin takes. A failed install is uninstalled, a
// failed upgrade rolled back, and a release an interrupted command left pending-* is
// recovered.
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

// Install installs a new release. If the install fails, the release is uninstalled
// again so nothing half-installed stays, and the error carries Helm's message.
func (c *Client) Install(ctx context.Context, req Request) (*helmrelease.Release, error) {
	cfg, err := c.config(req.Namespace)
	if err != nil {
		return nil, err
	}
	in := action.NewInstall(cfg)
	in.ReleaseName, in.Namespace = req.Name, req.Namespace
	in.Wait, in.Timeout = req.Wait, timeoutOr(req.Timeout)
	in.Description = req.Description
	rel, err := in.RunWithContext(ctx, req.Chart, req.Values)
	if err == nil {
		return rel, nil
	}
	installErr := fmt.Errorf("helm install: %w", err)
	if _, lerr := cfg.Releases.Last(req.Name); lerr != nil {
		return nil, installErr // nothing was stored
	}
	un := action.NewUninstall(cfg)
	un.Timeout = timeoutOr(req.Timeout)
	if _, uerr := un.Run(req.Name); uerr != nil {
		return nil, errors.Join(installErr, fmt.Errorf("uninstalling the failed release: %w", uerr))
	}
	return nil, fmt.Errorf("%w (the failed release was uninstalled)", installErr)
}

// Upgrade upgrades an existing release. If the upgrade fails, the release is rolled
// back to the revision it had, and the error carries Helm's message.
func (c *Client) Upgrade(ctx context.Context, req Request) (*helmrelease.Release, error) {
	cfg, err := c.config(req.Namespace)
	if err != nil {
		return nil, err
	}
	before, err := cfg.Releases.Last(req.Name)
	if err != nil {
		return nil, fmt.Errorf("helm upgrade: reading release %s/%s: %w", req.Namespace, req.Name, err)
	}
	up := action.NewUpgrade(cfg)
	up.Namespace = req.Namespace
	up.Wait, up.Timeout = req.Wait, timeoutOr(req.Timeout)
	up.Description = req.Description
	up.MaxHistory = 10
	rel, err := up.RunWithContext(ctx, req.Name, req.Chart, req.Values)
	if err == nil {
		return rel, nil
	}
	upErr := fmt.Errorf("helm upgrade: %w", err)
	after, lerr := cfg.Releases.Last(req.Name)
	if lerr != nil || after.Version == before.Version {
		return nil, upErr // the upgrade never stored a revision: nothing changed
	}
	if before.Info.Status != helmrelease.StatusDeployed {
		return nil, upErr
	}
	rb := action.NewRollback(cfg)
	rb.Version, rb.Timeout, rb.Wait = before.Version, timeoutOr(req.Timeout), req.Wait
	if rerr := rb.Run(req.Name); rerr != nil {
		return nil, errors.Join(upErr, fmt.Errorf("rolling back to revision %d: %w", before.Version, rerr))
	}
	return nil, fmt.Errorf("%w (rolled back to revision %d)", upErr, before.Version)
}

// Uninstall removes the release; a release that does not exist is not an error.
func (c *Client) Uninstall(name, namespace string, wait bool, timeout time.Duration) error {
	cfg, err := c.config(namespace)
	if err != nil {
		return err
	}
	un := action.NewUninstall(cfg)
	un.Wait, un.Timeout = wait, timeoutOr(timeout)
	un.IgnoreNotFound = true
	if _, err := un.Run(name); err != nil {
		return fmt.Errorf("helm uninstall: %w", err)
	}
	return nil
}

// RecoverPending repairs a release an interrupted command left in pending-install,
// pending-upgrade or pending-rollback, and says what it did ("" when nothing was
// pending). A pending install is uninstalled; a pending upgrade or rollback is marked
// failed and rolled back to the newest deployed revision.
func (c *Client) RecoverPending(name, namespace string, timeout time.Duration) (string, error) {
	cfg, err := c.config(namespace)
	if err != nil {
		return "", err
	}
	last, err := cfg.Releases.Last(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if !last.Info.Status.IsPending() {
		return "", nil
	}
	pending := last.Info.Status
	last.Info.Status = helmrelease.StatusFailed
	last.Info.Description = fmt.Sprintf("interrupted while %s; recovered by kubectl ext", pending)
	if err := cfg.Releases.Update(last); err != nil {
		return "", fmt.Errorf("marking the interrupted release failed: %w", err)
	}
	if pending == helmrelease.StatusPendingInstall {
		un := action.NewUninstall(cfg)
		un.Timeout = timeoutOr(timeout)
		if _, err := un.Run(name); err != nil {
			return "", fmt.Errorf("uninstalling the interrupted install: %w", err)
		}
		return fmt.Sprintf("release %s/%s was left %s by an interrupted command: uninstalled it", namespace, name, pending), nil
	}
	deployed, err := cfg.Releases.Deployed(name)
	if err != nil {
		return fmt.Sprintf("release %s/%s was left %s by an interrupted command: marked it failed (no deployed revision to roll back to)", namespace, name, pending), nil
	}
	rb := action.NewRollback(cfg)
	rb.Version, rb.Timeout = deployed.Version, timeoutOr(timeout)
	if err := rb.Run(name); err != nil {
		return "", fmt.Errorf("rolling back the interrupted %s: %w", pending, err)
	}
	return fmt.Sprintf("release %s/%s was left %s by an interrupted command: rolled it back to revision %d", namespace, name, pending, deployed.Version), nil
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
