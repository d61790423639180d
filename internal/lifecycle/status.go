package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/release"
	"github.com/kubeext/kubectl-ext/internal/settings"
)

// The status of an Extension tells where its last operation got: begin marks it in
// progress, succeed or fail records the outcome, and recover turns a state an
// interrupted command left behind into Failed.

// setStatus writes the status through the status subresource (admission-reviewed),
// retrying on conflicts with a fresh read. It writes nothing once the operation's lock
// is lost (another command may own the extension now), and nothing for an Extension
// being deleted: the policies let such a write change metadata only.
func (m *Manager) setStatus(ctx context.Context, e *v1alpha1.Extension, mutate func(*v1alpha1.ExtensionStatus)) error {
	if e.DeletionTimestamp != nil {
		return nil
	}
	for attempt := 0; ; attempt++ {
		if err := stillHeld(ctx); err != nil {
			return err
		}
		mutate(&e.Status)
		err := m.client.Status().Update(ctx, e)
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt >= 4 {
			return explain(err, "update", "extensions/status")
		}
		if gerr := m.client.Get(ctx, client.ObjectKeyFromObject(e), e); gerr != nil {
			return gerr
		}
	}
}

func (m *Manager) statusEntry(level v1alpha1.StatusLevel, code, display, msg string) v1alpha1.StatusEntry {
	t := metav1.NewTime(m.now())
	return v1alpha1.StatusEntry{Code: code, DisplayStatus: display, Level: level, Message: settings.Truncate(msg, maxMessage), Time: &t}
}

// begin marks the extension as in progress toward target.
// protectedDigest, when not "", records the digest of the protected settings about
// to be written.
func (m *Manager) begin(ctx context.Context, e *v1alpha1.Extension, state v1alpha1.ProvisioningState, target, protectedDigest string) error {
	return m.setStatus(ctx, e, func(s *v1alpha1.ExtensionStatus) {
		if protectedDigest != "" {
			s.ProtectedSettingsDigest = protectedDigest
		}
		s.ProvisioningState = state
		s.Scope = ScopeOf(e)
		s.TargetVersion = target
		s.Release.Name, s.Release.Namespace = e.Name, ReleaseNamespace(e)
		s.ErrorInfo = nil
		s.Statuses = []v1alpha1.StatusEntry{m.statusEntry(v1alpha1.LevelInformation, string(state), string(state),
			fmt.Sprintf("%s toward version %s", state, target))}
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Progressing", Status: metav1.ConditionTrue,
			Reason: string(state), Message: "version " + target, ObservedGeneration: e.Generation})
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse,
			Reason: string(state), Message: "the operation is in progress", ObservedGeneration: e.Generation})
		setKstatus(s, metav1.Condition{Type: v1alpha1.ConditionReconciling, Status: metav1.ConditionTrue,
			Reason: string(state), Message: "version " + target, ObservedGeneration: e.Generation})
	})
}

// setKstatus sets one of kstatus's abnormal-true conditions (Reconciling, Stalled)
// and removes the other; c.Type "" removes both.
func setKstatus(s *v1alpha1.ExtensionStatus, c metav1.Condition) {
	for _, t := range []string{v1alpha1.ConditionReconciling, v1alpha1.ConditionStalled} {
		if t != c.Type {
			meta.RemoveStatusCondition(&s.Conditions, t)
		}
	}
	if c.Type != "" {
		meta.SetStatusCondition(&s.Conditions, c)
	}
}

// succeed records the installed version and the record of its revision. When that
// cannot be written (the command was interrupted, the API server refused), the
// failure is recorded with the revision Helm deployed: without it, the next command
// would find a deployed revision nobody recorded and refuse it as drift. The current
// version stays the one last recorded as succeeded, so the command run again (create,
// update, upgrade) applies its version once more, from the recorded revision.
func (m *Manager) succeed(ctx context.Context, e *v1alpha1.Extension, version string, rec release.Record) error {
	was := e.Status.DeepCopy()
	if err := m.recordSuccess(ctx, e, version, rec); err != nil {
		// The failed write's changes stay out of the failure's.
		e.Status = *was
		return m.failRecorded(ctx, e, "StatusFailed", fmt.Errorf("version %s was deployed (release revision %d), but recording it failed: %w", version, rec.Revision, err), rec)
	}
	return nil
}

