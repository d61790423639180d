package cli

import (
	"context"
	"fmt"
	"io"

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

// extensionOp is the one-cluster step of create and update: run do with that
// cluster's manager, print the extension, and sum up its state.
func extensionOp(p printers.ResourcePrinter, do func(context.Context, *lifecycle.Manager) (*v1alpha1.Extension, error)) clusterOp {
	return func(ctx context.Context, f *factory, out, errOut io.Writer) (string, error) {
		m, err := f.manager(ctx, errOut)
		if err != nil {
			return "", err
		}
		e, err := do(ctx, m)
		if err != nil {
			return "", err
		}
		if err := p.PrintObj(printable(e), out); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s at version %s", orDryRun(string(e.Status.ProvisioningState)), versionOf(e)), nil
	}
}

// printable drops what no output should carry.
func printable(e *v1alpha1.Extension) *v1alpha1.Extension {
	e = e.DeepCopy()
	e.SetManagedFields(nil)
	return e
}
