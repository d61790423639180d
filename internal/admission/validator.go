// Package admission is the webhook's decision: it turns an AdmissionReview of an
// Extension or an ExtensionType (or the status of either) into a policy input, asks the
// policy engine, and answers denied with "[RULE-ID] message" lines or allowed with
// warnings. The HTTP side is controller-runtime's; Handler is a thin adapter over
// Validator.Validate.
package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// Evaluator judges a policy input of an Extension or of an ExtensionType;
// *policy.Engine is one.
type Evaluator interface {
	Evaluate(ctx context.Context, in policy.Input) (policy.Decision, error)
	// EvaluateWithType judges in with t as the type called name, whatever the
	// engine's inventory holds.
	EvaluateWithType(ctx context.Context, in policy.Input, name string, t *v1alpha1.ExtensionType) (policy.Decision, error)
	EvaluateType(ctx context.Context, in policy.TypeInput) (policy.Decision, error)
}

// InputSource completes a request into a policy input; policyinput.Gatherer is one.
type InputSource interface {
	Input(ctx context.Context, req policy.Request) (policy.Input, error)
}

// TypeSource reads the ExtensionType a write names; policyinput.Types is one.
type TypeSource interface {
	// Get returns the type from the informers' cache (nil when there is none).
	Get(ctx context.Context, name string) (*v1alpha1.ExtensionType, error)
	// Fresh reads the type from the API server (nil when there is none).
	Fresh(ctx context.Context, name string) (*v1alpha1.ExtensionType, error)
}

// Validator makes the admission decision.
type Validator struct {
	Engine Evaluator
	Inputs InputSource
	// Types reads the type of an Extension write: the install identity depends on
	// it, and a refusal is confirmed against the API server's copy (a type created a
	// moment ago may not have reached the inventory).
	Types TypeSource
	// Rights, when set, is asked whether the writer of an Extension may act as its
	// install identity (EXT-IDENTITY-001).
	Rights Rights
}

// ErrBadRequest marks a review the webhook cannot read (a client error, HTTP 400).
var ErrBadRequest = errors.New("bad admission request")

// Reviewed reports whether the webhook judges writes of this resource and operation:
// CREATE and UPDATE of extensions and extensiontypes, and of their status, and DELETE
// of extensions (which the extension manager's finalizer turns into an uninstall).
func Reviewed(req admissionv1.AdmissionRequest) bool {
	if req.Resource.Group != v1alpha1.Group {
		return false
	}
	if req.Resource.Resource != v1alpha1.ExtensionResource && req.Resource.Resource != v1alpha1.ExtensionTypeResource {
		return false
	}
	if req.SubResource != "" && req.SubResource != policy.SubResourceStatus {
		return false
	}
	if req.Operation == admissionv1.Delete {
		return req.Resource.Resource == v1alpha1.ExtensionResource && req.SubResource == ""
	}
	return req.Operation == admissionv1.Create || req.Operation == admissionv1.Update
}

// BuildRequest decodes an admission request into the policies' request. It is pure:
// no I/O, so it can be fuzzed.
func BuildRequest(req admissionv1.AdmissionRequest) (policy.Request, error) {
	out := policy.Request{
		Operation:   policy.Operation(req.Operation),
		SubResource: req.SubResource,
		UserInfo:    policy.UserInfo{Username: req.UserInfo.Username, Groups: req.UserInfo.Groups},
	}
	if req.Operation == admissionv1.Delete {
		// A DELETE carries the stored object only: it is the object judged, and the
		// one replaced.
		old, err := decodeExtension("oldObject", req.OldObject.Raw)
		if err != nil {
			return policy.Request{}, err
		}
		if old == nil {
			return policy.Request{}, fmt.Errorf("%w: a DELETE carries no oldObject", ErrBadRequest)
		}
		out.Object, out.OldObject = old, old
		return out, nil
	}
	obj, err := decodeExtension("object", req.Object.Raw)
	if err != nil {
		return policy.Request{}, err
	}
	if obj == nil {
		return policy.Request{}, fmt.Errorf("%w: the request carries no object", ErrBadRequest)
	}
	out.Object = obj
	if req.Operation == admissionv1.Update {
		old, err := decodeExtension("oldObject", req.OldObject.Raw)
		if err != nil {
			return policy.Request{}, err
		}
		if old == nil {
			return policy.Request{}, fmt.Errorf("%w: an UPDATE carries no oldObject", ErrBadRequest)
		}
		out.OldObject = old
	}
	return out, nil
}

