package catalog

import (
	"context"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// VersionsRequest asks which versions of a type a cluster can run.
type VersionsRequest struct {
	Type string
	// Train is the release train; "" resolves as ResolveTrain does.
	Train string
	// Major, Latest and All select as in VersionQuery.
	Major       int
	Latest, All bool
	// KubeVersion reads the cluster's Kubernetes version. It is asked only once the
	// type and its train are known, so a wrong name fails without a cluster round trip.
	KubeVersion func(context.Context) (string, error)
}

// VersionsResult is what Versions found: the type, the train it resolved, the
// cluster's version and the selected rows, newest first.
type VersionsResult struct {
	Type        *v1alpha1.ExtensionType
	Train       string
	KubeVersion string
	Rows        []VersionRow
}

// ListVersions reads the type, resolves its train, syncs it when it never was, and
// selects its versions for the cluster (SelectVersions).
func (c *Catalog) ListVersions(ctx context.Context, req VersionsRequest) (*VersionsResult, error) {
	t, err := c.Get(ctx, req.Type)
	if err != nil {
		return nil, err
	}
	train, err := ResolveTrain(t, req.Train)
	if err != nil {
		return nil, err
	}
	kube, err := req.KubeVersion(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.EnsureSynced(ctx, t); err != nil {
		return nil, err
	}
	rows := SelectVersions(t, VersionQuery{Train: train, KubeVersion: kube, Major: req.Major, Latest: req.Latest, All: req.All})
	return &VersionsResult{Type: t, Train: train, KubeVersion: kube, Rows: rows}, nil
}
