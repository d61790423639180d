package lifecycle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The lock of an extension is a coordination.k8s.io Lease, kubeext-NAME in the release
// namespace, with the semantics of client-go's leader election
// (k8s.io/client-go/tools/leaderelection): the times in a lease were written by
// another machine's clock, so they are never compared with ours. Only their change
// counts.
//
//   - A command that finds the lease held watches it. If the record (holder, renew
//     time, ...) changes while it watches, the holder is alive: the command fails at
//     once with ErrBusy, telling the user to retry. If the record stays as it was for
//     the lease's duration (20 s) on the watcher's own monotonic clock, the holder
//     stopped renewing (it was killed, or lost its connection) and the lease is taken
//     over with an update conditional on the resourceVersion that was watched, so of
//     two watchers only one wins. While it watches, the command says whom it waits
//     for; the wait is bounded by the command's --timeout.
//   - The holder renews every 2 s. If it cannot renew for 15 s (renewDeadline, less
//     than the duration a watcher waits, so it knows before anyone can take over) or
//     it finds another holder in the lease, it has lost the lock: Lost returns an error
//     from then on, and the operation checks Lost before each of its steps (the Helm
//     action, each status write), stopping before the next one. A step already under
//     way (a Helm upgrade) is not interrupted; the next command's recovery repairs it.
//   - One shortcut: when the lease records that its holder was a process of this very
//     boot of this machine, in our PID namespace and run by our user, and that process
//     (PID and start time) no longer exists, the lease is taken over at once, so a
//     command killed with SIGKILL does not make the next one on the same machine wait
//     20 s. A hostname proves nothing (containers, cloned VMs and laptops share names),
//     so it is never used; where /proc is missing (macOS, Windows) there is no shortcut.
//
// Why the algorithm of client-go's LeaderElector and not the elector itself: it
// retries until it leads, with no "the holder is alive, give up now" that a CLI needs;
// its clock cannot be injected, so the skew tests would have to sleep; and its
// resourcelock.LeaseLock wants a typed clientset where the manager has a
// controller-runtime client, cannot write the process record next to the holder, and
// watches a record whose times are cut to the second. What is taken from client-go is
// the algorithm (watch the record, judge expiry by the local time of observation,
// renewDeadline < leaseDuration) and its injectable clock, k8s.io/utils/clock.

// ErrBusy: another kubectl ext command holds the extension's lock.
var ErrBusy = errors.New("another operation is in progress")

// ErrLockLost: the command held the extension's lock and lost it (it could not renew
// the lease in time, or another command took it over). See (*lock).Lost.
var ErrLockLost = errors.New("lost the lock")

const (
	// leaseDuration is how long a watcher waits, on its own clock, for a renewal
	// before it takes the lease over.
	leaseDuration = 20 * time.Second
	// renewDeadline is how long a holder keeps the lock without a successful
	// renewal; shorter than leaseDuration, as in client-go, so that a holder
	// that cannot renew stops before a watcher can take over, even when its
	// clock runs up to 25% slower than the watcher's.
	renewDeadline = 15 * time.Second
	// renewPeriod is how often the holder renews, so a watcher sees a live holder
	// within about two seconds.
	renewPeriod = 2 * time.Second
	// pollPeriod is how often a watcher reads the lease.
	pollPeriod = 1 * time.Second
	// requestTimeout bounds one renewal's API call, so a hung call cannot hide
	// that the deadline passed (Lost also checks the time itself).
	requestTimeout = 5 * time.Second

	// processAnnotation records which process holds the lease, for the same-machine
	// shortcut; it names the holder it belongs to, so a record left by an earlier
	// holder is never taken for the current one's.
	processAnnotation = "kubeext.dev/lock-holder-process"
)

func leaseName(extension string) string { return "kubeext-" + extension }

