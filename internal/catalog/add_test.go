package catalog_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
)

// TestNewType covers validating and building a type from its options. The error
// messages name options by key unless Option says otherwise (the CLI's flags are
// covered by its TestTypeAddValidate).
func TestNewType(t *testing.T) {
	base := func() catalog.TypeOptions {
		return catalog.TypeOptions{Name: "example.podinfo", Repository: "https://charts.example.org", Chart: "podinfo",
			ClusterScope: true, UpgradePolicy: "KubernetesMinor"}
	}
	tests := []struct {
		name    string
		mutate  func(o *catalog.TypeOptions)
		wantErr string
		check   func(t *testing.T, et *v1alpha1.ExtensionType)
	}{
		{name: "the defaults: cluster scope, Stable and Preview, KubernetesMinor",
			check: func(t *testing.T, et *v1alpha1.ExtensionType) {
				s := et.Spec
				if et.Name != "example.podinfo" || et.Kind != "ExtensionType" || s.Chart != (v1alpha1.ChartSource{Repository: "https://charts.example.org", Name: "podinfo"}) {
					t.Errorf("object %+v", et)
				}
				if s.Scopes.Default != v1alpha1.ScopeCluster || s.Scopes.Cluster == nil || s.Scopes.Namespace != nil ||
					len(s.ReleaseTrains) != 2 || s.ReleaseTrains[0] != (v1alpha1.ReleaseTrain{Name: "Stable"}) ||
					s.ReleaseTrains[1] != (v1alpha1.ReleaseTrain{Name: "Preview", IncludePrerelease: true}) ||
					s.UpgradePolicy != v1alpha1.UpgradePolicyKubernetesMinor {
					t.Errorf("spec %+v", s)
				}
			}},
		{name: "default scope namespace implies namespace scope and keeps cluster scope",
			mutate: func(o *catalog.TypeOptions) { o.DefaultScope = "namespace" },
			check: func(t *testing.T, et *v1alpha1.ExtensionType) {
				if et.Spec.Scopes.Default != v1alpha1.ScopeNamespace || et.Spec.Scopes.Namespace == nil || et.Spec.Scopes.Cluster == nil {
					t.Errorf("scopes %+v", et.Spec.Scopes)
				}
			}},
		{name: "namespace scope only makes namespace the default",
			mutate: func(o *catalog.TypeOptions) { o.ClusterScope, o.NamespaceScope = false, true },
			check: func(t *testing.T, et *v1alpha1.ExtensionType) {
				if et.Spec.Scopes.Default != v1alpha1.ScopeNamespace || et.Spec.Scopes.Cluster != nil {
					t.Errorf("scopes %+v", et.Spec.Scopes)
				}
			}},
		{name: "cluster scope options are kept",
			mutate: func(o *catalog.TypeOptions) { o.DefaultReleaseNamespace, o.AllowMultipleInstances = "podinfo", true },
			check: func(t *testing.T, et *v1alpha1.ExtensionType) {
				if c := et.Spec.Scopes.Cluster; c == nil || *c != (v1alpha1.ClusterScopeOptions{DefaultReleaseNamespace: "podinfo", AllowMultipleInstances: true}) {
					t.Errorf("cluster scope %+v", c)
				}
			}},
		{name: "a plain http repository with the reason carries the webhook's annotation",
			mutate: func(o *catalog.TypeOptions) {
				o.Repository, o.InsecureRepositoryReason = "http://mirror.local/charts", "air-gapped mirror"
			},
			check: func(t *testing.T, et *v1alpha1.ExtensionType) {
				if got := et.Annotations[v1alpha1.AnnotationAllowInsecureRepository]; got != "air-gapped mirror" || len(et.Annotations) != 1 {
					t.Errorf("annotations %v", et.Annotations)
				}
			}},
		{name: "trains with a prerelease suffix, the policy in any case",
			mutate: func(o *catalog.TypeOptions) {
				o.ReleaseTrains = []string{"Stable", "Fast:prerelease"}
				o.UpgradePolicy = "minor"
			},
			check: func(t *testing.T, et *v1alpha1.ExtensionType) {
				if len(et.Spec.ReleaseTrains) != 2 || !et.Spec.ReleaseTrains[1].IncludePrerelease || et.Spec.UpgradePolicy != v1alpha1.UpgradePolicyMinor {
					t.Errorf("spec %+v", et.Spec)
				}
			}},
		{name: "a name that is no DNS subdomain", mutate: func(o *catalog.TypeOptions) { o.Name = "Example_Podinfo" }, wantErr: "is not a valid extension type name"},
		{name: "no repository", mutate: func(o *catalog.TypeOptions) { o.Repository = "" }, wantErr: "chart-repository is required"},
		{name: "a repository with another scheme", mutate: func(o *catalog.TypeOptions) { o.Repository = "ftp://charts" }, wantErr: "must be an https://, http://, oci:// or file:// URL"},
		{name: "the insecure-repository reason for an https repository", mutate: func(o *catalog.TypeOptions) { o.InsecureRepositoryReason = "mirror" },
			wantErr: "allow-insecure-repository is for a plain http:// repository, not https://charts.example.org"},
		{name: "a repository with nothing after the scheme", mutate: func(o *catalog.TypeOptions) { o.Repository = "oci://" }, wantErr: "must be an https://, http://, oci:// or file:// URL"},
		{name: "no chart", mutate: func(o *catalog.TypeOptions) { o.Chart = "" }, wantErr: "chart is required"},
		{name: "an unknown default scope", mutate: func(o *catalog.TypeOptions) { o.DefaultScope = "global" }, wantErr: `default-scope must be cluster or namespace, not "global"`},
		{name: "no scope at all", mutate: func(o *catalog.TypeOptions) { o.ClusterScope = false }, wantErr: "the type must support a scope"},
		{name: "default cluster scope without cluster scope", mutate: func(o *catalog.TypeOptions) {
			o.ClusterScope, o.NamespaceScope, o.DefaultScope = false, true, "cluster"
		}, wantErr: "default-scope cluster needs cluster scope"},
		{name: "default namespace scope with namespace scope off", mutate: func(o *catalog.TypeOptions) { o.DefaultScope, o.NamespaceScopeSet = "namespace", true }, wantErr: "default-scope namespace needs namespace scope"},
		{name: "a default release namespace without cluster scope", mutate: func(o *catalog.TypeOptions) {
			o.ClusterScope, o.NamespaceScope, o.DefaultReleaseNamespace = false, true, "podinfo"
		}, wantErr: "default-release-namespace is for cluster scope"},
		{name: "multiple instances without cluster scope", mutate: func(o *catalog.TypeOptions) {
			o.ClusterScope, o.NamespaceScope, o.AllowMultipleInstances = false, true, true
		}, wantErr: "allow-multiple-instances is for cluster scope"},
		{name: "a default release namespace that is no namespace name", mutate: func(o *catalog.TypeOptions) { o.DefaultReleaseNamespace = "Pod_Info" }, wantErr: "is not a namespace name"},
		{name: "a train option other than prerelease", mutate: func(o *catalog.TypeOptions) { o.ReleaseTrains = []string{"Fast:beta"} }, wantErr: "the only option after ':' is prerelease"},
		{name: "a train given twice", mutate: func(o *catalog.TypeOptions) { o.ReleaseTrains = []string{"Stable", "stable:prerelease"} }, wantErr: "is given twice"},
		{name: "a train without a name", mutate: func(o *catalog.TypeOptions) { o.ReleaseTrains = []string{":prerelease"} }, wantErr: "names no train"},
		{name: "an unknown upgrade policy", mutate: func(o *catalog.TypeOptions) { o.UpgradePolicy = "Major" }, wantErr: `upgrade-policy must be KubernetesMinor or Minor, not "Major"`},
		{name: "Option words the option names",
			mutate: func(o *catalog.TypeOptions) {
				o.UpgradePolicy, o.Option = "Major", func(k string) string { return "spec." + k }
			},
			wantErr: `spec.upgrade-policy must be`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			if tt.mutate != nil {
				tt.mutate(&o)
			}
			et, err := catalog.NewType(o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, et)
		})
	}
}

