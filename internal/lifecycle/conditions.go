package lifecycle

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/settings"
)

// SetCondition records one condition of an extension (Drifted, UpgradeAvailable)
// through the status subresource, reviewed by the webhook like every status write; it
// writes nothing when the condition already says the same for this generation. The
// message is truncated as status messages are.
func (m *Manager) SetCondition(ctx context.Context, e *v1alpha1.Extension, c metav1.Condition) error {
	c.ObservedGeneration = e.Generation
	c.Message = settings.Truncate(c.Message, maxMessage)
	if old := meta.FindStatusCondition(e.Status.Conditions, c.Type); old != nil &&
		old.Status == c.Status && old.Reason == c.Reason && old.Message == c.Message && old.ObservedGeneration == c.ObservedGeneration {
		return nil
	}
	// Under the extension's lock, as every status write: a write beside an operation
	// would change the resourceVersion that operation's spec write expects.
	l, err := m.acquire(ctx, ReleaseNamespace(e), e.Name, conditionLockWait)
	if err != nil {
		return err
	}
	defer releaseDetached(ctx, l)
	if err := m.client.Get(ctx, client.ObjectKeyFromObject(e), e); err != nil {
		return explain(err, "get", "extensions.kubeext.dev")
	}
	return m.setStatus(ctx, e, func(s *v1alpha1.ExtensionStatus) {
		meta.SetStatusCondition(&s.Conditions, c)
	})
}

// conditionLockWait bounds how long SetCondition waits for the lock: a condition is
// news, not an operation, and is written again on the next check.
const conditionLockWait = 3 * time.Second
