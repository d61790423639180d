// Package install is what `kubectl ext init` does, without the command: the embedded
// manifests it installs (the CRDs, the default catalog, the admission webhook) and
// their --print form, their server-side apply with the wait for the CRDs, and the
// --check report, and the rules for combining init's options (Options). The cli
// package parses the flags and calls it; a controller could call it the same way.
package install

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// PolicyConfigMap is where `kubectl ext init --with-webhook` keeps the policy
// configuration. Init never overwrites it once it exists, and the plugin reads it so
// that its verdicts match the webhook's.
var PolicyConfigMap = types.NamespacedName{Namespace: "kubeext-system", Name: "kubeext-policy"}

// Scheme knows the kinds the check reads: the built-in ones, CRDs, and kubeext.dev's.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = apiextensionsv1.AddToScheme(s)
	_ = v1alpha1.AddToScheme(s)
	return s
}
