package admission_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// targetVersion writes status.targetVersion through the status subresource, as the
// plugin does before any Helm change of version.
func targetVersion(ctx context.Context, c client.Client, ext *v1alpha1.Extension, v string) error {
	ext.Status.TargetVersion = v
	return c.Status().Update(ctx, ext)
}

// currentMinor waits until the webhook judges with the cluster at Kubernetes minor:
// recording minor as an extension's adopted minor is allowed only then
// (EXT-BASELINE-002).
func currentMinor(t *testing.T, minor string) {
	t.Helper()
	typ := newType(t)
	eventually(t, "the webhook sees Kubernetes "+minor, func() error {
		ext := extension(typ)
		if err := env.Client.Create(testCtx(t), ext); err != nil {
			return err
		}
		defer env.Client.Delete(testCtx(t), ext)
		ext.Status.KubernetesVersion = minor
		err := env.Client.Status().Update(testCtx(t), ext)
		if err != nil && strings.Contains(err.Error(), "[EXT-BASELINE-002]") {
			return errNotYet(err)
		}
		return err
	})
}

// TestKubernetesMinorUpgrade: at Kubernetes 1.36 an extension adopted at 1.36 stays on
// 1.4.x; once the API server runs as 1.37 on the same etcd, 1.5.0 is allowed.
func TestKubernetesMinorUpgrade(t *testing.T) {
	requireEnv(t)
	ctx := testCtx(t)
	typ := newType(t, multipleInstances)
	auto := extension(typ)
	pin := extension(typ, pinned("1.4.0"))
	for _, e := range []*v1alpha1.Extension{auto, pin} {
		if err := env.Client.Create(ctx, e); err != nil {
			t.Fatal(err)
		}
		installedAt(t, e, "1.4.0", "1.36")
	}
	currentMinor(t, "1.36")

	t.Run("at 1.36 a status write of targetVersion 1.5.0 is denied with the rule id", func(t *testing.T) {
		wantDenied(t, targetVersion(ctx, env.Client, auto.DeepCopy(), "1.5.0"), "EXT-UPGRADE-001")
	})
	t.Run("at 1.36 a pinned spec.version of 1.5.0 is denied too", func(t *testing.T) {
		p := pin.DeepCopy()
		p.Spec.Version = "1.5.0"
		wantDenied(t, env.Client.Update(ctx, p), "EXT-UPGRADE-001")
	})
	t.Run("at 1.36 the real kubectl's write of 1.5.0 is denied and it prints the rule id", func(t *testing.T) {
		res, err := env.Kubectl(ctx, "", "patch", "ext", pin.Name, "--type=merge", "-p", `{"spec":{"version":"1.5.0"}}`)
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 1 || !strings.Contains(res.Stderr, "[EXT-UPGRADE-001]") {
			t.Fatalf("kubectl patch: exit %d, stderr %q; want exit 1 naming EXT-UPGRADE-001", res.ExitCode, res.Stderr)
		}
	})
	t.Run("at 1.36 a patch to 1.4.9 is allowed", func(t *testing.T) {
		a := auto.DeepCopy()
		if err := targetVersion(ctx, env.Client, a, "1.4.9"); err != nil {
			t.Fatal(err)
		}
		res, err := env.Kubectl(ctx, "", "patch", "ext", pin.Name, "--type=merge", "-p", `{"spec":{"version":"1.4.9"}}`)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("kubectl patch to 1.4.9: %v exit %d %s", err, res.ExitCode, res.Stderr)
		}
	})

	t.Run("after the API server restarts as 1.37 on the same etcd, 1.5.0 is allowed", func(t *testing.T) {
		if err := env.RestartAPIServer("1.37"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := env.RestartAPIServer("1.36"); err != nil {
				t.Errorf("restoring 1.36: %v", err)
			}
			currentMinor(t, "1.36")
		})
		currentMinor(t, "1.37")
		a := &v1alpha1.Extension{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(auto), a); err != nil {
			t.Fatalf("the extension did not survive the restart: %v", err)
		}
		if err := targetVersion(ctx, env.Client, a, "1.5.0"); err != nil {
			t.Fatalf("1.5.0 at Kubernetes 1.37: %v", err)
		}
		res, err := env.Kubectl(ctx, "", "patch", "ext", pin.Name, "--type=merge", "-p", `{"spec":{"version":"1.5.0"}}`)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("kubectl patch to 1.5.0 at 1.37: %v exit %d %s", err, res.ExitCode, res.Stderr)
		}
	})
}

