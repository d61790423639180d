package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// The lock's unit tests run contenders against one controller-runtime fake client,
// each with its own fake clock (some set 30 s off) and its own view of the machine's
// processes, and step time by hand: no test sleeps.

const (
	lockNS  = "demo"
	lockExt = "podinfo"
)

var (
	lockKey      = types.NamespacedName{Namespace: lockNS, Name: leaseName(lockExt)}
	lockEpoch    = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	errPartition = errors.New("connection refused")
)

// fakeProcesses is one machine's (or container's) process table as the shortcut sees it.
type fakeProcesses struct {
	self    processID
	noSelf  bool
	running map[int]uint64 // PID -> start time
	err     error
}

func (p fakeProcesses) Self() (processID, bool) { return p.self, !p.noSelf }

func (p fakeProcesses) StartTime(pid int) (uint64, bool, error) {
	if p.err != nil {
		return 0, false, p.err
	}
	start, ok := p.running[pid]
	return start, ok, nil
}

// machine builds the process table of a machine (boot id) on which PID pid started
// at start runs, seen from a process of that PID namespace and user.
func machine(boot, pidNS string, uid, pid int, start uint64) fakeProcesses {
	return fakeProcesses{
		self:    processID{BootID: boot, PIDNamespace: pidNS, UID: uid, PID: pid, StartTime: start},
		running: map[int]uint64{pid: start},
	}
}

// contender is one kubectl ext command: a holder identity, a clock, a process table,
// and a connection to the API server that can be cut.
type contender struct {
	name  string
	clock *clocktesting.FakeClock
	out   *bytes.Buffer
	lk    locker
	down  atomic.Bool // its API calls fail
	w     *watcher    // the current attempt
	l     *lock       // the lock, once taken
	busy  error       // the last ErrBusy
	tries int
}

func newLeaseClient() client.WithWatch {
	return fake.NewClientBuilder().WithScheme(clientgoscheme.Scheme).Build()
}

func newContender(base client.WithWatch, holder string, skew time.Duration, procs processTable) *contender {
	c := &contender{name: holder, clock: clocktesting.NewFakeClock(lockEpoch.Add(skew)), out: &bytes.Buffer{}}
	cut := func() error {
		if c.down.Load() {
			return errPartition
		}
		return nil
	}
	cl := interceptor.NewClient(base, interceptor.Funcs{
		Get: func(ctx context.Context, cl client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if err := cut(); err != nil {
				return err
			}
			return cl.Get(ctx, key, obj, opts...)
		},
		Create: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if err := cut(); err != nil {
				return err
			}
			return cl.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if err := cut(); err != nil {
				return err
			}
			return cl.Update(ctx, obj, opts...)
		},
		Delete: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			if err := cut(); err != nil {
				return err
			}
			return cl.Delete(ctx, obj, opts...)
		},
	})
	c.lk = locker{c: cl, holder: holder, clock: c.clock, processes: procs,
		progress: func(format string, args ...any) { fmt.Fprintf(c.out, format+"\n", args...) }}
	return c
}

// try is one poll of the lock, starting a new attempt after a refusal (a user who
// retries); it reports whether c holds the lock afterwards.
func (c *contender) try(t *testing.T) bool {
	t.Helper()
	if c.l != nil {
		return true
	}
	if c.w == nil {
		c.w = c.lk.watch(lockNS, lockExt)
	}
	c.tries++
	taken, err := c.w.try(context.Background())
	switch {
	case errors.Is(err, ErrBusy):
		c.busy, c.w = err, nil
	case err != nil && !errors.Is(err, errPartition):
		t.Fatalf("%s: %v", c.name, err)
	case taken:
		c.l = c.w.l
	}
	return c.l != nil
}

// holds: c has the lock and, by its own judgement, has not lost it.
func (c *contender) holds() bool { return c.l != nil && c.l.Lost() == nil }

