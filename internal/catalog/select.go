package catalog

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// ResolveTrain resolves a train name against the type's trains, returning the
// type's own spelling: Stable (else the type's first train) when name is "".
func ResolveTrain(t *v1alpha1.ExtensionType, name string) (string, error) {
	if name == "" {
		if tr, ok := Train(t, v1alpha1.ReleaseTrainStable); ok {
			return tr.Name, nil
		}
		return Trains(t)[0].Name, nil
	}
	if tr, ok := Train(t, name); ok {
		return tr.Name, nil
	}
	return "", fmt.Errorf("extension type %s has no release train %q (its trains: %s)", t.Name, name, strings.Join(TrainNames(t), ", "))
}

// VersionRow is one version of a type as `kubectl ext type versions` lists it.
type VersionRow struct {
	Version       string   `json:"version"`
	KubeVersion   string   `json:"kubeVersion"`
	ReleaseTrains []string `json:"releaseTrains"`
	Excluded      bool     `json:"excluded"`
	Reason        string   `json:"reason"`
}

// VersionQuery selects versions of a type.
type VersionQuery struct {
	// Train is the release train; KubeVersion the cluster's ("" skips that check).
	Train, KubeVersion string
	// Major keeps only versions of that major version; negative keeps all.
	Major int
	// Latest keeps only the newest version that is not excluded.
	Latest bool
	// All keeps the excluded versions too.
	All bool
}

// SelectVersions lists a type's versions for a query, newest first, each with the
// reason it is excluded (Exclusion), if it is.
func SelectVersions(t *v1alpha1.ExtensionType, q VersionQuery) []VersionRow {
	vs := append([]v1alpha1.TypeVersion(nil), t.Status.Versions...)
	SortNewestFirst(vs)
	rows := []VersionRow{}
	for _, tv := range vs {
		if q.Major >= 0 {
			v, err := semver.NewVersion(tv.Version)
			if err != nil || v.Major() != uint64(q.Major) {
				continue
			}
		}
		reason := Exclusion(t, tv, q.Train, q.KubeVersion)
		if reason != "" && (!q.All || q.Latest) {
			continue
		}
		rows = append(rows, VersionRow{
			Version: tv.Version, KubeVersion: tv.KubeVersion, ReleaseTrains: append([]string{}, t.OfferingTrains(tv)...),
			Excluded: reason != "", Reason: reason,
		})
		if q.Latest {
			break
		}
	}
	return rows
}

// Latest is the newest version on the type's first train, whatever the cluster; ""
// when that train offers none.
func Latest(t *v1alpha1.ExtensionType) string {
	if c := Candidates(t, Trains(t)[0].Name, ""); len(c) > 0 {
		return c[0].Version
	}
	return ""
}

// ScopeNames lists the scopes the type supports, its default first.
func ScopeNames(t *v1alpha1.ExtensionType) []v1alpha1.ScopeName {
	var out []v1alpha1.ScopeName
	if t.Spec.Scopes.Cluster != nil {
		out = append(out, v1alpha1.ScopeCluster)
	}
	if t.Spec.Scopes.Namespace != nil {
		out = append(out, v1alpha1.ScopeNamespace)
	}
	if len(out) == 2 && t.Spec.Scopes.Default == v1alpha1.ScopeNamespace {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

// UpgradePolicy is the type's upgrade policy, KubernetesMinor when it names none.
func UpgradePolicy(t *v1alpha1.ExtensionType) v1alpha1.UpgradePolicy {
	if t.Spec.UpgradePolicy == "" {
		return v1alpha1.UpgradePolicyKubernetesMinor
	}
	return t.Spec.UpgradePolicy
}
