package manager_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
)

// window is a weekly maintenance window (--maintenance-window, UTC) of length d that
// opens at start.
func window(start time.Time, d time.Duration) string {
	start = start.UTC()
	return fmt.Sprintf("%s %02d:%02d %s", start.Weekday().String()[:3], start.Hour(), start.Minute(), d)
}

func atVersion(v string) func(*v1alpha1.Extension) bool {
	return func(e *v1alpha1.Extension) bool { return e.Status.CurrentVersion == v }
}

// TestAutoUpgradeInsideTheWindowOnly: a new patch version published to the chart
// source is synced and installed by the manager's schedule when its maintenance
// window holds the present moment; with a window that does not, the extension stays
// where it is and says, with UpgradeAvailable, what waits for the window.
func TestAutoUpgradeInsideTheWindowOnly(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name   string
		window string
		want   string // the version the extension ends at
	}{
		{"a window that holds now upgrades", window(now.Add(-time.Hour), 3*time.Hour), "1.4.1"},
		{"a window that opens later holds the upgrade back", window(now.Add(3*time.Hour), time.Hour), "1.4.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			typ, dir := fileType(t, podinfo(t, "1.4.0")...)
			h.startManager("--upgrade-interval", "2s", "--maintenance-window", tt.window)
			d := h.ext(typ, nil)
			d.mustApply(t)
			h.waitSettled(d.name, 60*time.Second, atVersion("1.4.0"))

			// Published, not synced by hand: the manager's schedule syncs the type.
			publish(t, dir, podinfo(t, "1.4.1")...)
			if tt.want == "1.4.1" {
				e := h.waitSettled(d.name, 30*time.Second, atVersion("1.4.1"))
				if c := condition(e, v1alpha1.ConditionUpgradeAvailable); c != nil && c.Status == metav1.ConditionTrue {
					t.Errorf("UpgradeAvailable is still True after the upgrade: %s", describe(e))
				}
				if hist := history(t, d.name, d.namespace); !clean(hist) || chartVersion(hist[len(hist)-1]) != "1.4.1" {
					t.Errorf("helm history %s, want 1.4.1 deployed last", summary(hist))
				}
				h.waitEvent(d.name, "Upgraded", 10*time.Second)
				return
			}
			h.eventually("UpgradeAvailable True naming 1.4.1", 30*time.Second, func() (bool, string) {
				e := mustGetExt(t, d.name)
				c := condition(e, v1alpha1.ConditionUpgradeAvailable)
				return c != nil && c.Status == metav1.ConditionTrue && strings.Contains(c.Message, "1.4.1"), describe(e)
			})
			h.waitEvent(d.name, "UpgradeAvailable", 10*time.Second, "1.4.1")
			// Several rounds of the schedule later, still not upgraded.
			h.steadily("no upgrade outside the window", 3*2*time.Second+time.Second, func() (bool, string) {
				e := mustGetExt(t, d.name)
				hist := history(t, d.name, d.namespace)
				return e.Status.CurrentVersion == "1.4.0" && len(hist) == 1, describe(e) + " " + summary(hist)
			})
		})
	}
}

// TestClusterMinorUpgradeUnlocksTheMinor: at Kubernetes 1.36 an auto-upgrading
// extension adopted there at 1.4.0 is moved by the schedule to 1.4.1, not 1.5.0 (the
// default upgrade policy keeps a minor change for the next cluster minor). Once the
// API server runs as 1.37 on the same etcd (a cluster minor upgrade), the running
// manager moves it to 1.5.0 and records 1.37. Not parallel: the API server restarts.
func TestClusterMinorUpgradeUnlocksTheMinor(t *testing.T) {
	h := newHarness(t)
	if err := env.RestartAPIServer("1.36"); err != nil {
		t.Fatal(err)
	}
	restored := false
	t.Cleanup(func() {
		if !restored {
			if err := env.RestartAPIServer(""); err != nil {
				t.Errorf("restoring the API server: %v", err)
			}
		}
	})
	typ, dir := fileType(t, podinfo(t, "1.4.0")...)
	h.startManager("--upgrade-interval", "2s")
	d := h.ext(typ, nil)
	d.mustApply(t)
	e := h.waitSettled(d.name, 60*time.Second, atVersion("1.4.0"))
	if e.Status.KubernetesVersion != "1.36" {
		t.Fatalf("installed at Kubernetes %q, want 1.36: %s", e.Status.KubernetesVersion, describe(e))
	}

	publish(t, dir, podinfo(t, "1.4.1", "1.5.0", "1.6.0", "2.0.0")...)
	h.waitSettled(d.name, 30*time.Second, atVersion("1.4.1"))
	h.steadily("no minor upgrade at 1.36", 3*2*time.Second+time.Second, func() (bool, string) {
		e := mustGetExt(t, d.name)
		return e.Status.CurrentVersion == "1.4.1", describe(e)
	})

	if err := env.RestartAPIServer(""); err != nil { // the binary's own minor, 1.37
		t.Fatal(err)
	}
	restored = true
	e = h.waitSettled(d.name, 60*time.Second, atVersion("1.5.0"))
	if e.Status.KubernetesVersion != "1.37" {
		t.Errorf("1.5.0 adopted at Kubernetes %q, want 1.37", e.Status.KubernetesVersion)
	}
	if hist := history(t, d.name, d.namespace); !clean(hist) || chartVersion(hist[len(hist)-1]) != "1.5.0" {
		t.Errorf("helm history %s, want 1.5.0 deployed last", summary(hist))
	}
	// Never past it: 1.6.0 excludes the cluster, 2.0.0 is a new major.
	h.steadily("no upgrade past 1.5.0", 3*2*time.Second, func() (bool, string) {
		e := mustGetExt(t, d.name)
		return e.Status.CurrentVersion == "1.5.0", describe(e)
	})
}