func readLease(t *testing.T, c client.Client) *coordinationv1.Lease {
	t.Helper()
	lease := &coordinationv1.Lease{}
	if err := c.Get(context.Background(), lockKey, lease); err != nil {
		t.Fatal(err)
	}
	return lease
}

// TestLockContention plays two commands on one extension for two minutes of
// simulated time, one second per round: the first takes the lock, renews every
// renewPeriod while it lives, and the second polls every second, retrying after
// every refusal. At no round may both hold the lock, whatever the hostnames, PIDs
// and clocks; a stale lease is taken over, but never sooner than leaseDuration after
// the second command started watching it.
func TestLockContention(t *testing.T) {
	const laptop = "alice@localhost/4242"
	// Two laptops (or cloned VMs) named localhost: another boot, same PID, and the
	// holder's PID does not run here.
	otherLaptop := machine("boot-b", "pid:[1]", 1000, 4242, 777)
	// Two containers of one host: one boot id, PID 1 in each PID namespace.
	otherContainer := machine("boot-a", "pid:[2]", 1000, 1, 5)

	tests := []struct {
		name string
		// second is how the second command's process table looks, its clock's skew.
		second processTable
		skew   time.Duration
		// fate of the holder: "alive", "killed" (stops renewing at once) or
		// "partitioned" (its API calls fail from the start).
		fate string
		// wantTakeover: the second command takes the lock; when, in rounds after
		// it first watched, at the earliest.
		wantTakeover bool
	}{
		{name: "a live holder on another machine of the same hostname keeps it", second: otherLaptop, fate: "alive"},
		{name: "a live holder in another container of the same host keeps it", second: otherContainer, fate: "alive"},
		{name: "a contender whose clock runs 30s ahead never takes a live lease", second: otherLaptop, skew: 30 * time.Second, fate: "alive"},
		{name: "a contender whose clock runs 30s behind never takes a live lease", second: otherLaptop, skew: -30 * time.Second, fate: "alive"},
		{name: "a killed holder's lease is taken over after the lease duration", second: otherLaptop, fate: "killed", wantTakeover: true},
		{name: "a contender 30s ahead waits out the full duration of a stale lease", second: otherLaptop, skew: 30 * time.Second, fate: "killed", wantTakeover: true},
		{name: "a contender 30s behind takes a stale lease after the same duration", second: otherLaptop, skew: -30 * time.Second, fate: "killed", wantTakeover: true},
		{name: "a holder cut off knows it lost the lock before a contender takes it", second: otherContainer, skew: 30 * time.Second, fate: "partitioned", wantTakeover: true},
		{name: "no process table: the lease is waited out", second: fakeProcesses{noSelf: true}, fate: "killed", wantTakeover: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := newLeaseClient()
			first := newContender(base, laptop+"-aaaa", 0, machine("boot-a", "pid:[1]", 1000, 4242, 100))
			second := newContender(base, laptop+"-bbbb", tt.skew, tt.second)
			ctx := context.Background()

			if !first.try(t) {
				t.Fatalf("the first command could not take a free lock: %v", first.busy)
			}
			if tt.fate == "partitioned" {
				first.down.Store(true)
			}
			watchFrom, takenAt := -1, -1
			for round := 1; round <= 120; round++ {
				first.clock.Step(time.Second)
				second.clock.Step(time.Second)
				if tt.fate != "killed" && round%int(renewPeriod/time.Second) == 0 {
					first.l.renew(ctx)
				}
				if watchFrom < 0 {
					watchFrom = round
				}
				if second.try(t) && takenAt < 0 {
					takenAt = round
				}
				if first.holds() && second.holds() {
					t.Fatalf("round %d: both hold the lock\nfirst: %v\nsecond: %s", round, first.l.Lost(), second.out)
				}
				if second.busy != nil && second.w == nil && tt.fate != "alive" && takenAt < 0 {
					t.Fatalf("round %d: a stale lease was reported busy: %v", round, second.busy)
				}
			}
			if !tt.wantTakeover {
				if takenAt >= 0 {
					t.Fatalf("the second command took a live lease at round %d:\n%s", takenAt, second.out)
				}
				if second.busy == nil || !strings.Contains(second.busy.Error(), "held by "+first.name) || !strings.Contains(second.busy.Error(), "retry") {
					t.Fatalf("the refusal does not name the holder and say to retry: %v", second.busy)
				}
				if first.l.Lost() != nil {
					t.Fatalf("the live holder lost its lock: %v", first.l.Lost())
				}
				if h := ptr.Deref(readLease(t, base).Spec.HolderIdentity, ""); h != first.name {
					t.Fatalf("the lease names %q, want the live holder", h)
				}
				return
			}
			if takenAt < 0 {
				t.Fatalf("the stale lease was never taken over:\n%s", second.out)
			}
			if waited := time.Duration(takenAt-watchFrom) * time.Second; waited < leaseDuration {
				t.Fatalf("taken over %s after the contender began watching, before the lease duration %s", waited, leaseDuration)
			}
			if takenAt-watchFrom > int((leaseDuration+2*pollPeriod)/time.Second) {
				t.Fatalf("taken over only at round %d, long after the lease expired", takenAt)
			}
			if !second.l.stale {
				t.Fatal("a taken-over lock is not marked stale, so recovery would not say why")
			}
			if !strings.Contains(second.out.String(), "has not renewed it for 20s") {
				t.Fatalf("the takeover is not explained:\n%s", second.out)
			}
			if h := ptr.Deref(readLease(t, base).Spec.HolderIdentity, ""); h != second.name {
				t.Fatalf("the lease names %q after the takeover", h)
			}
			if tt.fate == "partitioned" {
				if err := first.l.Lost(); !errors.Is(err, ErrLockLost) || !strings.Contains(err.Error(), "could not renew it for 15s") ||
					!strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "stopping before the next step") {
					t.Fatalf("the cut-off holder's Lost: %v", err)
				}
				// Back online, its renewal finds the new holder and does not overwrite it.
				first.down.Store(false)
				first.l.renew(ctx)
				if h := ptr.Deref(readLease(t, base).Spec.HolderIdentity, ""); h != second.name {
					t.Fatalf("the old holder wrote the lease back to %q", h)
				}
			}
		})
	}
}

