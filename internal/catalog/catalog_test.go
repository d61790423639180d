package catalog_test

import (
	"strings"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
)

// synced is a type with the default trains and the podinfo-like versions 1.4.0,
// 1.4.1, 1.5.0-rc.1, 1.5.0, 1.6.0 (for Kubernetes 1.99 and later) and 2.0.0, as a
// sync records them.
func synced() *v1alpha1.ExtensionType {
	t := podinfoType()
	t.Status.Versions = catalog.Versions(t, []chartsource.ChartVersion{
		{Version: "1.4.0", KubeVersion: ">=1.25.0-0"},
		{Version: "2.0.0"},
		{Version: "1.4.1", KubeVersion: ">=1.25.0-0"},
		{Version: "1.5.0-rc.1", Prerelease: true},
		{Version: "1.5.0"},
		{Version: "1.6.0", KubeVersion: ">=1.99.0-0"},
	})
	return t
}

func TestVersions(t *testing.T) {
	fast := podinfoType()
	fast.Spec.ReleaseTrains = []v1alpha1.ReleaseTrain{{Name: "Stable"}, {Name: "Fast", IncludePrerelease: true}, {Name: "LTS"}}
	tests := []struct {
		name string
		typ  *v1alpha1.ExtensionType
		cv   chartsource.ChartVersion
		want string
	}{
		{name: "a release is on both default trains", typ: podinfoType(), cv: chartsource.ChartVersion{Version: "1.0.0"}, want: "Stable,Preview"},
		{name: "a prerelease is only on the default Preview train", typ: podinfoType(), cv: chartsource.ChartVersion{Version: "1.1.0-rc.1", Prerelease: true}, want: "Preview"},
		{name: "a release is on every train a type names", typ: fast, cv: chartsource.ChartVersion{Version: "1.0.0"}, want: "Stable,Fast,LTS"},
		{name: "a prerelease is only on the named trains that include prereleases", typ: fast, cv: chartsource.ChartVersion{Version: "1.1.0-rc.1", Prerelease: true}, want: "Fast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := catalog.Versions(tt.typ, []chartsource.ChartVersion{tt.cv})
			if len(got) != 1 || strings.Join(got[0].ReleaseTrains, ",") != tt.want {
				t.Fatalf("Versions = %+v, want trains %s", got, tt.want)
			}
		})
	}
}

func TestCandidatesAndExclusion(t *testing.T) {
	tests := []struct {
		name, train, kube string
		want              string
		// excluded maps a version to the reason Exclusion gives.
		excluded map[string]string
	}{
		{name: "Stable on a 1.37 cluster offers the releases it can run, newest first", train: "Stable", kube: "1.37.1",
			want:     "2.0.0,1.5.0,1.4.1,1.4.0",
			excluded: map[string]string{"1.6.0": "chart requires Kubernetes >=1.99.0-0", "1.5.0-rc.1": "not on the Stable train"}},
		{name: "Preview adds the release candidate", train: "Preview", kube: "1.37.1",
			want: "2.0.0,1.5.0,1.5.0-rc.1,1.4.1,1.4.0", excluded: map[string]string{"1.6.0": "chart requires Kubernetes >=1.99.0-0"}},
		{name: "without a cluster version no kubeVersion excludes anything", train: "Stable", kube: "",
			want: "2.0.0,1.6.0,1.5.0,1.4.1,1.4.0"},
		{name: "a train is matched whatever its case", train: "stable", kube: "1.37.1", want: "2.0.0,1.5.0,1.4.1,1.4.0"},
		{name: "a train the type lacks offers nothing", train: "Nightly", kube: "1.37.1", want: "",
			excluded: map[string]string{"1.4.0": "not on the Nightly train"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := synced()
			if got := strings.Join(catalog.Names(catalog.Candidates(typ, tt.train, tt.kube)), ","); got != tt.want {
				t.Errorf("Candidates = %s, want %s", got, tt.want)
			}
			for v, reason := range tt.excluded {
				tv, ok := catalog.Lookup(typ, v)
				if !ok {
					t.Fatalf("Lookup(%s) found nothing", v)
				}
				if got := catalog.Exclusion(typ, tv, tt.train, tt.kube); got != reason {
					t.Errorf("Exclusion(%s) = %q, want %q", v, got, reason)
				}
			}
		})
	}
}

