package release_test

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/kube"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/release"
)

const ns = "podinfo"

// kubeClient is Helm's fake kube client with updates that fail a given number of
// times: an upgrade fails, and the rollback after it succeeds.
type kubeClient struct {
	*kubefake.FailingKubeClient
	updateFailures int
}

func (k *kubeClient) Update(original, target kube.ResourceList, force bool) (*kube.Result, error) {
	if k.updateFailures > 0 {
		k.updateFailures--
		return &kube.Result{}, errors.New("the API server refused the update")
	}
	return k.FailingKubeClient.Update(original, target, force)
}

// cluster is one namespace's Helm state: releases in memory, resources nowhere.
type cluster struct {
	kube  *kubeClient
	cfg   *action.Configuration
	decoy *decoyDriver
}

// decoyDriver is Helm's memory driver that also lists, when set, a copy of a record
// under another key, as a Secret with a record's labels but another name is listed by
// Helm's Secrets driver.
type decoyDriver struct {
	*driver.Memory
	atomic.Pointer[helmrelease.Release]
}

func (d *decoyDriver) Query(labels map[string]string) ([]*helmrelease.Release, error) {
	rels, err := d.Memory.Query(labels)
	if r := d.Load(); r != nil && err == nil && labels["name"] == r.Name {
		rels = append(rels, r)
	}
	return rels, err
}

func newCluster() *cluster {
	mem := driver.NewMemory()
	mem.SetNamespace(ns)
	d := &decoyDriver{Memory: mem}
	k := &kubeClient{FailingKubeClient: &kubefake.FailingKubeClient{PrintingKubeClient: kubefake.PrintingKubeClient{Out: io.Discard}}}
	return &cluster{kube: k, decoy: d, cfg: &action.Configuration{
		Releases:     storage.Init(d),
		KubeClient:   k,
		Capabilities: chartutil.DefaultCapabilities,
		Log:          func(string, ...any) {},
	}}
}

func (c *cluster) client() *release.Client {
	return &release.Client{Configure: func(string) (*action.Configuration, error) { return c.cfg, nil }}
}

