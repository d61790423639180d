package describe

import (
	"sort"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// ContextAnnotation names, in fleet output, the kubeconfig context an extension was
// read from. It is set on printed copies only, never written to a cluster.
const ContextAnnotation = "kubeext.dev/context"

// Listing orders extensions for printing: by kubeconfig context when contexts names
// one per item (a fleet listing), then by name, keeping the order of equal items. It
// returns copies without managed fields, and the context of each copy (nil without
// contexts). With annotate, each copy also carries its context in ContextAnnotation:
// the machine formats (-o json, yaml, name) have no CONTEXT column to show it in.
func Listing(items []v1alpha1.Extension, contexts []string, annotate bool) ([]v1alpha1.Extension, []string) {
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ia, ib := idx[a], idx[b]
		if contexts != nil && contexts[ia] != contexts[ib] {
			return contexts[ia] < contexts[ib]
		}
		return items[ia].Name < items[ib].Name
	})
	out := make([]v1alpha1.Extension, len(idx))
	var ctxs []string
	for i, j := range idx {
		e := items[j].DeepCopy()
		e.SetManagedFields(nil)
		if contexts != nil {
			ctxs = append(ctxs, contexts[j])
			if annotate {
				if e.Annotations == nil {
					e.Annotations = map[string]string{}
				}
				e.Annotations[ContextAnnotation] = contexts[j]
			}
		}
		out[i] = *e
	}
	return out, ctxs
}
