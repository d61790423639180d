package v1alpha1

import "strings"

// The train rule: which release trains offer a version of a type's catalog. It lives
// here, once, because three readers need it and must agree: the catalog (type
// versions, candidates), the upgrade planner, and the admission policies, which are
// handed types whose trains are spelled out by ResolveTrains and so read only
// listed trains.

// DefaultReleaseTrains are the trains of a type that names none, as the CRD defaults
// them: Stable (releases only) and Preview (prereleases too).
func DefaultReleaseTrains() []ReleaseTrain {
	return []ReleaseTrain{
		{Name: ReleaseTrainStable},
		{Name: ReleaseTrainPreview, IncludePrerelease: true},
	}
}

// Trains returns the type's release trains, or DefaultReleaseTrains when it names none
// (an object built in Go rather than read through the API server's defaulting).
func (t *ExtensionType) Trains() []ReleaseTrain {
	if len(t.Spec.ReleaseTrains) > 0 {
		return t.Spec.ReleaseTrains
	}
	return DefaultReleaseTrains()
}

// OfferingTrains names the trains that offer a version of the catalog.
//
// An entry that lists its trains is offered by exactly those (`kubectl ext type sync`
// always lists them). An entry that lists none, in a catalog written by hand or by an
// older sync, is read as sync would have listed it: a release is offered by every
// train of the type, a prerelease by the trains that include prereleases. So an
// unlisted entry is neither lost (offered nowhere) nor a back door (a prerelease on a
// train that refuses prereleases).
func (t *ExtensionType) OfferingTrains(v TypeVersion) []string {
	if len(v.ReleaseTrains) > 0 {
		return v.ReleaseTrains
	}
	pre := IsPrerelease(v.Version)
	var out []string
	for _, tr := range t.Trains() {
		if !pre || tr.IncludePrerelease {
			out = append(out, tr.Name)
		}
	}
	return out
}

// Offers reports whether the named train offers the version; train names match
// case-insensitively (users type "stable").
func (t *ExtensionType) Offers(v TypeVersion, train string) bool {
	for _, n := range t.OfferingTrains(v) {
		if strings.EqualFold(n, train) {
			return true
		}
	}
	return false
}

// ResolveTrains returns the type with its trains spelled out: spec.releaseTrains set
// (Trains) and every entry of status.versions listing its OfferingTrains. A type that
// already spells them out is returned as is; otherwise the result is a copy and t is
// left untouched.
func (t *ExtensionType) ResolveTrains() *ExtensionType {
	if t == nil || t.trainsResolved() {
		return t
	}
	out := t.DeepCopy()
	out.Spec.ReleaseTrains = out.Trains()
	for i := range out.Status.Versions {
		out.Status.Versions[i].ReleaseTrains = out.OfferingTrains(out.Status.Versions[i])
	}
	return out
}

func (t *ExtensionType) trainsResolved() bool {
	if len(t.Spec.ReleaseTrains) == 0 {
		return false
	}
	for _, v := range t.Status.Versions {
		if len(v.ReleaseTrains) == 0 {
			return false
		}
	}
	return true
}

// IsPrerelease reports whether a semver version is a prerelease: its core
// MAJOR.MINOR.PATCH, before any +build metadata, is followed by a -suffix.
func IsPrerelease(version string) bool {
	core, _, _ := strings.Cut(version, "+")
	return strings.Contains(core, "-")
}