// lock is one command's hold on one extension's lease, renewed in the background
// until release.
type lock struct {
	c         client.Client
	key       types.NamespacedName
	extension string
	holder    string
	clock     clock.WithTicker
	// stale is true when the lock was taken over from a holder that stopped renewing
	// (or whose process is gone): its Creating/Updating/Deleting state is stale.
	stale bool
	// tookFrom is the holder identity of the stale lock taken over: the interrupted
	// command whose Helm revision recovery may repair (release.OperationLabel).
	tookFrom string

	stop context.CancelFunc
	done sync.WaitGroup

	mu sync.Mutex
	// lease is the lease as this holder last wrote it.
	lease *coordinationv1.Lease
	// renewed is when, on our clock, the last successful write of the lease was
	// sent: the server applied it no earlier, so a watcher's wait started no earlier.
	renewed time.Time
	// lastErr is the last failed renewal's error, for the message when it is lost.
	lastErr error
	// lost is set once the lock is lost; it never becomes nil again.
	lost error
}

// locker takes locks: the client, who we are, a clock, where progress goes and how
// to tell whether a process of this machine still runs.
type locker struct {
	c         client.Client
	holder    string
	clock     clock.WithTicker
	progress  func(format string, args ...any)
	processes processTable
}

// acquire takes the extension's lock for the manager, or fails with ErrBusy naming
// the holder. timeout (the command's --timeout, 0 for none) bounds how long it waits
// for a lease that may be stale.
func (m *Manager) acquire(ctx context.Context, namespace, extension string, timeout time.Duration) (*lock, error) {
	lk := locker{c: m.client, holder: m.holder, clock: clock.RealClock{}, progress: m.progress, processes: localProcesses{}}
	return lk.acquire(ctx, namespace, extension, timeout)
}

// acquire tries the lease every pollPeriod until it is taken, the holder shows it is
// alive, timeout passes or ctx ends. On success the lease is renewed until release.
func (lk locker) acquire(ctx context.Context, namespace, extension string, timeout time.Duration) (*lock, error) {
	w := lk.watch(namespace, extension)
	start := lk.clock.Now()
	for {
		taken, err := w.try(ctx)
		if err != nil {
			return nil, err
		}
		if taken {
			w.l.start(ctx)
			return w.l, nil
		}
		if timeout > 0 && lk.clock.Since(start)+pollPeriod > timeout {
			return nil, w.timedOut(timeout)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the lock of extension %s: %w", extension, ctx.Err())
		case <-lk.clock.After(pollPeriod):
		}
	}
}

// watcher is one contender's view of a lease across its reads: the record it first
// saw and when, on its own clock, it saw it.
type watcher struct {
	lk locker
	l  *lock
	// observed is the serialised election record being watched; nil before the first read.
	observed   []byte
	observedAt time.Time
	holder     string
	duration   time.Duration
}

func (lk locker) watch(namespace, extension string) *watcher {
	return &watcher{lk: lk, l: &lock{
		c: lk.c, key: types.NamespacedName{Namespace: namespace, Name: leaseName(extension)},
		extension: extension, holder: lk.holder, clock: lk.clock,
	}}
}

