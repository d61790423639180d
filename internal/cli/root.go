// Package cli holds the commands of `kubectl ext`. Each command is an Options struct with
// Complete, Validate and Run that writes only to its IOStreams; main stays a few lines.
package cli

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubeext/kubectl-ext/internal/azflags"
)

var rootLong = templates.LongDesc(`
	Manage cluster extensions the way AKS does, on any Kubernetes cluster.

	An extension is a Helm chart from a catalog of extension types, installed with
	configuration settings, protected settings (never shown back), cluster or namespace
	scope, a release train, and either automatic minor upgrades or a pinned version.
	Every write is checked by the same policies the kubectl-ext admission webhook enforces.`)

var rootExample = templates.Examples(`
	# Show the version of the plugin
	kubectl ext version

	# Show the extensions of the cluster of the current context
	kubectl get ext

	# Use another kubeconfig and context, as with any kubectl command
	kubectl ext version --kubeconfig ./admin.conf --context staging`)

// NewRootCommand returns `kubectl ext` with every subcommand and every kubectl global flag.
func NewRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	flags := newConfigFlags()
	cmd := &cobra.Command{
		Use:     "kubectl-ext",
		Short:   "Manage AKS-style cluster extensions on any Kubernetes cluster",
		Long:    rootLong,
		Example: rootExample,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl ext",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	flags.AddFlags(cmd.PersistentFlags())
	f := &factory{flags: flags}
	f.charts.addFlags(cmd.PersistentFlags())
	f.addAzFlags(cmd.PersistentFlags())
	cmd.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if err := azflags.CheckShortT(c.CommandPath(), c.Flags()); err != nil {
			return err
		}
		return f.applyAzFlags(c)
	}

	cmd.AddCommand(
		NewCreateCommand(f, streams),
		NewShowCommand(f, streams),
		NewListCommand(f, streams),
		NewUpdateCommand(f, streams),
		NewDeleteCommand(f, streams),
		NewUpgradeCommand(f, streams),
		NewTypeCommand(f, streams),
		NewInitCommand(f, streams),
		NewTroubleshootCommand(f, streams),
		NewVersionCommand(streams),
	)
	addShortT(cmd)
	return cmd
}

// addShortT gives every runnable command without a -t of its own the hidden -t that
// the root's PersistentPreRunE explains (azflags.AddShortT). It is added to each
// command's local flags: a persistent -t on the root would clash with create's and
// update's -t (--extension-type).
func addShortT(cmd *cobra.Command) {
	if cmd.Runnable() {
		azflags.AddShortT(cmd.Flags())
	}
	for _, c := range cmd.Commands() {
		addShortT(c)
	}
}
