package release_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	helmrelease "helm.sh/helm/v3/pkg/release"

	"github.com/kubeext/kubectl-ext/internal/release"
)

// clusterAdminBinding is what a namespace admin would plant in a forged revision: Helm
// run by a cluster admin would create it.
const clusterAdminBinding = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ns-admin-is-cluster-admin
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: User, name: ns-admin}]
`

// forge stores a revision as a namespace admin could: any number, status, manifest and
// values.
func forge(t *testing.T, c *cluster, version int, status helmrelease.Status, manifest string, values map[string]any) {
	t.Helper()
	rel := &helmrelease.Release{Name: "podinfo", Namespace: ns, Version: version, Chart: podinfo(t, "1.4.1"),
		Info: &helmrelease.Info{Status: status}, Manifest: manifest, Config: values}
	if err := c.cfg.Releases.Create(rel); err != nil {
		t.Fatal(err)
	}
}

// tamper rewrites a stored revision. It stores a changed copy: the memory driver
// keeps the pointers Helm gave it, which Helm's actions still hold.
func tamper(t *testing.T, c *cluster, version int, change func(*helmrelease.Release)) {
	t.Helper()
	rel, err := c.cfg.Releases.Get("podinfo", version)
	if err != nil {
		t.Fatal(err)
	}
	forged := *rel
	change(&forged)
	if err := c.cfg.Releases.Update(&forged); err != nil {
		t.Fatal(err)
	}
}

func history(t *testing.T, c *cluster) string {
	t.Helper()
	hist, err := c.client().History("podinfo", ns)
	if errors.Is(err, release.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range hist {
		got = append(got, strconv.Itoa(r.Version)+":"+r.Info.Status.String())
	}
	return strings.Join(got, " ")
}

// TestIntegrity plants what a namespace admin can write in the release namespace and
// checks that no action trusts it: each case fails on a release.Client that acts on
// the stored revision without comparing it with the record.
func TestIntegrity(t *testing.T) {
	ctx := context.Background()
	secret := map[string]any{"apiKey": "s3cr3t"}
	tests := []struct {
		name string
		// plant changes the stored release after revision 1 was installed with secret
		// as its values.
		plant func(*testing.T, *cluster)
		// act runs one action with the record of revision 1.
		act func(*testing.T, *cluster, release.Record) error
		// wantErr are substrings of the error; none means success.
		wantErr []string
		// wantHistory is "version:status ..." afterwards.
		wantHistory string
	}{
		{
			name:        "upgrade refuses a forged deployed revision",
			plant:       func(t *testing.T, c *cluster) { forge(t, c, 2, helmrelease.StatusDeployed, clusterAdminBinding, nil) },
			act:         upgradeTo("1.4.1", nil),
			wantErr:     []string{"the newest revision is 2 (deployed), but the recorded one is 1", "kubectl ext update podinfo --adopt-release"},
			wantHistory: "1:deployed 2:deployed",
		},
		{
			name: "upgrade refuses a forged pending-upgrade",
			plant: func(t *testing.T, c *cluster) {
				forge(t, c, 2, helmrelease.StatusPendingUpgrade, clusterAdminBinding, nil)
			},
			act:         upgradeTo("1.4.1", nil),
			wantErr:     []string{"the newest revision is 2 (pending-upgrade)"},
			wantHistory: "1:deployed 2:pending-upgrade",
		},
		{
			name: "upgrade refuses a recorded revision whose manifest was changed",
			plant: func(t *testing.T, c *cluster) {
				tamper(t, c, 1, func(r *helmrelease.Release) { r.Manifest += "---\n" + clusterAdminBinding })
			},
			act:         upgradeTo("1.4.1", nil),
			wantErr:     []string{"the manifest of revision 1 differs"},
			wantHistory: "1:deployed",
		},
		{
			name: "upgrade refuses a recorded revision with a hook added",
			plant: func(t *testing.T, c *cluster) {
				tamper(t, c, 1, func(r *helmrelease.Release) {
					r.Hooks = append(r.Hooks, &helmrelease.Hook{Name: "x", Kind: "ClusterRoleBinding", Manifest: clusterAdminBinding,
						Events: []helmrelease.HookEvent{helmrelease.HookPreDelete}})
				})
			},
			act:         uninstall,
			wantErr:     []string{"the manifest of revision 1 differs"},
			wantHistory: "1:deployed",
		},
		{
			name: "upgrade refuses changed values",
			plant: func(t *testing.T, c *cluster) {
				tamper(t, c, 1, func(r *helmrelease.Release) { r.Config = map[string]any{"apiKey": "x"} })
			},
			act:         upgradeTo("1.4.1", nil),
			wantErr:     []string{"the values of revision 1 differ"},
			wantHistory: "1:deployed",
		},
		{
			name: "upgrade refuses a recorded revision replaced by another",
			plant: func(t *testing.T, c *cluster) {
				deleteRevision(t, c, 1)
				forge(t, c, 1, helmrelease.StatusDeployed, "", nil)
			},
			act:         upgradeTo("1.4.1", nil),
			wantErr:     []string{"values of revision 1 differ"},
			wantHistory: "1:deployed",
		},
		{
			name:        "uninstall refuses a forged deployed revision",
			plant:       func(t *testing.T, c *cluster) { forge(t, c, 2, helmrelease.StatusDeployed, clusterAdminBinding, nil) },
			act:         uninstall,
			wantErr:     []string{"the newest revision is 2 (deployed)"},
			wantHistory: "1:deployed 2:deployed",
		},
		{
			name:        "uninstall of the recorded revision goes ahead",
			act:         uninstall,
			wantHistory: "",
		},
		{
			name: "recovery refuses a pending-upgrade when no command was interrupted",
			plant: func(t *testing.T, c *cluster) {
				forge(t, c, 2, helmrelease.StatusPendingUpgrade, clusterAdminBinding, nil)
			},
			act:         recoverPending(false),
			wantErr:     []string{"revision 2 is pending-upgrade, but no kubectl ext command on it was interrupted"},
			wantHistory: "1:deployed 2:pending-upgrade",
		},
		{
			name: "recovery refuses when the revision it would keep is not the recorded one",
			plant: func(t *testing.T, c *cluster) {
				tamper(t, c, 1, func(r *helmrelease.Release) { r.Manifest = clusterAdminBinding })
				forge(t, c, 2, helmrelease.StatusPendingUpgrade, "", nil)
			},
			act:         recoverPending(true),
			wantErr:     []string{"the manifest of revision 1 differs"},
			wantHistory: "1:deployed 2:pending-upgrade",
		},
		{
			name:        "recovery refuses a pending revision that skips numbers",
			plant:       func(t *testing.T, c *cluster) { forge(t, c, 7, helmrelease.StatusPendingUpgrade, "", nil) },
			act:         recoverPending(true),
			wantErr:     []string{"the pending revision is 7, but the recorded one is 1"},
			wantHistory: "1:deployed 7:pending-upgrade",
		},
		{
			name:  "an install refuses a release kubectl ext never recorded",
			plant: func(t *testing.T, c *cluster) { forge(t, c, 2, helmrelease.StatusDeployed, clusterAdminBinding, nil) },
			act: func(t *testing.T, c *cluster, _ release.Record) error {
				_, err := c.client().Install(ctx, request(t, "1.4.1", nil))
				return err
			},
			wantErr:     []string{"revision 2 (deployed) exists, but kubectl ext never recorded one"},
			wantHistory: "1:deployed 2:deployed",
		},
		{
			name: "adopt replaces forged records with one fresh revision of the request's values",
			plant: func(t *testing.T, c *cluster) {
				forge(t, c, 2, helmrelease.StatusDeployed, clusterAdminBinding, map[string]any{"a": "b"})
			},
			act: func(t *testing.T, c *cluster, _ release.Record) error {
				rel, err := c.client().Adopt(ctx, request(t, "1.4.1", map[string]any{"replicaCount": 2}))
				if err == nil && (strings.Contains(rel.Manifest, "ClusterRoleBinding") || release.ValuesDigest(rel.Config) != release.ValuesDigest(map[string]any{"replicaCount": 2})) {
					t.Errorf("adopted release has manifest %q and values %v", rel.Manifest, rel.Config)
				}
				return err
			},
			wantHistory: "1:deployed",
		},
		{
			name: "an upgrade without settings drops the stored values instead of reusing them",
			act: func(t *testing.T, c *cluster, rec release.Record) error {
				if err := upgradeTo("1.4.1", nil)(t, c, rec); err != nil {
					return err
				}
				last, err := c.client().Last("podinfo", ns)
				if err == nil && len(last.Config) != 0 {
					t.Errorf("values after clearing the settings = %v, want none", last.Config)
				}
				return err
			},
			wantHistory: "1:superseded 2:deployed",
		},
		{
			name: "history keeps five revisions",
			act: func(t *testing.T, c *cluster, rec release.Record) error {
				for i := 0; i < 6; i++ {
					req := request(t, "1.4.1", map[string]any{"replicaCount": i})
					req.Expect = rec
					rel, err := c.client().Upgrade(ctx, req)
					if err != nil {
						return err
					}
					rec = release.RecordOf(rel)
				}
				return nil
			},
			wantHistory: "3:superseded 4:superseded 5:superseded 6:superseded 7:deployed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster()
			rel, err := c.client().Install(ctx, request(t, "1.4.0", secret))
			if err != nil {
				t.Fatal(err)
			}
			rec := release.RecordOf(rel)
			if tt.plant != nil {
				tt.plant(t, c)
			}
			err = tt.act(t, c, rec)
			if len(tt.wantErr) == 0 && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			for _, want := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error = %v, want one containing %q", err, want)
				}
			}
			if len(tt.wantErr) > 0 && !errors.Is(err, release.ErrDrift) {
				t.Errorf("error %v does not wrap ErrDrift", err)
			}
			if got := history(t, c); got != tt.wantHistory {
				t.Errorf("history = %q, want %q", got, tt.wantHistory)
			}
		})
	}
}

func upgradeTo(version string, values map[string]any) func(*testing.T, *cluster, release.Record) error {
	return func(t *testing.T, c *cluster, rec release.Record) error {
		req := request(t, version, values)
		req.Expect = rec
		_, err := c.client().Upgrade(context.Background(), req)
		return err
	}
}

func uninstall(_ *testing.T, c *cluster, rec release.Record) error {
	return c.client().Uninstall(context.Background(), "podinfo", ns, rec, false, 0)
}

func recoverPending(interrupted bool) func(*testing.T, *cluster, release.Record) error {
	return func(_ *testing.T, c *cluster, rec release.Record) error {
		_, err := c.client().RecoverPending("podinfo", ns, rec, interrupted, interruptedHolder)
		return err
	}
}

func deleteRevision(t *testing.T, c *cluster, version int) {
	t.Helper()
	if _, err := c.cfg.Releases.Delete("podinfo", version); err != nil {
		t.Fatal(err)
	}
}

// TestRecordOf: the digests change with what the release applies and only with it.
func TestRecordOf(t *testing.T) {
	base := func() *helmrelease.Release {
		return &helmrelease.Release{Version: 1, Manifest: "kind: ConfigMap", Config: map[string]any{"a": "1", "b": map[string]any{"c": 2}}}
	}
	tests := []struct {
		name                     string
		change                   func(*helmrelease.Release)
		wantManifest, wantValues bool // whether each digest changes
	}{
		{name: "nothing changed", change: func(*helmrelease.Release) {}},
		{name: "description", change: func(r *helmrelease.Release) { r.Info = &helmrelease.Info{Description: "x"} }},
		{name: "manifest", change: func(r *helmrelease.Release) { r.Manifest += "\n---" }, wantManifest: true},
		{name: "hook", change: func(r *helmrelease.Release) { r.Hooks = []*helmrelease.Hook{{Manifest: "kind: Job"}} }, wantManifest: true},
		{name: "nested value", change: func(r *helmrelease.Release) { r.Config["b"] = map[string]any{"c": 3} }, wantValues: true},
		{name: "value removed", change: func(r *helmrelease.Release) { delete(r.Config, "a") }, wantValues: true},
	}
	want := release.RecordOf(base())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base()
			tt.change(r)
			got := release.RecordOf(r)
			if (got.ManifestDigest != want.ManifestDigest) != tt.wantManifest || (got.ValuesDigest != want.ValuesDigest) != tt.wantValues {
				t.Errorf("digests %+v, base %+v", got, want)
			}
		})
	}
	if release.ValuesDigest(nil) != release.ValuesDigest(map[string]any{}) {
		t.Error("nil and empty values digest differently")
	}
}
