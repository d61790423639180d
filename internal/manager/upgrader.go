package manager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// Upgrader is the auto-upgrade schedule: every Interval it syncs every ExtensionType's
// versions from its chart source and moves each auto-upgrading extension to the
// version the planner picks (its train, the catalog, the cluster's Kubernetes version
// and the policies; never a new major), as `kubectl ext upgrade` does. Upgrades start
// only inside the maintenance window; until then, and while a failed upgrade backs
// off, the extension's UpgradeAvailable condition says what waits. It runs on the
// leader only.
type Upgrader struct {
	Reader    client.Reader
	Lifecycle *lifecycle.Manager
	Interval  time.Duration
	Window    Window
	Wait      bool
	Timeout   time.Duration
	Backoff   *backoff
	Now       func() time.Time
	Log       logr.Logger
}

// NeedLeaderElection implements manager.LeaderElectionRunnable.
func (u *Upgrader) NeedLeaderElection() bool { return true }

// Start implements manager.Runnable: a pass at once, then one per Interval, or sooner
// when a failed upgrade's backoff ends first.
func (u *Upgrader) Start(ctx context.Context) error {
	if u.Interval <= 0 {
		u.Log.Info("auto-upgrade is off (--upgrade-interval 0)")
		<-ctx.Done()
		return nil
	}
	u.Log.Info("auto-upgrade schedule", "interval", u.Interval, "window", u.Window.String())
	for {
		next := nextPass(u.pass(ctx), u.Now(), u.Window)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(next):
		}
	}
}

// nextPass is the delay before the next pass: after, the one the pass asked for (the
// interval, or a backoff's end), or the window's opening when that comes first. A
// window shorter than the interval could otherwise fall between two passes every week
// (168 h is 28 passes of 6 h), and never be used.
func nextPass(after time.Duration, now time.Time, w Window) time.Duration {
	if w.Contains(now) {
		return after
	}
	return min(after, w.Next(now).Sub(now)+time.Second)
}

// pass is one round of the schedule; it returns the delay until the next.
func (u *Upgrader) pass(ctx context.Context) time.Duration {
	next := u.Interval
	results, err := u.Lifecycle.Catalog().SyncAll(ctx, nil, true)
	if err != nil {
		u.Log.Error(err, "syncing the extension types")
	}
	for _, r := range results {
		if r.Err != nil {
			u.Log.Error(r.Err, "syncing an extension type", "type", r.Name)
		}
	}
	list := &v1alpha1.ExtensionList{}
	if err := u.Reader.List(ctx, list); err != nil {
		u.Log.Error(err, "listing the extensions")
		return next
	}
	// One planner for the pass: the cluster's version, the policies' inventory and
	// each type are read once, not once per extension.
	planner, err := u.Lifecycle.NewPlanner(ctx)
	if err != nil {
		u.Log.Error(err, "reading the cluster to plan upgrades")
		return next
	}
	for i := range list.Items {
		e := &list.Items[i]
		if wait := u.one(ctx, planner, e); wait > 0 && wait < next {
			next = wait
		}
	}
	return next
}

// one plans and, inside the window, applies one extension's upgrade. It returns how
// long a backoff still holds the extension (0 for none).
func (u *Upgrader) one(ctx context.Context, planner *lifecycle.Planner, e *v1alpha1.Extension) time.Duration {
	log := u.Log.WithValues("extension", e.Name)
	// Failed is ours to retry only when our own upgrade failed (and was rolled back).
	settled := e.Status.ProvisioningState == v1alpha1.ProvisioningSucceeded ||
		e.Status.ProvisioningState == v1alpha1.ProvisioningFailed && u.Backoff.count(upgradeKey(e.Name)) > 0
	if e.DeletionTimestamp != nil || !ptr.Deref(e.Spec.AutoUpgradeMinorVersion, true) ||
		!settled || e.Status.ObservedGeneration != e.Generation {
		return 0 // not installed as its spec asks: the reconciler's business first
	}
	p, err := planner.Plan(ctx, e)
	if err != nil {
		log.Error(err, "planning the upgrade")
		return 0
	}
	if p.Action != lifecycle.ActionUpgrade {
		u.condition(ctx, e, metav1.ConditionFalse, "UpToDate", p.Reason)
		return 0
	}
	key := upgradeKey(e.Name)
	now := u.Now()
	if !u.Window.Contains(now) {
		msg := fmt.Sprintf("version %s is allowed; the upgrade waits for the maintenance window (%s), which next opens at %s",
			p.Target, u.Window, u.Window.Next(now).Format(time.RFC3339))
		if u.condition(ctx, e, metav1.ConditionTrue, "WaitingForWindow", msg) {
			u.Lifecycle.Event(ctx, e, corev1.EventTypeNormal, "UpgradeAvailable", msg)
		}
		return 0
	}
	if wait := u.Backoff.wait(key); wait > 0 {
		u.condition(ctx, e, metav1.ConditionTrue, "BackingOff", fmt.Sprintf(
			"version %s is allowed; after %d failed attempts the next is at %s", p.Target, u.Backoff.count(key), now.Add(wait).Format(time.RFC3339)))
		return wait
	}
	log.Info("upgrading", "from", p.Current, "to", p.Target)
	done := u.Backoff.attempt(key)
	defer done()
	_, err = u.Lifecycle.Update(ctx, lifecycle.UpdateRequest{Name: e.Name, TargetVersion: p.Target, Wait: u.Wait, Timeout: u.Timeout})
	switch {
	case err == nil:
		u.Backoff.reset(key)
		if fresh, gerr := u.Lifecycle.Get(ctx, e.Name); gerr == nil {
			u.condition(ctx, fresh, metav1.ConditionFalse, "Upgraded", "upgraded to "+p.Target)
		}
		return 0
	case errors.Is(err, lifecycle.ErrBusy):
		log.Info("busy: another command holds the extension's lock; the next pass retries", "reason", err.Error())
		return 0
	}
	delay := u.Backoff.fail(key)
	log.Error(err, "the upgrade failed", "to", p.Target, "retryAfter", delay)
	u.Lifecycle.Event(ctx, e, corev1.EventTypeWarning, "UpgradeFailed",
		fmt.Sprintf("upgrade to %s failed (attempt %d; retrying after %s): %v", p.Target, u.Backoff.count(key), delay, err))
	if fresh, gerr := u.Lifecycle.Get(ctx, e.Name); gerr == nil {
		u.condition(ctx, fresh, metav1.ConditionTrue, "UpgradeFailed", fmt.Sprintf("version %s is allowed; the upgrade failed and is retried after %s", p.Target, delay))
	}
	return delay
}

// upgradeKey is an extension's key in the Upgrader's backoff.
func upgradeKey(name string) string { return "upgrade/" + name }

// condition sets UpgradeAvailable, and reports whether it changed.
func (u *Upgrader) condition(ctx context.Context, e *v1alpha1.Extension, status metav1.ConditionStatus, reason, msg string) bool {
	old := meta.FindStatusCondition(e.Status.Conditions, v1alpha1.ConditionUpgradeAvailable)
	if old == nil && status == metav1.ConditionFalse {
		return false // nothing was ever available: no news to write
	}
	changed := old == nil || old.Status != status || old.Reason != reason
	if err := u.Lifecycle.SetCondition(ctx, e, metav1.Condition{Type: v1alpha1.ConditionUpgradeAvailable, Status: status, Reason: reason, Message: msg}); err != nil {
		u.Log.Error(err, "recording the UpgradeAvailable condition", "extension", e.Name)
	}
	return changed
}
