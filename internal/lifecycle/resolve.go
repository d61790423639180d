package lifecycle

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
)

// extensionType reads an extension's type from the catalog, with its versions read
// from the chart source first when they never were. A type that does not exist is
// ErrInvalid, naming the known ones.
func (m *Manager) extensionType(ctx context.Context, name string) (*v1alpha1.ExtensionType, error) {
	t, err := m.catalog.Get(ctx, name)
	if catalog.IsTypeNotFound(err) {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err != nil {
		return nil, err
	}
	if err := m.catalog.EnsureSynced(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// resolveVersion picks the version to install: the pinned one, or the newest the
// train offers and the cluster can run.
func (m *Manager) resolveVersion(ctx context.Context, t *v1alpha1.ExtensionType, e *v1alpha1.Extension) (string, error) {
	train := e.Spec.ReleaseTrain
	if !ptr.Deref(e.Spec.AutoUpgradeMinorVersion, true) {
		if _, ok := catalog.Lookup(t, e.Spec.Version); !ok {
			avail := catalog.Names(catalog.Candidates(t, train, ""))
			return "", fmt.Errorf("%w: version %q of extension type %s does not exist (the %s train offers: %s)",
				ErrInvalid, e.Spec.Version, t.Name, train, listOrNone(avail))
		}
		return e.Spec.Version, nil
	}
	cluster, err := m.cluster.ClusterInfo(ctx)
	if err != nil {
		return "", err
	}
	cands := catalog.Candidates(t, train, cluster.KubernetesVersion)
	if len(cands) == 0 {
		return "", fmt.Errorf("%w: the %s train of extension type %s offers no version for Kubernetes %s (versions: %s)",
			ErrInvalid, train, t.Name, cluster.KubernetesVersion, listOrNone(catalog.Names(t.Status.Versions)))
	}
	return cands[0].Version, nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	if len(s) > 10 {
		s = append(s[:10:10], "...")
	}
	return strings.Join(s, ", ")
}