// brokenChart is the podinfo test chart at version whose release the API server
// refuses: one more ConfigMap with a name that is not a DNS subdomain. Rendering
// succeeds, so Helm stores the revision before the API server refuses its objects,
// and the failed upgrade is rolled back: each attempt leaves a failed revision.
func brokenChart(t *testing.T, dir, version string) {
	t.Helper()
	ch, err := chartsourcetest.Chart(chartsourcetest.Spec{Version: version, KubeVersion: ">=1.25.0-0"})
	if err != nil {
		t.Fatal(err)
	}
	ch.Templates = append(ch.Templates, &chart.File{Name: "templates/invalid.yaml", Data: []byte(`apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-Not_A_Valid_Name
data:
  broken: "true"
`)})
	if _, err := chartutil.Save(ch, dir); err != nil {
		t.Fatal(err)
	}
}

// TestFailedAutoUpgradeBacksOff: an auto-upgrade to a version whose release the API
// server refuses fails, is rolled back (the extension stays at its version, deployed),
// is recorded with a Warning Event UpgradeFailed, and is retried with a backoff that
// doubles from --retry-backoff: over 12 s from the first failure, with a first delay
// of 2 s, there are at most four attempts (at about 0, 2, 6 s: a hot loop makes
// dozens), and more than one (it is retried). The schedule's interval is a minute, so
// only the backoff brings the retries; its first pass runs when the manager starts.
func TestFailedAutoUpgradeBacksOff(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	typ, dir := fileType(t, podinfo(t, "1.4.0")...)
	installer := h.startManager("--upgrade-interval", "0")
	d := h.ext(typ, nil)
	d.mustApply(t)
	h.waitSettled(d.name, 60*time.Second, atVersion("1.4.0"))
	h.stop(installer)

	brokenChart(t, dir, "1.4.1")
	h.startManager("--upgrade-interval", "1m", "--retry-backoff", "2s")

	// failedRevisions are the revisions of 1.4.1 seen failed, by revision number:
	// each is one attempt (Helm keeps five revisions, so they are collected as they
	// come, every 250 ms; attempts seconds apart are never missed).
	failedRevisions := map[int]bool{}
	observe := func() {
		for _, r := range history(t, d.name, d.namespace) {
			if chartVersion(r) == "1.4.1" && r.Info.Status == helmrelease.StatusFailed {
				failedRevisions[r.Version] = true
			}
		}
	}
	h.eventually("a first failed attempt", 30*time.Second, func() (bool, string) {
		observe()
		_, n := eventsWith(t, d.name, "UpgradeFailed")
		return n > 0 || len(failedRevisions) > 0, summary(history(t, d.name, d.namespace)) + " " + eventSummary(events(t, d.name))
	})
	deadline := time.Now().Add(12 * time.Second)
	for time.Now().Before(deadline) {
		observe()
		time.Sleep(250 * time.Millisecond)
	}
	evs, eventAttempts := eventsWith(t, d.name, "UpgradeFailed")
	attempts := max(eventAttempts, len(failedRevisions))
	t.Logf("over 12 s: %d failed revisions of 1.4.1, UpgradeFailed events %s", len(failedRevisions), eventSummary(evs))
	if attempts < 2 || attempts > 4 {
		t.Errorf("%d attempts in 12 s from the first failure (%d failed revisions, %d UpgradeFailed events); want 2 to 4: retried, with a doubling backoff from 2 s",
			attempts, len(failedRevisions), eventAttempts)
	}
	for _, ev := range evs {
		if ev.Type != corev1.EventTypeWarning || !strings.Contains(ev.Message, "1.4.1") {
			t.Errorf("UpgradeFailed event %s %q: want a Warning naming 1.4.1", ev.Type, ev.Message)
		}
	}
	if eventAttempts == 0 {
		t.Errorf("no UpgradeFailed event: %s", eventSummary(events(t, d.name)))
	}
	if _, n := eventsWith(t, d.name, "RolledBack"); n == 0 {
		t.Errorf("no RolledBack event: %s", eventSummary(events(t, d.name)))
	}

	// Rolled back: what runs is 1.4.0, deployed, nothing pending; the upgrade is
	// still offered.
	h.eventually("the extension back at 1.4.0 with the release deployed", 30*time.Second, func() (bool, string) {
		e := mustGetExt(t, d.name)
		last := lastRevision(t, d.name, d.namespace)
		c := condition(e, v1alpha1.ConditionUpgradeAvailable)
		ok := e.Status.CurrentVersion == "1.4.0" && last != nil && last.Info.Status == helmrelease.StatusDeployed &&
			chartVersion(last) == "1.4.0" && c != nil && c.Status == metav1.ConditionTrue
		return ok, describe(e) + " " + summary(history(t, d.name, d.namespace))
	})
	// Each attempt is the failed revision and its rollback; 1.4.0 is never applied
	// again in between (the Upgrader, not the reconciler, retries a failed upgrade).
	for _, r := range history(t, d.name, d.namespace) {
		if r.Version > 1 && r.Info != nil && strings.Contains(r.Info.Description, "version 1.4.0") {
			t.Errorf("revision %d re-applied 1.4.0 after a failed upgrade (%q): %s", r.Version, r.Info.Description, summary(history(t, d.name, d.namespace)))
		}
	}
}