func podinfo(t *testing.T, version string) *chart.Chart {
	t.Helper()
	ch, err := chartsourcetest.Chart(chartsourcetest.Spec{Version: version})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// interruptedHolder is the lock holder identity of the commands these tests run:
// each revision they store carries its stamp, and recovery is told it is the
// interrupted command's.
const interruptedHolder = "kubectl-ext@test/1-interrupted"

func request(t *testing.T, version string, values map[string]any) release.Request {
	return release.Request{Name: "podinfo", Namespace: ns, Chart: podinfo(t, version), Values: values,
		Timeout: time.Second, Description: "test " + version, Operation: interruptedHolder}
}

// upgradeOf installs 1.4.0 and returns the request that upgrades it to 1.4.1,
// expecting the installed revision.
func upgradeOf(t *testing.T, c *cluster) release.Request {
	t.Helper()
	rel, err := c.client().Install(context.Background(), request(t, "1.4.0", nil))
	if err != nil {
		t.Fatal(err)
	}
	req := request(t, "1.4.1", nil)
	req.Expect = release.RecordOf(rel)
	return req
}

// escalate adds a ClusterRoleBinding to a revision's manifest, as the namespace's
// admins could.
func escalate(rel *helmrelease.Release) {
	rel.Manifest += "\n---\nkind: ClusterRoleBinding\nmetadata: {name: ns-admin-is-cluster-admin}\n"
}

// pending stores a revision left pending by an interrupted command.
func pending(t *testing.T, c *cluster, version int, status helmrelease.Status) {
	t.Helper()
	rel := &helmrelease.Release{Name: "podinfo", Namespace: ns, Version: version, Chart: podinfo(t, "1.4.1"),
		Info: &helmrelease.Info{Status: status}}
	if err := c.cfg.Releases.Create(rel); err != nil {
		t.Fatal(err)
	}
}

func TestClient(t *testing.T) {
	tests := []struct {
		name string
		// run does the steps on a fresh namespace and returns the last error.
		run     func(*testing.T, *cluster) error
		wantErr string
		// wantHistory is each stored revision as "version:status:chart version".
		wantHistory []string
		// wantDeployed is the revision Last returns deployed; 0 when no release exists
		// (or wantFailed is set).
		wantDeployed int
		// wantFailed is the revision Last returns failed.
		wantFailed int
	}{
		{
			name: "an install stores a deployed first revision",
			run: func(t *testing.T, c *cluster) error {
				rel, err := c.client().Install(context.Background(), request(t, "1.4.0", nil))
				if err == nil && (rel.Version != 1 || rel.Info.Description != "test 1.4.0") {
					t.Errorf("installed revision %d (%q)", rel.Version, rel.Info.Description)
				}
				return err
			},
			wantHistory:  []string{"1:deployed:1.4.0"},
			wantDeployed: 1,
		},
		{
			name: "an install that fails in the cluster is uninstalled again, leaving no release",
			run: func(t *testing.T, c *cluster) error {
				// The fake builds no resources to create, so the failure is the wait for them.
				c.kube.WaitError = errors.New("pods are not ready")
				req := request(t, "1.4.0", nil)
				req.Wait = true
				_, err := c.client().Install(context.Background(), req)
				return err
			},
			wantErr: "helm install: pods are not ready (the failed release was uninstalled)",
		},
		{
			name: "an install whose chart does not render stores nothing",
			run: func(t *testing.T, c *cluster) error {
				_, err := c.client().Install(context.Background(), request(t, "1.4.0", map[string]any{"fail": true}))
				return err
			},
			wantErr: "helm install:",
		},
		{
			name: "an upgrade adds a deployed revision and supersedes the first",
			run: func(t *testing.T, c *cluster) error {
				_, err := c.client().Upgrade(context.Background(), upgradeOf(t, c))
				return err
			},
			wantHistory:  []string{"1:superseded:1.4.0", "2:deployed:1.4.1"},
			wantDeployed: 2,
		},
		{
			name: "a failed upgrade is rolled back to the revision it had",
			run: func(t *testing.T, c *cluster) error {
				c.kube.updateFailures = 1
				req := upgradeOf(t, c)
				back, err := c.client().Upgrade(context.Background(), req)
				// The rollback stores revision 1's manifest and values as revision 3,
				// which the caller records.
				if want := (release.Record{Revision: 3, ManifestDigest: req.Expect.ManifestDigest, ValuesDigest: req.Expect.ValuesDigest}); release.RecordOf(back) != want {
					t.Errorf("the failed upgrade returned %+v, want %+v", release.RecordOf(back), want)
				}
				return err
			},
			wantErr:      "(rolled back to revision 1)",
			wantHistory:  []string{"1:superseded:1.4.0", "2:failed:1.4.1", "3:deployed:1.4.0"},
			wantDeployed: 3,
		},
		{
			name: "a failed upgrade is not rolled back when Proceed says stop (the caller lost its lock)",
			run: func(t *testing.T, c *cluster) error {
				c.kube.updateFailures = 1
				req := upgradeOf(t, c)
				req.Proceed = func() error { return errors.New("lost the lock") }
				back, err := c.client().Upgrade(context.Background(), req)
				if back != nil {
					t.Errorf("the stopped upgrade returned revision %d, want none", back.Version)
				}
				return err
			},
			wantErr:     "helm upgrade: the API server refused the update\nlost the lock",
			wantHistory: []string{"1:deployed:1.4.0", "2:failed:1.4.1"},
			wantFailed:  2,
		},
		{
			name: "a failed install is not uninstalled when Proceed says stop",
			run: func(t *testing.T, c *cluster) error {
				c.kube.WaitError = errors.New("pods are not ready")
				req := request(t, "1.4.0", nil)
				req.Wait = true
				req.Proceed = func() error { return errors.New("lost the lock") }
				_, err := c.client().Install(context.Background(), req)
				return err
			},
			wantErr:     "helm install: pods are not ready\nlost the lock",
			wantHistory: []string{"1:failed:1.4.0"},
			wantFailed:  1,
		},
		{
			name: "Proceed is not asked when nothing failed",
			run: func(t *testing.T, c *cluster) error {
				req := request(t, "1.4.0", nil)
				req.Proceed = func() error { t.Error("Proceed asked after a successful install"); return nil }
				_, err := c.client().Install(context.Background(), req)
				return err
			},
			wantHistory:  []string{"1:deployed:1.4.0"},
			wantDeployed: 1,
		},
		{
			name: "a recorded revision rewritten after the upgrade failed is not rolled back to",
			run: func(t *testing.T, c *cluster) error {
				c.kube.updateFailures = 1
				req := upgradeOf(t, c)
				// Helm rewrites the recorded revision from memory when the upgrade
				// fails; the forgery comes after that, just before the rollback (Proceed
				// is asked at that moment).
				req.Proceed = func() error { tamper(t, c, 1, escalate); return nil }
				_, err := c.client().Upgrade(context.Background(), req)
				if !errors.Is(err, release.ErrDrift) {
					t.Errorf("error %v, want it to wrap ErrDrift", err)
				}
				return err
			},
			wantErr:     "not rolling back: the stored release does not match what kubectl ext recorded: release podinfo/podinfo: the manifest of revision 1 differs from the recorded one",
			wantHistory: []string{"1:deployed:1.4.0", "2:failed:1.4.1"},
			wantFailed:  2,
		},
		{
			name: "a failed install whose record was rewritten after Helm stored it is not uninstalled by that record",
			run: func(t *testing.T, c *cluster) error {
				c.kube.WaitError = errors.New("pods are not ready")
				req := request(t, "1.4.0", nil)
				req.Wait = true
				// Helm writes the failed record last; the rewrite comes after it, just
				// before the cleanup (Proceed is asked at that moment).
				req.Proceed = func() error { tamper(t, c, 1, escalate); return nil }
				_, err := c.client().Install(context.Background(), req)
				return err
			},
			wantErr:     "not uninstalling the failed release: the stored release does not match what kubectl ext recorded: release podinfo/podinfo: the manifest of revision 1 differs",
			wantHistory: []string{"1:failed:1.4.0"},
			wantFailed:  1,
		},
		{
			name: "a revision stored twice (a Secret copying a record's labels) is refused by upgrade and uninstall",
			run: func(t *testing.T, c *cluster) error {
				rel, err := c.client().Install(context.Background(), request(t, "1.4.0", nil))
				if err != nil {
					return err
				}
				c.decoy.Store(rel)
				req := request(t, "1.4.1", nil)
				req.Expect = release.RecordOf(rel)
				if _, err := c.client().Upgrade(context.Background(), req); !errors.Is(err, release.ErrDrift) || !strings.Contains(err.Error(), "revision 1 is stored twice") {
					t.Errorf("upgrade: %v, want the duplicate refused as drift", err)
				}
				return c.client().Uninstall(context.Background(), "podinfo", ns, release.RecordOf(rel), false, time.Second)
			},
			wantErr:      "release podinfo/podinfo: revision 1 is stored twice",
			wantHistory:  []string{"1:deployed:1.4.0", "1:deployed:1.4.0"},
			wantDeployed: 1,
		},
		{
			name: "an upgrade of a release that does not exist says so",
			run: func(t *testing.T, c *cluster) error {
				_, err := c.client().Upgrade(context.Background(), request(t, "1.4.1", nil))
				return err
			},
			wantErr: "helm upgrade: reading release podinfo/podinfo",
		},
		{
			name: "uninstall removes the release, and a second uninstall is no error",
			run: func(t *testing.T, c *cluster) error {
				rel, err := c.client().Install(context.Background(), request(t, "1.4.0", nil))
				if err != nil {
					return err
				}
				if err := c.client().Uninstall(context.Background(), "podinfo", ns, release.RecordOf(rel), false, time.Second); err != nil {
					return err
				}
				return c.client().Uninstall(context.Background(), "podinfo", ns, release.RecordOf(rel), false, time.Second)
			},
		},
		{
			name: "a release an interrupted install left pending-install loses its record",
			run: func(t *testing.T, c *cluster) error {
				pending(t, c, 1, helmrelease.StatusPendingInstall)
				did, err := c.client().RecoverPending("podinfo", ns, release.Record{}, true, interruptedHolder)
				if err == nil && !strings.Contains(did, "was left pending-install by an interrupted command: removed its record") {
					t.Errorf("RecoverPending says %q", did)
				}
				return err
			},
		},
		{
			name: "a release an interrupted upgrade left pending-upgrade loses that record; the recorded revision stays deployed",
			run: func(t *testing.T, c *cluster) error {
				rel, err := c.client().Install(context.Background(), request(t, "1.4.0", nil))
				if err != nil {
					return err
				}
				pending(t, c, 2, helmrelease.StatusPendingUpgrade)
				did, err := c.client().RecoverPending("podinfo", ns, release.RecordOf(rel), true, interruptedHolder)
				if err == nil && !strings.Contains(did, "recorded revision 1 stays the deployed one") {
					t.Errorf("RecoverPending says %q", did)
				}
				return err
			},
			wantHistory:  []string{"1:deployed:1.4.0"},
			wantDeployed: 1,
		},
		{
			name: "a deployed release is not touched by recovery",
			run: func(t *testing.T, c *cluster) error {
				if _, err := c.client().Install(context.Background(), request(t, "1.4.0", nil)); err != nil {
					return err
				}
				did, err := c.client().RecoverPending("podinfo", ns, release.Record{}, false, interruptedHolder)
				if did != "" {
					t.Errorf("RecoverPending says %q, want nothing done", did)
				}
				return err
			},
			wantHistory:  []string{"1:deployed:1.4.0"},
			wantDeployed: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster()
			err := tt.run(t, c)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			hist, herr := c.client().History("podinfo", ns)
			if len(tt.wantHistory) == 0 {
				if !errors.Is(herr, release.ErrNotFound) {
					t.Errorf("History = %d revisions, %v; want ErrNotFound", len(hist), herr)
				}
			} else {
				if herr != nil {
					t.Fatal(herr)
				}
				var got []string
				for _, r := range hist {
					got = append(got, strings.Join([]string{strconv.Itoa(r.Version), r.Info.Status.String(), r.Chart.Metadata.Version}, ":"))
				}
				if strings.Join(got, " ") != strings.Join(tt.wantHistory, " ") {
					t.Errorf("History = %v, want %v", got, tt.wantHistory)
				}
			}
			last, lerr := c.client().Last("podinfo", ns)
			switch {
			case tt.wantFailed != 0:
				if lerr != nil || last.Version != tt.wantFailed || last.Info.Status != helmrelease.StatusFailed {
					t.Errorf("Last = %v, %v; want revision %d failed", last, lerr, tt.wantFailed)
				}
			case tt.wantDeployed == 0 && !errors.Is(lerr, release.ErrNotFound):
				t.Errorf("Last = %v, %v; want ErrNotFound", last, lerr)
			case tt.wantDeployed != 0 && (lerr != nil || last.Version != tt.wantDeployed || last.Info.Status != helmrelease.StatusDeployed):
				t.Errorf("Last = %v, %v; want revision %d deployed", last, lerr, tt.wantDeployed)
			}
		})
	}
}
