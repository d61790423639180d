package catalog

import (
	"context"
	"fmt"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// SyncResult is the outcome of syncing one type.
type SyncResult struct {
	Name string
	// Type is the type as written by the sync; nil when it could not be read.
	Type *v1alpha1.ExtensionType
	// Err says why the type could not be read or synced; nil on success.
	Err error
}

// String is the one line `kubectl ext type sync` prints for the result.
func (r SyncResult) String() string {
	if r.Err != nil {
		return fmt.Sprintf("%s: failed: %v", r.Name, r.Err)
	}
	return SyncSummary(r.Type)
}

// SyncAll syncs the named types, or every type with all, one after the other: a
// type that fails does not stop the others. Names are synced once each, in the order
// given. The results say what happened to each type; the error is a listing that
// failed (then there are no results) or how many types could not be synced. With
// all and no types, both are empty.
func (c *Catalog) SyncAll(ctx context.Context, names []string, all bool) ([]SyncResult, error) {
	var items []*v1alpha1.ExtensionType
	var results []SyncResult
	if all {
		list, err := c.List(ctx)
		if err != nil {
			return nil, err
		}
		for i := range list {
			items = append(items, &list[i])
		}
	}
	total := len(items)
	failed := 0
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		total++
		t, err := c.Get(ctx, name)
		if err != nil {
			// Reported first, as before: a type that cannot be read is known at once.
			results = append(results, SyncResult{Name: name, Err: err})
			failed++
			continue
		}
		items = append(items, t)
	}
	for _, t := range items {
		r := SyncResult{Name: t.Name, Type: t}
		if r.Err = c.Sync(ctx, t); r.Err != nil {
			failed++
		}
		results = append(results, r)
	}
	if failed > 0 {
		return results, fmt.Errorf("%d of %d extension types could not be synced", failed, total)
	}
	return results, nil
}
