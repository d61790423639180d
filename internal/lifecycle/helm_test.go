package lifecycle_test

import (
	"context"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// TestHelmClient checks the adapter from release.Client to lifecycle.Helm on Helm's
// in-memory storage: revisions come back, and Deployed looks at every revision.
func TestHelmClient(t *testing.T) {
	tests := []struct {
		name string
		// stored are the statuses of the revisions stored before, oldest first.
		stored       []helmrelease.Status
		install      bool
		wantRevision int
		wantDeployed bool
	}{
		{name: "no release is not deployed"},
		{name: "an install returns revision 1 and is deployed", install: true, wantRevision: 1, wantDeployed: true},
		{name: "a release whose only revision failed is not deployed", stored: []helmrelease.Status{helmrelease.StatusFailed}},
		{name: "a deployed revision under a failed one still counts", stored: []helmrelease.Status{helmrelease.StatusDeployed, helmrelease.StatusFailed}, wantDeployed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := driver.NewMemory()
			mem.SetNamespace("podinfo")
			cfg := &action.Configuration{Releases: storage.Init(mem), KubeClient: &kubefake.PrintingKubeClient{},
				Capabilities: chartutil.DefaultCapabilities, Log: func(string, ...any) {}}
			ch := &chart.Chart{Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "podinfo", Version: "1.4.0"}}
			for i, st := range tt.stored {
				if err := cfg.Releases.Create(&helmrelease.Release{Name: "podinfo", Namespace: "podinfo", Version: i + 1, Chart: ch,
					Info: &helmrelease.Info{Status: st}}); err != nil {
					t.Fatal(err)
				}
			}
			h := lifecycle.HelmClient{Client: &release.Client{Configure: func(string) (*action.Configuration, error) { return cfg, nil }}}
			if tt.install {
				rev, err := h.Install(context.Background(), release.Request{Name: "podinfo", Namespace: "podinfo", Chart: ch})
				if err != nil || rev != tt.wantRevision {
					t.Fatalf("Install = %d, %v; want revision %d", rev, err, tt.wantRevision)
				}
			}
			deployed, err := h.Deployed("podinfo", "podinfo")
			if err != nil || deployed != tt.wantDeployed {
				t.Errorf("Deployed = %v, %v; want %v", deployed, err, tt.wantDeployed)
			}
		})
	}
}
