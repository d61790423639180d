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
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// TestLockOnAPIServer runs the lock against the package's real kube-apiserver
// (controlPlane).
func TestLockOnAPIServer(t *testing.T) {
	env := controlPlane.Env(t)
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

	t.Run("same hostname and skewed clocks: never two holders", func(t *testing.T) {
		testLockContendersOnAPIServer(ctx, t, env)
	})
}

// testLockContendersOnAPIServer plays TestLockContention's rounds against the real API
// server: the contenders of lock_test.go (a fake clock each, a process table each),
// whose Leases the API server stores, versions and refuses on conflict. The holder and
// the second command share user and hostname (alice@localhost, PID 4242 for both where
// the table says so); the second runs on another machine or container of that name,
// or on the same machine beside a live holder, and its clock runs 30 s ahead or not.
// At no round may both hold the lease; a live holder keeps it, and the refusal names
// it; a dead holder's lease is taken only after the full lease duration on the second
// command's own clock, whatever the renewTime its skewed clock reads.
func testLockContendersOnAPIServer(ctx context.Context, t *testing.T, env *testenv.Env) {
	base, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	// lock_test.go's contenders lock extension podinfo in namespace demo.
	if err := base.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: lockNS}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	const host = "alice@localhost/4242"
	holderMachine := machine("boot-a", "pid:[1]", 1000, 4242, 100)
	// Another laptop (or cloned VM) named localhost: another boot, and PID 4242 does
	// not run there, which the dropped "same hostname, no such PID" rule took for dead.
	otherLaptop := machine("boot-b", "pid:[1]", 1000, 4242, 777)
	// Another container of the same host: one boot id, its own PID namespace.
	otherContainer := machine("boot-a", "pid:[2]", 1000, 4242, 5)
	// The same machine, where the holder's process (PID 4242 started at 100) still runs.
	sameMachine := fakeProcesses{self: processID{BootID: "boot-a", PIDNamespace: "pid:[1]", UID: 1000, PID: 4243, StartTime: 200},
		running: map[int]uint64{4243: 200, 4242: 100}}

	tests := []struct {
		name   string
		second processTable
		skew   time.Duration
		// alive: the holder renews every renewPeriod; otherwise it was killed after
		// taking the lease and never renews.
		alive bool
	}{
		{name: "same hostname on another machine, holder alive", second: otherLaptop, alive: true},
		{name: "same hostname in another container, holder alive", second: otherContainer, alive: true},
		{name: "same machine and user, holder alive", second: sameMachine, alive: true},
		{name: "clock 30s ahead, holder alive", second: otherLaptop, skew: 30 * time.Second, alive: true},
		{name: "clock 30s ahead in another container of the same host, holder alive", second: otherContainer, skew: 30 * time.Second, alive: true},
		{name: "same hostname on another machine, holder killed", second: otherLaptop},
		{name: "clock 30s ahead, holder killed", second: otherLaptop, skew: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := newContender(base, host+"-aaaa", 0, holderMachine)
			second := newContender(base, host+"-bbbb", tt.skew, tt.second)
			t.Cleanup(func() {
				_ = base.Delete(context.Background(), &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: lockNS, Name: lockKey.Name}})
			})
			if !first.try(t) {
				t.Fatalf("the first command could not take a free lock: %v", first.busy)
			}
			watchFrom, takenAt := 1, -1
			for round := 1; round <= 45; round++ {
				first.clock.Step(time.Second)
				second.clock.Step(time.Second)
				if tt.alive && round%int(renewPeriod/time.Second) == 0 && !first.l.renew(ctx) {
					t.Fatalf("round %d: the holder stopped renewing: %v", round, first.l.Lost())
				}
				if second.try(t) && takenAt < 0 {
					takenAt = round
				}
				if first.holds() && second.holds() {
					t.Fatalf("round %d: both hold the lock\nfirst: %v\nsecond: %s", round, first.l.Lost(), second.out)
				}
			}
			lease := readLease(t, base)
			if tt.alive {
				if takenAt >= 0 {
					t.Fatalf("the second command took a live lease at round %d:\n%s", takenAt, second.out)
				}
				if second.busy == nil || !strings.Contains(second.busy.Error(), "held by "+first.name) || !strings.Contains(second.busy.Error(), "retry") {
					t.Fatalf("the refusal does not name the holder and say to retry: %v", second.busy)
				}
				if err := first.l.Lost(); err != nil {
					t.Fatalf("the live holder lost its lock: %v", err)
				}
				if h := ptr.Deref(lease.Spec.HolderIdentity, ""); h != first.name {
					t.Fatalf("the lease names %q, want the live holder", h)
				}
				// The API server keeps the holder's renewTime as its clock wrote it; the
				// skewed contender saw it 30 s old and still did not take the lease.
				if got, want := lease.Spec.RenewTime.Time, first.clock.Now().Add(-time.Second); !got.Equal(want) {
					t.Fatalf("the stored renewTime is %s, want the holder's last renewal %s", got, want)
				}
				return
			}
			if takenAt < 0 {
				t.Fatalf("the dead holder's lease was never taken over:\n%s", second.out)
			}
			if waited := time.Duration(takenAt-watchFrom) * time.Second; waited < leaseDuration || waited > leaseDuration+2*pollPeriod {
				t.Fatalf("taken over %s after the second command began watching; want the lease duration %s", waited, leaseDuration)
			}
			if !strings.Contains(second.out.String(), "has not renewed it for 20s") {
				t.Fatalf("the takeover is not explained:\n%s", second.out)
			}
			if h := ptr.Deref(lease.Spec.HolderIdentity, ""); h != second.name || ptr.Deref(lease.Spec.LeaseTransitions, 0) != 1 {
				t.Fatalf("after the takeover the lease names %q with %d transitions", h, ptr.Deref(lease.Spec.LeaseTransitions, 0))
			}
			// The dead holder, were it to come back, finds the new holder and stops.
			if first.l.renew(ctx) || !errors.Is(first.l.Lost(), ErrLockLost) {
				t.Fatalf("the old holder's renewal after the takeover: Lost %v", first.l.Lost())
			}
			if h := ptr.Deref(readLease(t, base).Spec.HolderIdentity, ""); h != second.name {
				t.Fatalf("the old holder wrote the lease back to %q", h)
			}
		})
	}
}
