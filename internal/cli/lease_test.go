package cli_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// TestLostLeaseStopsTheNextStep is issue 11's lock, end to end. While `kubectl ext
// update` waits for Helm (the workloads never become ready: the test control plane runs
// no controllers), the namespace admin writes itself into the extension's Lease, as a
// second command that judged the lease expired would. The update's next renewal finds
// another holder: the command stops before its next step and says so. It does not roll
// the timed-out upgrade back (the new holder may be acting on the release), writes no
// status, and leaves the Lease to its new holder.
func TestLostLeaseStopsTheNextStep(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	name, admin := installedFor(t, typ, "lease-test-value-71c4")
	before := getExt(t, name)
	key := client.ObjectKey{Namespace: admin.ns, Name: "kubeext-" + name}
	const mallory = "mallory@elsewhere/1-zzzz"

	done := make(chan testenv.Result, 1)
	errs := make(chan error, 1)
	go func() {
		res, err := env.Kubectl(testCtx(t), binDir, "ext", "update", name, "--config", "message=during-the-takeover", "--timeout", "20s")
		if err != nil {
			errs <- err
			return
		}
		done <- res
	}()

	// Once the update holds the lease and Helm has stored the new revision (so the
	// command is in Helm's wait), the namespace admin takes the lease over.
	deadline := time.Now().Add(time.Minute)
	for {
		lease := &coordinationv1.Lease{}
		err := admin.c.Get(testCtx(t), key, lease)
		if err == nil && ptr.Deref(lease.Spec.HolderIdentity, "") != "" && len(history(t, name, admin.ns)) == 2 {
			lease.Spec.HolderIdentity = ptr.To(mallory)
			if err = admin.c.Update(testCtx(t), lease); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the update never held the lease with Helm waiting: %v (history %v)", err, summary(history(t, name, admin.ns)))
		}
		time.Sleep(100 * time.Millisecond)
	}

	var res testenv.Result
	select {
	case res = <-done:
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the update did not stop")
	}
	if res.ExitCode == 0 {
		t.Fatalf("the update succeeded after losing its lease\nstdout: %s\nstderr: %s", res.Stdout, res.Stderr)
	}
	for _, want := range []string{fmt.Sprintf("lost the lock of extension %s to %s", name, mallory), "stopping before the next step"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.Stderr)
		}
	}
	// Helm's own step ran to its end (the upgrade stored as revision 2); no rollback
	// followed it.
	if h := history(t, name, admin.ns); len(h) != 2 {
		t.Errorf("history %v, want the install and the upgrade alone: no rollback after the lease was lost", summary(h))
	}
	// The status is as the update left it before Helm ran: Updating, with the install's
	// release still the recorded one. The next command recovers it (it finds the
	// upgrade's revision unrecorded and refuses it as drift until --adopt-release).
	after := getExt(t, name)
	if after.Status.Release != before.Status.Release || after.Status.ProvisioningState != v1alpha1.ProvisioningUpdating || after.Status.ErrorInfo != nil {
		t.Errorf("the status was written after the lease was lost: release %+v (before %+v), state %s, error %+v",
			after.Status.Release, before.Status.Release, after.Status.ProvisioningState, after.Status.ErrorInfo)
	}
	lease := &coordinationv1.Lease{}
	if err := env.Client.Get(testCtx(t), key, lease); err != nil {
		t.Fatalf("the lease is gone: %v; want it left to its new holder", err)
	}
	if h := ptr.Deref(lease.Spec.HolderIdentity, ""); h != mallory {
		t.Errorf("the lease is held by %q, want %q: the loser must not write it", h, mallory)
	}
}
