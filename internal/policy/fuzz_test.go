package policy

import (
	"context"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// FuzzEvaluate feeds the engine writes built from arbitrary strings: names, versions,
// Kubernetes versions, chart kubeVersions, trains and annotations. Whatever they
// hold, Evaluate returns a decision (never an error, a panic or a hang) whose
// findings all carry an id and a message.
//
// The seed corpus is testdata/fuzz/FuzzEvaluate; run more with
// go test ./internal/policy -run '^$' -fuzz FuzzEvaluate -fuzztime 1m
func FuzzEvaluate(f *testing.F) {
	f.Add("podinfo", "1.5.0", "1.4.1", "", "1.36", "v1.36.2", "", ">=1.30.0-0", "Stable", "", false)
	f.Add("podinfo", "", "1.4.2", "2.0.0", "1.36", "v1.37.0-alpha.1+abc", "36", ">=1.37.0-0", "Preview", "CVE", true)
	e := newEngine(f, Options{})
	f.Fuzz(func(t *testing.T, name, specVersion, current, target, adopted, gitVersion, emuMinor, kubeVersion, train, reason string, statusWrite bool) {
		cluster, err := ClusterFromVersion(gitVersion, emulationMajor(emuMinor), emuMinor)
		if err != nil {
			cluster = ClusterInfo{KubernetesVersion: gitVersion, Minor: emuMinor, Prerelease: strings.Contains(gitVersion, "-")}
		}
		typ := podinfoType()
		typ.Status.Versions = append(typ.Status.Versions,
			v1alpha1.TypeVersion{Version: specVersion, KubeVersion: kubeVersion, ReleaseTrains: []string{train}},
			v1alpha1.TypeVersion{Version: target, KubeVersion: kubeVersion})
		typ.Spec.ReleaseTrains = append(typ.Spec.ReleaseTrains, v1alpha1.ReleaseTrain{Name: train})

		old := newExtension(named(name), version(current), installedAt(current), func(x *v1alpha1.Extension) {
			x.Status.KubernetesVersion = adopted
		})
		obj := old.DeepCopy()
		obj.Spec.ReleaseTrain = train
		obj.Annotations = map[string]string{v1alpha1.AnnotationUpgradeException: reason, v1alpha1.AnnotationAllowDowngrade: reason}
		var in scenario
		if statusWrite {
			obj.Status.TargetVersion = target
			in = statusInput(old, obj)
		} else {
			obj.Spec.Version = specVersion
			in = updateInput(old, obj)
		}
		in.Cluster = cluster
		in.ExtensionType = typ
		in.Extensions = []v1alpha1.Extension{*newExtension(named(reason), releaseNamespace(name))}

		d, err := evaluate(e, context.Background(), in)
		if err != nil {
			t.Fatalf("Evaluate: %v", err)
		}
		for _, r := range append(append(d.Deny, d.Warn...), d.DryRun...) {
			if r.ID == "" || r.Msg == "" {
				t.Fatalf("finding without id or message: %+v", r)
			}
		}

		// A create of the same object is judged too.
		if _, err := evaluate(e, context.Background(), createInput(obj)); err != nil {
			t.Fatalf("Evaluate create: %v", err)
		}
	})
}

func emulationMajor(minor string) string {
	if minor == "" {
		return ""
	}
	return "1"
}

// FuzzClusterFromVersion checks that any /version the API server might report gives
// an error or a semver the policies can compare.
func FuzzClusterFromVersion(f *testing.F) {
	f.Add("v1.37.1", "", "")
	f.Add("v1.37.0-alpha.1+abc", "1", "36")
	f.Fuzz(func(t *testing.T, gitVersion, major, minor string) {
		info, err := ClusterFromVersion(gitVersion, major, minor)
		if err != nil {
			return
		}
		v, err := semver.StrictNewVersion(info.KubernetesVersion)
		if err != nil {
			t.Fatalf("KubernetesVersion %q is not strict semver: %v", info.KubernetesVersion, err)
		}
		if !strings.HasPrefix(info.KubernetesVersion, info.Minor+".") {
			t.Fatalf("Minor %q is not the prefix of %q", info.Minor, info.KubernetesVersion)
		}
		if info.Prerelease != (v.Prerelease() != "") {
			t.Fatalf("Prerelease = %v for %q", info.Prerelease, info.KubernetesVersion)
		}
	})
}