// try reads the lease once and takes it when it is free, stale, or its holder is
// proven gone. It returns false while the lease must still be watched, and ErrBusy
// once the holder has renewed (or another contender took it) under our eyes.
func (w *watcher) try(ctx context.Context) (bool, error) {
	l := w.l
	lease := &coordinationv1.Lease{}
	err := l.c.Get(ctx, l.key, lease)
	if apierrors.IsNotFound(err) {
		return w.create(ctx)
	}
	if err != nil {
		return false, fmt.Errorf("reading the lock of extension %s: %w", l.extension, err)
	}
	holder := ptr.Deref(lease.Spec.HolderIdentity, "")
	if holder == "" {
		// Released by a client that empties the holder rather than deleting the lease.
		return w.take(ctx, lease, false)
	}
	if w.lk.holderGone(lease, holder) {
		w.lk.progress("Taking over the lock of extension %s: its holder %s was a process of this machine that has exited",
			l.extension, holder)
		return w.take(ctx, lease, true)
	}
	// The record watched for change is the whole spec at the precision stored
	// (microseconds), so two renewals within one second still differ.
	record, err := json.Marshal(lease.Spec)
	if err != nil {
		return false, err
	}
	now := w.lk.clock.Now()
	switch {
	case w.observed == nil:
		w.observed, w.observedAt, w.holder = record, now, holder
		// A holder's own shorter duration is honoured; a longer one is not ours (every
		// holder writes leaseDuration at most) and, since the release namespace's admins
		// can write the Lease, would hold every command up to its timeout.
		w.duration = leaseDuration
		if d := time.Duration(ptr.Deref(lease.Spec.LeaseDurationSeconds, 0)) * time.Second; d > 0 && d < leaseDuration {
			w.duration = d
		}
		w.lk.progress("Waiting for the lock of extension %s, held by %s (%s); a lease not renewed for %s is taken over",
			l.extension, holder, renewedAgo(lease.Spec.RenewTime, now), w.duration)
		return false, nil
	case !bytes.Equal(record, w.observed) && holder != w.holder:
		// The lock passed from the holder we waited for to another contender (one of
		// several waiting, or a takeover): not a renewal, so the message must not say
		// one, but a live holder all the same.
		return false, fmt.Errorf("%w on extension %s (held by %s, which took it from %s while we watched; %s): retry when it finishes",
			ErrBusy, l.extension, holder, w.holder, renewedAgo(lease.Spec.RenewTime, now))
	case !bytes.Equal(record, w.observed):
		return false, busy(l.extension, holder, renewedAgo(lease.Spec.RenewTime, now))
	case w.lk.clock.Since(w.observedAt) < w.duration:
		return false, nil
	}
	w.lk.progress("Taking over the lock of extension %s: %s has not renewed it for %s", l.extension, holder,
		w.lk.clock.Since(w.observedAt).Round(time.Second))
	return w.take(ctx, lease, true)
}

// create takes a lease that does not exist. If another contender creates it first,
// the next try watches theirs.
func (w *watcher) create(ctx context.Context) (bool, error) {
	l := w.l
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: l.key.Namespace, Name: l.key.Name,
		Labels: map[string]string{"app.kubernetes.io/managed-by": "kubectl-ext"}}}
	sent := w.lk.clock.Now()
	w.lk.claim(lease, sent)
	if err := l.c.Create(ctx, lease); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return false, nil
		}
		return false, fmt.Errorf("taking the lock of extension %s: %w", l.extension, err)
	}
	l.lease, l.renewed = lease, sent
	return true, nil
}

// take writes us into a lease read a moment ago. The update carries that read's
// resourceVersion: if anyone wrote the lease since, it fails, and the next try sees
// the change.
func (w *watcher) take(ctx context.Context, lease *coordinationv1.Lease, stale bool) (bool, error) {
	l := w.l
	sent := w.lk.clock.Now()
	from := ptr.Deref(lease.Spec.HolderIdentity, "")
	w.lk.claim(lease, sent)
	if err := l.c.Update(ctx, lease); err != nil {
		if apierrors.IsConflict(err) {
			return false, nil
		}
		return false, fmt.Errorf("taking the lock of extension %s: %w", l.extension, err)
	}
	l.lease, l.renewed, l.stale = lease, sent, stale
	if stale {
		l.tookFrom = from
	}
	return true, nil
}

