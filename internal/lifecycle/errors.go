package lifecycle

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
)

// explain turns API errors into messages a user can act on: missing CRDs, RBAC, an
// unreachable cluster. verb and resource name what was attempted.
func explain(err error, verb, resource string) error {
	if err == nil {
		return nil
	}
	switch {
	case meta.IsNoMatchError(err) || (apierrors.IsNotFound(err) && strings.Contains(err.Error(), "the server could not find the requested resource")):
		return fmt.Errorf("the kubeext.dev CRDs are not installed in this cluster: install them with `kubectl ext init` (or `kubectl apply -k manifests/`): %w", err)
	case apierrors.IsForbidden(err) && !strings.Contains(err.Error(), "admission webhook"):
		return fmt.Errorf("forbidden: you may not %s %s; ask a cluster admin for that permission: %w", verb, resource, err)
	case isUnreachable(err):
		return fmt.Errorf("cannot reach the cluster (check --kubeconfig, --context and that the API server is up): %w", err)
	}
	return err
}

func isUnreachable(err error) bool {
	var ne net.Error
	var ue *url.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ue) || (errors.As(err, &ne) && ne.Timeout())
}

// EncodeProtected serialises protected settings for the Secret.
func EncodeProtected(p map[string]string) ([]byte, error) {
	if p == nil {
		p = map[string]string{}
	}
	return json.Marshal(p)
}

// DecodeProtected reads protected settings from the Secret; errors never quote values.
func DecodeProtected(s *corev1.Secret) (map[string]string, error) {
	raw, ok := s.Data[ProtectedSettingsKey]
	if !ok {
		return map[string]string{}, nil
	}
	out := map[string]string{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("secret %s/%s: key %s is not a JSON object of strings", s.Namespace, s.Name, ProtectedSettingsKey)
	}
	return out, nil
}
