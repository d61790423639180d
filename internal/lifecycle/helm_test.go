package lifecycle_test

import (
	"context"
	"errors"
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
// in-memory storage: the records it returns are those of the stored revisions, and a
// stored revision that differs from the record is refused.
func TestHelmClient(t *testing.T) {
	tests := []struct {
		name string
		// stored are the statuses of the revisions stored before, oldest first.
		stored []helmrelease.Status
		// upgrade upgrades after the install, expecting the install's record.
		upgrade      bool
		wantRevision int
		wantDrift    bool
	}{
		{name: "an install returns the record of revision 1", wantRevision: 1},
		{name: "an upgrade of the recorded revision returns revision 2", upgrade: true, wantRevision: 2},
		{name: "an install over a release nobody recorded is drift", stored: []helmrelease.Status{helmrelease.StatusFailed}, wantDrift: true},
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
			req := release.Request{Name: "podinfo", Namespace: "podinfo", Chart: ch, Values: map[string]any{"a": "1"}}
			rec, err := h.Install(context.Background(), req)
			if tt.upgrade && err == nil {
				req.Expect = rec
				rec, err = h.Upgrade(context.Background(), req)
			}
			if tt.wantDrift {
				if !errors.Is(err, release.ErrDrift) {
					t.Fatalf("error = %v, want drift", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			last, err := cfg.Releases.Last("podinfo")
			if err != nil {
				t.Fatal(err)
			}
			if rec.Revision != tt.wantRevision || rec != release.RecordOf(last) {
				t.Errorf("record %+v, want revision %d and the stored %+v", rec, tt.wantRevision, release.RecordOf(last))
			}
		})
	}
}
