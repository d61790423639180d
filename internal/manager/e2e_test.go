package manager_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// TestDeclaredExtensionIsInstalledAndUpgraded: an Extension written with kubectl
// apply is installed by the manager as `kubectl ext create` would install it, and
// `kubectl wait --for=condition=Ready` (the real kubectl) returns for it; a change of
// its configuration settings applied the same way upgrades the release to a new
// revision with the new value, and status records the generation it applied.
func TestDeclaredExtensionIsInstalledAndUpgraded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	typ, _ := fileType(t, podinfo(t, "1.4.0")...)
	h.startManager()
	d := h.ext(typ, map[string]string{"message": "declared"})
	d.mustApply(t)

	res := kubectl(t, "wait", "--for=condition=Ready", "ext/"+d.name, "--timeout=60s")
	if res.ExitCode != 0 {
		e, _ := getExt(t, d.name)
		t.Fatalf("kubectl wait --for=condition=Ready: exit %d\n%s%s\n%s", res.ExitCode, res.Stdout, res.Stderr, describe(e))
	}
	e := h.waitSettled(d.name, 30*time.Second)
	if e.Status.CurrentVersion != "1.4.0" || e.Status.Release.Name != d.name || e.Status.Release.Namespace != d.namespace || e.Status.Release.Revision != 1 {
		t.Errorf("after the install: %s", describe(e))
	}
	if !slices.Contains(e.Finalizers, v1alpha1.FinalizerUninstall) {
		t.Errorf("the manager did not add its finalizer %s: %v", v1alpha1.FinalizerUninstall, e.Finalizers)
	}
	if hist := history(t, d.name, d.namespace); len(hist) != 1 || !clean(hist) || chartVersion(hist[0]) != "1.4.0" {
		t.Errorf("helm history %s, want one deployed revision of 1.4.0", summary(hist))
	}
	if cm, err := configMap(t, d.name, d.namespace); err != nil || cm.Data["message"] != "declared" {
		t.Errorf("the release's ConfigMap: %v %v, want message=declared", cm.Data, err)
	}
	installed := h.waitEvent(d.name, "Installed", 10*time.Second)
	if installed.Type != corev1.EventTypeNormal || installed.Source.Component != "extension-manager" || installed.ReportingController != "extension-manager" {
		t.Errorf("the Installed event: type %s, source %q, reporting controller %q; want Normal from extension-manager",
			installed.Type, installed.Source.Component, installed.ReportingController)
	}

	d.settings = map[string]string{"message": "changed", "replicaCount": "2"}
	d.mustApply(t)
	e = h.waitSettled(d.name, 60*time.Second, func(e *v1alpha1.Extension) bool { return e.Status.Release.Revision == 2 })
	hist := history(t, d.name, d.namespace)
	last := hist[len(hist)-1]
	if len(hist) != 2 || !clean(hist) || last.Version != 2 || last.Config["message"] != "changed" || chartVersion(last) != "1.4.0" {
		t.Errorf("after the change, helm history %s; want revision 2 deployed with message=changed", summary(hist))
	}
	if cm, err := configMap(t, d.name, d.namespace); err != nil || cm.Data["message"] != "changed" {
		t.Errorf("the release's ConfigMap after the change: %v %v", cm.Data, err)
	}
	if e.Status.ObservedGeneration != e.Generation || e.Generation < 2 {
		t.Errorf("observedGeneration %d, generation %d", e.Status.ObservedGeneration, e.Generation)
	}
	h.waitEvent(d.name, "Updated", 10*time.Second)
}

