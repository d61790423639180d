package lifecycle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// Protected settings are kept out of the Extension, in a Secret in the release
// namespace that the Extension owns; only their keys are ever printed. The plugin
// reads, writes and deletes only a Secret it owns: labelled managed-by kubectl-ext and
// kubeext.dev/extension=<name>, with an ownerReference to the Extension's UID.
// spec.configurationProtectedSettings.secretName can name any Secret of the release
// namespace, and a Secret someone else keeps there is never overwritten, deleted or
// fed into the release's values (docs/security.md, "Protected settings").

// The labels of a Secret the plugin owns.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "kubectl-ext"
	LabelExtension = "kubeext.dev/extension"
)

// ErrNotOwned: the protected settings Secret is not the Extension's.
var ErrNotOwned = errors.New("the protected settings secret is not owned by the extension")

// ErrProtectedChanged: the protected settings Secret was changed outside kubectl ext.
var ErrProtectedChanged = errors.New("the protected settings secret was changed outside kubectl ext")

// ProtectedDigest is the sha256 of protected settings as EncodeProtected writes them
// (encoding/json sorts the keys), which status.protectedSettingsDigest records.
func ProtectedDigest(p map[string]string) string {
	b, err := EncodeProtected(p)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ownedBy reports whether s is e's protected settings Secret: both labels, and an
// ownerReference to e's UID (a Secret from before e was created again is not e's).
func ownedBy(s *corev1.Secret, e *v1alpha1.Extension) bool {
	if s.Labels[LabelManagedBy] != ManagedBy || s.Labels[LabelExtension] != e.Name || e.UID == "" {
		return false
	}
	for _, r := range s.OwnerReferences {
		if r.UID == e.UID && r.Kind == "Extension" && r.Name == e.Name {
			return true
		}
	}
	return false
}

func notOwned(s *corev1.Secret, e *v1alpha1.Extension, verb string) error {
	return fmt.Errorf("%w: secret %s/%s (named by spec.configurationProtectedSettings.secretName of extension %s) lacks the labels %s=%s and %s=%s "+
		"or an ownerReference to the extension's UID, so kubectl ext does not %s it; to hand it to the extension on purpose, "+
		"see \"Protected settings\" in docs/security.md",
		ErrNotOwned, s.Namespace, s.Name, e.Name, LabelManagedBy, ManagedBy, LabelExtension, e.Name, verb)
}

// ProtectedSecretName is the Secret that holds an extension's protected settings.
func ProtectedSecretName(extension string) string { return extension + "-protected-settings" }

// ProtectedSettingsKey is the Secret data key of the protected settings, a JSON object
// of setting key to value (setting keys such as a[0] cannot be Secret keys).
const ProtectedSettingsKey = "settings.json"

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

// readProtected returns the protected settings kept in the extension's Secret.
func (m *Manager) readProtected(ctx context.Context, e *v1alpha1.Extension) (map[string]string, error) {
	if e.Spec.ConfigurationProtectedSettings == nil {
		return nil, nil
	}
	s := &corev1.Secret{}
	key := types.NamespacedName{Namespace: ReleaseNamespace(e), Name: e.Spec.ConfigurationProtectedSettings.SecretName}
	if err := m.client.Get(ctx, key, s); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, explain(err, "get", "secrets")
		}
		if e.Status.ProtectedSettingsDigest == "" {
			return nil, nil
		}
		// Read as "no protected settings", a deleted Secret would drop them from the
		// release without anyone asking.
		return nil, fmt.Errorf("%w: secret %s/%s, which holds the protected settings of extension %s, was deleted, "+
			"so they would be dropped from the release; give them again with `kubectl ext update %s --config-protected KEY=VALUE ...`",
			ErrProtectedChanged, key.Namespace, key.Name, e.Name, e.Name)
	}
	if !ownedBy(s, e) {
		return nil, notOwned(s, e, "read")
	}
	p, err := DecodeProtected(s)
	if err != nil {
		return nil, err
	}
	operationOf(ctx).protect(p)
	// Extensions recorded before the digest existed have none; their next write of
	// the protected settings records it.
	if want := e.Status.ProtectedSettingsDigest; want != "" && ProtectedDigest(p) != want {
		return nil, fmt.Errorf("%w: secret %s/%s no longer holds what kubectl ext wrote (its digest differs from status.protectedSettingsDigest of extension %s), "+
			"so it is not fed into the release; give the protected settings again with `kubectl ext update %s --config-protected KEY=VALUE ...` to replace them",
			ErrProtectedChanged, s.Namespace, s.Name, e.Name, e.Name)
	}
	return p, nil
}