func TestUpgradeExceptions(t *testing.T) {
	requireEnv(t)
	currentMinor(t, "1.36")
	tests := []struct {
		name        string
		opts        []extOpt
		installed   string
		target      string
		wantDenied  string // rule id, or "" for allowed
		wantWarning string // rule id of a warning when allowed
	}{
		{
			name:        "a prerelease of the next minor is allowed within one Kubernetes minor, with a warning",
			opts:        []extOpt{train("Preview")},
			installed:   "1.4.0",
			target:      "1.5.0-rc.1",
			wantWarning: "EXT-WARN-003",
		},
		{
			name:        "the upgrade-exception annotation allows the next minor, with a warning echoing the reason",
			opts:        []extOpt{annotate(v1alpha1.AnnotationUpgradeException, "CVE-2026-1234")},
			installed:   "1.4.0",
			target:      "1.5.0",
			wantWarning: "EXT-WARN-001",
		},
		{
			name:       "a downgrade without the annotation is denied",
			installed:  "1.4.9",
			target:     "1.4.1",
			wantDenied: "EXT-UPGRADE-002",
		},
		{
			name:        "a downgrade with the allow-downgrade annotation is allowed, with a warning",
			opts:        []extOpt{annotate(v1alpha1.AnnotationAllowDowngrade, "1.4.9 breaks ingress")},
			installed:   "1.4.9",
			target:      "1.4.1",
			wantWarning: "EXT-WARN-002",
		},
		{
			name:       "a version whose chart kubeVersion excludes the cluster is denied",
			opts:       []extOpt{annotate(v1alpha1.AnnotationUpgradeException, "testing")},
			installed:  "1.5.0",
			target:     "1.6.0",
			wantDenied: "EXT-UPGRADE-003",
		},
		{
			name:       "under the Minor policy a major version needs the exception",
			installed:  "1.5.0",
			target:     "2.0.0",
			wantDenied: "EXT-UPGRADE-001",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			var typ string
			if strings.Contains(tt.name, "Minor policy") {
				typ = newType(t, minorPolicy)
			} else {
				typ = newType(t)
			}
			ext := extension(typ, tt.opts...)
			if err := env.Client.Create(ctx, ext); err != nil {
				t.Fatal(err)
			}
			installedAt(t, ext, tt.installed, "1.36")
			c, w := writer(t)
			err := targetVersion(ctx, c, ext, tt.target)
			if tt.wantDenied != "" {
				wantDenied(t, err, tt.wantDenied)
				return
			}
			if err != nil {
				t.Fatalf("want allowed, got %v", err)
			}
			if !strings.Contains(w.all(), "["+tt.wantWarning+"]") {
				t.Errorf("want a warning [%s], got %q", tt.wantWarning, w.all())
			}
		})
	}
}

// setPolicy rewrites the webhook's configuration file and waits until it is in force.
func setPolicy(t *testing.T, yaml string, inForce func() error) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(policyFile), "policy.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, policyFile); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the webhook reloads its configuration", inForce)
}

func TestEnforcementModes(t *testing.T) {
	requireEnv(t)
	typ := newType(t, multipleInstances)
	t.Cleanup(func() {
		setPolicy(t, "{}\n", func() error {
			err := env.Client.Create(testCtx(t), extension(typ, train("Nightly")), client.DryRunAll)
			if err == nil || !strings.Contains(err.Error(), "[EXT-VERSION-003]") {
				return errNotYet(err)
			}
			return nil
		})
	})

	t.Run("a rule set to warn allows the write and shows the violation as a warning", func(t *testing.T) {
		setPolicy(t, "enforcement:\n  EXT-VERSION-003: warn\n", func() error {
			return env.Client.Create(testCtx(t), extension(typ, train("Nightly")), client.DryRunAll)
		})
		c, w := writer(t)
		if err := c.Create(testCtx(t), extension(typ, train("Nightly"))); err != nil {
			t.Fatalf("want allowed: %v", err)
		}
		if !strings.Contains(w.all(), "[EXT-VERSION-003]") {
			t.Errorf("want a warning naming EXT-VERSION-003, got %q", w.all())
		}
	})

	t.Run("a rule set to dryrun allows silently, but logs and counts the violation", func(t *testing.T) {
		setPolicy(t, "enforcement:\n  EXT-VERSION-003: dryrun\n", func() error {
			c, w := writer(t)
			if err := c.Create(testCtx(t), extension(typ, train("Nightly")), client.DryRunAll); err != nil {
				return err
			}
			if strings.Contains(w.all(), "EXT-VERSION-003") {
				return errNotYet(nil)
			}
			return nil
		})
		before := violations(t, "EXT-VERSION-003", "dryrun")
		c, w := writer(t)
		ext := extension(typ, train("Nightly"))
		if err := c.Create(testCtx(t), ext); err != nil {
			t.Fatalf("want allowed: %v", err)
		}
		if strings.Contains(w.all(), "EXT-VERSION-003") {
			t.Errorf("dryrun showed a warning: %q", w.all())
		}
		if after := violations(t, "EXT-VERSION-003", "dryrun"); after <= before {
			t.Errorf("kubeext_policy_violations_total{rule=EXT-VERSION-003,enforcement=dryrun} stayed at %v", after)
		}
		if !strings.Contains(webhookLog.String(), ext.Name) || !strings.Contains(webhookLog.String(), "EXT-VERSION-003") {
			t.Errorf("the webhook did not log the dryrun violation for %s", ext.Name)
		}
	})

	t.Run("per-type constraints: a type that must be pinned refuses auto-upgrade", func(t *testing.T) {
		setPolicy(t, "versionConstraints:\n  "+typ+": {requirePinned: true, constraint: \"~1.4\"}\n", func() error {
			err := env.Client.Create(testCtx(t), extension(typ), client.DryRunAll)
			if err == nil || !strings.Contains(err.Error(), "[EXT-VERSION-006]") {
				return errNotYet(err)
			}
			return nil
		})
		wantDenied(t, env.Client.Create(testCtx(t), extension(typ, pinned("1.5.0"))), "EXT-VERSION-007")
		if err := env.Client.Create(testCtx(t), extension(typ, pinned("1.4.1"))); err != nil {
			t.Fatalf("a pinned 1.4.1 matches ~1.4 and was refused: %v", err)
		}
	})
}
