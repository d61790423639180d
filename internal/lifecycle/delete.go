package lifecycle

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// DeleteRequest is `kubectl ext delete`.
type DeleteRequest struct {
	Name    string
	Force   bool // remove only the record
	Wait    bool
	Timeout time.Duration
}

// Delete uninstalls an extension and removes its record and Secret. It returns
// ErrNotFound when there is nothing to delete.
func (m *Manager) Delete(ctx context.Context, req DeleteRequest) error {
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
	defer l.release(context.WithoutCancel(ctx))
	if err := m.recover(ctx, e, l, req.Timeout); err != nil {
		return err
	}
	if err := m.setStatus(ctx, e, func(s *v1alpha1.ExtensionStatus) {
		s.ProvisioningState = v1alpha1.ProvisioningDeleting
		s.TargetVersion = ""
	}); err != nil {
		return err
	}
	m.progress("Uninstalling release %s/%s%s", ns, e.Name, waitNote(req.Wait))
	if err := m.helm.Uninstall(e.Name, ns, req.Wait, req.Timeout); err != nil {
		return m.fail(ctx, e, "UninstallFailed", err)
	}
	if e.Spec.ConfigurationProtectedSettings != nil {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: e.Spec.ConfigurationProtectedSettings.SecretName}}
		if err := m.client.Delete(ctx, s); err != nil && !apierrors.IsNotFound(err) {
			return m.fail(ctx, e, "UninstallFailed", explain(err, "delete", "secrets"))
		}
	}
	return m.deleteRecord(ctx, e)
}

func (m *Manager) deleteRecord(ctx context.Context, e *v1alpha1.Extension) error {
	if err := m.client.Delete(ctx, e); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return explain(err, "delete", "extensions.kubeext.dev")
	}
	m.progress("Deleted extension %s", e.Name)
	return nil
}
