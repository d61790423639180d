package describe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// eventFixtures are the Events of podinfo, oldest first: an install, three failed
// updates in a row, and a Warning from another controller with a two-line message.
func eventFixtures() []corev1.Event {
	at := func(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }
	return []corev1.Event{
		{ObjectMeta: metav1.ObjectMeta{Name: "podinfo.0001"}, Type: "Normal", Reason: "Installed", Count: 1,
			Message: "Installed version 1.4.2 (release podinfo/podinfo revision 1)", FirstTimestamp: at(26 * time.Hour), LastTimestamp: at(26 * time.Hour),
			ReportingController: "kubectl-ext", ReportingInstance: "alice@laptop/4242-x", Source: corev1.EventSource{Component: "kubectl-ext"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "podinfo.0002"}, Type: "Warning", Reason: "UpdateFailed", Count: 3,
			Message: "HelmFailed: chart podinfo was told to fail", FirstTimestamp: at(9 * time.Minute), LastTimestamp: at(2 * time.Minute),
			ReportingController: "extension-manager", Source: corev1.EventSource{Component: "extension-manager"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "podinfo.0003"}, Type: "Warning", Reason: "Denied",
			Message: "denied by policy:\n[EXT-VERSION-005] version 9.9.9 is not in the catalog\n", EventTime: metav1.NewMicroTime(now.Add(-30 * time.Second)),
			Source: corev1.EventSource{Component: "some-controller"}},
	}
}

func TestEventsGolden(t *testing.T) {
	many := make([]corev1.Event, 0, 12)
	for i := range 12 {
		ts := metav1.NewTime(now.Add(time.Duration(i-12) * time.Minute))
		many = append(many, corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("podinfo.%04d", i)}, Type: "Normal", Reason: "Updated",
			Message: fmt.Sprintf("update %d", i), Count: 1, FirstTimestamp: ts, LastTimestamp: ts, ReportingController: "kubectl-ext"})
	}
	forbidden := fmt.Errorf("forbidden: you may not list events in namespace default; ask a cluster admin for that permission: %w",
		apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "", errors.New(`User "bob" cannot list resource "events"`)))
	tests := []struct {
		name    string
		events  []corev1.Event
		readErr error
		golden  string
	}{
		{name: "the recent Events, newest last, repeats with their count and span", events: eventFixtures(), golden: "show-events.golden"},
		{name: "only the last ten", events: many, golden: "show-events-ten.golden"},
		{name: "none", golden: "show-events-none.golden"},
		{name: "a user who may not list Events is told which right that takes", readErr: forbidden, golden: "show-events-forbidden.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			// As show prints it: the extension, then its Events.
			if err := Extension(&b, ptr.To(fixtures()[0]), nil, now); err != nil {
				t.Fatal(err)
			}
			if err := Events(&b, tt.events, tt.readErr, now); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, b.Bytes())
		})
	}
}

// TestWithEvents: -o json|yaml|jsonpath print the Extension with its recent Events
// under EventsKey, through the same printers show uses, and the rest of the Extension
// unchanged.
func TestWithEvents(t *testing.T) {
	e := ptr.To(fixtures()[0])
	e.UID = "uid-podinfo"
	e.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl-ext"}}
	obj, err := WithEvents(e, eventFixtures())
	if err != nil {
		t.Fatal(err)
	}
	print := func(format string) string {
		t.Helper()
		pf := genericclioptions.NewPrintFlags("").WithTypeSetter(lifecycle.Scheme())
		pf.OutputFormat = ptr.To(format)
		p, err := pf.ToPrinter()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := p.PrintObj(obj, &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}

	var got struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Spec       map[string]any `json:"spec"`
		Events     []Event        `json:"events"`
	}
	if err := json.Unmarshal([]byte(print("json")), &got); err != nil {
		t.Fatal(err)
	}
	if got.APIVersion != "kubeext.dev/v1alpha1" || got.Kind != "Extension" || got.Metadata["name"] != "podinfo" || got.Metadata["uid"] != "uid-podinfo" ||
		got.Spec["extensionType"] != "example.podinfo" || got.Metadata["managedFields"] != nil {
		t.Errorf("the Extension printed: %+v", got)
	}
	want := []Event{
		{Type: "Normal", Reason: "Installed", Message: "Installed version 1.4.2 (release podinfo/podinfo revision 1)", Count: 1,
			FirstTimestamp: ptr.To(metav1.NewTime(now.Add(-26 * time.Hour))), LastTimestamp: ptr.To(metav1.NewTime(now.Add(-26 * time.Hour))),
			ReportingController: "kubectl-ext", ReportingInstance: "alice@laptop/4242-x", Name: "podinfo.0001"},
		{Type: "Warning", Reason: "UpdateFailed", Message: "HelmFailed: chart podinfo was told to fail", Count: 3,
			FirstTimestamp: ptr.To(metav1.NewTime(now.Add(-9 * time.Minute))), LastTimestamp: ptr.To(metav1.NewTime(now.Add(-2 * time.Minute))),
			ReportingController: "extension-manager", Name: "podinfo.0002"},
		// An events.k8s.io Event has an eventTime and no timestamps: both are its time.
		{Type: "Warning", Reason: "Denied", Message: "denied by policy:\n[EXT-VERSION-005] version 9.9.9 is not in the catalog\n", Count: 1,
			FirstTimestamp: ptr.To(metav1.NewTime(now.Add(-30 * time.Second))), LastTimestamp: ptr.To(metav1.NewTime(now.Add(-30 * time.Second))),
			ReportingController: "some-controller", Name: "podinfo.0003"},
	}
	if len(got.Events) != len(want) {
		t.Fatalf("events: %+v", got.Events)
	}
	for i := range want {
		g, w := got.Events[i], want[i]
		if g.Type != w.Type || g.Reason != w.Reason || g.Message != w.Message || g.Count != w.Count || !g.FirstTimestamp.Equal(w.FirstTimestamp) ||
			!g.LastTimestamp.Equal(w.LastTimestamp) || g.ReportingController != w.ReportingController || g.ReportingInstance != w.ReportingInstance || g.Name != w.Name {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if y := print("yaml"); !strings.Contains(y, "\nevents:\n- count: 1\n") || !strings.Contains(y, "\nkind: Extension\n") || !strings.Contains(y, "reason: UpdateFailed") {
		t.Errorf("yaml:\n%s", y)
	}
	if j := print("jsonpath={.events[*].reason}"); j != "Installed UpdateFailed Denied" {
		t.Errorf("jsonpath: %q", j)
	}
	if n := print("name"); n != "extension.kubeext.dev/podinfo\n" {
		t.Errorf("name: %q", n)
	}
}
