// Package catalog is the one place that knows extension types: it reads a type (or
// says which ones exist), syncs its versions from the chart source into
// status.versions, and answers which versions a release train offers and which of them
// a cluster can run. The plugin's commands, lifecycle and the extension manager all go
// through it, so a type is found, synced and filtered one way.
//
// catalog.go holds the train rule, select.go the version listings built on it, and
// store.go the reads and writes against the cluster.
package catalog

import (
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
)

// Trains returns the type's release trains, or the defaults when it names none.
func Trains(t *v1alpha1.ExtensionType) []v1alpha1.ReleaseTrain { return t.Trains() }

// Train finds a train by name, case-insensitively (az users type "stable").
func Train(t *v1alpha1.ExtensionType, name string) (v1alpha1.ReleaseTrain, bool) {
	for _, tr := range Trains(t) {
		if strings.EqualFold(tr.Name, name) {
			return tr, true
		}
	}
	return v1alpha1.ReleaseTrain{}, false
}

// TrainNames lists the type's train names.
func TrainNames(t *v1alpha1.ExtensionType) []string {
	var out []string
	for _, tr := range Trains(t) {
		out = append(out, tr.Name)
	}
	return out
}

// Versions turns a chart source's versions into status.versions entries, each with
// the trains that offer it: every train offers releases, trains that include
// prereleases offer those too.
func Versions(t *v1alpha1.ExtensionType, cvs []chartsource.ChartVersion) []v1alpha1.TypeVersion {
	out := make([]v1alpha1.TypeVersion, 0, len(cvs))
	for _, cv := range cvs {
		tv := v1alpha1.TypeVersion{Version: cv.Version, KubeVersion: cv.KubeVersion, AppVersion: cv.AppVersion}
		// Sync lists exactly what the train rule reads into an entry that lists none.
		tv.ReleaseTrains = t.OfferingTrains(tv)
		out = append(out, tv)
	}
	return out
}

// Lookup finds a version in the catalog.
func Lookup(t *v1alpha1.ExtensionType, version string) (v1alpha1.TypeVersion, bool) {
	for _, tv := range t.Status.Versions {
		if tv.Version == version {
			return tv, true
		}
	}
	return v1alpha1.TypeVersion{}, false
}

// Exclusion says why a version is not a candidate; "" means it is one.
func Exclusion(t *v1alpha1.ExtensionType, tv v1alpha1.TypeVersion, train, kubeVersion string) string {
	if !t.Offers(tv, train) {
		return fmt.Sprintf("not on the %s train", train)
	}
	if tv.KubeVersion != "" && kubeVersion != "" && !KubeCompatible(tv.KubeVersion, kubeVersion) {
		return fmt.Sprintf("chart requires Kubernetes %s", tv.KubeVersion)
	}
	return ""
}

// KubeCompatible reports whether a chart's kubeVersion constraint admits the cluster's
// version, the way Helm checks it (an unparsable constraint admits nothing).
func KubeCompatible(constraint, kubeVersion string) bool {
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return false
	}
	v, err := semver.NewVersion(kubeVersion)
	if err != nil {
		return false
	}
	return c.Check(v)
}

// Candidates lists the versions the train offers and the cluster can run, newest first.
func Candidates(t *v1alpha1.ExtensionType, train, kubeVersion string) []v1alpha1.TypeVersion {
	var out []v1alpha1.TypeVersion
	for _, tv := range t.Status.Versions {
		if Exclusion(t, tv, train, kubeVersion) == "" {
			out = append(out, tv)
		}
	}
	SortNewestFirst(out)
	return out
}

// SortNewestFirst sorts by semver, newest first; unparsable versions go last.
func SortNewestFirst(vs []v1alpha1.TypeVersion) {
	sort.SliceStable(vs, func(i, j int) bool {
		a, aerr := semver.NewVersion(vs[i].Version)
		b, berr := semver.NewVersion(vs[j].Version)
		switch {
		case aerr != nil:
			return false
		case berr != nil:
			return true
		}
		return a.GreaterThan(b)
	})
}

// Names lists versions as strings.
func Names(vs []v1alpha1.TypeVersion) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Version
	}
	return out
}
