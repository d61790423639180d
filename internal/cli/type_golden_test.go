package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
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
			if err := WriteTypeVersions(&b, catalog.SelectVersions(&et, tt.query), tt.query.All); err != nil {
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
			if err := WriteTypeTable(&b, items, tt.wide, now); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, b.Bytes())
		})
	}

	t.Run("show describes a synced type with its versions", func(t *testing.T) {
		var b bytes.Buffer
		if err := DescribeType(&b, &synced, now); err != nil {
			t.Fatal(err)
		}
		golden(t, "type-show.golden", b.Bytes())
	})
	t.Run("show says a type was never synced and how to sync it", func(t *testing.T) {
		var b bytes.Buffer
		if err := DescribeType(&b, &never, now); err != nil {
			t.Fatal(err)
		}
		golden(t, "type-show-never.golden", b.Bytes())
	})
	t.Run("show gives the error of a failed sync", func(t *testing.T) {
		var b bytes.Buffer
		if err := DescribeType(&b, &failed, now); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "Sync error:") || !strings.Contains(b.String(), "access denied") {
			t.Errorf("no sync error:\n%s", b.String())
		}
	})
}

// TestTypeAddValidate covers the flag checks of `type add` that need no cluster.
func TestTypeAddValidate(t *testing.T) {
	base := func() *TypeAddOptions {
		return &TypeAddOptions{Name: "example.podinfo", Repository: "https://charts.example.org", Chart: "podinfo",
			ClusterScope: true, UpgradePolicy: "KubernetesMinor", DryRun: "none", print: genericclioptions.NewPrintFlags("created").WithTypeSetter(scheme())}
	}
	tests := []struct {
		name    string
		mutate  func(o *TypeAddOptions)
		wantErr string
		check   func(t *testing.T, et *v1alpha1.ExtensionType)
	}{
		{name: "the defaults: cluster scope, Stable and Preview, KubernetesMinor",
			check: func(t *testing.T, et *v1alpha1.ExtensionType) {
				s := et.Spec
				if s.Scopes.Default != v1alpha1.ScopeCluster || s.Scopes.Cluster == nil || s.Scopes.Namespace != nil ||
					len(s.ReleaseTrains) != 2 || s.ReleaseTrains[0] != (v1alpha1.ReleaseTrain{Name: "Stable"}) ||
					s.ReleaseTrains[1] != (v1alpha1.ReleaseTrain{Name: "Preview", IncludePrerelease: true}) ||
					s.UpgradePolicy != v1alpha1.UpgradePolicyKubernetesMinor {
					t.Errorf("spec %+v", s)
				}
			}},
		{name: "--default-scope namespace implies namespace scope and keeps cluster scope",
			mutate: func(o *TypeAddOptions) { o.DefaultScope = "namespace" },
			check: func(t *testing.T, et *v1alpha1.ExtensionType) {
				if et.Spec.Scopes.Default != v1alpha1.ScopeNamespace || et.Spec.Scopes.Namespace == nil || et.Spec.Scopes.Cluster == nil {
					t.Errorf("scopes %+v", et.Spec.Scopes)
				}
			}},
		{name: "namespace scope only makes namespace the default",
			mutate: func(o *TypeAddOptions) { o.ClusterScope, o.NamespaceScope = false, true },
			check: func(t *testing.T, et *v1alpha1.ExtensionType) {
				if et.Spec.Scopes.Default != v1alpha1.ScopeNamespace || et.Spec.Scopes.Cluster != nil {
					t.Errorf("scopes %+v", et.Spec.Scopes)
				}
			}},
		{name: "trains with a prerelease suffix, the policy in any case",
			mutate: func(o *TypeAddOptions) {
				o.ReleaseTrains = []string{"Stable", "Fast:prerelease"}
				o.UpgradePolicy = "minor"
			},
			check: func(t *testing.T, et *v1alpha1.ExtensionType) {
				if len(et.Spec.ReleaseTrains) != 2 || !et.Spec.ReleaseTrains[1].IncludePrerelease || et.Spec.UpgradePolicy != v1alpha1.UpgradePolicyMinor {
					t.Errorf("spec %+v", et.Spec)
				}
			}},
		{name: "a name that is no DNS subdomain", mutate: func(o *TypeAddOptions) { o.Name = "Example_Podinfo" }, wantErr: "is not a valid extension type name"},
		{name: "no repository", mutate: func(o *TypeAddOptions) { o.Repository = "" }, wantErr: "--chart-repository is required"},
		{name: "a repository with another scheme", mutate: func(o *TypeAddOptions) { o.Repository = "ftp://charts" }, wantErr: "must be an https://, http://, oci:// or file:// URL"},
		{name: "no chart", mutate: func(o *TypeAddOptions) { o.Chart = "" }, wantErr: "--chart is required"},
		{name: "an unknown default scope", mutate: func(o *TypeAddOptions) { o.DefaultScope = "global" }, wantErr: `--default-scope must be cluster or namespace, not "global"`},
		{name: "no scope at all", mutate: func(o *TypeAddOptions) { o.ClusterScope = false }, wantErr: "the type must support a scope"},
		{name: "default cluster scope without cluster scope", mutate: func(o *TypeAddOptions) { o.ClusterScope, o.NamespaceScope, o.DefaultScope = false, true, "cluster" }, wantErr: "--default-scope cluster needs cluster scope"},
		{name: "default namespace scope with namespace scope off", mutate: func(o *TypeAddOptions) { o.DefaultScope, o.namespaceScopeSet = "namespace", true }, wantErr: "--default-scope namespace needs namespace scope"},
		{name: "a default release namespace without cluster scope", mutate: func(o *TypeAddOptions) {
			o.ClusterScope, o.NamespaceScope, o.DefaultReleaseNamespace = false, true, "podinfo"
		}, wantErr: "--default-release-namespace is for cluster scope"},
		{name: "multiple instances without cluster scope", mutate: func(o *TypeAddOptions) {
			o.ClusterScope, o.NamespaceScope, o.AllowMultipleInstances = false, true, true
		}, wantErr: "--allow-multiple-instances is for cluster scope"},
		{name: "a default release namespace that is no namespace name", mutate: func(o *TypeAddOptions) { o.DefaultReleaseNamespace = "Pod_Info" }, wantErr: "is not a namespace name"},
		{name: "a train option other than prerelease", mutate: func(o *TypeAddOptions) { o.ReleaseTrains = []string{"Fast:beta"} }, wantErr: "the only option after ':' is prerelease"},
		{name: "a train given twice", mutate: func(o *TypeAddOptions) { o.ReleaseTrains = []string{"Stable", "stable:prerelease"} }, wantErr: "is given twice"},
		{name: "a train without a name", mutate: func(o *TypeAddOptions) { o.ReleaseTrains = []string{":prerelease"} }, wantErr: "names no train"},
		{name: "an unknown upgrade policy", mutate: func(o *TypeAddOptions) { o.UpgradePolicy = "Major" }, wantErr: `--upgrade-policy must be KubernetesMinor or Minor, not "Major"`},
		{name: "an unknown dry-run mode", mutate: func(o *TypeAddOptions) { o.DryRun = "maybe" }, wantErr: `--dry-run must be "none", "client" or "server"`},
		{name: "--sync with --dry-run", mutate: func(o *TypeAddOptions) { o.Sync, o.DryRun = true, "server" }, wantErr: "cannot be combined with --dry-run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			if tt.mutate != nil {
				tt.mutate(o)
			}
			err := o.Validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, o.obj)
			}
		})
	}
}
