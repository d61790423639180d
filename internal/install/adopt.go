package install

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
)

// The webhook configuration's kinds: init adopts a live one registered differently.
var webhookConfigKinds = map[schema.GroupKind]bool{
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}: true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:   true,
}

// ownWebhookSuffix marks the webhooks kubectl ext registers: a webhook of that name in
// the configuration that the manifest no longer has is a stale registration of ours.
const ownWebhookSuffix = ".kubeext.dev"

// The fields of a webhook that let writes pass unreviewed when someone else sets them
// and the manifest does not: init clears them (the API server defaults the selectors
// to match everything).
var narrowingFields = []string{"objectSelector", "namespaceSelector", "matchConditions"}

// adoption is what init changes in a live webhook configuration before it applies
// the embedded one.
type adoption struct {
	obj     *unstructured.Unstructured
	removed []string
}

// adoptWebhooks takes over a live webhook configuration that another field manager
// registered differently. Server-side apply with force takes over every field the
// manifest sets, but keeps the fields it does not set, which other managers own: a
// clientConfig.url beside the manifest's service is invalid (exactly one is allowed),
// and selectors or match conditions would let writes pass unreviewed. Those are
// removed first with an update of the live object (the resourceVersion guards it),
// and with them the entries of names ending in .kubeext.dev that the manifest no
// longer has; the caBundle (kept by the webhook's certificate rotator) and webhooks of
// other names stay. It returns what it removed, "" when nothing; in a dry run the
// update is only checked, and apply is told to skip the object (the server would
// judge the apply against the unchanged live object).
func (a *applyRun) adoptWebhooks(ctx context.Context, ri dynamic.ResourceInterface, o, live *unstructured.Unstructured) (string, error) {
	var said string
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ad, err := adopt(o, live)
		if err != nil || len(ad.removed) == 0 {
			return err
		}
		opts := metav1.UpdateOptions{FieldManager: FieldManager}
		if a.dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		if _, err := ri.Update(ctx, ad.obj, opts); err != nil {
			if fresh, gerr := ri.Get(ctx, o.GetName(), metav1.GetOptions{}); gerr == nil {
				live = fresh // for the retry of a conflict
			}
			return err
		}
		said = "adopted: removed the " + strings.Join(ad.removed, ", the ")
		return nil
	})
	if err != nil {
		name := ObjectName(o)
		kind, _, _ := strings.Cut(name, "/")
		return "", fmt.Errorf("%s is registered differently from the embedded manifest and init could not take it over: %w; "+
			"delete it and run init again (until then writes are not reviewed): kubectl delete %s %s && kubectl ext init --with-webhook",
			name, apiError(err), kind, o.GetName())
	}
	return said, nil
}

// adopt returns live with what another manager set and the manifest o does not
// removed, and names what it removed. It changes neither argument.
func adopt(o, live *unstructured.Unstructured) (adoption, error) {
	want, _, err := unstructured.NestedSlice(o.Object, "webhooks")
	if err != nil {
		return adoption{}, err
	}
	have, _, err := unstructured.NestedSlice(live.Object, "webhooks")
	if err != nil {
		return adoption{}, err
	}
	byName := map[string]map[string]any{}
	for _, w := range want {
		if wm, ok := w.(map[string]any); ok {
			byName[fmt.Sprint(wm["name"])] = wm
		}
	}
	var ad adoption
	kept := make([]any, 0, len(have))
	for _, h := range have {
		hm, ok := h.(map[string]any)
		if !ok {
			return adoption{}, fmt.Errorf("%s: a webhook that is not an object", ObjectName(live))
		}
		name := fmt.Sprint(hm["name"])
		wm, ours := byName[name]
		if !ours {
			if strings.HasSuffix(name, ownWebhookSuffix) {
				ad.removed = append(ad.removed, "webhook "+name+" (not in this release's manifest)")
				continue
			}
			kept = append(kept, hm)
			continue
		}
		hm = runtime.DeepCopyJSONValue(hm).(map[string]any)
		ad.removed = append(ad.removed, adoptClientConfig(name, hm, wm)...)
		for _, f := range narrowingFields {
			if _, set := wm[f]; set || empty(hm[f]) {
				continue
			}
			delete(hm, f)
			ad.removed = append(ad.removed, f+" of webhook "+name)
		}
		kept = append(kept, hm)
	}
	if len(ad.removed) == 0 {
		return ad, nil
	}
	ad.obj = live.DeepCopy()
	if err := unstructured.SetNestedSlice(ad.obj.Object, kept, "webhooks"); err != nil {
		return adoption{}, err
	}
	return ad, nil
}

// adoptClientConfig gives a live webhook hm the manifest's way of calling it (url or
// service) when it has the other one, keeping its caBundle.
func adoptClientConfig(name string, hm, wm map[string]any) []string {
	hc, _ := hm["clientConfig"].(map[string]any)
	wc, _ := wm["clientConfig"].(map[string]any)
	if hc == nil || wc == nil {
		return nil
	}
	var removed []string
	for _, k := range []string{"url", "service"} {
		if _, mine := wc[k]; mine {
			continue
		}
		if _, set := hc[k]; set {
			delete(hc, k)
			removed = append(removed, "clientConfig."+k+" of webhook "+name)
		}
	}
	if len(removed) == 0 {
		return nil
	}
	for _, k := range []string{"url", "service"} {
		if v, mine := wc[k]; mine {
			hc[k] = runtime.DeepCopyJSONValue(v)
		}
	}
	return removed
}

// empty tells an unset or empty field ({} selects everything, [] matches always).
func empty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}