func (m *Manager) recordSuccess(ctx context.Context, e *v1alpha1.Extension, version string, rec release.Record) error {
	cluster, err := m.cluster.ClusterInfo(ctx)
	if err != nil {
		return err
	}
	// The Event is told from the status before it records the outcome.
	reason, message := succeededEvent(e, version, rec)
	err = m.setStatus(ctx, e, func(s *v1alpha1.ExtensionStatus) {
		if s.KubernetesVersion == "" || majorMinor(s.CurrentVersion) != majorMinor(version) {
			s.KubernetesVersion = cluster.Minor
		}
		s.ProvisioningState = v1alpha1.ProvisioningSucceeded
		s.CurrentVersion = version
		s.TargetVersion = ""
		setRecord(s, rec)
		s.ErrorInfo = nil
		s.ObservedGeneration = e.Generation
		s.Statuses = []v1alpha1.StatusEntry{m.statusEntry(v1alpha1.LevelInformation, "Succeeded", "Deployed",
			fmt.Sprintf("version %s deployed (release revision %d)", version, rec.Revision))}
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue,
			Reason: "Succeeded", Message: "version " + version, ObservedGeneration: e.Generation})
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Progressing", Status: metav1.ConditionFalse,
			Reason: "Succeeded", Message: "version " + version, ObservedGeneration: e.Generation})
		setKstatus(s, metav1.Condition{})
	})
	if err == nil {
		m.Event(ctx, e, corev1.EventTypeNormal, reason, message)
	}
	return err
}

// fail records an operation's failure; the returned error is opErr, redacted. The
// status is written with a detached, bounded context, so a failure is recorded even
// when the command was cancelled; its message is redacted and truncated. A failure
// after the command's context was cancelled (SIGINT, SIGTERM) is recorded as code
// Interrupted, whatever step it stopped: the step's own error is then only the
// cancellation's echo ("context canceled").
func (m *Manager) fail(ctx context.Context, e *v1alpha1.Extension, code string, opErr error) error {
	return m.failRecorded(ctx, e, code, opErr, release.Record{})
}

// failRecorded is fail that also records the release revision now deployed, when rec
// is not zero (a failed upgrade that was rolled back).
func (m *Manager) failRecorded(ctx context.Context, e *v1alpha1.Extension, code string, opErr error, rec release.Record) error {
	opErr = operationOf(ctx).redactErr(opErr)
	msg := statusMessage(ctx, opErr.Error())
	if ctx.Err() != nil {
		msg = statusMessage(ctx, fmt.Sprintf("the command was interrupted (%v): %v", context.Cause(ctx), opErr))
		opErr = &InterruptedError{Cause: context.Cause(ctx), Err: opErr}
		code = codeInterrupted
	}
	sctx, cancel := detached(ctx)
	defer cancel()
	reason := failureReason(e)
	serr := m.setStatus(sctx, e, func(s *v1alpha1.ExtensionStatus) {
		s.ProvisioningState = v1alpha1.ProvisioningFailed
		s.TargetVersion = ""
		if !rec.IsZero() {
			setRecord(s, rec)
		}
		s.ErrorInfo = &v1alpha1.ErrorInfo{Code: code, Message: msg}
		s.ObservedGeneration = e.Generation
		s.Statuses = []v1alpha1.StatusEntry{m.statusEntry(v1alpha1.LevelError, code, "Failed", msg)}
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse,
			Reason: code, Message: msg, ObservedGeneration: e.Generation})
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Progressing", Status: metav1.ConditionFalse,
			Reason: code, Message: msg, ObservedGeneration: e.Generation})
		setKstatus(s, metav1.Condition{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue,
			Reason: code, Message: msg, ObservedGeneration: e.Generation})
	})
	m.failedEvents(sctx, e, reason, code, msg, rec)
	if serr != nil {
		return errors.Join(opErr, fmt.Errorf("recording the failure: %w", operationOf(ctx).redactErr(serr)))
	}
	return opErr
}

