package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/azflags"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

var typeAddLong = templates.LongDesc(`
	Add an extension type to the catalog of the cluster.

	The type names a Helm chart and where it lives: an https:// (or http://) chart
	repository with an index.yaml, an oci:// registry repository, or a file:// chart
	archive, chart directory or directory of archives (air-gapped clusters). Without
	flags saying otherwise the type installs with cluster scope only, offers the release
	trains Stable (releases) and Preview (prereleases too), and follows the upgrade
	policy KubernetesMinor (a new minor version waits for the cluster's next Kubernetes
	minor).

	An existing type is not changed: edit its YAML and 'kubectl apply -f' it instead.`)

var typeAddExample = templates.Examples(`
	# Add podinfo from an https chart repository and read its versions right away
	kubectl ext type add example.podinfo \
	  --chart-repository https://stefanprodan.github.io/podinfo --chart podinfo --sync

	# From an OCI registry, installable per namespace too, minor upgrades at any time
	kubectl ext type add example.podinfo --chart-repository oci://ghcr.io/stefanprodan/charts \
	  --chart podinfo --namespace-scope=true --upgrade-policy Minor

	# From charts on disk, with its own trains: Stable, and Fast with prereleases
	kubectl ext type add example.agent --chart-repository file:///srv/charts --chart agent \
	  --release-train Stable --release-train Fast:prerelease

	# See the object that would be created, without creating it
	kubectl ext type add example.podinfo --chart-repository https://charts.example.org \
	  --chart podinfo --dry-run=client -o yaml`)

// TypeAddOptions is `kubectl ext type add`.
type TypeAddOptions struct {
	Name                    string
	Repository, Chart       string
	Description             string
	DefaultScope            string
	ClusterScope            bool
	NamespaceScope          bool
	DefaultReleaseNamespace string
	AllowMultipleInstances  bool
	ReleaseTrains           []string
	UpgradePolicy           string
	Sync                    bool
	DryRun                  string
	InsecureReason          string

	namespaceScopeSet bool
	print             *genericclioptions.PrintFlags
	printer           printers.ResourcePrinter
	dry               lifecycle.DryRun
	obj               *v1alpha1.ExtensionType
	f                 *factory
	genericiooptions.IOStreams
}

// NewTypeAddCommand returns `kubectl ext type add`.
func NewTypeAddCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &TypeAddOptions{f: f, IOStreams: streams, print: newPrintFlags("created")}
	cmd := &cobra.Command{
		Use:     "add NAME --chart-repository URL --chart NAME [flags]",
		Short:   "Add an extension type to the catalog",
		Long:    typeAddLong,
		Example: typeAddExample,
		Args:    exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Complete(cmd, args)
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Repository, "chart-repository", "", "Where the chart lives: an https:// chart repository, an oci:// registry repository or a file:// path. Required.")
	fs.StringVar(&o.Chart, "chart", "", "Name of the chart in the repository. Required.")
	fs.StringVar(&o.Description, "description", "", "One-line description shown by `kubectl ext type show`.")
	fs.StringVar(&o.DefaultScope, "default-scope", "", "Scope of extensions that name none: cluster or namespace (default: cluster when the type supports it).")
	fs.BoolVar(&o.ClusterScope, "cluster-scope", true, "Whether extensions of this type may install with cluster scope.")
	fs.BoolVar(&o.NamespaceScope, "namespace-scope", false, "Whether extensions of this type may install with namespace scope (implied by --default-scope namespace).")
	fs.StringVar(&o.DefaultReleaseNamespace, "default-release-namespace", "", "Release namespace of cluster-scoped extensions that name none.")
	fs.BoolVar(&o.AllowMultipleInstances, "allow-multiple-instances", false, "Allow more than one cluster-scoped extension of this type.")
	fs.StringArrayVar(&o.ReleaseTrains, "release-train", nil, "A release train as NAME or NAME:prerelease (the train offers prereleases too); repeatable. Default: Stable and Preview:prerelease.")
	fs.StringVar(&o.UpgradePolicy, "upgrade-policy", string(v1alpha1.UpgradePolicyKubernetesMinor), "KubernetesMinor (minor upgrades wait for the cluster's next Kubernetes minor) or Minor (minor upgrades at any time).")
	fs.BoolVar(&o.Sync, "sync", false, "Read the type's versions from the chart source right after adding it.")
	fs.StringVar(&o.InsecureReason, "allow-insecure-repository", "", "For a plain http:// --chart-repository: why it is acceptable (an air-gapped mirror, say). Recorded as the annotation kubeext.dev/allow-insecure-repository, without which the webhook refuses http (EXT-TYPEDEF-001).")
	fs.StringVar(&o.DryRun, "dry-run", "none", `"none", "client" (print the object, send nothing) or "server" (the API server validates it, nothing is kept).`)
	fs.Lookup("dry-run").NoOptDefVal = "client"
	o.print.AddFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("default-scope", fixedCompletions("cluster", "namespace"))
	_ = cmd.RegisterFlagCompletionFunc("upgrade-policy", fixedCompletions("KubernetesMinor", "Minor"))
	_ = cmd.RegisterFlagCompletionFunc("dry-run", fixedCompletions("none", "client", "server"))
	return cmd
}

