package release_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/kubeext/kubectl-ext/internal/release"
)

// TestInterruptedAfterHelm: what a command killed after Helm finished, before its
// status write, leaves (a deployed revision nobody recorded), and what one interrupted
// in the middle of an uninstall leaves (the recorded revision marked uninstalling), is
// repaired only on the conditions a pending revision is, and anything else is left
// for the integrity checks to refuse.
func TestInterruptedAfterHelm(t *testing.T) {
	ctx := context.Background()
	// upgraded installs 1.4.0 (revision 1, recorded) and upgrades it to 1.4.1 (revision
	// 2, deployed, never recorded): a command killed before its status write.
	upgraded := func(t *testing.T, c *cluster) release.Record {
		req := upgradeOf(t, c)
		if _, err := c.client().Upgrade(ctx, req); err != nil {
			t.Fatal(err)
		}
		return req.Expect
	}
	installed := func(t *testing.T, c *cluster) release.Record {
		rel, err := c.client().Install(ctx, request(t, "1.4.0", nil))
		if err != nil {
			t.Fatal(err)
		}
		return release.RecordOf(rel)
	}
	recoverAs := func(interrupted bool) func(*testing.T, *cluster, release.Record) (string, error) {
		return func(_ *testing.T, c *cluster, rec release.Record) (string, error) {
			return c.client().RecoverPending("podinfo", ns, rec, interrupted, interruptedHolder)
		}
	}
	tests := []struct {
		name string
		// setup leaves the release as the interruption did and returns what the
		// Extension records.
		setup func(*testing.T, *cluster) release.Record
		act   func(*testing.T, *cluster, release.Record) (string, error)
		// wantSaid is in what recovery says ("" for nothing); wantErr in the error.
		wantSaid, wantErr string
		wantHistory       string
	}{
		{
			name:        "a deployed revision after the recorded one is dropped and the recorded one deployed again",
			setup:       upgraded,
			act:         recoverAs(true),
			wantSaid:    "release podinfo/podinfo revision 2 was deployed by an interrupted command that never recorded it: removed its record; recorded revision 1 is the deployed one again",
			wantHistory: "1:deployed",
		},
		{
			name: "a first install nobody recorded is dropped for the next install to take over",
			setup: func(t *testing.T, c *cluster) release.Record {
				installed(t, c)
				return release.Record{}
			},
			act:         recoverAs(true),
			wantSaid:    "the next install takes over what it created",
			wantHistory: "",
		},
		{
			// The recovery above killed between its two writes (the second one fails, as
			// if the process died there): whichever write came first, the next command
			// must still find something to recover, and leave the recorded revision the
			// deployed one.
			name:  "a recovery killed between its two writes is finished by the next one",
			setup: upgraded,
			act: func(t *testing.T, c *cluster, rec release.Record) (string, error) {
				healthy := c.cfg.Releases.Driver
				c.cfg.Releases.Driver = &killedAfterOneWrite{Driver: healthy}
				if _, err := c.client().RecoverPending("podinfo", ns, rec, true, interruptedHolder); err == nil {
					t.Fatal("the recovery killed after its first write returned no error")
				}
				c.cfg.Releases.Driver = healthy
				return c.client().RecoverPending("podinfo", ns, rec, true, interruptedHolder)
			},
			wantSaid:    "release podinfo/podinfo revision 2 was deployed by an interrupted command that never recorded it: removed its record; recorded revision 1 is the deployed one again",
			wantHistory: "1:deployed",
		},
		{
			// `helm install` of the same name by someone, while the Extension shows a
			// create unfinished: not the interrupted command's, so not dropped.
			name: "a first install the interrupted command did not store is refused",
			setup: func(t *testing.T, c *cluster) release.Record {
				req := request(t, "1.4.0", nil)
				req.Operation = ""
				if _, err := c.client().Install(ctx, req); err != nil {
					t.Fatal(err)
				}
				return release.Record{}
			},
			act:         recoverAs(true),
			wantErr:     "revision 1 is deployed, but the interrupted command (" + interruptedHolder + ") did not store it",
			wantHistory: "1:deployed",
		},
		{
			name: "a deployed revision another command stored is refused",
			setup: func(t *testing.T, c *cluster) release.Record {
				req := upgradeOf(t, c)
				req.Operation = "kubectl-ext@test/2-another"
				if _, err := c.client().Upgrade(ctx, req); err != nil {
					t.Fatal(err)
				}
				return req.Expect
			},
			act:         recoverAs(true),
			wantErr:     "revision 2 is deployed, but the interrupted command (" + interruptedHolder + ") did not store it",
			wantHistory: "1:superseded 2:deployed",
		},
		{
			name:  "a deployed revision is refused when no interrupted command's lock was taken over",
			setup: upgraded,
			act: func(_ *testing.T, c *cluster, rec release.Record) (string, error) {
				return c.client().RecoverPending("podinfo", ns, rec, true, "")
			},
			wantErr:     "revision 2 is deployed, but this command took over no interrupted command's lock",
			wantHistory: "1:superseded 2:deployed",
		},
		{
			name: "a pending revision another command stored is refused",
			setup: func(t *testing.T, c *cluster) release.Record {
				rec := installed(t, c)
				pending(t, c, 2, helmrelease.StatusPendingUpgrade)
				tamper(t, c, 2, func(r *helmrelease.Release) {
					r.Labels = map[string]string{release.OperationLabel: release.OperationStamp("kubectl-ext@test/2-another")}
				})
				return rec
			},
			act:         recoverAs(true),
			wantErr:     "revision 2 is pending-upgrade, but the interrupted command (" + interruptedHolder + ") did not store it",
			wantHistory: "1:deployed 2:pending-upgrade",
		},
		{
			// Stored before kubectl ext stamped its revisions: trusted on the other
			// conditions, as then.
			name: "a pending revision without a stamp is recovered as before",
			setup: func(t *testing.T, c *cluster) release.Record {
				rec := installed(t, c)
				pending(t, c, 2, helmrelease.StatusPendingUpgrade)
				return rec
			},
			act:         recoverAs(true),
			wantSaid:    "was left pending-upgrade by an interrupted command: removed its record; recorded revision 1 stays the deployed one",
			wantHistory: "1:deployed",
		},
		{
			name:        "without an interrupted command it is left for the drift check",
			setup:       upgraded,
			act:         recoverAs(false),
			wantHistory: "1:superseded 2:deployed",
		},
		{
			name: "a deployed revision that is not the next one is left for the drift check",
			setup: func(t *testing.T, c *cluster) release.Record {
				rec := installed(t, c)
				forge(t, c, 3, helmrelease.StatusDeployed, clusterAdminBinding, nil)
				return rec
			},
			act:         recoverAs(true),
			wantHistory: "1:deployed 3:deployed",
		},
		{
			name: "a recorded revision changed since is refused",
			setup: func(t *testing.T, c *cluster) release.Record {
				rec := upgraded(t, c)
				tamper(t, c, 1, func(r *helmrelease.Release) { r.Manifest += "---\n" + clusterAdminBinding })
				return rec
			},
			act:         recoverAs(true),
			wantErr:     "the manifest of revision 1 differs",
			wantHistory: "1:superseded 2:deployed",
		},
		{
			name: "an uninstall left uninstalling is finished",
			setup: func(t *testing.T, c *cluster) release.Record {
				rec := installed(t, c)
				tamper(t, c, 1, func(r *helmrelease.Release) {
					info := *r.Info
					info.Status = helmrelease.StatusUninstalling
					r.Info = &info
				})
				return rec
			},
			act: func(_ *testing.T, c *cluster, rec release.Record) (string, error) {
				return "", c.client().Uninstall(context.Background(), "podinfo", ns, rec, false, 0)
			},
			wantHistory: "",
		},
		{
			name: "an uninstalling revision whose manifest changed is refused",
			setup: func(t *testing.T, c *cluster) release.Record {
				rec := installed(t, c)
				tamper(t, c, 1, func(r *helmrelease.Release) {
					info := *r.Info
					info.Status = helmrelease.StatusUninstalling
					r.Info = &info
					r.Manifest += "---\n" + clusterAdminBinding
				})
				return rec
			},
			act: func(_ *testing.T, c *cluster, rec release.Record) (string, error) {
				return "", c.client().Uninstall(context.Background(), "podinfo", ns, rec, false, 0)
			},
			wantErr:     "the manifest of revision 1 differs",
			wantHistory: "1:uninstalling",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster()
			rec := tt.setup(t, c)
			said, err := tt.act(t, c, rec)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			case tt.wantErr != "" && !errors.Is(err, release.ErrDrift):
				t.Errorf("error %v is not drift", err)
			}
			if (tt.wantSaid == "") != (said == "") || !strings.Contains(said, tt.wantSaid) {
				t.Errorf("said %q, want %q", said, tt.wantSaid)
			}
			if got := history(t, c); got != tt.wantHistory {
				t.Errorf("history %q, want %q", got, tt.wantHistory)
			}
		})
	}
}

