package lifecycle_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// planEngine is an engine of the test's own with configuration cfg, whose inventory
// holds typ (when not nil): the planner's judge. The policies are compiled once per
// process; each engine only prepares its queries.
func planEngine(t testing.TB, cfg policy.Config, typ *v1alpha1.ExtensionType) *policy.Engine {
	t.Helper()
	e, err := policy.New(context.Background(), policy.Options{Config: cfg})
	if err != nil {
		t.Fatalf("policy.New: %v", err)
	}
	loadType(t, e, typ)
	return e
}

// loadType makes typ (nil: no type) the whole inventory of e.
func loadType(t testing.TB, e *policy.Engine, typ *v1alpha1.ExtensionType) {
	t.Helper()
	var types []v1alpha1.ExtensionType
	if typ != nil {
		types = append(types, *typ)
	}
	if err := e.ReplaceInventory(nil, types); err != nil {
		t.Fatal(err)
	}
}

// planType is a catalog like the e2e tests' podinfo: patches, a minor, a prerelease
// minor, a minor whose chart excludes the cluster, and a new major.
func planType(policyName v1alpha1.UpgradePolicy) *v1alpha1.ExtensionType {
	both := []string{"Stable", "Preview"}
	return &v1alpha1.ExtensionType{
		ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo"},
		Spec: v1alpha1.ExtensionTypeSpec{
			Chart:         v1alpha1.ChartSource{Repository: "https://charts.example.org", Name: "podinfo"},
			Scopes:        v1alpha1.Scopes{Default: v1alpha1.ScopeCluster, Cluster: &v1alpha1.ClusterScopeOptions{}},
			ReleaseTrains: v1alpha1.DefaultReleaseTrains(),
			UpgradePolicy: policyName,
		},
		Status: v1alpha1.ExtensionTypeStatus{Versions: []v1alpha1.TypeVersion{
			{Version: "2.0.0", ReleaseTrains: both},
			{Version: "1.6.0", KubeVersion: ">=1.99.0-0", ReleaseTrains: both},
			{Version: "1.5.0", KubeVersion: ">=1.25.0-0", ReleaseTrains: both},
			{Version: "1.5.0-rc.1", KubeVersion: ">=1.25.0-0", ReleaseTrains: []string{"Preview"}},
			{Version: "1.4.1", KubeVersion: ">=1.25.0-0", ReleaseTrains: both},
			{Version: "1.4.0", KubeVersion: ">=1.25.0-0", ReleaseTrains: both},
		}},
	}
}

// planExt is an auto-upgrading extension installed at version, adopted at Kubernetes
// adopted.
func planExt(version, adopted string, opts ...func(*v1alpha1.Extension)) *v1alpha1.Extension {
	e := &v1alpha1.Extension{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo"},
		Spec: v1alpha1.ExtensionSpec{
			ExtensionType:           "example.podinfo",
			Scope:                   v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "podinfo"}},
			AutoUpgradeMinorVersion: ptr.To(true),
			ReleaseTrain:            "Stable",
		},
		Status: v1alpha1.ExtensionStatus{
			ProvisioningState: v1alpha1.ProvisioningSucceeded,
			Scope:             v1alpha1.ScopeCluster,
			CurrentVersion:    version,
			KubernetesVersion: adopted,
			Release:           v1alpha1.ReleaseRef{Name: "podinfo", Namespace: "podinfo", Revision: 1},
		},
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

func planCluster(minor string, prerelease bool) policy.ClusterInfo {
	c := policy.ClusterInfo{KubernetesVersion: minor + ".2", Minor: minor}
	if prerelease {
		c.KubernetesVersion, c.Prerelease = minor+".0-rc.1", true
	}
	return c
}

// planInput is what Manager.Upgrade hands the planner: the policies' input for the
// stored extension.
func planInput(e *v1alpha1.Extension, c policy.ClusterInfo) policy.Input {
	return policy.Input{
		Request: policy.Request{
			Operation: policy.OperationUpdate, SubResource: policy.SubResourceStatus,
			UserInfo: policy.UserInfo{Username: "alice@laptop/42"}, Object: e, OldObject: e,
		},
		Cluster: c,
	}
}

