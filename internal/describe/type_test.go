package describe

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
)

// typeFixture is the podinfo test catalog as `type sync` records it: 1.4.0, 1.4.1,
// 1.5.0-rc.1, 1.5.0, 1.6.0 (for Kubernetes 1.99 and later only) and 2.0.0.
func typeFixture(t *testing.T) v1alpha1.ExtensionType {
	t.Helper()
	et := v1alpha1.ExtensionType{
		ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo", CreationTimestamp: metav1.NewTime(now.Add(-72 * time.Hour))},
		Spec: v1alpha1.ExtensionTypeSpec{
			Description: "Podinfo demo service",
			Chart:       v1alpha1.ChartSource{Repository: "https://charts.example.org", Name: "podinfo"},
			Scopes: v1alpha1.Scopes{Default: v1alpha1.ScopeCluster,
				Cluster:   &v1alpha1.ClusterScopeOptions{DefaultReleaseNamespace: "podinfo"},
				Namespace: &v1alpha1.NamespaceScopeOptions{}},
			ReleaseTrains: []v1alpha1.ReleaseTrain{{Name: "Stable"}, {Name: "Preview", IncludePrerelease: true}},
			UpgradePolicy: v1alpha1.UpgradePolicyKubernetesMinor,
		},
	}
	var cvs []chartsource.ChartVersion
	for _, s := range chartsourcetest.Podinfo() {
		v := semver.MustParse(s.Version)
		cvs = append(cvs, chartsource.ChartVersion{Version: s.Version, KubeVersion: s.KubeVersion, AppVersion: s.AppVersion, Prerelease: v.Prerelease() != ""})
	}
	et.Status.Versions = catalog.Versions(&et, cvs)
	et.Status.SyncedAt = ptr.To(metav1.NewTime(now.Add(-5 * time.Minute)))
	return et
}

func TestTypeVersionsGolden(t *testing.T) {
	et := typeFixture(t)
	tests := []struct {
		name   string
		query  catalog.VersionQuery
		golden string
	}{
		{name: "Stable offers the releases the cluster can run, newest first", query: catalog.VersionQuery{Train: "Stable", Major: -1}, golden: "type-versions-stable.golden"},
		{name: "Preview adds the release candidate", query: catalog.VersionQuery{Train: "Preview", Major: -1}, golden: "type-versions-preview.golden"},
		{name: "--show-latest on Stable is 2.0.0 alone", query: catalog.VersionQuery{Train: "Stable", Major: -1, Latest: true}, golden: "type-versions-stable-latest.golden"},
		{name: "--major-version 1 on Stable skips 2.0.0 and the excluded 1.6.0", query: catalog.VersionQuery{Train: "Stable", Major: 1}, golden: "type-versions-stable-major1.golden"},
		{name: "--major-version 1 --show-latest on Preview is 1.5.0", query: catalog.VersionQuery{Train: "Preview", Major: 1, Latest: true}, golden: "type-versions-preview-major1-latest.golden"},
		{name: "--all on Stable says why 1.6.0 and the rc are excluded", query: catalog.VersionQuery{Train: "Stable", Major: -1, All: true}, golden: "type-versions-stable-all.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.query.KubeVersion = "1.37.1"
			var b bytes.Buffer
			if err := TypeVersions(&b, catalog.SelectVersions(&et, tt.query), tt.query.All); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, b.Bytes())
		})
	}
}

func TestTypeVersionsJSONFields(t *testing.T) {
	et := typeFixture(t)
	rows := catalog.SelectVersions(&et, catalog.VersionQuery{Train: "Stable", KubeVersion: "1.37.1", Major: -1, All: true})
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 6 {
		t.Fatalf("got %d rows, want all 6: %s", len(got), b)
	}
	for _, r := range got {
		for _, k := range []string{"version", "kubeVersion", "releaseTrains", "excluded", "reason"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %v lacks %q", r, k)
			}
		}
	}
	if got[1]["version"] != "1.6.0" || got[1]["excluded"] != true || got[1]["reason"] != "chart requires Kubernetes "+chartsourcetest.KubeVersionUnsatisfiable {
		t.Errorf("1.6.0 row: %v", got[1])
	}
}

func TestTypeTableGolden(t *testing.T) {
	synced := typeFixture(t)
	failed := v1alpha1.ExtensionType{
		ObjectMeta: metav1.ObjectMeta{Name: "example.agent"},
		Spec: v1alpha1.ExtensionTypeSpec{
			Chart:         v1alpha1.ChartSource{Repository: "oci://registry.example.org/charts", Name: "agent"},
			Scopes:        v1alpha1.Scopes{Default: v1alpha1.ScopeNamespace, Cluster: &v1alpha1.ClusterScopeOptions{}, Namespace: &v1alpha1.NamespaceScopeOptions{}},
			ReleaseTrains: []v1alpha1.ReleaseTrain{{Name: "Fast", IncludePrerelease: true}},
			UpgradePolicy: v1alpha1.UpgradePolicyMinor,
		},
	}
	meta.SetStatusCondition(&failed.Status.Conditions, metav1.Condition{Type: "Synced", Status: metav1.ConditionFalse, Reason: "SourceError",
		Message: "reading the versions of extension type example.agent from oci://registry.example.org/charts: access denied"})
	never := v1alpha1.ExtensionType{
		ObjectMeta: metav1.ObjectMeta{Name: "example.local"},
		Spec:       v1alpha1.ExtensionTypeSpec{Chart: v1alpha1.ChartSource{Repository: "file:///srv/charts", Name: "local"}, Scopes: v1alpha1.Scopes{Namespace: &v1alpha1.NamespaceScopeOptions{}, Default: v1alpha1.ScopeNamespace}},
	}
	items := []v1alpha1.ExtensionType{failed, never, synced}
	for _, tt := range []struct {
		name   string
		wide   bool
		golden string
	}{
		{name: "the default table", golden: "type-list.golden"},
		{name: "the wide table adds trains and descriptions", wide: true, golden: "type-list-wide.golden"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := TypeTable(&b, items, tt.wide, now); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, b.Bytes())
		})
	}

	t.Run("show describes a synced type with its versions", func(t *testing.T) {
		var b bytes.Buffer
		if err := Type(&b, &synced, now); err != nil {
			t.Fatal(err)
		}
		golden(t, "type-show.golden", b.Bytes())
	})
	t.Run("show says a type was never synced and how to sync it", func(t *testing.T) {
		var b bytes.Buffer
		if err := Type(&b, &never, now); err != nil {
			t.Fatal(err)
		}
		golden(t, "type-show-never.golden", b.Bytes())
	})
	t.Run("show gives the error of a failed sync", func(t *testing.T) {
		var b bytes.Buffer
		if err := Type(&b, &failed, now); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "Sync error:") || !strings.Contains(b.String(), "access denied") {
			t.Errorf("no sync error:\n%s", b.String())
		}
	})
}
