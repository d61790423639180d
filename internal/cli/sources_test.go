package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
)

// TestChartSources installs from an OCI registry (Helm's test registry on loopback,
// with its credentials) and from file:// directories, pinned and auto-upgrading.
func TestChartSources(t *testing.T) {
	requireEnv(t)
	specs := chartsourcetest.Podinfo()
	dir := chartsourcetest.Charts(t, specs)
	ociRepo, registryConfig := chartsourcetest.ServeOCI(t, dir)
	tests := []struct {
		name        string
		source      v1alpha1.ChartSource
		extra       []string
		args        []string
		wantVersion string
	}{
		{
			name:        "an oci:// registry, auto-upgrading to the newest Stable version",
			source:      v1alpha1.ChartSource{Repository: ociRepo, Name: "podinfo"},
			extra:       []string{"--plain-http", "--registry-config", registryConfig},
			wantVersion: "2.0.0",
		},
		{
			name:        "an oci:// registry, pinned",
			source:      v1alpha1.ChartSource{Repository: ociRepo, Name: "podinfo"},
			extra:       []string{"--plain-http", "--registry-config", registryConfig},
			args:        []string{"--auto-upgrade", "false", "--version", "1.4.1"},
			wantVersion: "1.4.1",
		},
		{
			// No --release-train: az refuses it with a pinned version. The extension is
			// recorded on the Preview train, the first that offers the prerelease.
			name:        "a file:// directory of chart archives, a prerelease pinned",
			source:      v1alpha1.ChartSource{Repository: "file://" + dir, Name: "podinfo"},
			args:        []string{"--auto-upgrade", "false", "--version", "1.5.0-rc.1"},
			wantVersion: "1.5.0-rc.1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := recordType(t, tt.source)
			name, ns := uniq("src"), uniq("src")
			args := append([]string{"create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait"}, tt.args...)
			mustKext(t, append(args, tt.extra...)...)
			e := getExt(t, name)
			if e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded || e.Status.CurrentVersion != tt.wantVersion {
				t.Fatalf("got %s at %s, want Succeeded at %s", e.Status.ProvisioningState, e.Status.CurrentVersion, tt.wantVersion)
			}
			r, err := helmClient().Last(name, ns)
			if err != nil || r.Chart.Metadata.Version != tt.wantVersion {
				t.Fatalf("release: %v %v", r, err)
			}
		})
	}
}

// TestChartWithLeadingV installs and updates a chart versioned like Kubernetes
// ("v1.15.0", as cert-manager's are): the user, the status and the policies speak of
// 1.15.0, and Helm installs the repository's own v1.15.0.
func TestChartWithLeadingV(t *testing.T) {
	requireEnv(t)
	specs := []chartsourcetest.Spec{
		{Name: "vchart", Version: "v1.15.0", AppVersion: "v1.15.0"},
		{Name: "vchart", Version: "v1.15.1", AppVersion: "v1.15.1"},
		{Name: "vchart", Version: "v1.16.0", AppVersion: "v1.16.0"},
	}
	url := chartsourcetest.ServeHTTP(t, chartsourcetest.Charts(t, specs))
	typ := recordType(t, v1alpha1.ChartSource{Repository: url, Name: "vchart"})

	res := mustKext(t, "type", "versions", typ, "-o", "json")
	var rows []struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &rows); err != nil {
		t.Fatalf("%v:\n%s", err, res.Stdout)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Version)
	}
	if strings.Join(got, " ") != "1.16.0 1.15.1 1.15.0" {
		t.Errorf("type versions = %v, want the versions without their v, newest first", got)
	}

	name, ns := uniq("vchart"), uniq("vchart")
	mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait",
		"--auto-upgrade", "false", "--version", "1.15.0")
	installed := func(want string) {
		t.Helper()
		e := getExt(t, name)
		if e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded || e.Status.CurrentVersion != want {
			t.Fatalf("got %s at %s, want Succeeded at %s", e.Status.ProvisioningState, e.Status.CurrentVersion, want)
		}
		r, err := helmClient().Last(name, ns)
		if err != nil || r.Chart.Metadata.Version != "v"+want {
			t.Fatalf("release: %v %v, want chart v%s", r, err, want)
		}
	}
	installed("1.15.0")

	// Already pinned, so --version alone keeps it pinned.
	mustKext(t, "update", name, "--version", "1.15.1", "--no-wait")
	installed("1.15.1")

	// The chart's own spelling is refused with the policy that says what to write.
	res = kext(t, "update", name, "--auto-upgrade", "false", "--version", "v1.15.0", "--no-wait")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "EXT-VERSION-004") || !strings.Contains(res.Stderr, `write "1.15.0"`) {
		t.Errorf("update --version v1.15.0: exit %d, want EXT-VERSION-004 asking for 1.15.0:\n%s", res.ExitCode, res.Stderr)
	}
	installed("1.15.1")
}
