package manager

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

func TestNeedsApply(t *testing.T) {
	ext := func(state v1alpha1.ProvisioningState, gen, observed int64, mutate ...func(*v1alpha1.Extension)) *v1alpha1.Extension {
		e := &v1alpha1.Extension{ObjectMeta: metav1.ObjectMeta{Name: "podinfo", Generation: gen},
			Status: v1alpha1.ExtensionStatus{ProvisioningState: state, ObservedGeneration: observed, ProtectedSettingsDigest: "sha256:old"}}
		for _, m := range mutate {
			m(e)
		}
		return e
	}
	accepting := func(d string) func(*v1alpha1.Extension) {
		return func(e *v1alpha1.Extension) {
			e.Annotations = map[string]string{v1alpha1.AnnotationProtectedSettingsDigest: d}
			e.Spec.ConfigurationProtectedSettings = &v1alpha1.ProtectedSettingsRef{SecretName: "creds"}
		}
	}
	uninstallFailed := func(e *v1alpha1.Extension) { e.Status.ErrorInfo = &v1alpha1.ErrorInfo{Code: "UninstallFailed"} }
	for _, tc := range []struct {
		name string
		ext  *v1alpha1.Extension
		want []bool // one per call: the second call sees what the first recorded
	}{
		{name: "declared, never applied", ext: ext("", 1, 0), want: []bool{true, true}},
		{name: "applied", ext: ext(v1alpha1.ProvisioningSucceeded, 1, 1), want: []bool{false}},
		{name: "spec changed since", ext: ext(v1alpha1.ProvisioningSucceeded, 2, 1), want: []bool{true}},
		{name: "left Updating by an interrupted command", ext: ext(v1alpha1.ProvisioningUpdating, 1, 1), want: []bool{true}},
		{name: "failed: retried", ext: ext(v1alpha1.ProvisioningFailed, 1, 1), want: []bool{true}},
		{name: "a deletion the plugin began is never applied again", ext: ext(v1alpha1.ProvisioningDeleting, 1, 1), want: []bool{false}},
		{name: "an uninstall that failed is never applied again", ext: ext(v1alpha1.ProvisioningFailed, 1, 1, uninstallFailed), want: []bool{false}},
		{name: "a new accepted digest is acted on once", ext: ext(v1alpha1.ProvisioningSucceeded, 1, 1, accepting("sha256:new")), want: []bool{true, false}},
		{name: "the recorded digest named again is nothing new", ext: ext(v1alpha1.ProvisioningSucceeded, 1, 1, accepting("sha256:old")), want: []bool{false}},
		{name: "the annotation on an extension without protected settings is ignored", ext: ext(v1alpha1.ProvisioningSucceeded, 1, 1, func(e *v1alpha1.Extension) {
			e.Annotations = map[string]string{v1alpha1.AnnotationProtectedSettingsDigest: "sha256:new"}
		}), want: []bool{false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Reconciler{}
			for i, want := range tc.want {
				if got := r.needsApply(tc.ext); got != want {
					t.Errorf("call %d: needsApply = %v, want %v", i+1, got, want)
				}
			}
		})
	}
}
