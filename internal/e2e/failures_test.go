//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// failRow is one row of the matrices below: an install or upgrade that fails, what it
// says and leaves, and the update that follows it. In the strings, {name} and {ns}
// stand for the row's extension and release namespace.
type failRow struct {
	name string
	// installed are the settings of a successful install before the failing command;
	// nil: the failing command is the install itself (create).
	installed []string
	// failing are the settings of the failing command, run with timeout.
	failing []string
	timeout string
	// wantErr is what the failing command's stderr must say.
	wantErr []string
	// wantFailed is the extension's errorInfo (code, a substring of the message).
	wantCode, wantMessage string
	// wantHistory is the release's history after the failing command.
	wantHistory []string
	// wantFailedHook: the chart's hook Job is there, Failed, after the failing command.
	wantFailedHook bool
	// recover are the settings of the next command, an update; wantRecovered is
	// what it must say, wantRecoveredHistory the history it leaves.
	recover              []string
	wantRecovered        []string
	wantRecoveredHistory []string
}

// runFailRow runs one row: the optional good install, the failing command (exit 1,
// its error, the Extension Failed with the failing settings and the recorded revision
// deployed or no release, no pending revision), then the next update (exit 0, what it
// says, Succeeded and Ready, the pods rolled out).
func runFailRow(t *testing.T, typ string, tt failRow) {
	name, ns := uniq("e2e"), uniq("e2e-ns")
	fill := func(ss []string) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = strings.NewReplacer("{name}", name, "{ns}", ns).Replace(s)
		}
		return out
	}
	configs := func(settings []string) ([]string, map[string]string) {
		var args []string
		m := map[string]string{}
		for _, s := range settings {
			args = append(args, "--config", s)
			k, v, _ := strings.Cut(s, "=")
			m[k] = v
		}
		return args, m
	}

	revision := 0
	failArgs, failSettings := configs(tt.failing)
	failArgs = append(failArgs, "--timeout", tt.timeout)
	var res testenv.Result
	if tt.installed != nil {
		args, _ := configs(tt.installed)
		mustKext(t, append([]string{"create", name, "--extension-type", typ, "--release-namespace", ns, "--timeout", "60s"}, args...)...)
		waitRolledOut(t, name, ns)
		revision = 1
		res = kext(t, append([]string{"update", name}, failArgs...)...)
	} else {
		res = kext(t, append([]string{"create", name, "--extension-type", typ, "--release-namespace", ns}, failArgs...)...)
	}
	if res.ExitCode != 1 {
		t.Errorf("the failing command exited %d, want 1:\n%s", res.ExitCode, res.Stderr)
	}
	if _, said, ok := strings.Cut(res.Stderr, "error: "); ok {
		t.Logf("the failing command said: error: %s", said)
	}
	wantSays(t, "the failing command", res.Stderr, fill(tt.wantErr)...)
	h := checkHistory(t, name, ns, tt.wantHistory...)
	if len(h) > 0 {
		revision = h[len(h)-1].Version
	}
	checkExt(t, name, endState{state: v1alpha1.ProvisioningFailed, code: tt.wantCode, message: fill([]string{tt.wantMessage})[0],
		revision: revision, settings: failSettings})
	if tt.wantFailedHook {
		// The hook's Job is no object of the release: it stays, failed, for the
		// user to look at, until the next hook run replaces it.
		if j := hookJob(t, name, ns); !jobFailed(j) {
			t.Errorf("hook job %s/%s is not Failed: %+v", ns, j.Name, j.Status)
		}
	}
	if t.Failed() {
		return
	}

	recoverArgs, recoverSettings := configs(tt.recover)
	r := mustKext(t, append([]string{"update", name, "--timeout", "60s"}, recoverArgs...)...)
	wantSays(t, "the next update", r.Stderr, fill(tt.wantRecovered)...)
	h = checkHistory(t, name, ns, tt.wantRecoveredHistory...)
	waitRolledOut(t, name, ns)
	if len(h) > 0 {
		checkExt(t, name, endState{state: v1alpha1.ProvisioningSucceeded, ready: true, revision: h[len(h)-1].Version, settings: recoverSettings})
	}
}

// Reliability matrix: a chart whose pods never become ready
func TestNeverReady(t *testing.T) {
	t.Parallel()
	cluster(t)
	typ := podinfoType(t)
	// The nodes are labelled type=kwok (testenv.AddNode); no node is type=none, so
	// the pods of a release with that nodeSelector stay Pending.
	tests := []failRow{{
		name:    "install",
		failing: []string{"nodeSelector.type=none"},
		timeout: "20s",
		wantErr: []string{"not ready after 20s: Deployment {ns}/{name} (InProgress: Available: 0/1; pod {name}-",
			"unschedulable: 0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector", "the failed release was uninstalled"},
		wantCode: "HelmFailed", wantMessage: "Deployment {ns}/{name} (InProgress",
		wantHistory:          nil,
		recover:              []string{"nodeSelector.type=kwok"},
		wantRecovered:        []string{"Installing release {ns}/{name}", "Extension {name} is Succeeded at version 1.4.0 (release {ns}/{name} revision 1)"},
		wantRecoveredHistory: []string{"1:deployed"},
	}, {
		name:      "upgrade",
		installed: []string{"nodeSelector.type=kwok"},
		failing:   []string{"nodeSelector.type=none"},
		timeout:   "20s",
		wantErr: []string{"not ready after 20s: Deployment {ns}/{name} (InProgress",
			"; pod {name}-", "unschedulable: 0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector", "rolled back to revision 1"},
		wantCode: "HelmFailed", wantMessage: "rolled back to revision 1",
		wantHistory:          []string{"1:superseded", "2:failed", "3:deployed"},
		recover:              []string{"nodeSelector.type=kwok"},
		wantRecovered:        []string{"Upgrading release {ns}/{name}", "Extension {name} is Succeeded at version 1.4.0 (release {ns}/{name} revision 4)"},
		wantRecoveredHistory: []string{"1:superseded", "2:failed", "3:superseded", "4:deployed"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runFailRow(t, typ, tt)
		})
	}
}

