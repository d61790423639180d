package lifecycle

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
)

// Errors a caller can test with errors.Is.
var (
	ErrNotFound      = errors.New("extension not found")
	ErrAlreadyExists = errors.New("extension already exists")
	ErrDenied        = errors.New("denied by policy")
	ErrInvalid       = errors.New("invalid request")
)

// IsNotFound reports whether err says the extension does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// conflictOr explains a failed update of the Extension; a conflict means another
// command changed it after this one read it.
func conflictOr(err error, name string) error {
	if apierrors.IsConflict(err) {
		return fmt.Errorf("extension %s was changed by another command while this one ran; nothing was applied: retry", name)
	}
	return explain(err, "update", "extensions.kubeext.dev")
}

// explain is Explain, for this package's callers.
func explain(err error, verb, resource string) error { return Explain(err, verb, resource) }

// Explain turns API errors into messages a user can act on: missing CRDs, RBAC,
// an unreachable cluster, a refused object.
func Explain(err error, verb, resource string) error {
	if err == nil {
		return nil
	}
	var se *apierrors.StatusError
	switch {
	case IsCRDMissing(err):
		return fmt.Errorf("the kubeext.dev CRDs are not installed in this cluster: install them with `kubectl ext init` (or `kubectl apply -k manifests/`): %w", err)
	case apierrors.IsForbidden(err) && !strings.Contains(err.Error(), "admission webhook"):
		return fmt.Errorf("forbidden: you may not %s %s; ask a cluster admin for that permission: %w", verb, resource, err)
	case apierrors.IsInvalid(err) && errors.As(err, &se) && se.ErrStatus.Details != nil && len(se.ErrStatus.Details.Causes) > 0:
		lines := make([]string, 0, len(se.ErrStatus.Details.Causes))
		for _, c := range se.ErrStatus.Details.Causes {
			msg := c.Message
			if c.Field != "" && !strings.HasPrefix(msg, c.Field) {
				msg = c.Field + ": " + msg
			}
			lines = append(lines, "  "+msg)
		}
		kind := se.ErrStatus.Details.Kind
		if kind == "" {
			kind = resource
		}
		return fmt.Errorf("the API server refused %s %q:\n%s", kind, se.ErrStatus.Details.Name, strings.Join(lines, "\n"))
	case unreachable(err):
		return fmt.Errorf("cannot reach the cluster (check --kubeconfig, --context and that the API server is up): %w", err)
	case webhookUnreachable(err):
		return fmt.Errorf("the API server could not reach the kubeext admission webhook, so it refused to %s %s without a review (failurePolicy Fail): no policy judged the write. "+
			"Check the webhook: `kubectl ext init --check`, and `kubectl -n kubeext-system get pods,endpoints`: %w", verb, resource, err)
	}
	return err
}

// webhookUnreachable reports whether err is the API server failing to call an
// admission webhook (down, unreachable or slower than its timeout), which it reports
// as an internal error naming the webhook, not as a denial.
func webhookUnreachable(err error) bool {
	return apierrors.IsInternalError(err) && strings.Contains(err.Error(), "failed calling webhook")
}

// IsCRDMissing reports whether err says the kubeext.dev CRDs are not installed.
func IsCRDMissing(err error) bool {
	return meta.IsNoMatchError(err) ||
		(apierrors.IsNotFound(err) && strings.Contains(err.Error(), "the server could not find the requested resource"))
}

func unreachable(err error) bool {
	if _, ok := err.(apierrors.APIStatus); ok {
		return false
	}
	var ne net.Error
	var ue *url.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ue) || (errors.As(err, &ne) && ne.Timeout())
}