// TestLockLiveHolderRefusedQuickly: a contender watching a live lease is refused as
// soon as it sees a renewal, within a renew period and a poll, with a message that
// shows the holder's renew time as the holder's clock put it.
func TestLockLiveHolderRefusedQuickly(t *testing.T) {
	base := newLeaseClient()
	holder := newContender(base, "bob@ci/1-aaaa", 30*time.Second, nil)
	watcher := newContender(base, "alice@laptop/2-bbbb", 0, nil)
	if !holder.try(t) {
		t.Fatal("the holder could not take a free lock")
	}
	rounds := 0
	for watcher.busy == nil && rounds < 10 {
		rounds++
		holder.clock.Step(time.Second)
		watcher.clock.Step(time.Second)
		if rounds%2 == 0 {
			holder.l.renew(context.Background())
		}
		watcher.try(t)
	}
	if watcher.busy == nil || rounds > int((renewPeriod+pollPeriod)/time.Second) {
		t.Fatalf("refused after %d rounds: %v", rounds, watcher.busy)
	}
	for _, want := range []string{"Waiting for the lock of extension podinfo, held by bob@ci/1-aaaa (last renewed 29s in our future by its clock, which runs ahead of ours)", "a lease not renewed for 20s is taken over"} {
		if !strings.Contains(watcher.out.String(), want) {
			t.Errorf("the progress does not say %q:\n%s", want, watcher.out)
		}
	}
	if !strings.Contains(watcher.busy.Error(), "another operation is in progress on extension podinfo (held by bob@ci/1-aaaa, which renewed its lease while we watched") {
		t.Errorf("the refusal: %v", watcher.busy)
	}
}

