package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// A denied write leaves nothing in the cluster: the writer sees the refusal, but
// whoever looks at the Extension later (`kubectl ext troubleshoot`, `kubectl describe
// ext`) would not know that a GitOps controller's or a colleague's writes keep being
// refused. So the webhook records each denial as a Warning Event about the object it
// refused, as Gatekeeper's --emit-admission-events does: Events are where kubectl
// looks for what happened to an object, they expire on their own (the API server's
// --event-ttl), and a reader needs only list on events, not access to the webhook's
// logs or metrics endpoint.

// DenialReason is the reason of the Event recorded for a denied write.
const DenialReason = "AdmissionDenied"

// DenialComponent is the source of the denial Events: the webhook.
const DenialComponent = "kubeext-webhook"

// The annotations of a denial Event, for readers that want the parts apart.
const (
	AnnotationDeniedRules       = "kubeext.dev/denied-rules"
	AnnotationDeniedOperation   = "kubeext.dev/denied-operation"
	AnnotationDeniedSubResource = "kubeext.dev/denied-subresource"
	AnnotationDeniedUser        = "kubeext.dev/denied-user"
)

// maxDenialMessage bounds a denial Event's message: the events.k8s.io API's limit on
// a note. A denial with many rules is cut, and the annotation still names them all.
const maxDenialMessage = 1024

// Denials records denied reviews; Handler calls it once per denial, on the request's
// goroutine, so an implementation must not block.
type Denials interface {
	Denied(ctx context.Context, req admissionv1.AdmissionRequest, d policy.Decision)
}

// ObjectUIDs tells whether an Extension or ExtensionType of a name exists, and its
// UID; CachedUIDs reads the webhook's informers.
type ObjectUIDs interface {
	UID(ctx context.Context, kind, name string) (uid types.UID, exists bool, err error)
}

// EventDenials records each denial as a Warning Event about the refused object, with
// client-go's event recorder. The recorder never blocks a review (a full queue drops
// the Event), and its correlator keeps a write refused in a loop from flooding the
// API server: a repeat of one denial is counted in the Event already written, similar
// ones are aggregated after ten in ten minutes, and each object gets at most 25
// Events at once, then one per five minutes.
//
// Anyone who reaches the webhook's port can post a review of their own (docs/security.md,
// "Flooding the webhook"), and the webhook cannot tell it from the API server's. So a
// denial is recorded only when it matches the cluster (Objects): an UPDATE or DELETE
// names the UID of the stored object, which only those who may read it know, and a
// CREATE names an object that does not exist. A forged review can then speak only of
// names that do not exist, and Limit caps how many Events all denials together write.
type EventDenials struct {
	Recorder record.EventRecorder
	// Objects, when set, is asked whether a denial matches the cluster.
	Objects ObjectUIDs
	// Limit, when set, caps the rate of denial Events, whatever object they are about.
	Limit flowcontrol.PassiveRateLimiter
}

// Denied records the denial of req, unless req is a dry run: the webhook's
// registration declares sideEffects NoneOnDryRun, so a dry run (`kubectl ext init
// --check`'s probe, `--dry-run=server`) leaves no Event.
func (e EventDenials) Denied(ctx context.Context, req admissionv1.AdmissionRequest, d policy.Decision) {
	if d.Allowed() || (req.DryRun != nil && *req.DryRun) {
		return
	}
	ref := DeniedObject(req)
	if ref == nil || !e.matchesCluster(ctx, req, ref) {
		return
	}
	if e.Limit != nil && !e.Limit.TryAccept() {
		return
	}
	e.Recorder.AnnotatedEventf(ref, DenialAnnotations(req, d), corev1.EventTypeWarning, DenialReason, "%s", DenialMessage(req, d))
}