func TestPlanUpgrade(t *testing.T) {
	tests := []struct {
		name       string
		ext        *v1alpha1.Extension
		typ        *v1alpha1.ExtensionType
		cluster    policy.ClusterInfo
		config     string // a key of configs
		action     string
		target     string
		reasonHas  []string
		reasonLack []string
	}{
		{
			name: "within the adopted Kubernetes minor the newest patch is taken", ext: planExt("1.4.0", "1.36"),
			typ: planType(v1alpha1.UpgradePolicyKubernetesMinor), cluster: planCluster("1.36", false),
			action: lifecycle.ActionUpgrade, target: "1.4.1", reasonHas: []string{"newest patch of 1.4 on the Stable train"},
		},
		{
			name: "once the cluster moved past the adopted minor the newest minor is taken, never the new major nor a chart excluding the cluster",
			ext:  planExt("1.4.0", "1.36"), typ: planType(v1alpha1.UpgradePolicyKubernetesMinor), cluster: planCluster("1.37", false),
			action: lifecycle.ActionUpgrade, target: "1.5.0", reasonHas: []string{"the cluster moved from Kubernetes 1.36 to 1.37"},
		},
		{
			name: "upgrade policy Minor takes the newest minor at once",
			ext:  planExt("1.4.0", "1.36"), typ: planType(v1alpha1.UpgradePolicyMinor), cluster: planCluster("1.36", false),
			action: lifecycle.ActionUpgrade, target: "1.5.0", reasonHas: []string{"newest minor (upgrade policy Minor)"},
		},
		{
			name: "up to date within the minor, the held-back versions say why",
			ext:  planExt("1.4.1", "1.36"), typ: planType(v1alpha1.UpgradePolicyKubernetesMinor), cluster: planCluster("1.36", false),
			action: lifecycle.ActionUpToDate, target: "1.4.1",
			reasonHas: []string{
				"held back: 2.0.0 (a new major: update by hand)",
				"1.6.0 (a new minor waits for the cluster to move past Kubernetes 1.36; needs Kubernetes >=1.99.0-0)",
				"1.5.0 (a new minor waits for the cluster to move past Kubernetes 1.36)",
			},
			reasonLack: []string{"1.5.0-rc.1"},
		},
		{
			name: "a version the Stable train does not offer is neither taken nor mentioned",
			ext:  planExt("1.5.0", "1.37"), typ: planType(v1alpha1.UpgradePolicyKubernetesMinor), cluster: planCluster("1.37", false),
			action: lifecycle.ActionUpToDate, target: "1.5.0", reasonLack: []string{"rc"},
		},
		{
			name: "on Preview a prerelease minor is allowed within the Kubernetes minor, and the reason quotes the warning",
			ext:  planExt("1.4.1", "1.36", func(e *v1alpha1.Extension) { e.Spec.ReleaseTrain = "preview" }),
			typ:  planType(v1alpha1.UpgradePolicyKubernetesMinor), cluster: planCluster("1.36", false),
			action: lifecycle.ActionUpgrade, target: "1.5.0-rc.1", reasonHas: []string{"newest minor the policies allow: [EXT-WARN-003]"},
		},
		{
			name: "the upgrade-exception annotation lets the newest minor through",
			ext: planExt("1.4.1", "1.36", func(e *v1alpha1.Extension) {
				e.Annotations = map[string]string{v1alpha1.AnnotationUpgradeException: "CVE-2026-1234"}
			}),
			typ: planType(v1alpha1.UpgradePolicyKubernetesMinor), cluster: planCluster("1.36", false),
			action: lifecycle.ActionUpgrade, target: "1.5.0", reasonHas: []string{"[EXT-WARN-001]"},
		},
		{
			name: "a configured version constraint holds back what it excludes, quoting the rule",
			ext:  planExt("1.4.0", "1.36"), typ: planType(v1alpha1.UpgradePolicyMinor), cluster: planCluster("1.36", false), config: "constraint",
			action: lifecycle.ActionUpgrade, target: "1.4.1",
		},
		{
			name: "a configured version constraint is quoted when it leaves nothing newer",
			ext:  planExt("1.4.1", "1.36"), typ: planType(v1alpha1.UpgradePolicyMinor), cluster: planCluster("1.36", false), config: "constraint",
			action: lifecycle.ActionUpToDate, target: "1.4.1", reasonHas: []string{"1.5.0 ([EXT-VERSION-007] version 1.5.0 of extension type"},
		},
		{
			name: "an entry listing no train is offered as sync would list it",
			ext:  planExt("1.4.0", "1.36"), cluster: planCluster("1.36", false),
			typ: func() *v1alpha1.ExtensionType {
				t := planType(v1alpha1.UpgradePolicyKubernetesMinor)
				t.Status.Versions = append(t.Status.Versions, v1alpha1.TypeVersion{Version: "1.4.3"})
				return t
			}(),
			action: lifecycle.ActionUpgrade, target: "1.4.3",
		},
		{
			name: "a pinned extension is reported, not planned", ext: planExt("1.4.0", "1.36", func(e *v1alpha1.Extension) {
				e.Spec.AutoUpgradeMinorVersion, e.Spec.Version = ptr.To(false), "1.4.0"
			}),
			typ: planType(v1alpha1.UpgradePolicyMinor), cluster: planCluster("1.36", false),
			action: lifecycle.ActionPinned, target: "1.4.0", reasonHas: []string{"pinned to 1.4.0"},
		},
		{
			name: "an extension never installed has nothing to upgrade from",
			ext:  planExt("", "", func(e *v1alpha1.Extension) { e.Status.ProvisioningState = v1alpha1.ProvisioningFailed }),
			typ:  planType(v1alpha1.UpgradePolicyMinor), cluster: planCluster("1.36", false),
			action: lifecycle.ActionBlocked, target: "", reasonHas: []string{"no installed version to upgrade from (state Failed)"},
		},
		{
			name: "an extension whose type is gone is blocked", ext: planExt("1.4.0", "1.36"), cluster: planCluster("1.36", false),
			action: lifecycle.ActionBlocked, target: "1.4.0", reasonHas: []string{`extension type "example.podinfo" does not exist`},
		},
	}
	configs := map[string]policy.Config{
		"":           {},
		"constraint": {VersionConstraints: map[string]policy.VersionConstraint{"example.podinfo": {Constraint: "~1.4"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			judge := planEngine(t, configs[tt.config], tt.typ)
			p, err := lifecycle.PlanUpgrade(context.Background(), judge, tt.typ, planInput(tt.ext, tt.cluster))
			if err != nil {
				t.Fatal(err)
			}
			if p.Action != tt.action || p.Target != tt.target || p.Name != "podinfo" || p.Current != tt.ext.Status.CurrentVersion {
				t.Errorf("plan = %+v, want %s to %q", p, tt.action, tt.target)
			}
			for _, s := range tt.reasonHas {
				if !strings.Contains(p.Reason, s) {
					t.Errorf("reason %q lacks %q", p.Reason, s)
				}
			}
			for _, s := range tt.reasonLack {
				if strings.Contains(p.Reason, s) {
					t.Errorf("reason %q mentions %q", p.Reason, s)
				}
			}
		})
	}
}

// failingPlanJudge fails every evaluation, as an engine past its deadline does.
type failingPlanJudge struct{}

func (failingPlanJudge) Evaluate(context.Context, policy.Input) (policy.Decision, error) {
	return policy.Decision{}, errors.New("evaluate policies: context deadline exceeded")
}

func TestPlanUpgradeReportsAFailedEvaluation(t *testing.T) {
	in := planInput(planExt("1.4.0", "1.36"), planCluster("1.36", false))
	_, err := lifecycle.PlanUpgrade(context.Background(), failingPlanJudge{}, planType(v1alpha1.UpgradePolicyMinor), in)
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") || !strings.Contains(err.Error(), "podinfo") {
		t.Fatalf("PlanUpgrade: %v, want the failed evaluation naming the extension", err)
	}
	if _, err := lifecycle.PlanUpgrade(context.Background(), failingPlanJudge{}, nil, policy.Input{}); err == nil {
		t.Error("PlanUpgrade planned an input without a stored extension")
	}
}
