package admission

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// recorded is one Event handed to eventLog.
type recorded struct {
	ref               *corev1.ObjectReference
	annotations       map[string]string
	eventType, reason string
	message           string
}

// eventLog is a record.EventRecorder that keeps what it is given.
type eventLog struct {
	mu     sync.Mutex
	events []recorded
}

func (l *eventLog) Event(obj runtime.Object, eventType, reason, message string) {
	l.AnnotatedEventf(obj, nil, eventType, reason, "%s", message)
}

func (l *eventLog) Eventf(obj runtime.Object, eventType, reason, format string, args ...any) {
	l.AnnotatedEventf(obj, nil, eventType, reason, format, args...)
}

func (l *eventLog) AnnotatedEventf(obj runtime.Object, annotations map[string]string, eventType, reason, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ref, _ := obj.(*corev1.ObjectReference)
	l.events = append(l.events, recorded{ref: ref, annotations: annotations, eventType: eventType, reason: reason, message: fmt.Sprintf(format, args...)})
}

// TestDenialsAreRecorded: every denied review, and only those, becomes a Warning Event
// about the refused object; dry runs leave none (sideEffects NoneOnDryRun).
func TestDenialsAreRecorded(t *testing.T) {
	unknownType := func(e *v1alpha1.Extension) { e.Spec.ExtensionType = "nope" }
	stored := ext("podinfo", func(e *v1alpha1.Extension) { e.UID = types.UID("uid-podinfo") })
	dryRun := func(r admissionv1.AdmissionRequest) admissionv1.AdmissionRequest {
		r.DryRun = ptr.To(true)
		return r
	}
	for _, tc := range []struct {
		name        string
		req         admissionv1.AdmissionRequest
		wantEvent   bool
		wantUID     types.UID
		wantMessage []string
		wantRules   string
	}{
		{name: "a denied create is recorded about the extension it names, without a UID",
			req:         request(admissionv1.Create, "", raw(t, ext("podinfo", unknownType)), runtime.RawExtension{}).AdmissionRequest,
			wantEvent:   true,
			wantMessage: []string{"CREATE of extensions by alice denied:", "[EXT-TYPE-001]"},
			wantRules:   "EXT-TYPE-001"},
		{name: "a denied update is recorded about the stored extension, with its UID",
			req: request(admissionv1.Update, "", raw(t, ext("podinfo", unknownType, func(e *v1alpha1.Extension) { e.UID = "uid-podinfo" })),
				raw(t, stored)).AdmissionRequest,
			wantEvent: true, wantUID: "uid-podinfo",
			wantMessage: []string{"UPDATE of extensions by alice denied:", "[EXT-SCOPE-"},
		},
		{name: "a denied status write names the subresource",
			req: request(admissionv1.Update, "status", raw(t, ext("podinfo", func(e *v1alpha1.Extension) {
				e.UID = "uid-podinfo"
				e.Status.CurrentVersion = "1.5.0"
			})), raw(t, stored)).AdmissionRequest,
			wantEvent: true, wantUID: "uid-podinfo",
			wantMessage: []string{"UPDATE of extensions/status by alice denied:"}},
		{name: "the kind the API server sends is the involved object's",
			req: func() admissionv1.AdmissionRequest {
				r := request(admissionv1.Create, "", raw(t, ext("podinfo", unknownType)), runtime.RawExtension{}).AdmissionRequest
				r.Kind = metav1.GroupVersionKind{Group: "kubeext.dev", Version: "v1alpha1", Kind: "Extension"}
				return r
			}(),
			wantEvent: true, wantMessage: []string{"[EXT-TYPE-001]"}},
		{name: "a denied dry run is not recorded",
			req: dryRun(request(admissionv1.Create, "", raw(t, ext("podinfo", unknownType)), runtime.RawExtension{}).AdmissionRequest)},
		{name: "an allowed write is not recorded",
			req: request(admissionv1.Create, "", raw(t, ext("podinfo")), runtime.RawExtension{}).AdmissionRequest},
		{name: "a review that failed is not a denial",
			req: request(admissionv1.Create, "", runtime.RawExtension{Raw: []byte("{not json")}, runtime.RawExtension{}).AdmissionRequest},
		{name: "a create with only generateName names nothing to record it about",
			req: func() admissionv1.AdmissionRequest {
				r := request(admissionv1.Create, "", raw(t, ext("", unknownType)), runtime.RawExtension{}).AdmissionRequest
				r.Name = ""
				return r
			}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := testHandler(t)
			log := &eventLog{}
			h.Denials = EventDenials{Recorder: log}
			h.Handle(context.Background(), admission.Request{AdmissionRequest: tc.req})
			if !tc.wantEvent {
				if len(log.events) != 0 {
					t.Fatalf("recorded %+v, want nothing", log.events)
				}
				return
			}
			if len(log.events) != 1 {
				t.Fatalf("recorded %d events, want 1: %+v", len(log.events), log.events)
			}
			ev := log.events[0]
			want := &corev1.ObjectReference{APIVersion: "kubeext.dev/v1alpha1", Kind: "Extension", Name: "podinfo", UID: tc.wantUID}
			if *ev.ref != *want {
				t.Errorf("involved object %+v, want %+v", ev.ref, want)
			}
			if ev.eventType != corev1.EventTypeWarning || ev.reason != DenialReason {
				t.Errorf("type %s reason %s, want Warning %s", ev.eventType, ev.reason, DenialReason)
			}
			for _, w := range tc.wantMessage {
				if !strings.Contains(ev.message, w) {
					t.Errorf("message %q lacks %q", ev.message, w)
				}
			}
			if tc.wantRules != "" && ev.annotations[AnnotationDeniedRules] != tc.wantRules {
				t.Errorf("rules annotation %q, want %q", ev.annotations[AnnotationDeniedRules], tc.wantRules)
			}
			if ev.annotations[AnnotationDeniedUser] != "alice" || ev.annotations[AnnotationDeniedOperation] != string(tc.req.Operation) {
				t.Errorf("annotations %v", ev.annotations)
			}
		})
	}
}

