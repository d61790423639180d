package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// ConvergeRequest asks that an extension's release match its recorded spec: what the
// extension manager does for an Extension written by `kubectl apply` or GitOps.
type ConvergeRequest struct {
	Name    string
	Wait    bool
	Timeout time.Duration
	// CorrectRelease replaces a stored release kubectl ext did not record (a `helm
	// upgrade` or `helm rollback` by hand) with the recorded spec's (AdoptRelease).
	CorrectRelease bool
	// Recheck is UpdateRequest.Recheck.
	Recheck func(*v1alpha1.Extension) error
}

// Converge installs or upgrades an extension's release to its recorded spec, exactly
// as `kubectl ext update NAME` with no change does: under the extension's lock, with
// the policies' verdict, the reviewed status writes and the same recovery. A declared
// extension that was never installed is installed (state Creating).
//
// Protected settings come from the Secret spec.configurationProtectedSettings names.
// A Secret kubectl ext did not write is taken over on the first install when it is
// labelled kubeext.dev/extension=NAME; a change made to it later is fed into the
// release only when the Extension's annotation kubeext.dev/protected-settings-digest
// names its new digest (the writer of the Extension, whom the webhook reviews, accepts
// it). Otherwise ErrProtectedChanged says which annotation would accept it.
func (m *Manager) Converge(ctx context.Context, req ConvergeRequest) (*v1alpha1.Extension, error) {
	e, err := m.Get(ctx, req.Name)
	if err != nil {
		return nil, err
	}
	if err := beingDeleted(e); err != nil {
		return nil, err
	}
	// The release namespace holds the lock, so it exists before anything else.
	if err := m.ensureNamespace(ctx, ReleaseNamespace(e)); err != nil {
		return e, err
	}
	protected, err := m.declaredProtected(ctx, e)
	if err != nil {
		return e, err
	}
	adopt := false
	if req.CorrectRelease {
		if adopt, err = m.releaseReplaced(ctx, e); err != nil {
			return e, err
		}
	}
	return m.Update(ctx, UpdateRequest{Name: req.Name, Protected: protected, Wait: req.Wait, Timeout: req.Timeout,
		AdoptRelease: adopt, Recheck: req.Recheck, RecordRefusal: true})
}

// releaseReplaced: the stored release is not the one kubectl ext recorded (a `helm
// upgrade` or `helm rollback` by hand), so only adopting it applies the spec. A
// revision an interrupted operation left pending is not: recovery repairs that one.
func (m *Manager) releaseReplaced(ctx context.Context, e *v1alpha1.Extension) (bool, error) {
	if inProgress(e.Status.ProvisioningState) {
		return false, nil
	}
	rr, _, err := m.driftReaders(ctx, e)
	if err != nil {
		return false, err
	}
	history, err := rr.History(e.Name, ReleaseNamespace(e))
	var last *helmrelease.Release
	switch {
	case errors.Is(err, release.ErrNotFound):
	case err != nil:
		return false, fmt.Errorf("reading the history of release %s/%s: %w", ReleaseNamespace(e), e.Name, err)
	case len(history) > 0:
		last = history[len(history)-1]
	}
	return errors.Is(release.Verify(e.Name, ReleaseNamespace(e), last, recordOf(e)), release.ErrDrift), nil
}

// declaredProtected returns the protected settings Converge must write and record, or
// nil when the Secret is the one kubectl ext recorded (Update reads it itself).
func (m *Manager) declaredProtected(ctx context.Context, e *v1alpha1.Extension) (map[string]string, error) {
	if e.Spec.ConfigurationProtectedSettings == nil {
		return nil, nil
	}
	_, err := m.readProtected(ctx, e)
	switch {
	case err == nil:
		return nil, nil
	case errors.Is(err, ErrNotOwned) && e.Status.ProtectedSettingsDigest == "":
		return m.adoptProtected(ctx, e)
	case errors.Is(err, ErrProtectedChanged):
		s, gerr := m.protectedSecret(ctx, e)
		if gerr != nil || s == nil {
			return nil, err
		}
		p, derr := DecodeProtected(s)
		if derr != nil {
			return nil, derr
		}
		operationOf(ctx).protect(p)
		digest := ProtectedDigest(p)
		if e.Annotations[v1alpha1.AnnotationProtectedSettingsDigest] == digest {
			return p, nil
		}
		return nil, fmt.Errorf("%w: secret %s/%s was changed outside kubectl ext; to feed its new content into the release, accept it with "+
			"`kubectl annotate ext %s --overwrite %s=%s` (or set that annotation in the Extension's manifest)",
			ErrProtectedChanged, s.Namespace, s.Name, e.Name, v1alpha1.AnnotationProtectedSettingsDigest, digest)
	}
	return nil, err
}

// adoptProtected takes over a Secret the user made for a declared extension that was
// never installed: it must be labelled for the extension, and gets the labels and the
// ownerReference of a Secret kubectl ext owns. Its values are returned, so Update
// records their digest.
func (m *Manager) adoptProtected(ctx context.Context, e *v1alpha1.Extension) (map[string]string, error) {
	s, err := m.protectedSecret(ctx, e)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("%w: secret %s/%s, named by spec.configurationProtectedSettings of extension %s, does not exist",
			ErrInvalid, ReleaseNamespace(e), e.Spec.ConfigurationProtectedSettings.SecretName, e.Name)
	}
	if s.Labels[LabelExtension] != e.Name {
		return nil, fmt.Errorf("%w: label secret %s/%s with %s=%s to hand it to extension %s (kubectl ext feeds no other Secret into a release)",
			ErrNotOwned, s.Namespace, s.Name, LabelExtension, e.Name, e.Name)
	}
	p, err := DecodeProtected(s)
	if err != nil {
		return nil, err
	}
	operationOf(ctx).protect(p)
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.Labels[LabelManagedBy] = ManagedBy
	s.OwnerReferences = append(s.OwnerReferences, metav1.OwnerReference{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: "Extension", Name: e.Name, UID: e.UID})
	// Update carries the resourceVersion read: a Secret changed meanwhile is not adopted.
	if err := m.client.Update(ctx, s); err != nil {
		return nil, explain(err, "update", "secrets")
	}
	m.progress("Took over secret %s/%s as the protected settings of extension %s", s.Namespace, s.Name, e.Name)
	return p, nil
}

// protectedSecret reads the Secret spec.configurationProtectedSettings names; nil when
// there is none.
func (m *Manager) protectedSecret(ctx context.Context, e *v1alpha1.Extension) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	key := types.NamespacedName{Namespace: ReleaseNamespace(e), Name: e.Spec.ConfigurationProtectedSettings.SecretName}
	if err := m.client.Get(ctx, key, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, explain(err, "get", "secrets")
	}
	return s, nil
}
