package cli_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	helmrelease "helm.sh/helm/v3/pkg/release"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/release"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// TestFailedInstallAndUpgrade: a chart that fails to install leaves the extension
// Failed with Helm's error and no release; a later update recovers it. An upgrade the
// API server rejects is rolled back, and a later update succeeds.
func TestFailedInstallAndUpgrade(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	name, ns := uniq("failing"), uniq("fail")

	res := kext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--config", "fail=true", "--no-wait")
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "was told to fail") {
		t.Fatalf("a failing install: exit %d, stderr %s", res.ExitCode, res.Stderr)
	}
	e := getExt(t, name)
	if e.Status.ProvisioningState != v1alpha1.ProvisioningFailed || e.Status.ErrorInfo == nil ||
		e.Status.ErrorInfo.Code != "HelmFailed" || !strings.Contains(e.Status.ErrorInfo.Message, "was told to fail") {
		t.Fatalf("after a failed install: %+v", e.Status)
	}
	if _, err := helmClient().Last(name, ns); !errors.Is(err, release.ErrNotFound) {
		t.Errorf("a failed first install left a release behind: %v", err)
	}

	mustKext(t, "update", name, "--config", "fail=false", "--no-wait")
	e = getExt(t, name)
	if e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded || e.Status.ErrorInfo != nil {
		t.Fatalf("the update did not recover the failed install: %+v", e.Status)
	}

	// The API server rejects a Deployment with negative replicas: Helm stores a
	// revision, fails to apply it, and the plugin rolls back.
	res = kext(t, "update", name, "--config", "replicaCount=-1", "--no-wait")
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "rolled back to revision 1") {
		t.Fatalf("a rejected upgrade: exit %d, stderr %s", res.ExitCode, res.Stderr)
	}
	h := history(t, name, ns)
	last := h[len(h)-1]
	if last.Info.Status != helmrelease.StatusDeployed || last.Config["replicaCount"] == int64(-1) || len(h) != 3 {
		t.Fatalf("after the rejected upgrade: history %v", summary(h))
	}
	e = getExt(t, name)
	if e.Status.ProvisioningState != v1alpha1.ProvisioningFailed || !strings.Contains(e.Status.ErrorInfo.Message, "rolled back") {
		t.Fatalf("after the rejected upgrade: %+v", e.Status)
	}

	mustKext(t, "update", name, "--config", "replicaCount=2", "--no-wait")
	if e = getExt(t, name); e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded {
		t.Fatalf("a later update did not succeed: %+v", e.Status)
	}
}

// startKext starts `kubectl ext ARGS...` without waiting for it.
func startKext(t *testing.T, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	kubectl, err := testenv.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(kubectl, append([]string{"ext"}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, &stderr
}

// waitFor polls until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting until %s", what)
}

func lastStatus(name, ns string) helmrelease.Status {
	r, err := helmClient().Last(name, ns)
	if err != nil {
		return ""
	}
	return r.Info.Status
}

// TestKilledDuringHelm: SIGKILL the plugin while Helm waits for the release; the next
// command finds the stale Creating state and the pending-install release, recovers
// both, says so, and finishes the job.
func TestKilledDuringHelm(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	name, ns := uniq("killed"), uniq("kill")

	// Without controllers nothing becomes ready, so Helm waits until killed.
	cmd, _ := startKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--timeout", "10m")
	waitFor(t, "the release is pending-install", func() bool { return lastStatus(name, ns) == helmrelease.StatusPendingInstall })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if e := getExt(t, name); e.Status.ProvisioningState != v1alpha1.ProvisioningCreating {
		t.Fatalf("the killed command left %q, want Creating", e.Status.ProvisioningState)
	}

	res := mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait")
	for _, want := range []string{"left pending-install by an interrupted command: removed its record", "was left Creating by an interrupted command"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("the recovering create does not say %q:\n%s", want, res.Stderr)
		}
	}
	if e := getExt(t, name); e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded {
		t.Fatalf("after recovery: %+v", e.Status)
	}
	if st := lastStatus(name, ns); st != helmrelease.StatusDeployed {
		t.Fatalf("after recovery the release is %s", st)
	}

	// The same during an upgrade, recovered by an update.
	cmd, _ = startKext(t, "update", name, "--config", "message=slow", "--timeout", "10m")
	waitFor(t, "the release is pending-upgrade", func() bool { return lastStatus(name, ns) == helmrelease.StatusPendingUpgrade })
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	res = mustKext(t, "update", name, "--config", "message=fast", "--no-wait")
	if !strings.Contains(res.Stderr, "left pending-upgrade by an interrupted command: removed its record; recorded revision 1 stays the deployed one") {
		t.Errorf("the recovering update does not say what it did:\n%s", res.Stderr)
	}
	h := history(t, name, ns)
	for _, r := range h {
		if r.Info.Status.IsPending() {
			t.Errorf("revision %d is still %s", r.Version, r.Info.Status)
		}
	}
	if e := getExt(t, name); e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded || e.Spec.ConfigurationSettings["message"] != "fast" {
		t.Fatalf("after the recovering update: %+v %v", e.Status, e.Spec.ConfigurationSettings)
	}
}

// TestConcurrentUpdates: while one update runs, a second one fails with a message
// telling the user to retry; the retry then keeps both settings.
func TestConcurrentUpdates(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	name, ns := uniq("busy"), uniq("busy")
	mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait")

	first, _ := startKext(t, "update", name, "--config", "first=1", "--timeout", "15s")
	waitFor(t, "the first update is in Helm", func() bool { return lastStatus(name, ns) == helmrelease.StatusPendingUpgrade })

	var wg sync.WaitGroup
	results := make([]testenv.Result, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := env.Kubectl(context.Background(), binDir, "ext", "update", name, "--config", "second=2", "--no-wait")
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.ExitCode != 1 || !strings.Contains(r.Stderr, "another operation is in progress") || !strings.Contains(r.Stderr, "retry") {
			t.Fatalf("a concurrent update: exit %d, stderr %s", r.ExitCode, r.Stderr)
		}
	}
	_ = first.Wait() // times out waiting for readiness and rolls back

	mustKext(t, "update", name, "--config", "second=2", "--no-wait")
	e := getExt(t, name)
	if e.Spec.ConfigurationSettings["first"] != "1" || e.Spec.ConfigurationSettings["second"] != "2" {
		t.Fatalf("a setting was lost: %v", e.Spec.ConfigurationSettings)
	}
	r, err := helmClient().Last(name, ns)
	if err != nil {
		t.Fatal(err)
	}
	if r.Config["first"] == nil || r.Config["second"] == nil || r.Info.Status != helmrelease.StatusDeployed {
		t.Fatalf("the deployed release lacks a setting: %v (%s)", keys(r.Config), r.Info.Status)
	}
}
