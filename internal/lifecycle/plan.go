package lifecycle

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// The actions of an upgrade plan.
const (
	ActionUpgrade  = "upgrade"
	ActionUpToDate = "up-to-date"
	ActionPinned   = "pinned"
	ActionBlocked  = "blocked"
	ActionFailed   = "failed"
	ActionUpgraded = "upgraded"
)

// Plan is what `kubectl ext upgrade` intends for one extension.
type Plan struct {
	Name    string `json:"name"`
	Current string `json:"current"`
	Target  string `json:"target"`
	Action  string `json:"action"`
	Reason  string `json:"reason"`
}

// PlanUpgrade picks the newest version an auto-upgrading extension may move to: offered
// by its train, runnable on the cluster (chart kubeVersion), never a new major, and
// within its type's upgrade policy. KubernetesMinor allows only patches while the
// cluster stays on the Kubernetes minor the installed major.minor was adopted at, and
// the newest minor once the cluster moved past it; Minor allows the newest minor at
// once. It is pure; the policies still judge the move (Manager.Upgrade).
func PlanUpgrade(e *v1alpha1.Extension, t *v1alpha1.ExtensionType, cluster policy.ClusterInfo) Plan {
	p := Plan{Name: e.Name, Current: e.Status.CurrentVersion, Target: e.Status.CurrentVersion}
	if !ptr.Deref(e.Spec.AutoUpgradeMinorVersion, true) {
		p.Action, p.Reason = ActionPinned, "auto-upgrade is off (pinned to "+e.Spec.Version+")"
		return p
	}
	cur, err := semver.StrictNewVersion(e.Status.CurrentVersion)
	if err != nil {
		p.Action, p.Reason = ActionBlocked, fmt.Sprintf("no installed version to upgrade from (state %s)", orNone(string(e.Status.ProvisioningState)))
		return p
	}
	movedOn := clusterMovedOn(cluster.Minor, e.Status.KubernetesVersion)
	minorAllowed := t.Spec.UpgradePolicy == v1alpha1.UpgradePolicyMinor || movedOn
	var best *semver.Version
	for _, tv := range catalog.Candidates(t, e.Spec.ReleaseTrain, cluster.KubernetesVersion) {
		v, err := semver.StrictNewVersion(tv.Version)
		if err != nil || !v.GreaterThan(cur) || v.Major() != cur.Major() {
			continue
		}
		if !minorAllowed && v.Minor() != cur.Minor() {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best = v
		}
	}
	if best == nil {
		p.Action, p.Reason = ActionUpToDate, upToDateReason(e, t, cur, minorAllowed, cluster)
		return p
	}
	p.Target, p.Action = best.Original(), ActionUpgrade
	switch {
	case best.Minor() == cur.Minor():
		p.Reason = "newest patch of " + fmt.Sprintf("%d.%d", cur.Major(), cur.Minor()) + " on the " + e.Spec.ReleaseTrain + " train"
	case t.Spec.UpgradePolicy == v1alpha1.UpgradePolicyMinor:
		p.Reason = "newest minor (upgrade policy Minor)"
	default:
		p.Reason = fmt.Sprintf("newest minor: the cluster moved from Kubernetes %s to %s", e.Status.KubernetesVersion, cluster.Minor)
	}
	return p
}

func upToDateReason(e *v1alpha1.Extension, t *v1alpha1.ExtensionType, cur *semver.Version, minorAllowed bool, cluster policy.ClusterInfo) string {
	var newer []string
	for _, tv := range t.Status.Versions {
		v, err := semver.StrictNewVersion(tv.Version)
		if err != nil || !v.GreaterThan(cur) || !catalog.Offered(tv, e.Spec.ReleaseTrain) {
			continue
		}
		switch {
		case v.Major() != cur.Major():
			newer = append(newer, tv.Version+" (a new major: update by hand)")
		case tv.KubeVersion != "" && !catalog.KubeCompatible(tv.KubeVersion, cluster.KubernetesVersion):
			newer = append(newer, tv.Version+" (needs Kubernetes "+tv.KubeVersion+")")
		case !minorAllowed:
			newer = append(newer, tv.Version+" (a new minor waits for the cluster to move past Kubernetes "+e.Status.KubernetesVersion+")")
		}
	}
	if len(newer) == 0 {
		return "newest version on the " + e.Spec.ReleaseTrain + " train"
	}
	return "held back: " + strings.Join(newer, ", ")
}

// clusterMovedOn reports whether the cluster's minor is past the adopted one.
func clusterMovedOn(clusterMinor, adopted string) bool {
	if adopted == "" {
		return true
	}
	c, err1 := semver.NewVersion(clusterMinor)
	a, err2 := semver.NewVersion(adopted)
	if err1 != nil || err2 != nil {
		return false
	}
	return c.GreaterThan(a)
}
