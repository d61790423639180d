package lifecycle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/release"
	"github.com/kubeext/kubectl-ext/internal/settings"
)

// Every action on an extension, and every failure, is also recorded as a core/v1 Event
// about the Extension, so that `kubectl describe ext NAME`, `kubectl get events` and
// `kubectl ext show NAME` tell what happened, whoever acted: the plugin or the
// extension manager. The status keeps only the last outcome; Events keep the recent
// history.
//
// Events are written synchronously: the plugin exits right after its operation, so
// client-go's asynchronous broadcaster would lose them. A failure to write one never
// fails the operation.

// EventNamespace is where Events about Extensions are written. Extensions are
// cluster-scoped, and kubectl looks for the Events of a cluster-scoped object in
// "default" (as for Nodes).
const EventNamespace = metav1.NamespaceDefault

// DefaultReporter names the plugin in the Events it records (source.component and
// reportingController); the extension manager sets Config.Reporter to its own name.
const DefaultReporter = "kubectl-ext"

// The reasons of the Events about an Extension. The plugin and the manager record
// the first group through the operations of this package; the manager records the
// second itself.
const (
	ReasonInstalling      = "Installing"
	ReasonInstalled       = "Installed"
	ReasonUpdating        = "Updating"
	ReasonUpdated         = "Updated"
	ReasonUpgraded        = "Upgraded"
	ReasonRolledBack      = "RolledBack"
	ReasonInstallFailed   = "InstallFailed"
	ReasonUpdateFailed    = "UpdateFailed"
	ReasonRecovered       = "Recovered"
	ReasonUninstalling    = "Uninstalling"
	ReasonUninstalled     = "Uninstalled"
	ReasonUninstallFailed = "UninstallFailed"

	ReasonDriftDetected            = "DriftDetected"
	ReasonDriftCorrected           = "DriftCorrected"
	ReasonUpgradeAvailable         = "UpgradeAvailable"
	ReasonUpgradeFailed            = "UpgradeFailed"
	ReasonBusy                     = "Busy"
	ReasonProtectedSettingsChanged = "ProtectedSettingsChanged"
)

// EventRepeatWindow: a repeat of an Event (same Extension, type, reason, message and
// reporter) within this long after its last occurrence is counted in it (count,
// lastTimestamp) rather than recorded anew, as client-go's correlator does; a later
// one starts a series of its own.
const EventRepeatWindow = 10 * time.Minute

// maxEventMessage bounds an Event's message: the limit the events.k8s.io API puts on
// a note. The status keeps the whole message.
const maxEventMessage = 1024

// eventWriteTimeout bounds the writes of one Event, so that an API server that stopped
// answering delays the operation by this much at most.
const eventWriteTimeout = 10 * time.Second

// eventWarned: a failure to record an Event has been reported. One warning per
// process is enough: the next failures are almost always the same one (no right to
// create Events), and a command's output should be about its operation.
var eventWarned atomic.Bool

// Event records an Event about e: type corev1.EventTypeNormal or
// corev1.EventTypeWarning, a reason (the Reason constants) and a message, which is
// redacted of every protected value the operation in ctx has seen and truncated. The
// write goes on after ctx is cancelled, within eventWriteTimeout, so that a failure
// is recorded even after Ctrl-C. A failure to write is reported once per process on
// Progress and is never the operation's failure.
func (m *Manager) Event(ctx context.Context, e *v1alpha1.Extension, eventType, reason, message string) {
	if e == nil {
		return
	}
	message = settings.Truncate(operationOf(ctx).redact(message), maxEventMessage)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), eventWriteTimeout)
	defer cancel()
	if err := m.writeEvent(wctx, e, eventType, reason, message); err != nil && eventWarned.CompareAndSwap(false, true) {
		m.progress("Warning: the %s Event of extension %s was not recorded, and further Events may not be either "+
			"(the operation goes on without them): %v", reason, e.Name, explain(err, "create", "events in namespace "+EventNamespace))
	}
}

// writeEvent creates the Event under a name derived from what identifies a repeat,
// so a repeat finds the earlier one by name (one GET, no list of the namespace's
// Events) and two writers of the same Event meet on it. When a repeat cannot be
// counted (a writer who may create Events but not read or patch them), it is
// recorded under a name of its own.
func (m *Manager) writeEvent(ctx context.Context, e *v1alpha1.Extension, eventType, reason, message string) error {
	now := metav1.NewTime(m.now())
	name := eventName(e, eventType, reason, message, m.reporter)
	var err error
	for range 3 {
		if err = m.client.Create(ctx, m.newEvent(e, name, eventType, reason, message, now)); !apierrors.IsAlreadyExists(err) {
			return err
		}
		if err = m.repeatEvent(ctx, name, now); err == nil {
			return nil
		}
		// Conflict: another writer counted a repeat meanwhile. NotFound: the API server
		// expired the Event (its --event-ttl) between the create and the read.
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			break
		}
	}
	if cerr := m.client.Create(ctx, m.newEvent(e, uniqueEventName(name), eventType, reason, message, now)); cerr != nil {
		return errors.Join(err, cerr)
	}
	return nil
}