// TestUpgradeAfterRecovery: after a deployed revision nobody recorded is dropped, the
// next upgrade runs from the recorded revision and leaves nothing pending.
func TestUpgradeAfterRecovery(t *testing.T) {
	c := newCluster()
	req := upgradeOf(t, c)
	if _, err := c.client().Upgrade(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := c.client().RecoverPending("podinfo", ns, req.Expect, true, interruptedHolder); err != nil {
		t.Fatal(err)
	}
	rel, err := c.client().Upgrade(context.Background(), req)
	if err != nil {
		t.Fatalf("the upgrade after recovery: %v", err)
	}
	if rel.Version != 2 || rel.Chart.Metadata.Version != "1.4.1" {
		t.Errorf("deployed revision %d of chart %s, want 2 of 1.4.1", rel.Version, rel.Chart.Metadata.Version)
	}
	if got := history(t, c); got != "1:superseded 2:deployed" {
		t.Errorf("history %q", got)
	}
}

// killedAfterOneWrite is a release store whose process dies after its first write:
// every later write fails.
type killedAfterOneWrite struct {
	driver.Driver
	writes int
}

func (k *killedAfterOneWrite) wrote() error {
	k.writes++
	if k.writes > 1 {
		return errors.New("killed")
	}
	return nil
}

func (k *killedAfterOneWrite) Create(key string, rls *helmrelease.Release) error {
	if err := k.wrote(); err != nil {
		return err
	}
	return k.Driver.Create(key, rls)
}

func (k *killedAfterOneWrite) Update(key string, rls *helmrelease.Release) error {
	if err := k.wrote(); err != nil {
		return err
	}
	return k.Driver.Update(key, rls)
}

func (k *killedAfterOneWrite) Delete(key string) (*helmrelease.Release, error) {
	if err := k.wrote(); err != nil {
		return nil, err
	}
	return k.Driver.Delete(key)
}
