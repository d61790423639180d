package cli_test

import (
	"testing"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
)

// TestChartSources installs from an OCI registry (Helm's test registry on loopback,
// with its credentials) and from file:// directories, pinned and auto-upgrading.
func TestChartSources(t *testing.T) {
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
			name:        "a file:// directory of chart archives, a prerelease on the Preview train",
			source:      v1alpha1.ChartSource{Repository: "file://" + dir, Name: "podinfo"},
			args:        []string{"--auto-upgrade", "false", "--version", "1.5.0-rc.1", "--release-train", "Preview"},
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