// BuildTypeRequest decodes an admission request of an ExtensionType into the type
// rules' request. It is pure, as BuildRequest is.
func BuildTypeRequest(req admissionv1.AdmissionRequest) (policy.TypeRequest, error) {
	out := policy.TypeRequest{
		Operation:   policy.Operation(req.Operation),
		SubResource: req.SubResource,
		UserInfo:    policy.UserInfo{Username: req.UserInfo.Username, Groups: req.UserInfo.Groups},
	}
	obj, err := decodeType("object", req.Object.Raw)
	if err != nil {
		return policy.TypeRequest{}, err
	}
	if obj == nil {
		return policy.TypeRequest{}, fmt.Errorf("%w: the request carries no object", ErrBadRequest)
	}
	out.Object = obj
	if req.Operation == admissionv1.Update {
		old, err := decodeType("oldObject", req.OldObject.Raw)
		if err != nil {
			return policy.TypeRequest{}, err
		}
		if old == nil {
			return policy.TypeRequest{}, fmt.Errorf("%w: an UPDATE carries no oldObject", ErrBadRequest)
		}
		out.OldObject = old
	}
	return out, nil
}

func decodeType(field string, raw []byte) (*v1alpha1.ExtensionType, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	t := &v1alpha1.ExtensionType{}
	if err := json.Unmarshal(raw, t); err != nil {
		return nil, fmt.Errorf("%w: decoding %s as an ExtensionType: %w", ErrBadRequest, field, err)
	}
	if t.Kind != "" && t.Kind != "ExtensionType" {
		return nil, fmt.Errorf("%w: %s is a %s, not an ExtensionType", ErrBadRequest, field, t.Kind)
	}
	return t, nil
}

func decodeExtension(field string, raw []byte) (*v1alpha1.Extension, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	ext := &v1alpha1.Extension{}
	if err := json.Unmarshal(raw, ext); err != nil {
		return nil, fmt.Errorf("%w: decoding %s as an Extension: %w", ErrBadRequest, field, err)
	}
	if ext.Kind != "" && ext.Kind != "Extension" {
		return nil, fmt.Errorf("%w: %s is a %s, not an Extension", ErrBadRequest, field, ext.Kind)
	}
	return ext, nil
}

// Validate judges one admission request. It returns the decision (whose Deny results
// refuse the write) or an error when no decision could be made.
func (v *Validator) Validate(ctx context.Context, req admissionv1.AdmissionRequest) (policy.Decision, error) {
	if !Reviewed(req) {
		return policy.Decision{}, nil
	}
	if req.Resource.Resource == v1alpha1.ExtensionTypeResource {
		treq, err := BuildTypeRequest(req)
		if err != nil {
			return policy.Decision{}, err
		}
		return v.Engine.EvaluateType(ctx, policy.TypeInput{Request: treq})
	}
	preq, err := BuildRequest(req)
	if err != nil {
		return policy.Decision{}, err
	}
	in, err := v.Inputs.Input(ctx, preq)
	if err != nil {
		return policy.Decision{}, err
	}
	name := preq.Object.Spec.ExtensionType
	t, err := v.Types.Get(ctx, name)
	if err != nil {
		return policy.Decision{}, err
	}
	id := v1alpha1.InstallIdentityOf(t, preq.Object)
	if in.Writer, err = v.writer(ctx, req, id); err != nil {
		return policy.Decision{}, err
	}
	d, err := v.Engine.Evaluate(ctx, in)
	if err != nil || d.Allowed() || name == "" {
		return d, err
	}
	// A refusal may come from an inventory behind the API server (a type created or
	// synced a moment ago): judge again with the API server's copy of the type, which
	// only this judgement sees.
	fresh, err := v.Types.Fresh(ctx, name)
	if err != nil {
		return d, err
	}
	if freshID := v1alpha1.InstallIdentityOf(fresh, preq.Object); freshID != id {
		if in.Writer, err = v.writer(ctx, req, freshID); err != nil {
			return policy.Decision{}, err
		}
	}
	return v.Engine.EvaluateWithType(ctx, in, name, fresh)
}

// writer is what the writer may do as install identity id; nil when nobody asks
// (no Rights).
func (v *Validator) writer(ctx context.Context, req admissionv1.AdmissionRequest, id v1alpha1.InstallIdentity) (*policy.Writer, error) {
	if v.Rights == nil {
		return nil, nil
	}
	may, err := v.Rights.MayActAs(ctx, req.UserInfo, id)
	if err != nil {
		return nil, err
	}
	return &policy.Writer{InstallIdentity: id.String(), MayActAsInstallIdentity: may}, nil
}
