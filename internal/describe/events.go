package describe

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// MaxEvents is how many Events show lists: the most recent ones, as kubectl describe
// lists the recent Events of an object.
const MaxEvents = 10

// EventsKey is the key under which `show -o json|yaml` adds the extension's recent
// Events to the printed Extension: a top-level key beside apiVersion, kind, metadata,
// spec and status, which no Extension field can take. `--show-events=false` leaves it
// out, so the output is the Extension alone (to apply elsewhere, for instance).
const EventsKey = "events"

// Event is one Event as show's machine formats give it: what the human view shows,
// with times instead of ages, and the Event's name in lifecycle.EventNamespace.
type Event struct {
	Type                string       `json:"type"`
	Reason              string       `json:"reason"`
	Message             string       `json:"message"`
	Count               int32        `json:"count"`
	FirstTimestamp      *metav1.Time `json:"firstTimestamp,omitempty"`
	LastTimestamp       *metav1.Time `json:"lastTimestamp,omitempty"`
	ReportingController string       `json:"reportingController,omitempty"`
	ReportingInstance   string       `json:"reportingInstance,omitempty"`
	Name                string       `json:"name"`
}

// Recent returns the last MaxEvents of events (oldest first, as lifecycle.Events
// returns them), in show's machine form.
func Recent(events []corev1.Event) []Event {
	if len(events) > MaxEvents {
		events = events[len(events)-MaxEvents:]
	}
	out := make([]Event, 0, len(events))
	for i := range events {
		ev := &events[i]
		last := metav1.NewTime(lifecycle.LastSeen(ev))
		first := ev.FirstTimestamp
		if first.IsZero() {
			first = last
		}
		out = append(out, Event{Type: ev.Type, Reason: ev.Reason, Message: ev.Message, Count: max(ev.Count, 1),
			FirstTimestamp: &first, LastTimestamp: &last, ReportingController: from(ev), ReportingInstance: ev.ReportingInstance,
			Name: ev.Name})
	}
	return out
}

// WithEvents is e, without managed fields, with its recent Events under EventsKey:
// what `show -o json|yaml|jsonpath|go-template` prints.
func WithEvents(e *v1alpha1.Extension, events []corev1.Event) (runtime.Object, error) {
	e = e.DeepCopy()
	e.SetManagedFields(nil)
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(e)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetAPIVersion(v1alpha1.GroupVersion.String())
	u.SetKind("Extension")
	list := []any{}
	for _, ev := range Recent(events) {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&ev)
		if err != nil {
			return nil, err
		}
		list = append(list, m)
	}
	u.Object[EventsKey] = list
	return u, nil
}

// Events writes show's Events section as kubectl describe does: the most recent
// MaxEvents, newest last, with TYPE REASON AGE FROM MESSAGE; AGE says how often and
// over how long a repeated Event happened. readErr, when the Events could not be read,
// is said in their place: show still shows the extension.
func Events(out io.Writer, events []corev1.Event, readErr error, now time.Time) error {
	w := printers.GetNewTabWriter(out)
	switch {
	case readErr != nil:
		fmt.Fprintf(w, "Events:\t<not shown: %s>\n", unreadable(readErr))
		return w.Flush()
	case len(events) == 0:
		fmt.Fprintln(w, "Events:\t<none>")
		return w.Flush()
	}
	fmt.Fprintln(w, "Events:")
	fmt.Fprintln(w, "  Type\tReason\tAge\tFrom\tMessage")
	fmt.Fprintln(w, "  ----\t------\t----\t----\t-------")
	for _, ev := range Recent(events) {
		when := age(ev.LastTimestamp.Time, now)
		if ev.Count > 1 {
			when = fmt.Sprintf("%s (x%d over %s)", when, ev.Count, age(ev.FirstTimestamp.Time, now))
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\n", ev.Type, ev.Reason, when, dash(ev.ReportingController), oneLine(ev.Message))
	}
	return w.Flush()
}

// unreadable says why the Events are not shown: for a user who may not list them,
// which right that takes, without the API server's long message.
func unreadable(err error) string {
	if apierrors.IsForbidden(err) {
		return "you may not list events in namespace " + lifecycle.EventNamespace
	}
	var se apierrors.APIStatus
	if errors.As(err, &se) && se.Status().Message != "" {
		return se.Status().Message
	}
	return err.Error()
}

// from names who recorded an Event: its reporting controller, or for Events written
// the older way its source component.
func from(ev *corev1.Event) string {
	if ev.ReportingController != "" {
		return ev.ReportingController
	}
	return ev.Source.Component
}

// oneLine keeps a multi-line message (a policy denial lists one rule per line) on the
// table's row.
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, " ")
}
