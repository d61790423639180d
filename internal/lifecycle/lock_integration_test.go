package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// TestLockOnAPIServer runs the lock against a real kube-apiserver, on a control plane
// of its own (no CRDs: the lock only needs Leases), started by this test so the
// package's other tests never wait for one.
func TestLockOnAPIServer(t *testing.T) {
	testenv.RequireIntegration(t)
	env, err := testenv.Start(testenv.Options{WithoutCRDs: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Two managers of one user on one host, as two terminals (or fleet mode) would
	// be: their holder names differ only in the random suffix, and both run in this
	// process, so the same-machine shortcut finds the holder alive.
	var out [2]bytes.Buffer
	managers := [2]*Manager{}
	for i, suffix := range []string{"aaaa", "bbbb"} {
		managers[i] = New(Config{Client: env.Client, Holder: "alice@localhost/4242-" + suffix, Progress: &out[i]})
	}

	t.Run("concurrent acquires: exactly one wins", func(t *testing.T) {
		const extensions = 8
		var wg sync.WaitGroup
		locks := make([][2]*lock, extensions)
		errs := make([][2]error, extensions)
		for e := range extensions {
			for i, m := range managers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					locks[e][i], errs[e][i] = m.acquire(ctx, "default", fmt.Sprintf("race-%d", e), time.Minute)
				}()
			}
		}
		wg.Wait()
		for e := range extensions {
			won := 0
			for i := range managers {
				switch {
				case errs[e][i] == nil:
					won++
				case !errors.Is(errs[e][i], ErrBusy) || !strings.Contains(errs[e][i].Error(), "held by alice@localhost/4242-"):
					t.Errorf("race-%d, manager %d: %v", e, i, errs[e][i])
				}
			}
			if won != 1 {
				t.Errorf("race-%d: %d managers hold the lock: %v", e, won, errs[e])
			}
		}
		for e := range extensions {
			for _, l := range locks[e] {
				if l != nil {
					if err := l.Lost(); err != nil {
						t.Errorf("race-%d: the winner lost its lock: %v", e, err)
					}
					l.release(ctx)
				}
			}
			if err := env.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: leaseName(fmt.Sprintf("race-%d", e))}, &coordinationv1.Lease{}); err == nil {
				t.Errorf("race-%d: the lease outlived its release", e)
			}
		}
	})

	t.Run("a lease of an exited process of this machine is taken at once", func(t *testing.T) {
		self, ok := localProcesses{}.Self()
		switch {
		case !ok && runtime.GOOS == "linux":
			t.Fatal("this process cannot identify itself from /proc")
		case !ok:
			t.Skip("no /proc on " + runtime.GOOS + ": the shortcut does not exist here, leases are waited out")
		}
		child := exec.Command("true")
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		start, _, err := localProcesses{}.StartTime(child.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		if err := child.Wait(); err != nil {
			t.Fatal(err)
		}
		killed := self
		killed.Holder, killed.PID, killed.StartTime = "alice@localhost/1-dead", child.Process.Pid, start
		lease := leaseWithRecord(t, killed)
		lease.ObjectMeta = metav1.ObjectMeta{Namespace: "default", Name: leaseName("killed"), Annotations: lease.Annotations}
		if err := env.Client.Create(ctx, lease); err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		l, err := managers[0].acquire(ctx, "default", "killed", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer l.release(ctx)
		if waited := time.Since(began); waited > leaseDuration/2 || !l.stale {
			t.Fatalf("took %s to take a dead process's lease (stale %v)", waited, l.stale)
		}
		got := &coordinationv1.Lease{}
		if err := env.Client.Get(ctx, types.NamespacedName{Namespace: "default", Name: leaseName("killed")}, got); err != nil {
			t.Fatal(err)
		}
		if h := ptr.Deref(got.Spec.HolderIdentity, ""); h != "alice@localhost/4242-aaaa" {
			t.Fatalf("the lease names %q", h)
		}
	})
}