// claim makes lease ours: a new holder's spec (one more transition when it had a
// holder) and the annotation that proves which process we are, or none.
func (lk locker) claim(lease *coordinationv1.Lease, now time.Time) {
	t := metav1.NewMicroTime(now)
	transitions := ptr.Deref(lease.Spec.LeaseTransitions, 0)
	if ptr.Deref(lease.Spec.HolderIdentity, "") != "" {
		transitions++
	}
	lease.Spec = coordinationv1.LeaseSpec{
		HolderIdentity:       ptr.To(lk.holder),
		LeaseDurationSeconds: ptr.To(int32(leaseDuration / time.Second)),
		AcquireTime:          &t,
		RenewTime:            &t,
		LeaseTransitions:     ptr.To(transitions),
	}
	delete(lease.Annotations, processAnnotation)
	if lk.processes == nil {
		return
	}
	self, ok := lk.processes.Self()
	if !ok {
		return
	}
	self.Holder = lk.holder
	b, err := json.Marshal(self)
	if err != nil {
		return
	}
	if lease.Annotations == nil {
		lease.Annotations = map[string]string{}
	}
	lease.Annotations[processAnnotation] = string(b)
}

// holderGone reports whether the lease's holder is proven to be a process of this
// machine's current boot, in our PID namespace, of our user, that no longer runs.
// Anything less (no record, a record of another holder, another boot, an unreadable
// /proc) is no proof, and the lease is waited out.
func (lk locker) holderGone(lease *coordinationv1.Lease, holder string) bool {
	if lk.processes == nil {
		return false
	}
	var rec processID
	if err := json.Unmarshal([]byte(lease.Annotations[processAnnotation]), &rec); err != nil || rec.Holder != holder {
		return false
	}
	self, ok := lk.processes.Self()
	if !ok || rec.BootID == "" || rec.BootID != self.BootID || rec.PIDNamespace != self.PIDNamespace ||
		rec.UID != self.UID || rec.PID <= 0 || rec.StartTime == 0 {
		return false
	}
	start, exists, err := lk.processes.StartTime(rec.PID)
	if err != nil {
		return false
	}
	// A PID that runs again with another start time was reused by a new process.
	return !exists || start != rec.StartTime
}

// processID identifies a process on a machine beyond doubt: a boot of the kernel (its
// random boot id), a PID namespace, and in it a PID and the process's start time
// (clock ticks since boot), which tells a reused PID apart. The user id matters
// because /proc may hide other users' processes (hidepid), which would look gone.
type processID struct {
	Holder       string `json:"holder"`
	BootID       string `json:"bootID"`
	PIDNamespace string `json:"pidNamespace"`
	UID          int    `json:"uid"`
	PID          int    `json:"pid"`
	StartTime    uint64 `json:"startTime"`
}

// processTable is what the same-machine shortcut needs to know about processes;
// localProcesses reads /proc, tests give their own.
type processTable interface {
	// Self identifies this process; false where that is not possible.
	Self() (processID, bool)
	// StartTime is the start time of the process pid of our PID namespace; exists
	// is false when there is none.
	StartTime(pid int) (start uint64, exists bool, err error)
}

func busy(extension, holder, renewed string) error {
	return fmt.Errorf("%w on extension %s (held by %s, which renewed its lease while we watched; %s): retry when it finishes",
		ErrBusy, extension, holder, renewed)
}

// timedOut is the error when the command's timeout ends the watch before the lease
// could be judged stale.
func (w *watcher) timedOut(timeout time.Duration) error {
	if w.observed == nil {
		return fmt.Errorf("%w on extension %s (another command took the lock as we tried, within the timeout %s): retry when it finishes",
			ErrBusy, w.l.extension, timeout)
	}
	return fmt.Errorf("%w on extension %s (held by %s; no renewal seen for %s, but a lease is taken over only after %s without one, longer than the timeout %s): retry, or give a longer --timeout",
		ErrBusy, w.l.extension, w.holder, w.lk.clock.Since(w.observedAt).Round(time.Second), w.duration, timeout)
}

// renewedAgo tells the user how old the lease looks. It compares the holder's clock
// with ours, so it is only shown, never judged.
func renewedAgo(rt *metav1.MicroTime, now time.Time) string {
	if rt == nil || rt.IsZero() {
		return "never renewed"
	}
	age := now.Sub(rt.Time).Round(time.Second)
	if age < 0 {
		return fmt.Sprintf("last renewed %s in our future by its clock, which runs ahead of ours", -age)
	}
	return fmt.Sprintf("last renewed %s ago by its clock", age)
}

