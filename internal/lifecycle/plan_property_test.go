package lifecycle_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/Masterminds/semver/v3"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// TestPlannerAgreesWithTheJudge checks, over generated catalogs and clusters, the
// property the planner exists for. For an auto-upgrading extension installed at a
// valid version C, let
//
//	A = { v in its type's catalog : v is strict semver, v > C, major(v) = major(C),
//	      and the policies allow the status write that names v as status.targetVersion }
//
// where "the policies allow" is the engine's verdict on that write, built here as the
// webhook receives it (an UPDATE of extensions/status from the stored extension). Then
// the plan is "upgrade to max(A)" when A is not empty, and "up-to-date at C" when it is.
// So the planner never proposes a version the judge refuses (its target is in A), and
// never skips one the judge allows that is newer than its proposal within the major
// (nothing in A is above it). A pinned extension is never planned.
//
// The generator varies what the policies and the planner read: catalogs with releases
// and prereleases, entries listing trains and entries listing none, kubeVersion
// constraints (some unparsable), the default or custom trains, both upgrade policies,
// the cluster's minor (before, equal to or after the adopted one, or none adopted),
// prerelease clusters, the upgrade-exception annotation, and configurations setting
// EXT-UPGRADE-001 to warn or a version constraint.
func TestPlannerAgreesWithTheJudge(t *testing.T) {
	cases := 3000
	if testing.Short() {
		cases = 1000
	}
	configs := []policy.Config{
		{},
		{Enforcement: map[string]policy.Mode{"EXT-UPGRADE-001": policy.ModeWarn}},
		{VersionConstraints: map[string]policy.VersionConstraint{"example.gen": {Constraint: "<1.3.0 || >=2.0.0-0"}}},
	}
	// Two workers, each with engines of its own: every case loads its type into the
	// judge's inventory.
	const workers = 2
	var judges [workers][]*policy.Engine
	for w := range workers {
		for _, cfg := range configs {
			judges[w] = append(judges[w], planEngine(t, cfg, nil))
		}
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	stats := map[string]int{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < cases; i += workers {
				rng := rand.New(rand.NewPCG(20261129, uint64(i)))
				c := genCatalog(rng)
				judge := judges[w][rng.IntN(len(configs))]
				action, msg := checkPlanAgainstJudge(judge, c)
				mu.Lock()
				stats[action]++
				if msg != "" && len(failures) < 5 {
					failures = append(failures, fmt.Sprintf("case %d: %s\n%s", i, msg, c))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	// The generator must reach every outcome, or the property was checked on too
	// narrow a sample.
	for _, a := range []string{lifecycle.ActionUpgrade, lifecycle.ActionUpToDate, lifecycle.ActionPinned, lifecycle.ActionBlocked} {
		if stats[a] < cases/50 {
			t.Errorf("only %d of %d cases planned %q: widen the generator (%v)", stats[a], cases, a, stats)
		}
	}
	t.Logf("%d cases: %v", cases, stats)
}

// checkPlanAgainstJudge plans one generated case and compares it with the judge's verdicts; it
// returns the plan's action and a description of any disagreement.
func checkPlanAgainstJudge(judge *policy.Engine, c genCase) (string, string) {
	ctx := context.Background()
	if err := judge.ReplaceInventory(nil, []v1alpha1.ExtensionType{*c.typ}); err != nil {
		return "", "loading the type: " + err.Error()
	}
	p, err := lifecycle.PlanUpgrade(ctx, judge, c.typ, planInput(c.ext, c.cluster))
	if err != nil {
		return "", "PlanUpgrade: " + err.Error()
	}
	if !ptr.Deref(c.ext.Spec.AutoUpgradeMinorVersion, true) {
		if p.Action != lifecycle.ActionPinned || p.Target != c.ext.Status.CurrentVersion {
			return p.Action, fmt.Sprintf("a pinned extension was planned: %+v", p)
		}
		return p.Action, ""
	}
	cur, err := semver.StrictNewVersion(c.ext.Status.CurrentVersion)
	if err != nil {
		if p.Action != lifecycle.ActionBlocked {
			return p.Action, fmt.Sprintf("no valid installed version, yet planned: %+v", p)
		}
		return p.Action, ""
	}

	var best *semver.Version
	allowed := map[string]bool{}
	for _, tv := range c.typ.Status.Versions {
		v, err := semver.StrictNewVersion(tv.Version)
		if err != nil || !v.GreaterThan(cur) || v.Major() != cur.Major() {
			continue
		}
		ok, err := judgeAllows(ctx, judge, c, tv.Version)
		if err != nil {
			return p.Action, err.Error()
		}
		if ok {
			allowed[tv.Version] = true
			if best == nil || v.GreaterThan(best) {
				best = v
			}
		}
	}

	switch {
	case best == nil && (p.Action != lifecycle.ActionUpToDate || p.Target != cur.Original()):
		return p.Action, fmt.Sprintf("the judge allows nothing newer in major %d, yet the plan is %+v", cur.Major(), p)
	case best != nil && (p.Action != lifecycle.ActionUpgrade || p.Target != best.Original()):
		return p.Action, fmt.Sprintf("the judge allows %s (newest of %v), yet the plan is %+v", best.Original(), sortedVersions(allowed), p)
	}
	if p.Action == lifecycle.ActionUpgrade {
		// The proposal itself, judged once more through the same path.
		if ok, err := judgeAllows(ctx, judge, c, p.Target); err != nil || !ok {
			return p.Action, fmt.Sprintf("the judge refuses the proposed %s (%v)", p.Target, err)
		}
	}
	return p.Action, ""
}

// allows reports whether the policies allow the status write naming version as
// status.targetVersion, built as the webhook receives it.
func judgeAllows(ctx context.Context, judge *policy.Engine, c genCase, version string) (bool, error) {
	moved := c.ext.DeepCopy()
	moved.Status.TargetVersion = version
	d, err := judge.Evaluate(ctx, policy.Input{
		Request: policy.Request{
			Operation: policy.OperationUpdate, SubResource: policy.SubResourceStatus,
			UserInfo: policy.UserInfo{Username: "alice@laptop/42"}, Object: moved, OldObject: c.ext,
		},
		Cluster: c.cluster,
	})
	if err != nil {
		return false, fmt.Errorf("judging %s: %w", version, err)
	}
	return d.Allowed(), nil
}

func sortedVersions(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }

type genCase struct {
	typ     *v1alpha1.ExtensionType
	ext     *v1alpha1.Extension
	cluster policy.ClusterInfo
}

func (c genCase) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  type: policy %q, trains %+v\n", c.typ.Spec.UpgradePolicy, c.typ.Spec.ReleaseTrains)
	for _, v := range c.typ.Status.Versions {
		fmt.Fprintf(&b, "    %s kube %q trains %v\n", v.Version, v.KubeVersion, v.ReleaseTrains)
	}
	fmt.Fprintf(&b, "  extension: at %q adopted %q, train %q, auto %v, annotations %v\n",
		c.ext.Status.CurrentVersion, c.ext.Status.KubernetesVersion, c.ext.Spec.ReleaseTrain,
		ptr.Deref(c.ext.Spec.AutoUpgradeMinorVersion, true), c.ext.Annotations)
	fmt.Fprintf(&b, "  cluster: %+v", c.cluster)
	return b.String()
}

func genPick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

// generate draws one catalog, cluster and extension. The ranges are small on purpose
// (majors 1-2, minors 0-4, Kubernetes 1.34-1.38) so that versions collide, minors are
// crossed and constraints bite often.
func genCatalog(rng *rand.Rand) genCase {
	typ := planType(genPick(rng, v1alpha1.UpgradePolicyKubernetesMinor, v1alpha1.UpgradePolicyMinor, ""))
	typ.Name = "example.gen"
	switch rng.IntN(3) {
	case 0:
		typ.Spec.ReleaseTrains = nil // the defaults
	case 1:
		typ.Spec.ReleaseTrains = []v1alpha1.ReleaseTrain{
			{Name: "Stable"}, {Name: "Fast", IncludePrerelease: rng.IntN(2) == 0}, {Name: "Nightly", IncludePrerelease: true},
		}
	}
	trains := typ.Trains()

	typ.Status.Versions = nil
	for range 2 + rng.IntN(7) {
		v := fmt.Sprintf("%d.%d.%d", 1+rng.IntN(2), rng.IntN(5), rng.IntN(4))
		if rng.IntN(4) == 0 {
			v += genPick(rng, "-rc.1", "-alpha.2", "-beta.1")
		}
		tv := v1alpha1.TypeVersion{Version: v}
		switch rng.IntN(6) {
		case 0:
		case 1:
			tv.KubeVersion = fmt.Sprintf(">=1.%d.0-0", 34+rng.IntN(5))
		case 2:
			tv.KubeVersion = fmt.Sprintf("<1.%d.0-0", 35+rng.IntN(4))
		case 3:
			tv.KubeVersion = fmt.Sprintf(">=1.30.0 <1.%d.0", 35+rng.IntN(4)) // excludes prerelease clusters
		case 4:
			tv.KubeVersion = "not a constraint"
		default:
			tv.KubeVersion = ">=1.25.0-0"
		}
		if rng.IntN(3) > 0 { // listed trains, otherwise none: the train rule decides
			for _, tr := range trains {
				if rng.IntN(2) == 0 {
					tv.ReleaseTrains = append(tv.ReleaseTrains, tr.Name)
				}
			}
			if len(tv.ReleaseTrains) == 0 {
				tv.ReleaseTrains = []string{"Retired"}
			}
		}
		typ.Status.Versions = append(typ.Status.Versions, tv)
	}

	minor := 34 + rng.IntN(5)
	cl := policy.ClusterInfo{KubernetesVersion: fmt.Sprintf("1.%d.%d", minor, rng.IntN(3)), Minor: fmt.Sprintf("1.%d", minor)}
	if rng.IntN(6) == 0 {
		cl.KubernetesVersion, cl.Prerelease = fmt.Sprintf("1.%d.0-%s", minor, genPick(rng, "alpha.1", "rc.0")), true
	}

	current := typ.Status.Versions[rng.IntN(len(typ.Status.Versions))].Version
	switch rng.IntN(10) {
	case 0:
		current = fmt.Sprintf("%d.%d.%d", 1+rng.IntN(2), rng.IntN(5), rng.IntN(4)) // not in the catalog
	case 1:
		current = "" // never installed
	}
	adopted := ""
	if rng.IntN(5) > 0 {
		adopted = fmt.Sprintf("1.%d", minor+genPick(rng, -1, 0, 0, 1))
	}
	ext := planExt(current, adopted, func(e *v1alpha1.Extension) {
		e.Spec.ExtensionType = typ.Name
		e.Spec.ReleaseTrain = genPick(rng, trains...).Name
		if rng.IntN(2) == 0 {
			e.Spec.ReleaseTrain = strings.ToLower(e.Spec.ReleaseTrain)
		}
		if rng.IntN(10) == 0 {
			e.Annotations = map[string]string{v1alpha1.AnnotationUpgradeException: "CVE"}
		}
		if rng.IntN(12) == 0 {
			e.Spec.AutoUpgradeMinorVersion, e.Spec.Version = ptr.To(false), current
		}
	})
	return genCase{typ: typ, ext: ext, cluster: cl}
}