// repeatEvent counts a repeat in the Event of that name: within EventRepeatWindow of
// its last occurrence count and lastTimestamp move on; after it, the earlier series is
// kept under a name of its own (show and describe still list when it happened) and
// the Event starts a new series. The patch carries the resourceVersion read, so two
// writers never count one repeat twice.
func (m *Manager) repeatEvent(ctx context.Context, name string, now metav1.Time) error {
	old := &corev1.Event{}
	if err := m.client.Get(ctx, client.ObjectKey{Namespace: EventNamespace, Name: name}, old); err != nil {
		return err
	}
	ev := old.DeepCopy()
	if now.Sub(LastSeen(old)) > EventRepeatWindow {
		earlier := old.DeepCopy()
		earlier.ObjectMeta = metav1.ObjectMeta{Namespace: EventNamespace, Name: uniqueEventName(name),
			Labels: old.Labels, Annotations: old.Annotations}
		if err := m.client.Create(ctx, earlier); err != nil {
			return err
		}
		ev.Count, ev.FirstTimestamp = 1, now
	} else {
		ev.Count = max(ev.Count, 1) + 1
	}
	ev.LastTimestamp = now
	if ev.Annotations == nil {
		ev.Annotations = map[string]string{}
	}
	ev.Annotations[annotationSeenAt] = now.UTC().Format(time.RFC3339Nano)
	ev.ReportingInstance = m.holder
	return m.client.Patch(ctx, ev, client.MergeFromWithOptions(old, client.MergeFromWithOptimisticLock{}))
}

// newEvent is an Event about e, in the legacy core/v1 form (firstTimestamp,
// lastTimestamp and count, no eventTime) that kubectl describe and kubectl get events
// show in full.
func (m *Manager) newEvent(e *v1alpha1.Extension, name, eventType, reason, message string, now metav1.Time) *corev1.Event {
	return &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Namespace: EventNamespace, Name: name,
			Annotations: map[string]string{annotationSeenAt: now.UTC().Format(time.RFC3339Nano)}},
		InvolvedObject: corev1.ObjectReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Extension",
			Name: e.Name, UID: e.UID},
		Type: eventType, Reason: reason, Message: message,
		Source:         corev1.EventSource{Component: m.reporter},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: m.reporter,
		ReportingInstance:   m.holder,
	}
}

// eventName names the Event of one (Extension, type, reason, message, reporter):
// the Extension's name and a digest of the rest. The Extension's UID is part of it,
// so an Extension deleted and created again starts afresh. The reporter is too: the
// plugin's and the manager's Events stay apart, so "from" is always right.
func eventName(e *v1alpha1.Extension, eventType, reason, message, reporter string) string {
	h := sha256.New()
	for _, s := range []string{string(e.UID), e.Name, eventType, reason, message, reporter} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	// Leave room for the digest and a unique suffix within the 253 characters of a
	// name; a cut name must still end with an alphanumeric.
	prefix := e.Name
	if len(prefix) > 200 {
		prefix = strings.TrimRight(prefix[:200], "-.")
	}
	return prefix + "." + hex.EncodeToString(h.Sum(nil))[:16]
}

// uniqueEventName is a name no other Event has: base and a random suffix.
func uniqueEventName(base string) string { return base + "." + rand.String(8) }

// LastSeen is when an Event last happened: lastTimestamp, or for an Event written
// through events.k8s.io its series' or its own eventTime, else firstTimestamp, else
// its creation.
func LastSeen(ev *corev1.Event) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, ev.Annotations[annotationSeenAt]); err == nil {
		return t
	}
	switch {
	case !ev.LastTimestamp.IsZero():
		return ev.LastTimestamp.Time
	case ev.Series != nil && !ev.Series.LastObservedTime.IsZero():
		return ev.Series.LastObservedTime.Time
	case !ev.EventTime.IsZero():
		return ev.EventTime.Time
	case !ev.FirstTimestamp.IsZero():
		return ev.FirstTimestamp.Time
	}
	return ev.CreationTimestamp.Time
}

