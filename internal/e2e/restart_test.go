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
// Not parallel: the restart is the whole cluster's, so this test runs before the
// parallel ones start (go test runs a package's sequential tests first).
func TestAPIServerRestart(t *testing.T) {
	env, binDir := cluster(t)
	typ := podinfoType(t)
	t.Run("upgrade/while-waiting", func(t *testing.T) {
		name, ns := uniq("restart"), uniq("restart-ns")
		mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--timeout", "60s")
		waitRolledOut(t, name, ns)

		// The upgrade's new pods want a node labelled pool=<pool>, which no node is
		// until after the restart: Helm is still waiting for them when the API server
		// goes, and can only succeed once it is back.
		pool := uniq("pool")
		kubectl, err := testenv.KubectlPath()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, kubectl, "ext", "update", name, "--config", "nodeSelector.pool="+pool, "--timeout", "120s")
		cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Helm waits once the revision is pending and the Deployment asks for the pool.
		err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			h := history(t, name, ns)
			if len(h) != 2 || h[1].Info.Status != helmrelease.StatusPendingUpgrade {
				return false, nil
			}
			d := &appsv1.Deployment{}
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
				return false, nil
			}
			return d.Spec.Template.Spec.NodeSelector["pool"] == pool, nil
		})
		if err != nil {
			t.Fatalf("the upgrade never reached Helm's wait: %v; stderr so far:\n%s", err, stderr.String())
		}

		began := time.Now()
		if err := env.RestartAPIServer(""); err != nil {
			t.Fatal(err)
		}
		t.Logf("the API server restarted in %s", time.Since(began).Round(time.Millisecond))
		node := env.Nodes()[len(env.Nodes())-1]
		label := func(value *string) error {
			n := &corev1.Node{}
			if err := env.Client.Get(ctx, client.ObjectKey{Name: node}, n); err != nil {
				return err
			}
			patch := client.MergeFrom(n.DeepCopy())
			if value == nil {
				delete(n.Labels, "pool")
			} else {
				n.Labels["pool"] = *value
			}
			return env.Client.Patch(ctx, n, patch)
		}
		err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			return label(&pool) == nil, nil
		})
		if err != nil {
			t.Fatalf("labelling node %s after the restart: %v", node, err)
		}
		t.Cleanup(func() { _ = label(nil) })

		var exit int
		select {
		case err := <-done:
			if ee, ok := err.(*exec.ExitError); ok { //nolint:errorlint // exec returns it unwrapped
				exit = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("the upgrade did not run to its end: %v\n%s", err, stderr.String())
			}
		case <-ctx.Done():
			t.Fatalf("the upgrade outlived its --timeout:\n%s", stderr.String())
		}

		if exit == 0 {
			// It completed: Helm's wait outlived the restart (its polls retry a
			// refused connection) and so did the command's lock.
			t.Logf("the upgrade completed across the restart:\n%s", stderr.String())
			wantSays(t, "the upgrade", stderr.String(), "Extension "+name+" is Succeeded at version 1.4.0 (release "+ns+"/"+name+" revision 2)")
			checkHistory(t, name, ns, "1:superseded", "2:deployed")
			waitRolledOut(t, name, ns)
			checkExt(t, name, endState{state: v1alpha1.ProvisioningSucceeded, ready: true, revision: 2,
				settings: map[string]string{"nodeSelector.pool": pool}})
		} else {
			// It failed: whatever it left, the next command repairs it and says so.
			t.Logf("the upgrade failed across the restart (exit %d):\n%s", exit, stderr.String())
			res := mustKext(t, "update", name, "--config", "nodeSelector.pool="+pool, "--timeout", "60s")
			t.Logf("the next update:\n%s", res.Stderr)
			wantSays(t, "the next update", res.Stderr, "is Succeeded")
			for _, r := range history(t, name, ns) {
				if r.Info.Status.IsPending() {
					t.Errorf("revision %d is left %s", r.Version, r.Info.Status)
				}
			}
			waitRolledOut(t, name, ns)
			e := getExt(t, name)
			checkExt(t, name, endState{state: v1alpha1.ProvisioningSucceeded, ready: true, revision: e.Status.Release.Revision,
				settings: map[string]string{"nodeSelector.pool": pool}})
		}
	})
}
