package cli

import (
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// resultPrinter prints a created or updated extension with the -o printer, or as
// "extension.kubeext.dev/NAME created" like kubectl. Made once, it is shared by the
// clusters of a fleet run.
func resultPrinter(pf *genericclioptions.PrintFlags, dry lifecycle.DryRun) (printers.ResourcePrinter, error) {
	switch dry {
	case lifecycle.DryRunClient:
		_ = pf.Complete("%s (dry run)")
	case lifecycle.DryRunServer:
		_ = pf.Complete("%s (server dry run)")
	}
	return pf.ToPrinter()
}

// printable drops what no output should carry.
func printable(e *v1alpha1.Extension) *v1alpha1.Extension {
	e = e.DeepCopy()
	e.SetManagedFields(nil)
	return e
}
