package manager

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// busyRetry is how soon an extension another command holds is tried again.
const busyRetry = 10 * time.Second

// Reconciler keeps each Extension's release what its spec asks for: a declared
// extension is installed, a changed spec applied, an interrupted or failed operation
// retried (with backoff), a deleted Extension uninstalled (the finalizer), and drift
// reported or corrected. Every action goes through the lifecycle library, as the
// plugin's do: the same lock, policies, reviewed writes and recovery.
type Reconciler struct {
	// Reader reads Extensions from the manager's cache.
	Reader    client.Reader
	Lifecycle *lifecycle.Manager
	Wait      bool
	Timeout   time.Duration
	// DriftInterval is how often a Succeeded extension is checked for drift.
	DriftInterval time.Duration
	Backoff       *backoff
	// Upgrades is the Upgrader's backoff: an extension whose auto-upgrade failed (and
	// was rolled back) is the Upgrader's to retry, not re-applied here.
	Upgrades *backoff
	Now      func() time.Time

	mu sync.Mutex
	// checked is when each extension was last found up to date (applied or checked
	// for drift), so that the wake-ups its own status writes cause check nothing.
	checked map[string]time.Time
	// accepted is the value of the protected-settings acceptance annotation last acted
	// on, per extension.
	accepted map[string]string
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logr.FromContextOrDiscard(ctx)
	e := &v1alpha1.Extension{}
	if err := r.Reader.Get(ctx, req.NamespacedName, e); err != nil {
		if apierrors.IsNotFound(err) {
			r.Backoff.reset(req.Name)
			r.forget(req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if e.DeletionTimestamp != nil {
		return r.finalize(ctx, e)
	}
	if !controllerutil.ContainsFinalizer(e, v1alpha1.FinalizerUninstall) {
		if err := r.Lifecycle.EnsureFinalizer(ctx, e); err != nil {
			return ctrl.Result{}, err
		}
		log.Info("added the finalizer", "finalizer", v1alpha1.FinalizerUninstall)
	}
	if r.upgradeFailed(e) {
		return ctrl.Result{RequeueAfter: max(r.Upgrades.wait(upgradeKey(e.Name)), time.Second)}, nil
	}
	if r.needsApply(e) {
		// Under Correct, a release changed by hand is replaced by what the spec says
		// here too, not only on a drift check (a spec change meeting drift, the policy
		// switched from Report to Correct).
		return r.apply(ctx, e, driftPolicy(e) == v1alpha1.DriftCorrect)
	}
	return r.checkDrift(ctx, e)
}

// needsApply: the spec was never applied (declared with kubectl apply or GitOps), it
// changed since, an operation was left unfinished, or the last one failed; or the
// writer accepted new protected settings by naming their digest in the annotation,
// once per value named (an annotation no Secret matches, or one left behind after the
// settings changed again, is tried once, not in a loop). A deletion the plugin began
// (Deleting) is never applied again: the user asked for the release to go.
func (r *Reconciler) needsApply(e *v1alpha1.Extension) bool {
	s := e.Status
	switch s.ProvisioningState {
	case v1alpha1.ProvisioningDeleting:
		return false
	case v1alpha1.ProvisioningFailed:
		if s.ErrorInfo != nil && s.ErrorInfo.Code == "UninstallFailed" {
			return false
		}
		return true
	case "", v1alpha1.ProvisioningCreating, v1alpha1.ProvisioningUpdating:
		return true
	}
	if d := e.Annotations[v1alpha1.AnnotationProtectedSettingsDigest]; d != "" && d != s.ProtectedSettingsDigest &&
		e.Spec.ConfigurationProtectedSettings != nil && r.firstTry(e.Name, d) {
		return true
	}
	return s.ObservedGeneration != e.Generation
}

// firstTry reports whether digest is a value of the acceptance annotation not yet
// acted on for the extension, and records it.
func (r *Reconciler) firstTry(name, digest string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.accepted == nil {
		r.accepted = map[string]string{}
	}
	if r.accepted[name] == digest {
		return false
	}
	r.accepted[name] = digest
	return true
}

// apply converges the extension, waiting out a backoff first.
func (r *Reconciler) apply(ctx context.Context, e *v1alpha1.Extension, correctRelease bool) (ctrl.Result, error) {
	if wait := r.Backoff.wait(e.Name); wait > 0 && !changedSinceFailure(e) {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	_, err := r.Lifecycle.Converge(ctx, lifecycle.ConvergeRequest{Name: e.Name, Wait: r.Wait, Timeout: r.Timeout, CorrectRelease: correctRelease,
		Recheck: func(fresh *v1alpha1.Extension) error { return r.stillToApply(e, fresh) }})
	if errors.Is(err, errNothingToDo) {
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	return r.outcome(ctx, e.Name, e, err)
}

// errNothingToDo stops an apply whose reason went away while it waited for the lock.
var errNothingToDo = errors.New("nothing to apply")

// stillToApply checks, under the lock, the extension an apply was started for (seen)
// against the one read now (fresh): another command (the plugin, this manager's
// Upgrader) may have applied this very spec, or failed an upgrade that is the
// Upgrader's to retry, while this one waited.
func (r *Reconciler) stillToApply(seen, fresh *v1alpha1.Extension) error {
	if r.upgradeFailed(fresh) {
		return errNothingToDo
	}
	applied := fresh.Status.ProvisioningState == v1alpha1.ProvisioningSucceeded && fresh.Status.ObservedGeneration == fresh.Generation
	if applied && (seen.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded || seen.Status.ObservedGeneration != seen.Generation) {
		return errNothingToDo
	}
	return nil
}

// changedSinceFailure: the user changed the spec after the failure being backed off
// from, which is worth trying at once.
func changedSinceFailure(e *v1alpha1.Extension) bool {
	return e.Status.ProvisioningState == v1alpha1.ProvisioningFailed && e.Status.ObservedGeneration != e.Generation
}

// outcome turns a lifecycle result into the next wake-up: busy waits briefly, a
// failure backs off (the lifecycle recorded the Failed status and its Event), a
// success is checked for drift after DriftInterval.
//
// key names what backs off: the extension's name for its spec, "delete/NAME" for its
// deletion (a new intent, which does not wait for the spec's backoff).
func (r *Reconciler) outcome(ctx context.Context, key string, e *v1alpha1.Extension, err error) (ctrl.Result, error) {
	log := logr.FromContextOrDiscard(ctx)
	switch {
	case err == nil:
		r.Backoff.reset(key)
		r.markChecked(e.Name)
		return ctrl.Result{RequeueAfter: r.DriftInterval}, nil
	case errors.Is(err, lifecycle.ErrBusy):
		log.Info("busy: another command holds the extension's lock; retrying", "after", busyRetry, "reason", err.Error())
		r.event(ctx, e, corev1.EventTypeNormal, "Busy", err.Error())
		return ctrl.Result{RequeueAfter: busyRetry}, nil
	case errors.Is(err, lifecycle.ErrNotFound), errors.Is(err, lifecycle.ErrBeingDeleted):
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	delay := r.Backoff.fail(key)
	log.Error(err, "the operation failed; retrying with backoff", "after", delay, "failures", r.Backoff.count(key))
	reason := "ReconcileFailed"
	if errors.Is(err, lifecycle.ErrProtectedChanged) || errors.Is(err, lifecycle.ErrNotOwned) {
		reason = "ProtectedSettingsChanged"
	}
	// Failures before an operation begins (a refused write, a Secret not handed over)
	// leave no status behind: the Event is where the user sees them.
	// The message names no attempt or delay, so repeats count up one Event.
	r.event(ctx, e, corev1.EventTypeWarning, reason, fmt.Sprintf("%v (retried with backoff)", err))
	return ctrl.Result{RequeueAfter: delay}, nil
}

// finalize uninstalls a deleted Extension that carries the finalizer.
func (r *Reconciler) finalize(ctx context.Context, e *v1alpha1.Extension) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(e, v1alpha1.FinalizerUninstall) {
		return ctrl.Result{}, nil
	}
	key := "delete/" + e.Name
	if wait := r.Backoff.wait(key); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	err := r.Lifecycle.Finalize(ctx, e.Name, r.Wait, r.Timeout)
	if err == nil {
		r.Backoff.reset(key)
		r.Backoff.reset(e.Name)
		r.forget(e.Name)
		return ctrl.Result{}, nil
	}
	return r.outcome(ctx, key, e, err)
}

// checkDrift compares a Succeeded extension with what was applied, at most once per
// DriftInterval, and records the Drifted condition; under driftPolicy Correct it
// restores the release.
func (r *Reconciler) checkDrift(ctx context.Context, e *v1alpha1.Extension) (ctrl.Result, error) {
	if r.DriftInterval <= 0 {
		return ctrl.Result{}, nil
	}
	if e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded {
		// A deletion the plugin began, or an uninstall that failed: nothing to
		// compare with, and nothing to put back.
		return ctrl.Result{RequeueAfter: r.DriftInterval}, nil
	}
	if wait := r.untilCheck(e.Name); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	diffs, err := r.Lifecycle.Drift(ctx, e)
	if err != nil {
		return r.outcome(ctx, e.Name, e, fmt.Errorf("checking for drift: %w", err))
	}
	r.markChecked(e.Name)
	if len(diffs) == 0 {
		if c := meta.FindStatusCondition(e.Status.Conditions, v1alpha1.ConditionDrifted); c == nil || c.Status != metav1.ConditionFalse {
			if err := r.Lifecycle.SetCondition(ctx, e, metav1.Condition{Type: v1alpha1.ConditionDrifted, Status: metav1.ConditionFalse,
				Reason: "InSync", Message: "the release and its objects match what was applied"}); err != nil {
				return ctrl.Result{}, err
			}
		}
		return ctrl.Result{RequeueAfter: r.DriftInterval}, nil
	}
	lines := make([]string, len(diffs))
	correctRelease := false
	for i, d := range diffs {
		lines[i] = d.String()
		correctRelease = correctRelease || d.IsRelease()
	}
	msg := strings.Join(lines, "; ")
	policy := driftPolicy(e)
	if err := r.Lifecycle.SetCondition(ctx, e, metav1.Condition{Type: v1alpha1.ConditionDrifted, Status: metav1.ConditionTrue,
		Reason: "Drifted", Message: msg}); err != nil {
		return ctrl.Result{}, err
	}
	r.event(ctx, e, corev1.EventTypeWarning, "DriftDetected", msg)
	if policy == v1alpha1.DriftReport {
		return ctrl.Result{RequeueAfter: r.DriftInterval}, nil
	}
	if wait := r.Backoff.wait(e.Name); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	_, err = r.Lifecycle.Converge(ctx, lifecycle.ConvergeRequest{Name: e.Name, Wait: r.Wait, Timeout: r.Timeout, CorrectRelease: correctRelease})
	if err == nil {
		fresh := &v1alpha1.Extension{}
		if gerr := r.Lifecycle.Client().Get(ctx, client.ObjectKeyFromObject(e), fresh); gerr == nil {
			_ = r.Lifecycle.SetCondition(ctx, fresh, metav1.Condition{Type: v1alpha1.ConditionDrifted, Status: metav1.ConditionFalse,
				Reason: "Corrected", Message: "corrected: " + msg})
		}
		r.event(ctx, e, corev1.EventTypeNormal, "DriftCorrected", msg)
	}
	return r.outcome(ctx, e.Name, e, err)
}

// upgradeFailed: the extension is Failed because its auto-upgrade failed and was
// rolled back, with its spec as applied: re-applying the version it runs would only
// add a Helm revision, and the Upgrader retries the upgrade after its backoff.
func (r *Reconciler) upgradeFailed(e *v1alpha1.Extension) bool {
	return r.Upgrades != nil && e.Status.ProvisioningState == v1alpha1.ProvisioningFailed &&
		e.Status.ObservedGeneration == e.Generation && r.Upgrades.owns(upgradeKey(e.Name))
}

// driftPolicy is the extension's drift policy; empty means Correct.
func driftPolicy(e *v1alpha1.Extension) v1alpha1.DriftPolicy {
	if e.Spec.DriftPolicy == "" {
		return v1alpha1.DriftCorrect
	}
	return e.Spec.DriftPolicy
}

func (r *Reconciler) event(ctx context.Context, e *v1alpha1.Extension, eventType, reason, msg string) {
	r.Lifecycle.Event(ctx, e, eventType, reason, msg)
}

func (r *Reconciler) markChecked(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.checked == nil {
		r.checked = map[string]time.Time{}
	}
	r.checked[name] = r.Now()
}

func (r *Reconciler) untilCheck(name string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	last, ok := r.checked[name]
	if !ok {
		return 0
	}
	return max(last.Add(r.DriftInterval).Sub(r.Now()), 0)
}

func (r *Reconciler) forget(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.checked, name)
	delete(r.accepted, name)
}
