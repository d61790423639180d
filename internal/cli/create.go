package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/azflags"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

var createExample = templates.Examples(`
	# Install podinfo cluster-wide, auto-upgrading on the Stable train, with settings
	kubectl ext create podinfo --extension-type stefanprodan.podinfo \
	  --release-namespace podinfo --config replicaCount=2 ui.message="hello world"

	# Pin a version (auto-upgrade off; no --release-train then) and pass a secret
	# that is never shown back
	kubectl ext create podinfo --extension-type stefanprodan.podinfo \
	  --auto-upgrade-minor-version false --version 6.7.1 \
	  --config-protected apiKey=s3cr3t

	# Install into one namespace, settings from a YAML file
	kubectl ext create podinfo-team-a --extension-type stefanprodan.podinfo \
	  --scope namespace --target-namespace team-a --config-file values.yaml

	# An az command line, as it is: --cluster-name is the kubeconfig context, and
	# --resource-group and --cluster-type are noted and ignored
	kubectl ext create --name podinfo --extension-type stefanprodan.podinfo --scope cluster \
	  --cluster-name dev --resource-group my-rg --cluster-type managedClusters --release-train Stable

	# See what would be created, checked by the policies, without writing anything
	kubectl ext create podinfo --extension-type stefanprodan.podinfo --dry-run=client -o yaml`)

// CreateOptions is `kubectl ext create`: az's flags and their rules are
// internal/azflags; here, completion, the fleet flags and printing.
type CreateOptions struct {
	Name     string
	nameFlag string
	az       azflags.Create
	fleet    fleetFlags
	print    *genericclioptions.PrintFlags

	req lifecycle.CreateRequest
	f   *factory
	genericiooptions.IOStreams
}

// NewCreateCommand returns `kubectl ext create`.
func NewCreateCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CreateOptions{f: f, IOStreams: streams, print: newPrintFlags("created")}
	cmd := &cobra.Command{
		Use:     "create NAME --extension-type TYPE [flags]",
		Short:   "Create an extension instance (az k8s-extension create)",
		Example: createExample,
		Args:    extensionName(&o.Name, &o.nameFlag),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(o.Name, cmd.Flags().Changed); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	fs := cmd.Flags()
	azflags.AddNameFlag(fs, &o.nameFlag)
	o.az.AddFlags(fs)
	o.fleet.addFlags(fs)
	o.print.AddFlags(cmd)
	cmd.ValidArgsFunction = cobra.NoFileCompletions
	_ = cmd.RegisterFlagCompletionFunc("extension-type", completeTypes(f))
	_ = cmd.RegisterFlagCompletionFunc("scope", fixedCompletions("cluster", "namespace"))
	_ = cmd.RegisterFlagCompletionFunc("auto-upgrade-minor-version", fixedCompletions("true", "false"))
	_ = cmd.RegisterFlagCompletionFunc("dry-run", fixedCompletions("none", "client", "server"))
	return cmd
}

// extensionName is the Args of the commands that take an extension's NAME, which az
// gives as --name (nameFlag): it refuses kubectl's -n first, whose meaning in az is the
// name, and sets name.
func extensionName(name, nameFlag *string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := refuseNamespace(cmd); err != nil {
			return err
		}
		n, err := azflags.Name(cmd.CommandPath(), args, *nameFlag, cmd.Flags().Changed("name"))
		*name = n
		return err
	}
}

func exactName(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s takes exactly one NAME, got %d arguments; see '%s --help'", cmd.CommandPath(), len(args), cmd.CommandPath())
	}
	return nil
}

// Validate checks the flags before anything is read from or written to the cluster;
// changed tells which were given.
func (o *CreateOptions) Validate(name string, changed func(string) bool) error {
	o.Name = name
	req, err := o.az.Request(name, changed)
	if err != nil {
		return err
	}
	if err := o.fleet.validate(); err != nil {
		return err
	}
	o.req = req
	return nil
}

// Run creates the extension, on one cluster or on each of a fleet.
func (o *CreateOptions) Run(cmd *cobra.Command) error {
	p, err := resultPrinter(o.print, o.req.DryRun)
	if err != nil {
		return err
	}
	op := extensionOp(p, func(ctx context.Context, m *lifecycle.Manager) (*v1alpha1.Extension, error) {
		return m.Create(ctx, o.req)
	})
	return o.fleet.run(cmd.Context(), o.f, o.Out, o.ErrOut, op)
}