// TestDenialMessageIsBounded: a denial of many rules is cut to the events API's limit
// of a note, and the rules annotation still names every rule.
func TestDenialMessageIsBounded(t *testing.T) {
	req := request(admissionv1.Create, "", runtime.RawExtension{}, runtime.RawExtension{}).AdmissionRequest
	d := decisionOf(40)
	msg := DenialMessage(req, d)
	if len(msg) > maxDenialMessage || !strings.HasSuffix(msg, "[truncated]") {
		t.Errorf("message of %d bytes, ending %q", len(msg), msg[len(msg)-20:])
	}
	if got := strings.Count(DenialAnnotations(req, d)[AnnotationDeniedRules], "EXT-"); got != 40 {
		t.Errorf("the annotation names %d rules, want 40", got)
	}
}

func decisionOf(n int) policy.Decision {
	var d policy.Decision
	for i := range n {
		d.Deny = append(d.Deny, policy.Result{ID: fmt.Sprintf("EXT-TEST-%03d", i), Msg: strings.Repeat("why ", 20)})
	}
	return d
}

// uids is an ObjectUIDs over a fixed set of objects, "Kind/name" to UID.
type uids map[string]types.UID

func (u uids) UID(_ context.Context, kind, name string) (types.UID, bool, error) {
	uid, ok := u[kind+"/"+name]
	return uid, ok, nil
}

// TestForgedDenialsAreNotRecorded: anyone who reaches the webhook's port can post a
// review, so a denial is recorded only when it matches the cluster (an UPDATE names
// the stored object's UID, a CREATE a name that does not exist), and never beyond
// the rate limit.
func TestForgedDenialsAreNotRecorded(t *testing.T) {
	unknownType := func(e *v1alpha1.Extension) { e.Spec.ExtensionType = "nope" }
	withUID := func(uid types.UID) func(*v1alpha1.Extension) {
		return func(e *v1alpha1.Extension) { e.UID = uid }
	}
	create := request(admissionv1.Create, "", raw(t, ext("podinfo", unknownType)), runtime.RawExtension{}).AdmissionRequest
	update := func(uid types.UID) admissionv1.AdmissionRequest {
		return request(admissionv1.Update, "", raw(t, ext("podinfo", unknownType, withUID(uid))), raw(t, ext("podinfo", withUID(uid)))).AdmissionRequest
	}
	stored := uids{"Extension/podinfo": "uid-podinfo"}
	for _, tc := range []struct {
		name    string
		objects uids
		limit   flowcontrol.PassiveRateLimiter
		req     admissionv1.AdmissionRequest
		want    bool
	}{
		{name: "an update that names the stored UID is recorded", objects: stored, req: update("uid-podinfo"), want: true},
		{name: "an update that names another UID is a forgery", objects: stored, req: update("uid-guessed")},
		{name: "an update of an object that does not exist is a forgery", objects: uids{}, req: update("uid-podinfo")},
		{name: "a create of a new name is recorded", objects: uids{}, req: create, want: true},
		{name: "a create of an existing name is not recorded", objects: stored, req: create},
		{name: "nothing is recorded beyond the rate limit", objects: uids{}, limit: flowcontrol.NewFakeNeverRateLimiter(), req: create},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := testHandler(t)
			log := &eventLog{}
			h.Denials = EventDenials{Recorder: log, Objects: tc.objects, Limit: tc.limit}
			resp := h.Handle(context.Background(), admission.Request{AdmissionRequest: tc.req})
			if resp.Allowed {
				t.Fatalf("the review was allowed: %+v", resp.Result)
			}
			if got := len(log.events) == 1; got != tc.want {
				t.Errorf("recorded %v, want %v: %+v", log.events, tc.want, log.events)
			}
		})
	}
}