func majorMinor(v string) string {
	parts := strings.SplitN(strings.SplitN(v, "-", 2)[0], ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// InterruptedError is the error of an operation whose context was cancelled (Ctrl-C,
// SIGTERM, the manager shutting down) once its failure is recorded: Err is what failed
// after the cancellation, which is the interruption's doing. The command line shows
// every error of an interrupted command in this one form ("interrupted: ...").
type InterruptedError struct {
	Cause, Err error
}

func (e *InterruptedError) Error() string { return "interrupted: " + e.Err.Error() }

// Unwrap lets errors.Is find both the cancellation (context.Canceled) and the error.
func (e *InterruptedError) Unwrap() []error { return []error{e.Cause, e.Err} }

// codeInterrupted is the errorInfo code of an operation whose command was
// interrupted: by a signal (fail), or killed, which the next command finds (recover).
const codeInterrupted = "Interrupted"

// inProgress reports whether a state means an operation was under way.
func inProgress(s v1alpha1.ProvisioningState) bool {
	return s == v1alpha1.ProvisioningCreating || s == v1alpha1.ProvisioningUpdating || s == v1alpha1.ProvisioningDeleting
}

// nextAction is what a command does to the release after recover.
type nextAction int

const (
	thenApply     nextAction = iota // install or upgrade it
	thenAdopt                       // replace the stored release whole (--adopt-release)
	thenUninstall                   // uninstall it
)

// recover repairs what an interrupted command left: a pending Helm revision that
// command stored (release.Client trusts it only when it follows the recorded revision
// and the extension shows an unfinished operation) and a Creating/Updating/Deleting
// state no live command holds. The lock is held.
//
// then is what the command does next: with thenAdopt, the stored release is left
// alone (the adoption replaces it whole); with thenUninstall, what an interrupted
// revision created is deleted with its record (release.Client.RecoverForUninstall),
// since no later install would take it over.
func (m *Manager) recover(ctx context.Context, e *v1alpha1.Extension, l *lock, then nextAction) error {
	if err := stillHeld(ctx); err != nil {
		return err
	}
	if then != thenAdopt {
		h, err := m.helmFor(ctx, nil, e) // Helm acts as the install identity (identity.go)
		if err != nil {
			return err
		}
		recoverRelease := h.RecoverPending
		if then == thenUninstall {
			recoverRelease = h.RecoverForUninstall
		}
		did, err := recoverRelease(e.Name, ReleaseNamespace(e), recordOf(e), inProgress(e.Status.ProvisioningState), l.tookFrom)
		if err != nil {
			return fmt.Errorf("recovering the interrupted release of extension %s: %w", e.Name, err)
		}
		if did != "" {
			m.progress("Recovered: %s", did)
			m.Event(ctx, e, corev1.EventTypeWarning, ReasonRecovered, "Recovered: "+did)
		}
	}
	if inProgress(e.Status.ProvisioningState) {
		was := e.Status.ProvisioningState
		m.progress("Recovered: extension %s was left %s by an interrupted command (lock expired: %v)", e.Name, was, l.stale)
		if err := m.setStatus(ctx, e, func(s *v1alpha1.ExtensionStatus) {
			s.ProvisioningState = v1alpha1.ProvisioningFailed
			s.TargetVersion = ""
			s.ErrorInfo = &v1alpha1.ErrorInfo{Code: codeInterrupted,
				Message: fmt.Sprintf("the command that set %s was interrupted; the next operation recovers it", was)}
		}); err != nil {
			return err
		}
		m.Event(ctx, e, corev1.EventTypeWarning, ReasonRecovered,
			fmt.Sprintf("Extension %s was left %s by an interrupted command; recorded as Failed, the operation goes on", e.Name, was))
	}
	return nil
}

func errorMessage(e *v1alpha1.Extension) string {
	if e.Status.ErrorInfo != nil && e.Status.ErrorInfo.Message != "" {
		return e.Status.ErrorInfo.Message
	}
	return string(e.Status.ProvisioningState)
}

func orNone(s string) string {
	if s == "" {
		return "recorded without a state"
	}
	return s
}

// releaseDetached releases l when a command ends, with a context of its own bounded
// like a status write: after Ctrl-C with an API server that no longer answers, the
// release must not hold the command (the Lease then expires by itself).
func releaseDetached(ctx context.Context, l *lock) {
	rctx, cancel := detached(ctx)
	defer cancel()
	l.release(rctx)
}

// holder is the lock holder identity of the operation's command ("" before it holds
// its lock, or without an operation): stamped into the revisions it stores.
func (o *operation) holder() string {
	if o == nil {
		return ""
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.lock == nil {
		return ""
	}
	return o.lock.holder
}
