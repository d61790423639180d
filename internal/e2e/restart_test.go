//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	helmrelease "helm.sh/helm/v3/pkg/release"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// Reliability matrix: the API server restarted during a Helm upgrade
//
// In each row an upgrade's new pods want a node labelled pool=<row's pool>, which no
// node is when the API server restarts (same etcd, one restart for all rows), so
// Helm is waiting for them then. In ready-after-restart a node is labelled once the
// API server is back: the upgrade completes, or fails in a way the next update
// repairs. In timeout-after-restart no node ever is: the wait runs out after the
// restart, the upgrade is rolled back, and the next update, to settings that fit,
// succeeds.
//
// Not parallel: the restart is the whole cluster's, so this test runs before the
// parallel ones start (go test runs a package's sequential tests first).
func TestAPIServerRestart(t *testing.T) {
	env, binDir := cluster(t)
	typ := podinfoType(t)
	kubectl, err := testenv.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	type row struct {
		name string
		// labelAfter: a node gets the pool label once the API server is back.
		labelAfter bool
		timeout    string

		ext, ns, pool string
		stderr        strings.Builder
		done          chan error
	}
	rows := []*row{
		{name: "upgrade/ready-after-restart", labelAfter: true, timeout: "120s"},
		{name: "upgrade/timeout-after-restart", timeout: "15s"},
	}
	// Each row's extension is installed, then its upgrade started and seen waiting.
	for _, r := range rows {
		r.ext, r.ns, r.pool = uniq("restart"), uniq("restart-ns"), uniq("pool")
		mustKext(t, "create", r.ext, "--extension-type", typ, "--release-namespace", r.ns, "--timeout", "60s")
		waitRolledOut(t, r.ext, r.ns)
		cmd := exec.CommandContext(ctx, kubectl, "ext", "update", r.ext, "--config", "nodeSelector.pool="+r.pool, "--timeout", r.timeout)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
		cmd.Stderr = &r.stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r.done = make(chan error, 1)
		go func() { r.done <- cmd.Wait() }()
	}
	for _, r := range rows {
		// Helm waits once the revision is pending and the Deployment asks for the pool.
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			h := history(t, r.ext, r.ns)
			if len(h) != 2 || h[1].Info.Status != helmrelease.StatusPendingUpgrade {
				return false, nil
			}
			d := &appsv1.Deployment{}
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: r.ext}, d); err != nil {
				return false, nil
			}
			return d.Spec.Template.Spec.NodeSelector["pool"] == r.pool, nil
		})
		if err != nil {
			t.Fatalf("%s: the upgrade never reached Helm's wait: %v", r.name, err)
		}
	}

	began := time.Now()
	if err := env.RestartAPIServer(""); err != nil {
		t.Fatal(err)
	}
	t.Logf("the API server restarted in %s", time.Since(began).Round(time.Millisecond))
	for _, r := range rows {
		if r.labelAfter {
			labelNode(ctx, t, env, r.pool)
		}
	}

	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			name, ns, pool := r.ext, r.ns, r.pool
			var exit int
			select {
			case err := <-r.done:
				if ee, ok := err.(*exec.ExitError); ok { //nolint:errorlint // exec returns it unwrapped
					exit = ee.ExitCode()
				} else if err != nil {
					t.Fatalf("the upgrade did not run to its end: %v\n%s", err, r.stderr.String())
				}
			case <-ctx.Done():
				t.Fatalf("the upgrade outlived its --timeout:\n%s", r.stderr.String())
			}
			stderr := r.stderr.String()
			t.Logf("the upgrade exited %d:\n%s", exit, stderr)

			switch {
			case !r.labelAfter:
				// Helm's wait outlived the restart and timed out after it: the same
				// failure as without a restart, rolled back, naming the Deployment.
				if exit != 1 {
					t.Errorf("the upgrade exited %d, want 1", exit)
				}
				wantSays(t, "the upgrade", stderr, "not ready after 15s: Deployment "+ns+"/"+name+" (InProgress",
					"; pod "+name+"-", "unschedulable: 0/2 nodes are available", "rolled back to revision 1")
				checkHistory(t, name, ns, "1:superseded", "2:failed", "3:deployed")
				checkExt(t, name, endState{state: v1alpha1.ProvisioningFailed, code: "HelmFailed", message: "rolled back to revision 1",
					revision: 3, settings: map[string]string{"nodeSelector.pool": pool}})
				res := mustKext(t, "update", name, "--config", "nodeSelector.pool=null", "--timeout", "60s")
				wantSays(t, "the next update", res.Stderr, "Extension "+name+" is Succeeded at version 1.4.0 (release "+ns+"/"+name+" revision 4)")
				checkHistory(t, name, ns, "1:superseded", "2:failed", "3:superseded", "4:deployed")
				waitRolledOut(t, name, ns)
				checkExt(t, name, endState{state: v1alpha1.ProvisioningSucceeded, ready: true, revision: 4})
			case exit == 0:
				// It completed: Helm's wait outlived the restart (its polls retry a
				// refused connection) and so did the command's lock.
				wantSays(t, "the upgrade", stderr, "Extension "+name+" is Succeeded at version 1.4.0 (release "+ns+"/"+name+" revision 2)")
				checkHistory(t, name, ns, "1:superseded", "2:deployed")
				waitRolledOut(t, name, ns)
				checkExt(t, name, endState{state: v1alpha1.ProvisioningSucceeded, ready: true, revision: 2,
					settings: map[string]string{"nodeSelector.pool": pool}})
			default:
				// It failed: whatever it left, the next command repairs it.
				res := mustKext(t, "update", name, "--config", "nodeSelector.pool="+pool, "--timeout", "60s")
				t.Logf("the next update:\n%s", res.Stderr)
				wantSays(t, "the next update", res.Stderr, "is Succeeded")
				for _, rel := range history(t, name, ns) {
					if rel.Info.Status.IsPending() {
						t.Errorf("revision %d is left %s", rel.Version, rel.Info.Status)
					}
				}
				waitRolledOut(t, name, ns)
				e := getExt(t, name)
				checkExt(t, name, endState{state: v1alpha1.ProvisioningSucceeded, ready: true, revision: e.Status.Release.Revision,
					settings: map[string]string{"nodeSelector.pool": pool}})
			}
		})
	}
}

// labelNode labels the last node pool=<pool>, retrying until the restarted API server
// answers; the label goes when the test ends.
func labelNode(ctx context.Context, t *testing.T, env *testenv.Env, pool string) {
	t.Helper()
	node := env.Nodes()[len(env.Nodes())-1]
	label := func(ctx context.Context, value string) error {
		n := &corev1.Node{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: node}, n); err != nil {
			return err
		}
		patch := client.MergeFrom(n.DeepCopy())
		if value == "" {
			delete(n.Labels, "pool")
		} else {
			n.Labels["pool"] = value
		}
		return env.Client.Patch(ctx, n, patch)
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return label(ctx, pool) == nil, nil
	})
	if err != nil {
		t.Fatalf("labelling node %s after the restart: %v", node, err)
	}
	t.Cleanup(func() { _ = label(context.Background(), "") })
}