// Complete reads the arguments and which flags were given.
func (o *TypeAddOptions) Complete(cmd *cobra.Command, args []string) {
	o.Name = args[0]
	o.namespaceScopeSet = cmd.Flags().Changed("namespace-scope")
}

// Validate checks the flags and builds the ExtensionType, before anything is sent.
func (o *TypeAddOptions) Validate() error {
	obj, err := catalog.NewType(catalog.TypeOptions{
		Name: o.Name, Repository: o.Repository, Chart: o.Chart, Description: o.Description,
		DefaultScope: o.DefaultScope, ClusterScope: o.ClusterScope, NamespaceScope: o.NamespaceScope,
		NamespaceScopeSet: o.namespaceScopeSet, DefaultReleaseNamespace: o.DefaultReleaseNamespace,
		AllowMultipleInstances: o.AllowMultipleInstances, ReleaseTrains: o.ReleaseTrains, UpgradePolicy: o.UpgradePolicy,
		InsecureRepositoryReason: o.InsecureReason,
		// The options are this command's flags of the same names.
		Option: func(key string) string { return "--" + key },
	})
	if err != nil {
		return err
	}
	if o.dry, err = azflags.ParseDryRun(o.DryRun); err != nil {
		return err
	}
	if o.Sync && o.dry != lifecycle.DryRunNone {
		return fmt.Errorf("--sync writes the versions it reads to the new type, so it cannot be combined with --dry-run")
	}
	switch o.dry {
	case lifecycle.DryRunClient:
		_ = o.print.Complete("%s (dry run)")
	case lifecycle.DryRunServer:
		_ = o.print.Complete("%s (server dry run)")
	}
	if o.printer, err = o.print.ToPrinter(); err != nil {
		return err
	}
	o.obj = obj
	return nil
}

// Run creates the type, and with --sync reads its versions.
func (o *TypeAddOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	if o.dry == lifecycle.DryRunClient {
		return o.printer.PrintObj(o.obj, o.Out)
	}
	cat, err := o.f.catalog(o.ErrOut)
	if err != nil {
		return err
	}
	obj := o.obj.DeepCopy()
	err = cat.Add(ctx, obj, catalog.AddOptions{ServerDryRun: o.dry == lifecycle.DryRunServer, Sync: o.Sync})
	if err != nil && !catalog.IsNotSynced(err) {
		return err
	}
	obj.SetManagedFields(nil)
	if perr := o.printer.PrintObj(obj, o.Out); perr != nil {
		return perr
	}
	// A type added but not synced was still added: it is printed, then the error.
	return err
}