func TestSelectVersions(t *testing.T) {
	tests := []struct {
		name  string
		query catalog.VersionQuery
		want  []string // version, or version!reason for an excluded one
	}{
		{name: "the default lists what the cluster can run, newest first", query: catalog.VersionQuery{Train: "Stable", KubeVersion: "1.37.1", Major: -1},
			want: []string{"2.0.0", "1.5.0", "1.4.1", "1.4.0"}},
		{name: "latest is the newest runnable version alone", query: catalog.VersionQuery{Train: "Stable", KubeVersion: "1.37.1", Major: -1, Latest: true},
			want: []string{"2.0.0"}},
		{name: "a major version keeps only its versions", query: catalog.VersionQuery{Train: "Preview", KubeVersion: "1.37.1", Major: 1, Latest: true},
			want: []string{"1.5.0"}},
		{name: "all lists the excluded versions with their reason", query: catalog.VersionQuery{Train: "Stable", KubeVersion: "1.37.1", Major: -1, All: true},
			want: []string{"2.0.0", "1.6.0!chart requires Kubernetes >=1.99.0-0", "1.5.0", "1.5.0-rc.1!not on the Stable train", "1.4.1", "1.4.0"}},
		{name: "latest wins over all: an excluded version is never the latest", query: catalog.VersionQuery{Train: "Stable", KubeVersion: "1.37.1", Major: 1, Latest: true, All: true},
			want: []string{"1.5.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range catalog.SelectVersions(synced(), tt.query) {
				s := r.Version
				if r.Excluded {
					s += "!" + r.Reason
				}
				got = append(got, s)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("SelectVersions = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResolveTrain(t *testing.T) {
	own := podinfoType()
	own.Spec.ReleaseTrains = []v1alpha1.ReleaseTrain{{Name: "Fast", IncludePrerelease: true}, {Name: "LTS"}}
	tests := []struct {
		name, train string
		typ         *v1alpha1.ExtensionType
		want        string
		wantErr     string
	}{
		{name: "no train given is Stable on a type that has it", typ: podinfoType(), want: "Stable"},
		{name: "no train given is the first train of a type without Stable", typ: own, want: "Fast"},
		{name: "a train given in another case is the type's own spelling", typ: own, train: "lts", want: "LTS"},
		{name: "a train the type lacks is an error naming its trains", typ: own, train: "Stable", wantErr: `extension type example.podinfo has no release train "Stable" (its trains: Fast, LTS)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := catalog.ResolveTrain(tt.typ, tt.train)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ResolveTrain = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestTypeColumns(t *testing.T) {
	both := synced()
	both.Spec.Scopes = v1alpha1.Scopes{Default: v1alpha1.ScopeNamespace, Cluster: &v1alpha1.ClusterScopeOptions{}, Namespace: &v1alpha1.NamespaceScopeOptions{}}
	both.Spec.UpgradePolicy = v1alpha1.UpgradePolicyMinor
	prerelease := podinfoType()
	prerelease.Spec.ReleaseTrains = []v1alpha1.ReleaseTrain{{Name: "Fast", IncludePrerelease: true}}
	prerelease.Status.Versions = catalog.Versions(prerelease, []chartsource.ChartVersion{{Version: "1.0.0"}, {Version: "1.1.0-rc.1", Prerelease: true}})
	tests := []struct {
		name           string
		typ            *v1alpha1.ExtensionType
		scopes, latest string
		policy         v1alpha1.UpgradePolicy
	}{
		{name: "a type without scopes, policy or versions shows none, KubernetesMinor and no latest", typ: podinfoType(), policy: v1alpha1.UpgradePolicyKubernetesMinor},
		{name: "the default scope comes first and latest ignores the cluster", typ: both, scopes: "namespace,cluster", latest: "2.0.0", policy: v1alpha1.UpgradePolicyMinor},
		{name: "latest is taken from the first train, prereleases included when it includes them", typ: prerelease, latest: "1.1.0-rc.1", policy: v1alpha1.UpgradePolicyKubernetesMinor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var scopes []string
			for _, s := range catalog.ScopeNames(tt.typ) {
				scopes = append(scopes, string(s))
			}
			if got := strings.Join(scopes, ","); got != tt.scopes {
				t.Errorf("ScopeNames = %s, want %s", got, tt.scopes)
			}
			if got := catalog.Latest(tt.typ); got != tt.latest {
				t.Errorf("Latest = %s, want %s", got, tt.latest)
			}
			if got := catalog.UpgradePolicy(tt.typ); got != tt.policy {
				t.Errorf("UpgradePolicy = %s, want %s", got, tt.policy)
			}
		})
	}
}
