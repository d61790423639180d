package cli_test

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// autoAt creates an extension pinned at version, then turns auto-upgrade on: an
// auto-upgrading extension installed at version.
func autoAt(t *testing.T, typ, version string) string {
	t.Helper()
	name := uniq("up")
	mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", uniq("up"), "--auto-upgrade", "false", "--version", version, "--no-wait")
	mustKext(t, "update", name, "--auto-upgrade", "true", "--no-wait")
	if e := getExt(t, name); e.Status.CurrentVersion != version || e.Spec.Version != "" {
		t.Fatalf("setting up %s: %+v %+v", name, e.Spec, e.Status)
	}
	return name
}

func plans(t *testing.T, args ...string) map[string]lifecycle.Plan {
	t.Helper()
	res := mustKext(t, append(args, "-o", "json", "--no-wait")...)
	var ps []lifecycle.Plan
	if err := json.Unmarshal([]byte(res.Stdout), &ps); err != nil {
		t.Fatalf("upgrade -o json printed %q: %v", res.Stdout, err)
	}
	out := map[string]lifecycle.Plan{}
	for _, p := range ps {
		out[p.Name] = p
	}
	return out
}

// TestUpgradeFollowsTheClusterMinor: at Kubernetes 1.36 an extension adopted there at
// 1.4.0 goes to 1.4.1, not 1.5.0; once the API server runs as 1.37 on the same etcd,
// it goes to 1.5.0 and records 1.37; never to 2.0.0 (a major) or 1.6.0 (its chart
// excludes the cluster). A Minor-policy type goes to 1.5.0 at once; a pinned
// extension is reported, never touched; --dry-run changes nothing.
func TestUpgradeFollowsTheClusterMinor(t *testing.T) {
	requireEnv(t)
	if err := env.RestartAPIServer("1.36"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.RestartAPIServer(""); err != nil {
			t.Errorf("restoring the API server: %v", err)
		}
	})
	typ := httpType(t, chartsourcetest.Podinfo())
	minorTyp := httpType(t, chartsourcetest.Podinfo(), func(et *v1alpha1.ExtensionType) { et.Spec.UpgradePolicy = v1alpha1.UpgradePolicyMinor })

	auto := autoAt(t, typ, "1.4.0")
	minor := autoAt(t, minorTyp, "1.4.0")
	pinned := uniq("pinned")
	mustKext(t, "create", pinned, "--extension-type", typ, "--release-namespace", uniq("up"), "--auto-upgrade", "false", "--version", "1.4.0", "--no-wait")
	if e := getExt(t, auto); e.Status.KubernetesVersion != "1.36" {
		t.Fatalf("installed at Kubernetes %q, want 1.36", e.Status.KubernetesVersion)
	}

	dry := plans(t, "upgrade", auto, minor, pinned, "--dry-run")
	want := map[string]lifecycle.Plan{
		auto:   {Current: "1.4.0", Target: "1.4.1", Action: lifecycle.ActionUpgrade},
		minor:  {Current: "1.4.0", Target: "1.5.0", Action: lifecycle.ActionUpgrade},
		pinned: {Current: "1.4.0", Target: "1.4.0", Action: lifecycle.ActionPinned},
	}
	for n, w := range want {
		if p := dry[n]; p.Current != w.Current || p.Target != w.Target || p.Action != w.Action {
			t.Errorf("dry-run plan for %s: %+v, want %+v", n, p, w)
		}
	}
	for _, n := range []string{auto, minor, pinned} {
		if e := getExt(t, n); e.Status.CurrentVersion != "1.4.0" {
			t.Errorf("--dry-run changed %s to %s", n, e.Status.CurrentVersion)
		}
	}

	res := mustKext(t, "upgrade", auto, minor, pinned, "--no-wait")
	if !regexp.MustCompile(`(?m)^NAME\s+CURRENT\s+TARGET\s+ACTION\s+REASON$`).MatchString(res.Stdout) ||
		!regexp.MustCompile(`(?m)^`+auto+`\s+1\.4\.0\s+1\.4\.1\s+upgraded\s+newest patch of 1\.4`).MatchString(res.Stdout) {
		t.Errorf("the upgrade table:\n%s", res.Stdout)
	}
	for n, v := range map[string]string{auto: "1.4.1", minor: "1.5.0", pinned: "1.4.0"} {
		if e := getExt(t, n); e.Status.CurrentVersion != v || e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded {
			t.Errorf("%s after upgrade at 1.36: %s %s, want %s", n, e.Status.ProvisioningState, e.Status.CurrentVersion, v)
		}
	}
	if p := plans(t, "upgrade", auto, "--dry-run")[auto]; p.Action != lifecycle.ActionUpToDate || p.Reason == "" {
		t.Errorf("at 1.36 after the patch: %+v, want up-to-date with a reason", p)
	}

	if err := env.RestartAPIServer("1.37"); err != nil {
		t.Fatal(err)
	}
	mustKext(t, "upgrade", auto, "--no-wait")
	e := getExt(t, auto)
	if e.Status.CurrentVersion != "1.5.0" || e.Status.KubernetesVersion != "1.37" {
		t.Fatalf("at 1.37: %s adopted at %s, want 1.5.0 adopted at 1.37", e.Status.CurrentVersion, e.Status.KubernetesVersion)
	}
	if p := plans(t, "upgrade", auto)[auto]; p.Action != lifecycle.ActionUpToDate || getExt(t, auto).Status.CurrentVersion != "1.5.0" {
		t.Errorf("a further upgrade moved past 1.5.0: %+v", p)
	}
}

func TestUpgradeFlags(t *testing.T) {
	requireEnv(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"names and --all together", []string{"upgrade", "a", "--all"}, "not both"},
		{"neither names nor --all", []string{"upgrade"}, "or give --all"},
		{"an unknown output format", []string{"upgrade", "--all", "-o", "toml"}, "--output must be json or yaml"},
		{"an extension that does not exist", []string{"upgrade", "no-such-ext"}, "extension not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := kext(t, tt.args...)
			if res.ExitCode != 1 || !regexp.MustCompile(regexp.QuoteMeta(tt.want)).MatchString(res.Stderr) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", res.ExitCode, res.Stderr, tt.want)
			}
		})
	}
}