// TestLockSameMachineShortcut: a lease is taken at once only when it proves that its
// holder was a process of this boot, PID namespace and user that no longer runs.
func TestLockSameMachineShortcut(t *testing.T) {
	const holder = "alice@laptop/4242-aaaa"
	here := machine("boot-a", "pid:[1]", 1000, 9000, 900)
	record := processID{Holder: holder, BootID: "boot-a", PIDNamespace: "pid:[1]", UID: 1000, PID: 4242, StartTime: 100}
	with := func(f func(p *processID)) processID { r := record; f(&r); return r }
	running := func(p fakeProcesses, pid int, start uint64) fakeProcesses {
		p.running = map[int]uint64{p.self.PID: p.self.StartTime, pid: start}
		return p
	}

	tests := []struct {
		name     string
		record   *processID
		here     fakeProcesses
		wantTake bool
	}{
		{name: "the holder's process has exited", record: &record, here: here, wantTake: true},
		{name: "its PID runs again, started later: a reused PID", record: &record, here: running(here, 4242, 5000), wantTake: true},
		{name: "the holder still runs", record: &record, here: running(here, 4242, 100)},
		{name: "another boot (or machine) with the same hostname", record: with(func(p *processID) { p.BootID = "boot-b" }).ptr(), here: here},
		{name: "another PID namespace (a container)", record: with(func(p *processID) { p.PIDNamespace = "pid:[2]" }).ptr(), here: here},
		{name: "another user, whose processes /proc may hide", record: with(func(p *processID) { p.UID = 0 }).ptr(), here: here},
		{name: "the record belongs to an earlier holder", record: with(func(p *processID) { p.Holder = "alice@laptop/1-zzzz" }).ptr(), here: here},
		{name: "no start time recorded", record: with(func(p *processID) { p.StartTime = 0 }).ptr(), here: here},
		{name: "no record at all", here: here},
		{name: "this machine cannot tell (no /proc)", record: &record, here: fakeProcesses{noSelf: true}},
		{name: "/proc cannot be read", record: &record, here: fakeProcesses{self: here.self, err: errors.New("permission denied")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := newLeaseClient()
			lease := &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Namespace: lockNS, Name: lockKey.Name},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To(int32(20)),
					RenewTime: ptr.To(metav1.NewMicroTime(lockEpoch))},
			}
			if tt.record != nil {
				lease.Annotations = map[string]string{processAnnotation: mustJSON(t, *tt.record)}
			}
			if err := base.Create(context.Background(), lease); err != nil {
				t.Fatal(err)
			}
			c := newContender(base, "alice@laptop/9000-bbbb", 0, tt.here)
			if got := c.try(t); got != tt.wantTake {
				t.Fatalf("took the lease at once: %v, want %v\n%s", got, tt.wantTake, c.out)
			}
			if !tt.wantTake {
				return
			}
			if !c.l.stale || !strings.Contains(c.out.String(), "its holder alice@laptop/4242-aaaa was a process of this machine that has exited") {
				t.Fatalf("the takeover is not marked stale or not explained (stale %v):\n%s", c.l.stale, c.out)
			}
			// The new holder's own record replaces the old one.
			got := readLease(t, base)
			if want := mustJSON(t, processID{Holder: c.name, BootID: "boot-a", PIDNamespace: "pid:[1]", UID: 1000, PID: 9000, StartTime: 900}); got.Annotations[processAnnotation] != want {
				t.Fatalf("process record %s, want %s", got.Annotations[processAnnotation], want)
			}
			if n := ptr.Deref(got.Spec.LeaseTransitions, 0); n != 1 {
				t.Fatalf("leaseTransitions %d, want 1", n)
			}
		})
	}
}

// suspendedClock is a clock after a suspend of slept: its Since, like Go's monotonic
// clock, does not count the sleep; its Now, the wall clock, does.
type suspendedClock struct {
	*clocktesting.FakeClock
	slept time.Duration
}

func (c suspendedClock) Since(t time.Time) time.Duration { return c.FakeClock.Since(t) - c.slept }