// matchesCluster: a CREATE names an object that does not exist; any other write
// names the UID of the one that does.
func (e EventDenials) matchesCluster(ctx context.Context, req admissionv1.AdmissionRequest, ref *corev1.ObjectReference) bool {
	if e.Objects == nil {
		return true
	}
	uid, exists, err := e.Objects.UID(ctx, ref.Kind, ref.Name)
	if err != nil {
		return false
	}
	if req.Operation == admissionv1.Create {
		return !exists
	}
	return exists && ref.UID != "" && uid == ref.UID
}

// CachedUIDs reads Extensions and ExtensionTypes from Reader, the webhook's
// informers (an in-memory read on the review's goroutine).
type CachedUIDs struct {
	Reader client.Reader
}

// UID implements ObjectUIDs.
func (c CachedUIDs) UID(ctx context.Context, kind, name string) (types.UID, bool, error) {
	var obj client.Object
	switch kind {
	case "Extension":
		obj = &v1alpha1.Extension{}
	case "ExtensionType":
		obj = &v1alpha1.ExtensionType{}
	default:
		return "", false, fmt.Errorf("no denials are recorded about a %s", kind)
	}
	switch err := c.Reader.Get(ctx, client.ObjectKey{Name: name}, obj); {
	case apierrors.IsNotFound(err):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return obj.GetUID(), true, nil
}

// DeniedObject is the object a denied request wrote, as an Event's involvedObject:
// kind and name from the request, UID from the object (an UPDATE's or DELETE's; a
// CREATE has none yet). Nil when the request names no object (a CREATE with only
// generateName), which no reader could find an Event about.
func DeniedObject(req admissionv1.AdmissionRequest) *corev1.ObjectReference {
	name := req.Name
	if name == "" {
		return nil
	}
	raw := req.Object.Raw
	if req.Operation == admissionv1.Delete || len(raw) == 0 {
		raw = req.OldObject.Raw
	}
	var meta metav1.PartialObjectMetadata
	if len(raw) > 0 {
		// Only the UID is wanted; an object that does not decode is refused by the
		// review itself, and the Event is still worth recording without it.
		_ = json.Unmarshal(raw, &meta)
	}
	gv := metav1.GroupVersion{Group: req.Kind.Group, Version: req.Kind.Version}
	kind := req.Kind.Kind
	if kind == "" {
		// The API server always sends the kind; the resource says it as well.
		gv = metav1.GroupVersion{Group: req.Resource.Group, Version: req.Resource.Version}
		switch req.Resource.Resource {
		case v1alpha1.ExtensionResource:
			kind = "Extension"
		case v1alpha1.ExtensionTypeResource:
			kind = "ExtensionType"
		}
	}
	return &corev1.ObjectReference{APIVersion: gv.String(), Kind: kind, Name: name, UID: meta.UID}
}

// DenialMessage says who was refused what, and why: "UPDATE of extensions/status by
// USER denied:" and the "[RULE-ID] message" lines.
func DenialMessage(req admissionv1.AdmissionRequest, d policy.Decision) string {
	what := req.Resource.Resource
	if req.SubResource != "" {
		what += "/" + req.SubResource
	}
	msg := fmt.Sprintf("%s of %s by %s denied:\n%s", req.Operation, what, req.UserInfo.Username, strings.Join(policy.Lines(d.Deny), "\n"))
	return truncate(msg, maxDenialMessage)
}

// truncate cuts s to at most max bytes at a rune boundary, saying so.
func truncate(s string, max int) string {
	const note = " ... [truncated]"
	if len(s) <= max {
		return s
	}
	cut := max - len(note)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + note
}

// DenialAnnotations are the parts of a denial, one annotation each.
func DenialAnnotations(req admissionv1.AdmissionRequest, d policy.Decision) map[string]string {
	return map[string]string{
		AnnotationDeniedRules:       strings.Join(ids(d.Deny), ","),
		AnnotationDeniedOperation:   string(req.Operation),
		AnnotationDeniedSubResource: req.SubResource,
		AnnotationDeniedUser:        req.UserInfo.Username,
	}
}
