package lifecycle

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// EnsureFinalizer puts the extension manager's finalizer on an Extension, so that
// deleting it uninstalls its release first. It is a metadata-only write, reviewed by
// the webhook like any other.
func (m *Manager) EnsureFinalizer(ctx context.Context, e *v1alpha1.Extension) error {
	if e.DeletionTimestamp != nil || controllerutil.ContainsFinalizer(e, v1alpha1.FinalizerUninstall) {
		return nil
	}
	patch := client.MergeFromWithOptions(e.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.AddFinalizer(e, v1alpha1.FinalizerUninstall)
	if err := m.client.Patch(ctx, e, patch); err != nil {
		return conflictOr(err, e.Name)
	}
	return nil
}

// Finalize finishes the deletion of an Extension that carries the manager's
// finalizer: its release is uninstalled as `kubectl ext delete` does (checked against
// the record, as the install identity) unless a command did so already, and then the
// finalizer is removed, so the API server removes the record.
func (m *Manager) Finalize(ctx context.Context, name string, wait bool, timeout time.Duration) error {
	e, err := m.Get(ctx, name)
	if err != nil {
		if IsNotFound(err) {
			return nil
		}
		return err
	}
	if e.DeletionTimestamp == nil || !controllerutil.ContainsFinalizer(e, v1alpha1.FinalizerUninstall) {
		return nil
	}
	installed, err := m.mayHaveRelease(ctx, e)
	if err != nil {
		return err
	}
	if installed {
		if err := m.Delete(ctx, DeleteRequest{Name: name, Wait: wait, Timeout: timeout}); err != nil && !IsNotFound(err) {
			return err
		}
	}
	if e, err = m.Get(ctx, name); err != nil {
		if IsNotFound(err) {
			return nil
		}
		return err
	}
	return m.dropFinalizer(ctx, e)
}

// dropFinalizer removes the manager's finalizer from e, when it has it, with e's
// resourceVersion as precondition; an Extension already gone is no error.
func (m *Manager) dropFinalizer(ctx context.Context, e *v1alpha1.Extension) error {
	if !controllerutil.ContainsFinalizer(e, v1alpha1.FinalizerUninstall) {
		return nil
	}
	for attempt := 0; ; attempt++ {
		patch := client.MergeFromWithOptions(e.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.RemoveFinalizer(e, v1alpha1.FinalizerUninstall)
		err := m.client.Patch(ctx, e, patch)
		switch {
		case err == nil, apierrors.IsNotFound(err):
			return nil
		case !apierrors.IsConflict(err) || attempt >= 4:
			return conflictOr(err, e.Name)
		}
		if err := m.client.Get(ctx, client.ObjectKeyFromObject(e), e); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return explain(err, "get", "extensions.kubeext.dev")
		}
		if !controllerutil.ContainsFinalizer(e, v1alpha1.FinalizerUninstall) {
			return nil
		}
	}
}

// mayHaveRelease: anything was ever done for the extension. One declared and deleted
// before any operation began has neither a state nor, perhaps, a release namespace
// (which holds the lock Delete takes).
func (m *Manager) mayHaveRelease(ctx context.Context, e *v1alpha1.Extension) (bool, error) {
	if e.Status.ProvisioningState != "" || !recordOf(e).IsZero() {
		return true, nil
	}
	err := m.client.Get(ctx, types.NamespacedName{Name: ReleaseNamespace(e)}, &corev1.Namespace{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, explain(err, "get", "namespaces")
	}
	return true, nil
}

// Client is the client the manager reads and writes with.
func (m *Manager) Client() client.Client { return m.client }
