package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"
)

var typeSyncLong = templates.LongDesc(`
	Read the versions of extension types from their chart sources.

	For each type, every version of its chart and the chart's kubeVersion are read from
	the https:// repository's index, the oci:// registry's tags or the file:// directory
	and written to the type's status.versions, each with the release trains that offer
	it. One line per type says what was found, or why the source could not be read; the
	command fails when any type could not be synced.`)

var typeSyncExample = templates.Examples(`
	# Read the versions of one type
	kubectl ext type sync example.podinfo

	# Of every type in the catalog
	kubectl ext type sync --all

	# A type whose charts are in a plain-HTTP OCI registry on loopback
	kubectl ext type sync example.agent --plain-http --registry-config ./config.json`)

// TypeSyncOptions is `kubectl ext type sync`.
type TypeSyncOptions struct {
	Names []string
	All   bool
	f     *factory
	genericiooptions.IOStreams
}

// NewTypeSyncCommand returns `kubectl ext type sync`.
func NewTypeSyncCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &TypeSyncOptions{f: f, IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "sync [TYPE ...|--all]",
		Short:   "Read extension types' versions from their chart sources",
		Long:    typeSyncLong,
		Example: typeSyncExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Names = args
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
		ValidArgsFunction: completeTypes(f),
	}
	cmd.Flags().BoolVar(&o.All, "all", false, "Sync every extension type of the catalog.")
	return cmd
}

// Validate checks that types are named, or --all given, but not both.
func (o *TypeSyncOptions) Validate() error {
	switch {
	case o.All && len(o.Names) > 0:
		return fmt.Errorf("give either TYPE names or --all, not both")
	case !o.All && len(o.Names) == 0:
		return fmt.Errorf("name the extension types to sync, or give --all to sync every type (see `kubectl ext type list`)")
	}
	return nil
}

// Run syncs the types one after the other, one line each.
func (o *TypeSyncOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	cat, err := o.f.catalog(o.ErrOut)
	if err != nil {
		return err
	}
	results, err := cat.SyncAll(ctx, o.Names, o.All)
	if o.All && len(results) == 0 && err == nil {
		fmt.Fprintln(o.ErrOut, "No extension types found; add one with `kubectl ext type add`.")
		return nil
	}
	for _, r := range results {
		fmt.Fprintln(o.Out, r)
	}
	return err
}
