package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/failpoint"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// DeleteRequest is `kubectl ext delete`.
type DeleteRequest struct {
	Name    string
	Force   bool // remove only the record
	Wait    bool
	Timeout time.Duration
}

// Delete uninstalls an extension and removes its record and Secret (only a Secret it
// owns). It returns ErrNotFound when there is nothing to delete. The release is
// uninstalled only when the stored one is the recorded one (release.ErrDrift
// otherwise). An Extension already being deleted gets its deletion finished, with no
// status write. No protected value appears in the error.
func (m *Manager) Delete(ctx context.Context, req DeleteRequest) error {
	ctx, op := startOperation(ctx, nil)
	return op.redactErr(m.delete(ctx, req))
}

func (m *Manager) delete(ctx context.Context, req DeleteRequest) error {
	e, err := m.Get(ctx, req.Name)
	if err != nil {
		return err
	}
	if req.Force {
		m.progress("Removing the record of extension %s only; release %s/%s stays installed", e.Name, ReleaseNamespace(e), e.Name)
		return m.deleteRecord(ctx, e)
	}
	ns := ReleaseNamespace(e)
	l, err := m.acquire(ctx, ns, e.Name, req.Timeout)
	if err != nil {
		return err
	}
	defer releaseDetached(ctx, l)
	operationOf(ctx).hold(l)
	// Re-read under the lock: the record the uninstall is checked against is current.
	if e, err = m.Get(ctx, req.Name); err != nil {
		return err
	}
	// The protected values may appear in Helm's errors; reading them also checks the
	// Secret is the extension's (an unowned one is only left in place below).
	if _, err := m.readProtected(ctx, e); err != nil && !errors.Is(err, ErrNotOwned) && !errors.Is(err, ErrProtectedChanged) {
		return err
	}
	if err := m.recover(ctx, e, l, thenUninstall); err != nil {
		return err
	}
	failpoint.Hit(ctx, failpoint.BeforeExtensionWrite)
	if err := m.setStatus(ctx, e, func(s *v1alpha1.ExtensionStatus) {
		s.ProvisioningState = v1alpha1.ProvisioningDeleting
		s.TargetVersion = ""
	}); err != nil {
		return err
	}
	failpoint.Hit(ctx, failpoint.AfterExtensionWrite)
	deleting := ""
	if req.Wait {
		deleting = " and waiting for its objects to be deleted"
	}
	m.progress("Uninstalling release %s/%s%s", ns, e.Name, deleting)
	m.Event(ctx, e, corev1.EventTypeNormal, ReasonUninstalling, fmt.Sprintf("Uninstalling release %s/%s", ns, e.Name))
	if err := stillHeld(ctx); err != nil {
		return err
	}
	h, err := m.helmFor(ctx, nil, e) // Helm acts as the install identity (identity.go)
	if err != nil {
		return m.fail(ctx, e, "InstallIdentity", err)
	}
	if err := h.Uninstall(ctx, e.Name, ns, recordOf(e), req.Wait, req.Timeout); err != nil {
		code := "UninstallFailed"
		if errors.Is(err, release.ErrDrift) {
			code = "ReleaseDrift"
		}
		return m.fail(ctx, e, code, err)
	}
	if err := m.deleteProtected(ctx, e); err != nil {
		return m.fail(ctx, e, "UninstallFailed", err)
	}
	m.Event(ctx, e, corev1.EventTypeNormal, ReasonUninstalled, fmt.Sprintf("Uninstalled release %s/%s", ns, e.Name))
	failpoint.Hit(ctx, failpoint.BeforeStatusWrite)
	if err := stillHeld(ctx); err != nil {
		return err
	}
	if err := m.deleteRecord(ctx, e); err != nil {
		// Recorded, so the Extension does not stay Deleting with no command at work;
		// the next delete finds no release and removes the record.
		return m.fail(ctx, e, "DeleteFailed", fmt.Errorf("release %s/%s was uninstalled, but removing the record of extension %s failed: %w", ns, e.Name, e.Name, err))
	}
	return nil
}

func (m *Manager) deleteRecord(ctx context.Context, e *v1alpha1.Extension) error {
	if e.DeletionTimestamp != nil {
		// Its deletion was asked for already (the extension manager finishing a
		// `kubectl delete ext`): only the finalizer stands in the way.
		return m.dropFinalizer(ctx, e)
	}
	// The extension manager's finalizer asks for the uninstall this command just did
	// (or, with --force, was told not to do): it is removed first, so the record goes
	// at once, the manager does not uninstall a release the user chose to keep, and
	// the delete is no uninstall for the webhook to judge (EXT-IDENTITY-001).
	if err := m.dropFinalizer(ctx, e); err != nil {
		return err
	}
	if err := m.client.Delete(ctx, e); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return explain(err, "delete", "extensions.kubeext.dev")
	}
	if len(e.Finalizers) > 0 {
		// Finalizers are someone else's: the record goes once they remove theirs.
		m.progress("Deleted extension %s; its record stays until the finalizers %v are removed", e.Name, e.Finalizers)
		return nil
	}
	m.progress("Deleted extension %s", e.Name)
	return nil
}
