package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

var deleteExample = templates.Examples(`
	# Uninstall an extension and remove its record and protected settings
	kubectl ext delete podinfo --yes

	# Remove only the record; the Helm release stays installed
	kubectl ext delete podinfo --force --yes`)

// DeleteOptions is `kubectl ext delete`.
type DeleteOptions struct {
	Name       string
	Yes, Force bool
	wait       waitFlags
	f          *factory
	genericiooptions.IOStreams
}

// NewDeleteCommand returns `kubectl ext delete`.
func NewDeleteCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &DeleteOptions{f: f, IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "delete NAME [flags]",
		Short:   "Uninstall an extension and delete its record (az k8s-extension delete)",
		Example: deleteExample,
		Args:    exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if err := o.wait.validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "Do not ask for confirmation.")
	cmd.Flags().BoolVar(&o.Force, "force", false, "Remove only the Extension record; leave the Helm release installed.")
	o.wait.addFlags(cmd.Flags())
	cmd.ValidArgsFunction = completeExtensions(f, 1)
	return cmd
}

// Run deletes the extension. One that does not exist is reported, and is no error.
func (o *DeleteOptions) Run(cmd *cobra.Command) error {
	m, err := o.f.manager(cmd.Context(), o.ErrOut)
	if err != nil {
		return err
	}
	if _, err := m.Get(cmd.Context(), o.Name); lifecycle.IsNotFound(err) {
		fmt.Fprintf(o.Out, "extension %s not found; nothing to delete\n", o.Name)
		return nil
	} else if err != nil {
		return err
	}
	if !o.Yes {
		what := "Uninstall extension " + o.Name + " and delete its record and protected settings?"
		if o.Force {
			what = "Delete the record of extension " + o.Name + " and leave its Helm release installed?"
		}
		if ok, err := confirm(o.In, o.ErrOut, what); err != nil || !ok {
			return err
		}
	}
	err = m.Delete(cmd.Context(), lifecycle.DeleteRequest{Name: o.Name, Force: o.Force, Wait: !o.wait.NoWait, Timeout: o.wait.Timeout})
	if lifecycle.IsNotFound(err) {
		fmt.Fprintf(o.Out, "extension %s not found; nothing to delete\n", o.Name)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "extension.kubeext.dev/%s deleted\n", o.Name)
	return nil
}
