package cli

import (
	"context"
	"io"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/describe"
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
	p, err := pf.ToPrinter()
	if err != nil {
		return nil, err
	}
	return formatPrinter{p, ptr.Deref(pf.OutputFormat, "")}, nil
}

// formatPrinter is a result printer that remembers its -o: a command that prints -o
// output draws no live progress (progress.go).
type formatPrinter struct {
	printers.ResourcePrinter
	format string
}

// extensionOp is the one-cluster step of create and update: run do with that
// cluster's manager, print the extension, and sum up its state.
func extensionOp(p printers.ResourcePrinter, do func(context.Context, *lifecycle.Manager) (*v1alpha1.Extension, error)) clusterOp {
	return func(ctx context.Context, f *factory, out, errOut io.Writer) (string, error) {
		if fp, ok := p.(formatPrinter); ok && fp.format != "" {
			ctx = withoutLive(ctx)
		}
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
		return describe.Outcome(e), nil
	}
}

// printable drops what no output should carry.
func printable(e *v1alpha1.Extension) *v1alpha1.Extension {
	e = e.DeepCopy()
	e.SetManagedFields(nil)
	return e
}

// outputPrinter returns the printer that -o asks for, or nil when it asks for the
// command's own human view: no -o, or one of human (such as "wide"). Commands make it
// before they read anything, so that a bad -o fails at once.
func outputPrinter(pf *genericclioptions.PrintFlags, human ...string) (printers.ResourcePrinter, error) {
	if format := ptr.Deref(pf.OutputFormat, ""); format == "" || slices.Contains(human, format) {
		return nil, nil
	}
	return pf.ToPrinter()
}

// printList prints a typed list with p. The name printer takes no typed lists, so
// for -o name each item is printed.
func printList(p printers.ResourcePrinter, pf *genericclioptions.PrintFlags, list runtime.Object, out io.Writer) error {
	if ptr.Deref(pf.OutputFormat, "") != "name" {
		return p.PrintObj(list, out)
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return err
	}
	for _, item := range items {
		if err := p.PrintObj(item, out); err != nil {
			return err
		}
	}
	return nil
}
