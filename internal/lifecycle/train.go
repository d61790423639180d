package lifecycle

import (
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
)

// pinnedTrain is the release train to record for spec when the request names none.
// An auto-upgrading extension keeps spec's train. A pinned one takes no versions from
// a train, and az refuses --release-train with a pinned version; but the policies
// require a pinned version to be offered by the recorded train (EXT-VERSION-005), so
// a version spec's train does not offer (a prerelease, pinned on the Stable train) is
// recorded on the first of the type's trains that offers it. A version the catalog
// does not list keeps spec's train: the policies then say that it is not in the
// catalog.
func pinnedTrain(t *v1alpha1.ExtensionType, spec v1alpha1.ExtensionSpec) string {
	if ptr.Deref(spec.AutoUpgradeMinorVersion, true) || spec.Version == "" {
		return spec.ReleaseTrain
	}
	v, ok := catalog.Lookup(t, spec.Version)
	if !ok || t.Offers(v, spec.ReleaseTrain) {
		return spec.ReleaseTrain
	}
	if trains := t.OfferingTrains(v); len(trains) > 0 {
		return trains[0]
	}
	return spec.ReleaseTrain
}

// withTrain returns spec on train.
func withTrain(spec v1alpha1.ExtensionSpec, train string) v1alpha1.ExtensionSpec {
	spec.ReleaseTrain = train
	return spec
}