// Reliability matrix: a chart with a failing hook
func TestFailingHook(t *testing.T) {
	t.Parallel()
	cluster(t)
	typ := podinfoType(t)
	// hookFails=true labels the hook Job's pod so that the Ready cluster's kwok fails
	// it (testenv.PodFailsLabel); the Job has no retries, so it fails at once.
	tests := []failRow{{
		name:     "install/pre-install",
		failing:  []string{"hook=pre-install", "hookFails=true"},
		timeout:  "30s",
		wantErr:  []string{"failed pre-install: job {name}-hook failed: BackoffLimitExceeded (pod {name}-hook-", ": container hook exited 1 (Error))", "the failed release was uninstalled"},
		wantCode: "HelmFailed", wantMessage: "job {name}-hook failed", wantFailedHook: true,
		recover:              []string{"hookFails=false"},
		wantRecovered:        []string{"Installing release {ns}/{name}", "is Succeeded"},
		wantRecoveredHistory: []string{"1:deployed"},
	}, {
		name:     "install/post-install",
		failing:  []string{"hook=post-install", "hookFails=true"},
		timeout:  "30s",
		wantErr:  []string{"failed post-install: job {name}-hook failed: BackoffLimitExceeded (pod {name}-hook-", ": container hook exited 1 (Error))", "the failed release was uninstalled"},
		wantCode: "HelmFailed", wantMessage: "job {name}-hook failed", wantFailedHook: true,
		recover:              []string{"hookFails=false"},
		wantRecovered:        []string{"Installing release {ns}/{name}", "is Succeeded"},
		wantRecoveredHistory: []string{"1:deployed"},
	}, {
		name:      "upgrade/pre-upgrade",
		installed: []string{"hook=pre-upgrade"},
		failing:   []string{"hook=pre-upgrade", "hookFails=true"},
		timeout:   "30s",
		wantErr:   []string{"pre-upgrade hooks failed: job {name}-hook failed: BackoffLimitExceeded (pod {name}-hook-", ": container hook exited 1 (Error))", "rolled back to revision 1"},
		wantCode:  "HelmFailed", wantMessage: "job {name}-hook failed", wantFailedHook: true,
		wantHistory:          []string{"1:superseded", "2:failed", "3:deployed"},
		recover:              []string{"hook=pre-upgrade", "hookFails=false"},
		wantRecovered:        []string{"Upgrading release {ns}/{name}", "is Succeeded"},
		wantRecoveredHistory: []string{"1:superseded", "2:failed", "3:superseded", "4:deployed"},
	}, {
		name:      "upgrade/post-upgrade",
		installed: []string{"hook=post-upgrade"},
		failing:   []string{"hook=post-upgrade", "hookFails=true"},
		timeout:   "30s",
		wantErr:   []string{"post-upgrade hooks failed: job {name}-hook failed: BackoffLimitExceeded (pod {name}-hook-", ": container hook exited 1 (Error))", "rolled back to revision 1"},
		wantCode:  "HelmFailed", wantMessage: "job {name}-hook failed", wantFailedHook: true,
		wantHistory:          []string{"1:superseded", "2:failed", "3:deployed"},
		recover:              []string{"hook=post-upgrade", "hookFails=false"},
		wantRecovered:        []string{"Upgrading release {ns}/{name}", "is Succeeded"},
		wantRecoveredHistory: []string{"1:superseded", "2:failed", "3:superseded", "4:deployed"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runFailRow(t, typ, tt)
		})
	}
}

// hookJob reads the hook Job a row's chart ran, to tell a failed hook from one that
// never ran.
func hookJob(t *testing.T, name, ns string) *batchv1.Job {
	t.Helper()
	env, _ := cluster(t)
	j := &batchv1.Job{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name + "-hook"}, j); err != nil {
		t.Fatalf("reading hook job %s/%s-hook: %v", ns, name, err)
	}
	return j
}

func jobFailed(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// Reliability matrix: a chart whose template errors
func TestTemplateError(t *testing.T) {
	t.Parallel()
	cluster(t)
	typ := podinfoType(t)
	// fail=true makes the chart's template call fail: nothing is rendered, so no
	// revision is stored and nothing is applied.
	tests := []failRow{{
		name:     "install",
		failing:  []string{"fail=true"},
		timeout:  "30s",
		wantErr:  []string{"chart podinfo 1.4.0 was told to fail: values.fail is true"},
		wantCode: "HelmFailed", wantMessage: "was told to fail",
		recover:              []string{"fail=false"},
		wantRecovered:        []string{"Installing release {ns}/{name}", "is Succeeded"},
		wantRecoveredHistory: []string{"1:deployed"},
	}, {
		name:      "upgrade",
		installed: []string{"fail=false"},
		failing:   []string{"fail=true"},
		timeout:   "30s",
		wantErr:   []string{"chart podinfo 1.4.0 was told to fail: values.fail is true"},
		wantCode:  "HelmFailed", wantMessage: "was told to fail",
		wantHistory:          []string{"1:deployed"},
		recover:              []string{"fail=false"},
		wantRecovered:        []string{"Upgrading release {ns}/{name}", "is Succeeded"},
		wantRecoveredHistory: []string{"1:superseded", "2:deployed"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runFailRow(t, typ, tt)
		})
	}
}