// ProtectedKeys lists the keys of an extension's protected settings, never the values.
func (m *Manager) ProtectedKeys(ctx context.Context, e *v1alpha1.Extension) ([]string, error) {
	p, err := m.readProtected(ctx, e)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// writeProtected creates or replaces the Secret, owned by the Extension; a Secret of
// that name the Extension does not own is refused.
func (m *Manager) writeProtected(ctx context.Context, e *v1alpha1.Extension, p map[string]string, dry DryRun) error {
	data, err := EncodeProtected(p)
	if err != nil {
		return err
	}
	var createOpts []client.CreateOption
	var updateOpts []client.UpdateOption
	if dry == DryRunServer {
		createOpts, updateOpts = append(createOpts, client.DryRunAll), append(updateOpts, client.DryRunAll)
	}
	key := types.NamespacedName{Namespace: ReleaseNamespace(e), Name: e.Spec.ConfigurationProtectedSettings.SecretName}
	existing := &corev1.Secret{}
	err = m.client.Get(ctx, key, existing)
	switch {
	case apierrors.IsNotFound(err):
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name,
				Labels: map[string]string{LabelManagedBy: ManagedBy, LabelExtension: e.Name}},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{ProtectedSettingsKey: data},
		}
		// Without the Extension's UID (a dry run of create) no ownerReference can be set.
		if e.UID != "" {
			s.OwnerReferences = []metav1.OwnerReference{{
				APIVersion: v1alpha1.GroupVersion.String(), Kind: "Extension", Name: e.Name, UID: e.UID,
			}}
		}
		if err := stillHeld(ctx); err != nil {
			return err
		}
		if err := m.client.Create(ctx, s, createOpts...); err != nil {
			return explain(err, "create", "secrets")
		}
		return nil
	case err != nil:
		return explain(err, "get", "secrets")
	}
	if !ownedBy(existing, e) {
		return notOwned(existing, e, "overwrite")
	}
	if err := stillHeld(ctx); err != nil {
		return err
	}
	existing.Data = map[string][]byte{ProtectedSettingsKey: data}
	if err := m.client.Update(ctx, existing, updateOpts...); err != nil {
		return explain(err, "update", "secrets")
	}
	return nil
}

// deleteProtected deletes the extension's Secret if the extension owns it; a Secret it
// does not own stays, and the progress says so.
func (m *Manager) deleteProtected(ctx context.Context, e *v1alpha1.Extension) error {
	if e.Spec.ConfigurationProtectedSettings == nil {
		return nil
	}
	s := &corev1.Secret{}
	key := types.NamespacedName{Namespace: ReleaseNamespace(e), Name: e.Spec.ConfigurationProtectedSettings.SecretName}
	if err := m.client.Get(ctx, key, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return explain(err, "get", "secrets")
	}
	if !ownedBy(s, e) {
		m.progress("Leaving secret %s/%s in place: %v", key.Namespace, key.Name, notOwned(s, e, "delete"))
		return nil
	}
	if err := stillHeld(ctx); err != nil {
		return err
	}
	// The precondition makes sure the Secret deleted is the one checked.
	if err := m.client.Delete(ctx, s, client.Preconditions{UID: &s.UID, ResourceVersion: &s.ResourceVersion}); err != nil && !apierrors.IsNotFound(err) {
		return explain(err, "delete", "secrets")
	}
	return nil
}
