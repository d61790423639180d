package admission

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kubeext/kubectl-ext/internal/policy"
)

// Log keys, constant so log queries keep working.
const (
	logKeyUID         = "uid"
	logKeyName        = "name"
	logKeyOperation   = "operation"
	logKeySubResource = "subResource"
	logKeyUser        = "user"
	logKeyDecision    = "decision"
	logKeyRules       = "rules"
	logKeyDuration    = "durationSeconds"
)

// Handler adapts Validator to controller-runtime's admission.Handler: it caps how
// many reviews are evaluated at once, records metrics, logs each decision and hands
// each denial to Denials.
type Handler struct {
	Validator *Validator
	Metrics   *Metrics
	Log       logr.Logger
	// Denials, when set, records every denied review (EventDenials: as an Event about
	// the refused object, where `kubectl ext troubleshoot` finds it).
	Denials Denials
	sem     chan struct{}
}

// NewHandler returns a Handler that evaluates at most maxConcurrent reviews at once.
func NewHandler(v *Validator, m *Metrics, log logr.Logger, maxConcurrent int) *Handler {
	if maxConcurrent < 1 {
		maxConcurrent = 1
	}
	return &Handler{Validator: v, Metrics: m, Log: log, sem: make(chan struct{}, maxConcurrent)}
}

var _ admission.Handler = (*Handler)(nil)

// Handle implements admission.Handler.
func (h *Handler) Handle(ctx context.Context, req admission.Request) (resp admission.Response) {
	start := time.Now()
	decision := policy.Decision{}
	outcome := "error"
	defer func() {
		d := time.Since(start)
		h.Metrics.observe(string(req.Operation), req.SubResource, outcome, d, decision)
		// An allowed or denied review is logged at V(1) only: build no logger for it
		// when that level is off (most reviews, every one of a busy cluster).
		if outcome != "error" && len(decision.DryRun) == 0 && !h.Log.V(1).Enabled() {
			return
		}
		log := h.Log.WithValues(logKeyUID, req.UID, logKeyName, req.Name, logKeyOperation, req.Operation,
			logKeySubResource, req.SubResource, logKeyUser, req.UserInfo.Username,
			logKeyDecision, outcome, logKeyDuration, d.Seconds())
		switch {
		case outcome == "error":
			log.Error(errors.New(resp.Result.Message), "review failed")
		case len(decision.DryRun) > 0:
			log.Info("review", logKeyRules, ids(decision.Deny), "dryrun", ids(decision.DryRun), "warn", ids(decision.Warn))
		default:
			log.V(1).Info("review", logKeyRules, ids(decision.Deny), "warn", ids(decision.Warn))
		}
	}()

	select {
	case h.sem <- struct{}{}:
		defer func() { <-h.sem }()
	case <-ctx.Done():
		return admission.Errored(http.StatusServiceUnavailable, errors.New("too many admission reviews in flight; retry"))
	}

	var err error
	decision, err = h.Validator.Validate(ctx, req.AdmissionRequest)
	if err != nil {
		code := int32(http.StatusInternalServerError)
		if errors.Is(err, ErrBadRequest) {
			code = http.StatusBadRequest
		}
		return admission.Errored(code, err)
	}
	warnings := policy.Lines(decision.Warn)
	if !decision.Allowed() {
		outcome = "denied"
		if h.Denials != nil {
			h.Denials.Denied(ctx, req.AdmissionRequest, decision)
		}
		return admission.Denied(strings.Join(policy.Lines(decision.Deny), "\n")).WithWarnings(warnings...)
	}
	outcome = "allowed"
	return admission.Allowed("").WithWarnings(warnings...)
}

func ids(rs []policy.Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}