func (p processID) ptr() *processID { return &p }

// leaseWithRecord is a lease that p claimed, with p's process record.
func leaseWithRecord(t *testing.T, p processID) *coordinationv1.Lease {
	t.Helper()
	lk := locker{holder: p.Holder, processes: fakeProcesses{self: p}}
	lease := &coordinationv1.Lease{}
	lk.claim(lease, lockEpoch)
	if lease.Annotations[processAnnotation] == "" {
		t.Fatal("claim wrote no process record")
	}
	return lease
}

func mustJSON(t *testing.T, p processID) string {
	t.Helper()
	return leaseWithRecord(t, p).Annotations[processAnnotation]
}

// TestLockLost: a holder learns it lost the lock when another holder wrote the lease,
// when the lease was deleted, and when it could not renew for renewDeadline (also
// across a suspend, when only the wall clock moved); Lost stays nil while renewals
// succeed.
func TestLockLost(t *testing.T) {
	tests := []struct {
		name string
		// meanwhile happens to the held lock before the holder's next renewal.
		meanwhile func(t *testing.T, base client.Client, c *contender)
		want      string // "" means Lost stays nil
	}{
		{name: "renewing every period, it holds", meanwhile: func(*testing.T, client.Client, *contender) {}},
		{name: "another holder wrote the lease", meanwhile: func(t *testing.T, base client.Client, _ *contender) {
			lease := readLease(t, base)
			lease.Spec.HolderIdentity = ptr.To("mallory@elsewhere/1-zzzz")
			if err := base.Update(context.Background(), lease); err != nil {
				t.Fatal(err)
			}
		}, want: "lost the lock of extension podinfo to mallory@elsewhere/1-zzzz: stopping before the next step"},
		{name: "the lease was deleted", meanwhile: func(t *testing.T, base client.Client, _ *contender) {
			if err := base.Delete(context.Background(), readLease(t, base)); err != nil {
				t.Fatal(err)
			}
		}, want: "lost the lock of extension podinfo: its lease demo/kubeext-podinfo was deleted: stopping before the next step"},
		{name: "renewals failed for longer than the renew deadline", meanwhile: func(_ *testing.T, _ client.Client, c *contender) {
			c.down.Store(true)
			for range 8 {
				c.clock.Step(renewPeriod)
				c.l.renew(context.Background())
			}
		}, want: "lost the lock of extension podinfo: could not renew it for 15s (last error: connection refused): stopping before the next step"},
		{name: "the machine slept: only the wall clock moved", meanwhile: func(_ *testing.T, _ client.Client, c *contender) {
			// Suspended for a minute: the monotonic clock stood still, the wall clock
			// (and every watcher's clock) moved on.
			c.clock.Step(time.Minute)
			c.l.clock = suspendedClock{FakeClock: c.clock, slept: time.Minute}
		}, want: "could not renew it for 15s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := newLeaseClient()
			c := newContender(base, "alice@laptop/1-aaaa", 0, nil)
			if !c.try(t) {
				t.Fatal("could not take a free lock")
			}
			ctx := context.Background()
			for range 5 {
				c.clock.Step(renewPeriod)
				c.l.renew(ctx)
				if err := c.l.Lost(); err != nil {
					t.Fatalf("lost while renewing: %v", err)
				}
			}
			tt.meanwhile(t, base, c)
			c.clock.Step(renewPeriod)
			renewing := c.l.renew(ctx)
			err := c.l.Lost()
			if tt.want == "" {
				if err != nil || !renewing {
					t.Fatalf("Lost: %v, renewing: %v", err, renewing)
				}
				if got := readLease(t, base).Spec.RenewTime.Time; !got.Equal(c.clock.Now()) {
					t.Fatalf("renewTime %s, want the holder's now %s", got, c.clock.Now())
				}
				return
			}
			if !errors.Is(err, ErrLockLost) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Lost: %v\nwant it to say %q", err, tt.want)
			}
			if renewing {
				t.Fatal("it keeps renewing a lock it lost")
			}
			var none *lock
			if err := none.Lost(); err != nil {
				t.Fatalf("a dry run's nil lock says it is lost: %v", err)
			}
			// Lost never becomes nil again, even if a renewal would now succeed.
			c.down.Store(false)
			c.clock.Step(renewPeriod)
			c.l.renew(ctx)
			if again := c.l.Lost(); again == nil {
				t.Fatal("Lost became nil again")
			}
		})
	}
}