// TestPolicyRefusedDeclarationsChangeNothing: a declaration the policies refuse is
// refused by the webhook when kubectl applies it, naming the rule, so the manager
// never sees it: a refused Extension does not exist and has no release, and a refused
// change of an installed one leaves its spec and its release as they were.
func TestPolicyRefusedDeclarationsChangeNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	typ, _ := fileType(t, podinfo(t, "1.4.0")...)
	h.startManager()

	t.Run("new extensions", func(t *testing.T) {
		tests := []struct {
			name   string
			mutate func(*decl)
			rule   string
		}{
			{"a pinned version with autoUpgradeMinorVersion true", func(d *decl) { d.extra = map[string]any{"version": "1.4.0"} }, "[EXT-VERSION-001]"},
			{"autoUpgradeMinorVersion false without a version", func(d *decl) { d.extra = map[string]any{"autoUpgradeMinorVersion": false} }, "[EXT-VERSION-002]"},
			{"a protected release namespace", func(d *decl) { d.namespace = "kube-system" }, "[EXT-SCOPE-007]"},
			{"an extension type that does not exist", func(d *decl) { d.typ = "no.such.type" }, "[EXT-TYPE-001]"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				d := h.ext(typ, nil)
				tt.mutate(&d)
				res := d.apply(t)
				if res.ExitCode == 0 || !strings.Contains(res.Stderr, tt.rule) {
					t.Fatalf("kubectl apply: exit %d, stderr %q; want a refusal naming %s", res.ExitCode, res.Stderr, tt.rule)
				}
				if _, err := getExt(t, d.name); !notFound(err) {
					t.Errorf("the refused extension exists: %v", err)
				}
				if hist := history(t, d.name, d.namespace); len(hist) != 0 {
					t.Errorf("a release exists: %s", summary(hist))
				}
			})
		}
	})

	t.Run("a change of an installed extension", func(t *testing.T) {
		h := h.sub(t)
		d := h.ext(typ, map[string]string{"message": "before"})
		d.mustApply(t)
		before := h.waitSettled(d.name, 60*time.Second)
		refused := d
		refused.settings = map[string]string{"message": "after"}
		refused.extra = map[string]any{"version": "1.4.0"}
		res := refused.apply(t)
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "[EXT-VERSION-001]") {
			t.Fatalf("kubectl apply: exit %d, stderr %q; want a refusal naming EXT-VERSION-001", res.ExitCode, res.Stderr)
		}
		// A few of the manager's drift rounds later, nothing moved.
		h.steadily("the refused change changed nothing", 5*time.Second, func() (bool, string) {
			e := mustGetExt(t, d.name)
			hist := history(t, d.name, d.namespace)
			ok := e.Generation == before.Generation && e.Spec.ConfigurationSettings["message"] == "before" && e.Spec.Version == "" &&
				len(hist) == 1 && hist[0].Config["message"] == "before"
			return ok, describe(e) + " " + summary(hist)
		})
	})
}

// TestDeleteWithTheManagerUninstalls: with the manager running, `kubectl delete ext`
// waits for the manager's finalizer: the release is uninstalled, its objects are gone,
// then the Extension is.
func TestDeleteWithTheManagerUninstalls(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	typ, _ := fileType(t, podinfo(t, "1.4.0")...)
	h.startManager()
	d := h.ext(typ, nil)
	d.mustApply(t)
	e := h.waitSettled(d.name, 60*time.Second)
	if !slices.Contains(e.Finalizers, v1alpha1.FinalizerUninstall) {
		t.Fatalf("no finalizer %s: %s", v1alpha1.FinalizerUninstall, describe(e))
	}

	res := kubectl(t, "delete", "ext", d.name, "--timeout=60s")
	if res.ExitCode != 0 {
		t.Fatalf("kubectl delete: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	if _, err := getExt(t, d.name); !notFound(err) {
		t.Errorf("the extension is still there after kubectl delete returned: %v", err)
	}
	if hist := history(t, d.name, d.namespace); len(hist) != 0 {
		t.Errorf("the release is still there: %s", summary(hist))
	}
	if _, err := configMap(t, d.name, d.namespace); !notFound(err) {
		t.Errorf("the release's ConfigMap is still there: %v", err)
	}
	_, n := eventsWith(t, d.name, "Uninstalled")
	if n == 0 {
		t.Errorf("no Uninstalled event: %s", eventSummary(events(t, d.name)))
	}
}

// TestWithoutTheManagerNothingChanges: with no manager running, an applied Extension
// gets no finalizer and no release, and `kubectl delete ext` removes it at once, as
// before the manager existed, so no delete hangs on a finalizer nobody serves. Not
// parallel: no manager of another test may run meanwhile (Go runs the tests that are
// not parallel before the parallel ones start).
func TestWithoutTheManagerNothingChanges(t *testing.T) {
	h := newHarness(t)
	typ, _ := fileType(t, podinfo(t, "1.4.0")...)
	d := h.ext(typ, nil)
	d.mustApply(t)
	h.steadily("no finalizer, no status, no release", 3*time.Second, func() (bool, string) {
		e := mustGetExt(t, d.name)
		hist := history(t, d.name, d.namespace)
		return len(e.Finalizers) == 0 && e.Status.ProvisioningState == "" && len(hist) == 0, describe(e) + " " + summary(hist)
	})
	start := time.Now()
	res := kubectl(t, "delete", "ext", d.name, "--timeout=10s")
	if res.ExitCode != 0 {
		t.Fatalf("kubectl delete: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	if _, err := getExt(t, d.name); !notFound(err) {
		t.Errorf("the extension is still there after kubectl delete returned (after %s): %v", time.Since(start), err)
	}
}

// releaseValues is the values of a revision as JSON, for messages.
func releaseValues(r *helmrelease.Release) string {
	if r == nil {
		return "no revision"
	}
	b, _ := json.Marshal(r.Config)
	return string(b)
}
