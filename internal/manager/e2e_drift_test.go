package manager_test

import (
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
)

// helmUpgradeByHand is `helm upgrade NAME podinfo-VERSION.tgz --set message=...` run
// by someone with access to the release namespace, through the Helm SDK as the helm
// CLI does (the helm binary is not a test dependency): a new revision the manager
// did not make, with other values.
func helmUpgradeByHand(t *testing.T, name, ns, version string, values map[string]any) *helmrelease.Release {
	t.Helper()
	cfg := &action.Configuration{}
	getter := &genericclioptions.ConfigFlags{KubeConfig: &env.Kubeconfig, Namespace: &ns}
	if err := cfg.Init(getter, ns, "secret", func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	ch, err := chartsourcetest.Chart(chartsourcetest.Spec{Version: version})
	if err != nil {
		t.Fatal(err)
	}
	up := action.NewUpgrade(cfg)
	up.Namespace = ns
	rel, err := up.Run(name, ch, values)
	if err != nil {
		t.Fatalf("helm upgrade by hand: %v", err)
	}
	return rel
}

func deleteConfigMap(t *testing.T, name, ns string) {
	t.Helper()
	if err := env.Client.Delete(testCtx(t), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}); err != nil {
		t.Fatalf("deleting the release's ConfigMap: %v", err)
	}
}

func drifted(e *v1alpha1.Extension) *metav1.Condition {
	if c := condition(e, v1alpha1.ConditionDrifted); c != nil && c.Status == metav1.ConditionTrue {
		return c
	}
	return nil
}

// TestDrift: two kinds of drift, one at a time, on two extensions that differ only in
// spec.driftPolicy. First the release's ConfigMap is deleted; then the release is
// upgraded by hand with other values (which also brings the ConfigMap back, with the
// hand's message). Each time the manager reports it (an Event DriftDetected; the
// condition Drifted names the object), and
//   - under Correct (the default) it restores the release: the ConfigMap comes back,
//     a new revision carries the Extension's values again, DriftCorrected is recorded
//     and Drifted turns False;
//   - under Report it changes nothing over several drift rounds, and Drifted stays
//     True; switching the policy to Correct with kubectl apply then corrects it.
func TestDrift(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	typ, _ := fileType(t, podinfo(t, "1.4.0")...)
	h.startManager()
	correct := h.ext(typ, map[string]string{"message": "declared"})
	report := h.ext(typ, map[string]string{"message": "declared"})
	report.driftPolicy = v1alpha1.DriftReport
	correct.mustApply(t)
	report.mustApply(t)
	h.waitSettled(correct.name, 60*time.Second)
	h.waitSettled(report.name, 60*time.Second)

	// restored: the release is the Extension's again: its newest revision is deployed,
	// carries the declared values and is the one status records, nothing failed or
	// pending is left, and its ConfigMap holds the declared message. (The manager may
	// correct a release changed by hand by adopting it, which replaces Helm's stored
	// records, so the revision number is not asserted.)
	restored := func(t *testing.T, d decl) func() (bool, string) {
		return func() (bool, string) {
			e := mustGetExt(t, d.name)
			hist := history(t, d.name, d.namespace)
			if len(hist) == 0 {
				return false, describe(e) + " no release"
			}
			last := hist[len(hist)-1]
			cm, err := configMap(t, d.name, d.namespace)
			ok := err == nil && cm.Data["message"] == "declared" && clean(hist) && last.Version == e.Status.Release.Revision &&
				last.Config["message"] == "declared" && drifted(e) == nil && e.Status.ProvisioningState == v1alpha1.ProvisioningSucceeded
			return ok, describe(e) + " history " + summary(hist) + " configmap " + cm.Data["message"]
		}
	}

	t.Run("a deleted object of the release", func(t *testing.T) {
		h := h.sub(t)
		deleteConfigMap(t, correct.name, correct.namespace)
		deleteConfigMap(t, report.name, report.namespace)

		h.waitEvent(correct.name, "DriftDetected", 30*time.Second, "ConfigMap", correct.name)
		h.eventually("the Correct extension's ConfigMap to come back", 30*time.Second, restored(t, correct))
		h.waitEvent(correct.name, "DriftCorrected", 10*time.Second)

		var msg string
		h.eventually("Drifted True on the Report extension, naming the ConfigMap", 30*time.Second, func() (bool, string) {
			e := mustGetExt(t, report.name)
			c := drifted(e)
			if c != nil {
				msg = c.Message
			}
			return c != nil && strings.Contains(c.Message, "ConfigMap") && strings.Contains(c.Message, report.name), describe(e)
		})
		h.waitEvent(report.name, "DriftDetected", 10*time.Second, "ConfigMap")
		t.Logf("Drifted under Report: %s", msg)
		h.steadily("nothing corrected under Report", 3*2*time.Second+time.Second, func() (bool, string) {
			e := mustGetExt(t, report.name)
			hist := history(t, report.name, report.namespace)
			_, err := configMap(t, report.name, report.namespace)
			return notFound(err) && len(hist) == 1 && drifted(e) != nil, describe(e) + " " + summary(hist)
		})
		if _, n := eventsWith(t, report.name, "DriftCorrected"); n != 0 {
			t.Errorf("a DriftCorrected event under Report: %s", eventSummary(events(t, report.name)))
		}
	})

	t.Run("a helm upgrade by hand with other values", func(t *testing.T) {
		h := h.sub(t)
		_, detectedBefore := eventsWith(t, correct.name, "DriftDetected")
		helmUpgradeByHand(t, correct.name, correct.namespace, "1.4.0", map[string]any{"message": "by-hand"})
		reportByHand := helmUpgradeByHand(t, report.name, report.namespace, "1.4.0", map[string]any{"message": "by-hand"})

		h.eventually("another DriftDetected on the Correct extension", 30*time.Second, func() (bool, string) {
			_, n := eventsWith(t, correct.name, "DriftDetected")
			return n > detectedBefore, eventSummary(events(t, correct.name))
		})
		h.eventually("the Correct extension's values to be restored", 30*time.Second, restored(t, correct))

		var before string
		h.eventually("Drifted True on the Report extension, naming the changed values or field", 30*time.Second, func() (bool, string) {
			e := mustGetExt(t, report.name)
			c := drifted(e)
			// The ConfigMap is back with the hand's message: what differs now is the
			// release's revision, its values, and so that field of the ConfigMap. A
			// revision number alone would not say what differs.
			if c != nil {
				before = c.Message
			}
			return c != nil && (strings.Contains(c.Message, "data.message") || strings.Contains(c.Message, "values")), describe(e)
		})
		t.Logf("Drifted under Report: %s", before)
		h.steadily("nothing corrected under Report", 3*2*time.Second+time.Second, func() (bool, string) {
			e := mustGetExt(t, report.name)
			last := lastRevision(t, report.name, report.namespace)
			cm, err := configMap(t, report.name, report.namespace)
			return err == nil && cm.Data["message"] == "by-hand" && last.Version == reportByHand.Version &&
					e.Status.Release.Revision == 1 && drifted(e) != nil,
				describe(e) + " last revision " + releaseValues(last)
		})
	})

	t.Run("switching Report to Correct corrects it", func(t *testing.T) {
		h := h.sub(t)
		report.driftPolicy = v1alpha1.DriftCorrect
		report.mustApply(t)
		h.eventually("the Report extension to be corrected once it asks for it", 30*time.Second, restored(t, report))
		h.waitSettled(report.name, 10*time.Second)
	})
}