// TestAdd covers creating a type: kept, refused when it exists, a server dry run,
// and an added type whose sync fails still reported as added.
func TestAdd(t *testing.T) {
	existing := podinfoType()
	tests := []struct {
		name         string
		opts         catalog.AddOptions
		src          *source
		objs         []client.Object
		wantErr      string
		wantNotSync  bool
		wantKept     bool
		wantDryRun   bool
		wantVersions int
		wantProgress string
	}{
		{name: "created, not synced", src: &source{}, wantKept: true},
		{name: "created and synced, with progress lines",
			opts:     catalog.AddOptions{Sync: true},
			src:      &source{versions: []chartsource.ChartVersion{{Version: "1.0.0"}, {Version: "1.1.0"}}},
			wantKept: true, wantVersions: 2,
			wantProgress: "Reading the versions of extension type example.podinfo from https://charts.example.org\nexample.podinfo: 2 versions of chart podinfo (newest 1.1.0) from https://charts.example.org\n"},
		{name: "created, sync fails: still added",
			opts: catalog.AddOptions{Sync: true}, src: &source{err: errors.New("no route to host")},
			wantKept: true, wantNotSync: true, wantErr: "was added, but its versions could not be read; run `kubectl ext type sync example.podinfo`",
			wantProgress: "Reading the versions of extension type example.podinfo from https://charts.example.org\n"},
		{name: "an existing type is not changed",
			src: &source{}, objs: []client.Object{existing}, wantKept: true,
			wantErr: "extension type example.podinfo already exists; `type add` does not change it"},
		{name: "a server dry run asks the API server for one",
			opts: catalog.AddOptions{ServerDryRun: true}, src: &source{}, wantDryRun: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dryRun := false
			funcs := interceptor.Funcs{Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
				co := &client.CreateOptions{}
				co.ApplyOptions(opts)
				if len(co.DryRun) > 0 {
					// The fake client keeps dry-run objects; the API server would not.
					dryRun = true
					return nil
				}
				return c.Create(ctx, obj, opts...)
			}}
			var objs []client.Object
			for _, o := range tt.objs {
				objs = append(objs, o.DeepCopyObject().(client.Object))
			}
			cat, c, progress := newCatalog(t, tt.src, funcs, objs...)
			et, err := catalog.NewType(catalog.TypeOptions{Name: "example.podinfo", Repository: "https://charts.example.org",
				Chart: "podinfo", ClusterScope: true, UpgradePolicy: "Minor"})
			if err != nil {
				t.Fatal(err)
			}
			err = cat.Add(context.Background(), et, tt.opts)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("got error %v, want %q", err, tt.wantErr)
			}
			if catalog.IsNotSynced(err) != tt.wantNotSync {
				t.Errorf("IsNotSynced(%v) = %v", err, !tt.wantNotSync)
			}
			if dryRun != tt.wantDryRun {
				t.Errorf("dry run %v, want %v", dryRun, tt.wantDryRun)
			}
			got := &v1alpha1.ExtensionType{}
			gerr := c.Get(context.Background(), types.NamespacedName{Name: "example.podinfo"}, got)
			if kept := gerr == nil; kept != tt.wantKept {
				t.Fatalf("kept %v (%v), want %v", kept, gerr, tt.wantKept)
			}
			if len(got.Status.Versions) != tt.wantVersions {
				t.Errorf("stored versions %v, want %d", got.Status.Versions, tt.wantVersions)
			}
			if progress.String() != tt.wantProgress {
				t.Errorf("progress %q, want %q", progress.String(), tt.wantProgress)
			}
		})
	}
}

// TestSyncSummary covers the line a sync ends with: the newest by semver, or none.
func TestSyncSummary(t *testing.T) {
	tests := []struct {
		name     string
		versions []v1alpha1.TypeVersion
		want     string
	}{
		{name: "none found", want: "example.podinfo: no versions of chart podinfo found in https://charts.example.org"},
		{name: "the newest by semver, not by order",
			versions: []v1alpha1.TypeVersion{{Version: "1.10.0"}, {Version: "1.9.0"}, {Version: "2.0.0-rc.1"}, {Version: "1.2.0"}},
			want:     "example.podinfo: 4 versions of chart podinfo (newest 2.0.0-rc.1) from https://charts.example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			et := podinfoType()
			et.Status.Versions = tt.versions
			if got := catalog.SyncSummary(et); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
