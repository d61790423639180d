package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// The status of an Extension tells where its last operation got: begin marks it in
// progress, succeed or fail records the outcome, and recover turns a state an
// interrupted command left behind into Failed.

// setStatus writes the status through the status subresource (admission-reviewed),
// retrying on conflicts with a fresh read.
func (m *Manager) setStatus(ctx context.Context, e *v1alpha1.Extension, mutate func(*v1alpha1.ExtensionStatus)) error {
	for attempt := 0; ; attempt++ {
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
	return v1alpha1.StatusEntry{Code: code, DisplayStatus: display, Level: level, Message: msg, Time: &t}
}

// begin marks the extension as in progress toward target.
func (m *Manager) begin(ctx context.Context, e *v1alpha1.Extension, state v1alpha1.ProvisioningState, target string) error {
	return m.setStatus(ctx, e, func(s *v1alpha1.ExtensionStatus) {
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
	})
}

// succeed records the installed version and revision.
func (m *Manager) succeed(ctx context.Context, e *v1alpha1.Extension, version string, revision int) error {
	cluster, err := m.cluster.ClusterInfo(ctx)
	if err != nil {
		return err
	}
	return m.setStatus(ctx, e, func(s *v1alpha1.ExtensionStatus) {
		if s.KubernetesVersion == "" || majorMinor(s.CurrentVersion) != majorMinor(version) {
			s.KubernetesVersion = cluster.Minor
		}
		s.ProvisioningState = v1alpha1.ProvisioningSucceeded
		s.CurrentVersion = version
		s.TargetVersion = ""
		s.Release.Revision = revision
		s.ErrorInfo = nil
		s.ObservedGeneration = e.Generation
		s.Statuses = []v1alpha1.StatusEntry{m.statusEntry(v1alpha1.LevelInformation, "Succeeded", "Deployed",
			fmt.Sprintf("version %s deployed (release revision %d)", version, revision))}
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue,
			Reason: "Succeeded", Message: "version " + version, ObservedGeneration: e.Generation})
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Progressing", Status: metav1.ConditionFalse,
			Reason: "Succeeded", Message: "version " + version, ObservedGeneration: e.Generation})
	})
}

// fail records an operation's failure; the returned error is opErr.
func (m *Manager) fail(ctx context.Context, e *v1alpha1.Extension, code string, opErr error) error {
	msg := opErr.Error()
	serr := m.setStatus(ctx, e, func(s *v1alpha1.ExtensionStatus) {
		s.ProvisioningState = v1alpha1.ProvisioningFailed
		s.TargetVersion = ""
		s.ErrorInfo = &v1alpha1.ErrorInfo{Code: code, Message: msg}
		s.ObservedGeneration = e.Generation
		s.Statuses = []v1alpha1.StatusEntry{m.statusEntry(v1alpha1.LevelError, code, "Failed", msg)}
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse,
			Reason: code, Message: msg, ObservedGeneration: e.Generation})
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Progressing", Status: metav1.ConditionFalse,
			Reason: code, Message: msg, ObservedGeneration: e.Generation})
	})
	if serr != nil {
		return errors.Join(opErr, fmt.Errorf("recording the failure: %w", serr))
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

// inProgress reports whether a state means an operation was under way.
func inProgress(s v1alpha1.ProvisioningState) bool {
	return s == v1alpha1.ProvisioningCreating || s == v1alpha1.ProvisioningUpdating || s == v1alpha1.ProvisioningDeleting
}

// recover repairs what an interrupted command left: a pending Helm release and a
// Creating/Updating/Deleting state no live command holds. The lock is held.
func (m *Manager) recover(ctx context.Context, e *v1alpha1.Extension, l *lock, timeout time.Duration) error {
	did, err := m.helm.RecoverPending(e.Name, ReleaseNamespace(e), timeout)
	if err != nil {
		return fmt.Errorf("recovering the interrupted release of extension %s: %w", e.Name, err)
	}
	if did != "" {
		m.progress("Recovered: %s", did)
	}
	if inProgress(e.Status.ProvisioningState) {
		was := e.Status.ProvisioningState
		m.progress("Recovered: extension %s was left %s by an interrupted command (lock expired: %v)", e.Name, was, l.stale)
		return m.setStatus(ctx, e, func(s *v1alpha1.ExtensionStatus) {
			s.ProvisioningState = v1alpha1.ProvisioningFailed
			s.TargetVersion = ""
			s.ErrorInfo = &v1alpha1.ErrorInfo{Code: "Interrupted",
				Message: fmt.Sprintf("the command that set %s was interrupted; the next operation recovers it", was)}
		})
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