// Events returns the Events about e, oldest first (by LastSeen): those in
// EventNamespace whose involvedObject is this Extension, by name and kind and, when e
// has one, UID, so an earlier Extension of the same name does not lend its Events.
// Any reporter's Events are listed, kubectl ext's and others'. Reading Events takes
// list on events in EventNamespace; the error of a reader who may not is Forbidden
// (apierrors.IsForbidden).
func (m *Manager) Events(ctx context.Context, e *v1alpha1.Extension) ([]corev1.Event, error) {
	sel := fields.Set{"involvedObject.kind": "Extension", "involvedObject.name": e.Name}
	if e.UID != "" {
		sel["involvedObject.uid"] = string(e.UID)
	}
	l := &corev1.EventList{}
	if err := m.client.List(ctx, l, client.InNamespace(EventNamespace), client.MatchingFieldsSelector{Selector: sel.AsSelector()}); err != nil {
		return nil, explain(err, "list", "events in namespace "+EventNamespace)
	}
	sortEvents(l.Items)
	return l.Items, nil
}

// annotationSeenAt records, to the nanosecond, when kubectl ext last saw an Event
// happen: lastTimestamp keeps whole seconds, and an install's Installing and
// Installed fall in one second.
const annotationSeenAt = "kubeext.dev/last-seen"

// sortEvents orders Events oldest first by LastSeen; Events of the same second by
// creation, then name, so the order is the same on every read.
func sortEvents(items []corev1.Event) {
	sort.SliceStable(items, func(i, j int) bool {
		a, b := &items[i], &items[j]
		if ta, tb := LastSeen(a), LastSeen(b); !ta.Equal(tb) {
			return ta.Before(tb)
		}
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return a.CreationTimestamp.Before(&b.CreationTimestamp)
		}
		return a.Name < b.Name
	})
}

// The Events of the operations: what each records, and when.

// startedEvent records that Helm is about to act: Installing for a first install,
// Updating for an upgrade of the recorded release or an adoption.
func (m *Manager) startedEvent(ctx context.Context, e *v1alpha1.Extension, version string, adopt, install bool) {
	where := ReleaseNamespace(e) + "/" + e.Name
	switch current := e.Status.CurrentVersion; {
	case adopt:
		m.Event(ctx, e, corev1.EventTypeNormal, ReasonUpdating,
			fmt.Sprintf("Adopting release %s: its stored records are replaced by version %s with the extension's own values", where, version))
	case install:
		m.Event(ctx, e, corev1.EventTypeNormal, ReasonInstalling, fmt.Sprintf("Installing version %s as release %s", version, where))
	case current != "" && current != version:
		m.Event(ctx, e, corev1.EventTypeNormal, ReasonUpdating, fmt.Sprintf("Upgrading release %s from version %s to %s", where, current, version))
	default:
		m.Event(ctx, e, corev1.EventTypeNormal, ReasonUpdating, fmt.Sprintf("Updating release %s at version %s", where, version))
	}
}

// succeededEvent is the reason and message of an operation that deployed version as
// rec, read from e's status before it records the outcome: Installed for the first
// revision of an extension (nothing was running: created, or declared and never
// installed), Upgraded when the version moved (up or down: the message says which
// versions), else Updated (the settings changed at the same version).
func succeededEvent(e *v1alpha1.Extension, version string, rec release.Record) (reason, message string) {
	where := fmt.Sprintf("release %s/%s revision %d", ReleaseNamespace(e), e.Name, rec.Revision)
	switch current := e.Status.CurrentVersion; {
	case current == "" || e.Status.ProvisioningState == v1alpha1.ProvisioningCreating:
		return ReasonInstalled, fmt.Sprintf("Installed version %s (%s)", version, where)
	case current != version:
		return ReasonUpgraded, fmt.Sprintf("Upgraded from version %s to %s (%s)", current, version, where)
	}
	return ReasonUpdated, fmt.Sprintf("Updated at version %s (%s)", version, where)
}

// failureReason names a failure by the operation that failed, read from e before the
// failure is recorded: an Extension being deleted failed to uninstall, one being
// created to install, and any other to update.
func failureReason(e *v1alpha1.Extension) string {
	switch {
	case e.DeletionTimestamp != nil || e.Status.ProvisioningState == v1alpha1.ProvisioningDeleting:
		return ReasonUninstallFailed
	case e.Status.ProvisioningState == v1alpha1.ProvisioningCreating:
		return ReasonInstallFailed
	}
	return ReasonUpdateFailed
}

// failedEvents records a failure (a Warning with the status code and message) and,
// when the failed upgrade was rolled back to rec, the rollback.
func (m *Manager) failedEvents(ctx context.Context, e *v1alpha1.Extension, reason, code, msg string, rec release.Record) {
	m.Event(ctx, e, corev1.EventTypeWarning, reason, code+": "+msg)
	if !rec.IsZero() {
		m.Event(ctx, e, corev1.EventTypeNormal, ReasonRolledBack,
			fmt.Sprintf("Rolled back release %s/%s to version %s, its recorded manifest and values (revision %d)",
				ReleaseNamespace(e), e.Name, e.Status.CurrentVersion, rec.Revision))
	}
}
