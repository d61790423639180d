package lifecycle

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
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

// Judge evaluates the policies on one write; *policy.Engine is one.
type Judge interface {
	Evaluate(ctx context.Context, in policy.Input) (policy.Decision, error)
}

// PlanUpgrade picks the version an auto-upgrading extension moves to: the newest
// version of its type's catalog that is newer than the installed one, of the same
// major, and that the policies allow as the write the upgrade makes, a status write
// naming it as status.targetVersion. Only those three rules are the planner's own
// (auto-upgrade only, never a new major, only newer); the train, the chart's
// kubeVersion, the upgrade policy, an exception annotation and the configured
// constraints are the policies' say: the same Rego, with the same input, that the
// admission webhook judges that write with. So the planner cannot propose what the
// webhook refuses, nor pass over a newer version it would accept.
//
// t is the extension's type (nil when it does not exist), and base the policies' input
// for the stored extension (base.Request.OldObject): the cluster and who writes; the
// judge's inventory holds t and the other extensions. The planner varies only the
// request. It does no I/O beyond the judge; an error is a failed evaluation, never a
// refusal.
func PlanUpgrade(ctx context.Context, judge Judge, t *v1alpha1.ExtensionType, base policy.Input) (Plan, error) {
	e := base.Request.OldObject
	if e == nil {
		return Plan{}, fmt.Errorf("planning an upgrade: the input has no stored extension")
	}
	p := Plan{Name: e.Name, Current: e.Status.CurrentVersion, Target: e.Status.CurrentVersion}
	if !ptr.Deref(e.Spec.AutoUpgradeMinorVersion, true) {
		p.Action, p.Reason = ActionPinned, "auto-upgrade is off (pinned to "+e.Spec.Version+")"
		return p, nil
	}
	cur, err := semver.StrictNewVersion(e.Status.CurrentVersion)
	if err != nil {
		p.Action, p.Reason = ActionBlocked, fmt.Sprintf("no installed version to upgrade from (state %s)", orNone(string(e.Status.ProvisioningState)))
		return p, nil
	}
	if t == nil {
		p.Action, p.Reason = ActionBlocked, fmt.Sprintf("extension type %q does not exist", e.Spec.ExtensionType)
		return p, nil
	}
	train := trainOf(e)
	var held []string
	for _, c := range newerVersions(t, cur, train) {
		if !c.offered {
			continue // refused by EXT-VERSION-005 in any case, and no news to the user
		}
		if c.version.Major() != cur.Major() {
			held = append(held, c.entry.Version+" (a new major: update by hand)")
			continue
		}
		d, err := judge.Evaluate(ctx, targetWrite(base, c.entry.Version))
		if err != nil {
			return p, fmt.Errorf("judging the upgrade of %s to %s: %w", e.Name, c.entry.Version, err)
		}
		if !d.Allowed() {
			held = append(held, c.entry.Version+" ("+heldBackBy(e, c.entry, d.Deny)+")")
			continue
		}
		p.Target, p.Action, p.Reason = c.entry.Version, ActionUpgrade, upgradeReason(e, t, base.Cluster, cur, c.version, d.Warn)
		return p, nil
	}
	p.Action = ActionUpToDate
	if len(held) == 0 {
		p.Reason = "newest version on the " + train + " train"
	} else {
		p.Reason = "held back: " + strings.Join(held, ", ")
	}
	return p, nil
}

// targetWrite is the write an upgrade to version makes, as the webhook sees it: an
// UPDATE through the status subresource of the stored extension naming version as
// status.targetVersion.
func targetWrite(base policy.Input, version string) policy.Input {
	moved := base.Request.OldObject.DeepCopy()
	moved.Status.TargetVersion = version
	in := base
	in.Request = policy.Request{
		Operation:   policy.OperationUpdate,
		SubResource: policy.SubResourceStatus,
		UserInfo:    base.Request.UserInfo,
		Object:      moved,
		OldObject:   base.Request.OldObject,
	}
	return in
}

type candidate struct {
	entry   v1alpha1.TypeVersion // the first entry of the version, whose kubeVersion the policies read
	version *semver.Version
	offered bool // some entry of the version is offered by the train, as the policies read it
}

// newerVersions lists the catalog's strict-semver versions newer than cur, newest
// first, each once.
func newerVersions(t *v1alpha1.ExtensionType, cur *semver.Version, train string) []candidate {
	var out []candidate
	index := map[string]int{}
	for _, tv := range t.Status.Versions {
		v, err := semver.StrictNewVersion(tv.Version)
		if err != nil || !v.GreaterThan(cur) {
			continue
		}
		i, seen := index[tv.Version]
		if !seen {
			i = len(out)
			index[tv.Version] = i
			out = append(out, candidate{entry: tv, version: v})
		}
		out[i].offered = out[i].offered || t.Offers(tv, train)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].version.GreaterThan(out[j].version) })
	return out
}

// trainOf is the extension's release train; the CRD defaults it to Stable.
func trainOf(e *v1alpha1.Extension) string {
	if e.Spec.ReleaseTrain == "" {
		return v1alpha1.ReleaseTrainStable
	}
	return e.Spec.ReleaseTrain
}

// heldBackBy says in a few words why the policies refuse a newer version. The two
// refusals an upgrade meets every day get a short phrase; any other rule (a configured
// constraint, an extra policy) is quoted as "[RULE-ID] message".
func heldBackBy(e *v1alpha1.Extension, tv v1alpha1.TypeVersion, deny []policy.Result) string {
	var why []string
	for _, r := range deny {
		switch r.ID {
		case "EXT-UPGRADE-003":
			why = append(why, "needs Kubernetes "+tv.KubeVersion)
		case "EXT-UPGRADE-001":
			why = append(why, "a new minor waits for the cluster to move past Kubernetes "+e.Status.KubernetesVersion)
		default:
			why = append(why, r.String())
		}
	}
	return strings.Join(why, "; ")
}

// upgradeReason says why the chosen version is the one.
func upgradeReason(e *v1alpha1.Extension, t *v1alpha1.ExtensionType, cluster policy.ClusterInfo, cur, target *semver.Version, warn []policy.Result) string {
	switch {
	case target.Minor() == cur.Minor():
		return fmt.Sprintf("newest patch of %d.%d on the %s train", cur.Major(), cur.Minor(), trainOf(e))
	case t.Spec.UpgradePolicy == v1alpha1.UpgradePolicyMinor:
		return "newest minor (upgrade policy Minor)"
	case e.Status.KubernetesVersion != "" && clusterMovedOn(cluster.Minor, e.Status.KubernetesVersion):
		return fmt.Sprintf("newest minor: the cluster moved from Kubernetes %s to %s", e.Status.KubernetesVersion, cluster.Minor)
	case len(warn) > 0:
		// Allowed within the Kubernetes minor: a prerelease, an exception annotation, or
		// a rule set to warn. The policies' warnings say which.
		return "newest minor the policies allow: " + strings.Join(policy.Lines(warn), "; ")
	default:
		return "newest minor the policies allow"
	}
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