// TestLockAcquireLoop runs acquire itself, with its poll timer and the background
// renewal on a fake clock: it waits out a stale lease, gives up at the command's
// timeout, or stops when the command is cancelled; a taken lock is renewed by its
// ticker and released at the end.
func TestLockAcquireLoop(t *testing.T) {
	staleFor := func(seconds int32) func(*testing.T, client.Client) {
		return func(t *testing.T, base client.Client) {
			t.Helper()
			lease := &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Namespace: lockNS, Name: lockKey.Name},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("killed@elsewhere/1-zzzz"), LeaseDurationSeconds: ptr.To(seconds),
					RenewTime: ptr.To(metav1.NewMicroTime(lockEpoch.Add(-time.Hour)))},
			}
			if err := base.Create(context.Background(), lease); err != nil {
				t.Fatal(err)
			}
		}
	}
	stale := staleFor(20)
	tests := []struct {
		name    string
		setup   func(*testing.T, client.Client)
		timeout time.Duration
		cancel  bool
		want    string // "" means the lock is taken
	}{
		{name: "a free lock is taken at once", setup: func(*testing.T, client.Client) {}},
		{name: "a stale lease is taken after the lease duration", setup: stale},
		// A namespace admin can write the Lease; a duration longer than any holder of
		// this product writes would hold every command up to its timeout.
		{name: "a forged hour-long lease duration is waited out for 20s only", setup: staleFor(3600), timeout: time.Minute},
		{name: "the timeout ends the wait", setup: stale, timeout: 5 * time.Second,
			want: "held by killed@elsewhere/1-zzzz; no renewal seen for 5s, but a lease is taken over only after 20s without one, longer than the timeout 5s"},
		{name: "a cancelled command stops waiting", setup: stale, cancel: true, want: "waiting for the lock of extension podinfo: context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := newLeaseClient()
			tt.setup(t, base)
			c := newContender(base, "alice@laptop/1-aaaa", 0, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			type result struct {
				l   *lock
				err error
			}
			done := make(chan result, 1)
			go func() {
				l, err := c.lk.acquire(ctx, lockNS, lockExt, tt.timeout)
				done <- result{l, err}
			}()
			var r result
			for step := 0; ; step++ {
				select {
				case r = <-done:
				case <-time.After(time.Millisecond):
					if c.clock.HasWaiters() {
						if tt.cancel && step > 3 {
							cancel()
						}
						c.clock.Step(pollPeriod)
					}
					if step > 100000 {
						t.Fatal("acquire never returned")
					}
					continue
				}
				break
			}
			if tt.want != "" {
				if r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
					t.Fatalf("acquire: %v\nwant it to say %q", r.err, tt.want)
				}
				return
			}
			if r.err != nil {
				t.Fatal(r.err)
			}
			taken := readLease(t, base)
			// The ticker renews: wait until the renewal goroutine waits on it, step.
			for !c.clock.HasWaiters() {
				time.Sleep(time.Millisecond)
			}
			c.clock.Step(renewPeriod)
			deadline := time.Now().Add(10 * time.Second)
			for readLease(t, base).ResourceVersion == taken.ResourceVersion {
				if time.Now().After(deadline) {
					t.Fatal("the held lease was not renewed when its ticker fired")
				}
				time.Sleep(time.Millisecond)
			}
			r.l.release(context.Background())
			if err := base.Get(context.Background(), lockKey, &coordinationv1.Lease{}); err == nil {
				t.Fatal("release left the lease")
			}
		})
	}
}
