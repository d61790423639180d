package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubeext/kubectl-ext/internal/azflags"
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
	nameFlag   string
	Yes, Force bool
	wait       azflags.Wait
	fleet      fleetFlags
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
		Args:    extensionName(&o.Name, &o.nameFlag),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.wait.Validate(); err != nil {
				return err
			}
			if err := o.fleet.validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	azflags.AddNameFlag(cmd.Flags(), &o.nameFlag)
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "Delete without asking. Without --yes, delete asks on a terminal and is refused when stdin is not one (scripts, CI).")
	cmd.Flags().BoolVar(&o.Force, "force", false, "Remove only the Extension record; leave the Helm release installed.")
	o.wait.AddFlags(cmd.Flags())
	o.fleet.addFlags(cmd.Flags())
	cmd.ValidArgsFunction = completeExtensions(f, 1)
	return cmd
}

// Run deletes the extension, on one cluster or on each of a fleet. One that does not
// exist is reported, and is no error.
func (o *DeleteOptions) Run(cmd *cobra.Command) error {
	if !o.Yes {
		what := "Uninstall extension " + o.Name + " and delete its record and protected settings?"
		if o.Force {
			what = "Delete the record of extension " + o.Name + " and leave its Helm release installed?"
		}
		if o.fleet.enabled() {
			what = strings.TrimSuffix(what, "?") + " on every cluster named?"
		}
		if ok, err := confirm(o.In, o.ErrOut, what); err != nil || !ok {
			return err
		}
	}
	op := func(ctx context.Context, f *factory, out, errOut io.Writer) (string, error) {
		m, err := f.manager(ctx, errOut)
		if err != nil {
			return "", err
		}
		err = m.Delete(ctx, lifecycle.DeleteRequest{Name: o.Name, Force: o.Force, Wait: !o.wait.NoWait, Timeout: o.wait.Timeout})
		if lifecycle.IsNotFound(err) {
			fmt.Fprintf(out, "extension %s not found; nothing to delete\n", o.Name)
			return "not found; nothing to delete", nil
		}
		if err != nil {
			return "", err
		}
		fmt.Fprintf(out, "extension.kubeext.dev/%s deleted\n", o.Name)
		return "deleted", nil
	}
	return o.fleet.run(cmd.Context(), o.f, o.Out, o.ErrOut, op)
}
