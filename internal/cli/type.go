package cli

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"
)

var typeLong = templates.LongDesc(`
	Manage the catalog of extension types.

	An extension type (an ExtensionType object) names a Helm chart and where it comes
	from (an https:// chart repository, an oci:// registry or a file:// directory), the
	scopes it installs with, its release trains and its upgrade policy. Its versions,
	and the Kubernetes versions each chart supports, are read from the chart source by
	'kubectl ext type sync' into the type's status; 'kubectl ext type versions' shows
	which of them this cluster can run.

	Extension types can also be written as YAML and applied with 'kubectl apply -f'.`)

var typeExample = templates.Examples(`
	# Add podinfo from its chart repository and read its versions at once
	kubectl ext type add example.podinfo --chart-repository https://stefanprodan.github.io/podinfo \
	  --chart podinfo --sync

	# List the catalog, show one type, refresh every type's versions
	kubectl ext type list
	kubectl ext type show example.podinfo
	kubectl ext type sync --all

	# The versions of podinfo this cluster can run on the Stable train, newest first
	kubectl ext type versions example.podinfo`)

// NewTypeCommand returns `kubectl ext type` (alias `types`) and its subcommands: add,
// list, show, sync and versions.
func NewTypeCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "type",
		Aliases: []string{"types"},
		Short:   "Manage the catalog of extension types (az k8s-extension extension-types)",
		Long:    typeLong,
		Example: typeExample,
		Args:    cobra.NoArgs, // an unknown subcommand is an error, not help
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		NewTypeAddCommand(f, streams),
		NewTypeListCommand(f, streams),
		NewTypeShowCommand(f, streams),
		NewTypeSyncCommand(f, streams),
		NewTypeVersionsCommand(f, streams),
	)
	return cmd
}