// start begins the background renewal.
func (l *lock) start(ctx context.Context) {
	renewCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.stop = cancel
	l.done.Add(1)
	go l.renewLoop(renewCtx)
}

func (l *lock) renewLoop(ctx context.Context) {
	defer l.done.Done()
	t := l.clock.NewTicker(renewPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		if !l.renew(ctx) {
			return
		}
	}
}

// renew writes a new renew time into the lease once. It returns false once the lock
// is lost, when renewing is pointless.
func (l *lock) renew(ctx context.Context) bool {
	if l.Lost() != nil {
		return false
	}
	l.mu.Lock()
	lease := l.lease.DeepCopy()
	l.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	sent := l.clock.Now()
	lease.Spec.RenewTime = ptr.To(metav1.NewMicroTime(sent))
	err := l.c.Update(rctx, lease)
	if apierrors.IsConflict(err) {
		// Someone wrote the lease: if it is still ours (a label changed), renew the
		// fresh copy; if it names another holder, we lost it.
		fresh := &coordinationv1.Lease{}
		if err = l.c.Get(rctx, l.key, fresh); err == nil {
			if h := ptr.Deref(fresh.Spec.HolderIdentity, ""); h != l.holder {
				l.lose(fmt.Errorf("%w of extension %s to %s: stopping before the next step", ErrLockLost, l.extension, orNone(h)))
				return false
			}
			fresh.Spec.RenewTime = lease.Spec.RenewTime
			lease = fresh
			err = l.c.Update(rctx, lease)
		}
	}
	if apierrors.IsNotFound(err) {
		l.lose(fmt.Errorf("%w of extension %s: its lease %s/%s was deleted: stopping before the next step", ErrLockLost, l.extension, l.key.Namespace, l.key.Name))
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.lastErr = err
		return true
	}
	if sinceRenewed(l.clock, l.renewed) > renewDeadline {
		// Renewed too late: a watcher may already have waited out the lease, so
		// this write does not make the lock ours again.
		return true
	}
	l.lease, l.renewed, l.lastErr = lease, sent, nil
	return true
}

func (l *lock) lose(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil {
		l.lost = err
	}
}

// Lost returns nil while the command holds the lock, and from the moment it has lost
// it an ErrLockLost error saying so: another command took the lease over, the lease
// was deleted, or it could not be renewed for renewDeadline, after which a watcher
// may take it. Operations call it before each step and return its error, stopping
// before they change anything else. A nil lock (a dry run takes none) has nothing
// to lose.
func (l *lock) Lost() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil && sinceRenewed(l.clock, l.renewed) > renewDeadline {
		cause := ""
		if l.lastErr != nil {
			cause = fmt.Sprintf(" (last error: %v)", l.lastErr)
		}
		l.lost = fmt.Errorf("%w of extension %s: could not renew it for %s%s: stopping before the next step",
			ErrLockLost, l.extension, renewDeadline, cause)
	}
	return l.lost
}

// sinceRenewed is the time since the last renewal by the monotonic clock or by the
// wall clock, whichever is longer: the monotonic clock stops while a laptop sleeps,
// but watchers' clocks do not, so after a suspend the wall clock tells the truth.
func sinceRenewed(c clock.PassiveClock, renewed time.Time) time.Duration {
	return max(c.Since(renewed), c.Now().Round(0).Sub(renewed.Round(0)))
}

// release stops renewing and deletes the lease if it is still ours.
func (l *lock) release(ctx context.Context) {
	if l == nil {
		return
	}
	l.stop()
	l.done.Wait()
	lease := &coordinationv1.Lease{}
	if err := l.c.Get(ctx, l.key, lease); err == nil && ptr.Deref(lease.Spec.HolderIdentity, "") == l.holder {
		_ = l.c.Delete(ctx, lease, client.Preconditions{ResourceVersion: &lease.ResourceVersion})
	}
}
