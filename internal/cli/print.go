package cli

import (
	"io"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// printResult prints a created or updated extension with the -o printer, or as
// "extension.kubeext.dev/NAME created" like kubectl.
func printResult(pf *genericclioptions.PrintFlags, dry lifecycle.DryRun, e *v1alpha1.Extension, out io.Writer) error {
	switch dry {
	case lifecycle.DryRunClient:
		_ = pf.Complete("%s (dry run)")
	case lifecycle.DryRunServer:
		_ = pf.Complete("%s (server dry run)")
	}
	p, err := pf.ToPrinter()
	if err != nil {
		return err
	}
	e = e.DeepCopy()
	e.SetManagedFields(nil)
	return p.PrintObj(e, out)
}
