package lifecycle_test

import (
	"context"
	"slices"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// TestVerdict: the current spec of an extension judged as written again unchanged,
// against the type and the cluster as they are now.
func TestVerdict(t *testing.T) {
	ids := func(rs []policy.Result) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		ext      *v1alpha1.Extension
		typ      *v1alpha1.ExtensionType
		wantDeny []string
		wantWarn []string
	}{
		{name: "a spec the policies still allow has no findings",
			ext: installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, true), typ: podinfoType(false)},
		{name: "a pinned version the type's catalog no longer offers is denied",
			ext: installed("podinfo", "1.3.0", v1alpha1.ProvisioningSucceeded, true), typ: podinfoType(false),
			wantDeny: []string{"EXT-VERSION-005"}},
		{name: "an extension whose type is gone is denied",
			ext:      installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, true),
			wantDeny: []string{"EXT-TYPE-001"}},
		{name: "an exception annotation is echoed as a warning",
			ext: func() *v1alpha1.Extension {
				e := installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, true)
				e.Annotations = map[string]string{v1alpha1.AnnotationUpgradeException: "CVE-2026-0001"}
				return e
			}(), typ: podinfoType(false), wantWarn: []string{"EXT-WARN-001"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := []client.Object{tc.ext}
			if tc.typ != nil {
				objs = append(objs, tc.typ)
			}
			h := newHarness(t, helmSetup{}, objs...)
			d, err := h.m.Verdict(context.Background(), tc.ext)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(d.Deny); !slices.Equal(got, tc.wantDeny) {
				t.Errorf("deny = %v (%v), want %v", got, d.Deny, tc.wantDeny)
			}
			if got := ids(d.Warn); !slices.Equal(got, tc.wantWarn) {
				t.Errorf("warn = %v (%v), want %v", got, d.Warn, tc.wantWarn)
			}
		})
	}
}
