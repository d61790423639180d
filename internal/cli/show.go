package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubeext/kubectl-ext/internal/describe"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

var showExample = templates.Examples(`
	# Show an extension: state, versions, settings and the keys of its protected settings
	kubectl ext show podinfo

	# As YAML or JSON (protected values are never part of the Extension)
	kubectl ext show podinfo -o yaml`)

// ShowOptions is `kubectl ext show`.
type ShowOptions struct {
	Name  string
	print *genericclioptions.PrintFlags
	f     *factory
	genericiooptions.IOStreams
}

// NewShowCommand returns `kubectl ext show`.
func NewShowCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ShowOptions{f: f, IOStreams: streams, print: genericclioptions.NewPrintFlags("").WithTypeSetter(scheme())}
	cmd := &cobra.Command{
		Use:     "show NAME",
		Short:   "Show one extension (az k8s-extension show)",
		Example: showExample,
		Args:    exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			return o.Run(cmd)
		},
	}
	o.print.AddFlags(cmd)
	cmd.ValidArgsFunction = completeExtensions(f, 1)
	return cmd
}

// Run shows the extension.
func (o *ShowOptions) Run(cmd *cobra.Command) error {
	p, err := outputPrinter(o.print)
	if err != nil {
		return err
	}
	m, err := o.f.manager(cmd.Context(), o.ErrOut)
	if err != nil {
		return err
	}
	e, err := m.Get(cmd.Context(), o.Name)
	if err != nil {
		return err
	}
	if p != nil {
		return p.PrintObj(printable(e), o.Out)
	}
	keys, err := m.ProtectedKeys(cmd.Context(), e)
	if errors.Is(err, lifecycle.ErrNotOwned) || errors.Is(err, lifecycle.ErrProtectedChanged) {
		// The extension is still worth showing; the Secret it names is not its own.
		fmt.Fprintf(o.ErrOut, "Warning: %v\n", err)
		keys, err = nil, nil
	}
	if err != nil {
		return err
	}
	return describe.Extension(o.Out, e, keys, time.Now())
}
