package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
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

	clusterScopeSet, namespaceScopeSet bool
	print                              *genericclioptions.PrintFlags
	printer                            printers.ResourcePrinter
	dry                                lifecycle.DryRun
	obj                                *v1alpha1.ExtensionType
	f                                  *factory
	genericiooptions.IOStreams
}

// NewTypeAddCommand returns `kubectl ext type add`.
func NewTypeAddCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &TypeAddOptions{f: f, IOStreams: streams, print: genericclioptions.NewPrintFlags("created").WithTypeSetter(scheme())}
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
	o.clusterScopeSet = cmd.Flags().Changed("cluster-scope")
	o.namespaceScopeSet = cmd.Flags().Changed("namespace-scope")
}

// Validate checks the flags and builds the ExtensionType, before anything is sent.
func (o *TypeAddOptions) Validate() error {
	if errs := validation.IsDNS1123Subdomain(o.Name); len(errs) > 0 {
		return fmt.Errorf("NAME %q is not a valid extension type name: %s (use lowercase letters, digits, '-' and '.', like example.podinfo)", o.Name, strings.Join(errs, "; "))
	}
	if o.Repository == "" {
		return fmt.Errorf("--chart-repository is required: an https://, oci:// or file:// URL")
	}
	scheme, rest, ok := strings.Cut(o.Repository, "://")
	switch strings.ToLower(scheme) {
	case "https", "http", "oci", "file":
	default:
		ok = false
	}
	if !ok || rest == "" {
		return fmt.Errorf("--chart-repository %q must be an https://, http://, oci:// or file:// URL", o.Repository)
	}
	if o.Chart == "" {
		return fmt.Errorf("--chart is required: the name of the chart in %s", o.Repository)
	}

	scopes, err := o.scopes()
	if err != nil {
		return err
	}
	trains, err := parseReleaseTrains(o.ReleaseTrains)
	if err != nil {
		return err
	}
	policy, err := parseUpgradePolicy(o.UpgradePolicy)
	if err != nil {
		return err
	}
	if o.dry, err = parseDryRun(o.DryRun); err != nil {
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

	o.obj = &v1alpha1.ExtensionType{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "ExtensionType"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name},
		Spec: v1alpha1.ExtensionTypeSpec{
			Description:   o.Description,
			Chart:         v1alpha1.ChartSource{Repository: o.Repository, Name: o.Chart},
			Scopes:        scopes,
			ReleaseTrains: trains,
			UpgradePolicy: policy,
		},
	}
	return nil
}

// scopes reads the scope flags: cluster scope unless --cluster-scope=false, namespace
// scope with --namespace-scope or --default-scope namespace.
func (o *TypeAddOptions) scopes() (v1alpha1.Scopes, error) {
	var s v1alpha1.Scopes
	def := v1alpha1.ScopeName(strings.ToLower(o.DefaultScope))
	switch def {
	case "", v1alpha1.ScopeCluster, v1alpha1.ScopeNamespace:
	default:
		return s, fmt.Errorf("--default-scope must be cluster or namespace, not %q", o.DefaultScope)
	}
	cluster, namespace := o.ClusterScope, o.NamespaceScope
	switch {
	case def == v1alpha1.ScopeNamespace && o.namespaceScopeSet && !namespace:
		return s, fmt.Errorf("--default-scope namespace needs namespace scope, but --namespace-scope=false was given")
	case def == v1alpha1.ScopeNamespace:
		namespace = true
	case def == v1alpha1.ScopeCluster && !cluster:
		return s, fmt.Errorf("--default-scope cluster needs cluster scope, but --cluster-scope=false was given")
	}
	if !cluster && !namespace {
		return s, fmt.Errorf("the type must support a scope: with --cluster-scope=false, give --namespace-scope=true")
	}
	if !cluster {
		switch {
		case o.DefaultReleaseNamespace != "":
			return s, fmt.Errorf("--default-release-namespace is for cluster scope, which --cluster-scope=false turns off")
		case o.AllowMultipleInstances:
			return s, fmt.Errorf("--allow-multiple-instances is for cluster scope, which --cluster-scope=false turns off")
		}
	}
	if o.DefaultReleaseNamespace != "" {
		if errs := validation.IsDNS1123Label(o.DefaultReleaseNamespace); len(errs) > 0 {
			return s, fmt.Errorf("--default-release-namespace %q is not a namespace name: %s", o.DefaultReleaseNamespace, strings.Join(errs, "; "))
		}
	}
	if def == "" {
		def = v1alpha1.ScopeCluster
		if !cluster {
			def = v1alpha1.ScopeNamespace
		}
	}
	s.Default = def
	if cluster {
		s.Cluster = &v1alpha1.ClusterScopeOptions{
			DefaultReleaseNamespace: o.DefaultReleaseNamespace,
			AllowMultipleInstances:  o.AllowMultipleInstances,
		}
	}
	if namespace {
		s.Namespace = &v1alpha1.NamespaceScopeOptions{}
	}
	return s, nil
}

// parseReleaseTrains reads --release-train values, NAME or NAME:prerelease; none gives
// the default trains Stable and Preview (with prereleases).
func parseReleaseTrains(values []string) ([]v1alpha1.ReleaseTrain, error) {
	if len(values) == 0 {
		return []v1alpha1.ReleaseTrain{
			{Name: v1alpha1.ReleaseTrainStable},
			{Name: v1alpha1.ReleaseTrainPreview, IncludePrerelease: true},
		}, nil
	}
	out := make([]v1alpha1.ReleaseTrain, 0, len(values))
	seen := map[string]bool{}
	for _, v := range values {
		name, suffix, hasSuffix := strings.Cut(strings.TrimSpace(v), ":")
		if name == "" {
			return nil, fmt.Errorf("--release-train %q names no train: use NAME or NAME:prerelease", v)
		}
		if hasSuffix && !strings.EqualFold(suffix, "prerelease") {
			return nil, fmt.Errorf("--release-train %q: the only option after ':' is prerelease (the train offers prereleases too)", v)
		}
		if seen[strings.ToLower(name)] {
			return nil, fmt.Errorf("--release-train %s is given twice", name)
		}
		seen[strings.ToLower(name)] = true
		out = append(out, v1alpha1.ReleaseTrain{Name: name, IncludePrerelease: hasSuffix})
	}
	return out, nil
}

// parseUpgradePolicy reads --upgrade-policy, case-insensitively.
func parseUpgradePolicy(v string) (v1alpha1.UpgradePolicy, error) {
	for _, p := range []v1alpha1.UpgradePolicy{v1alpha1.UpgradePolicyKubernetesMinor, v1alpha1.UpgradePolicyMinor} {
		if strings.EqualFold(v, string(p)) {
			return p, nil
		}
	}
	return "", fmt.Errorf("--upgrade-policy must be KubernetesMinor or Minor, not %q", v)
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
	var opts []client.CreateOption
	if o.dry == lifecycle.DryRunServer {
		opts = append(opts, client.DryRunAll)
	}
	obj := o.obj.DeepCopy()
	if err := cat.Client.Create(ctx, obj, opts...); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("extension type %s already exists; `type add` does not change it: edit it with `kubectl get exttype %s -o yaml > type.yaml` and `kubectl apply -f type.yaml`, or delete it first with `kubectl delete exttype %s`", o.Name, o.Name, o.Name)
		}
		return lifecycle.Explain(err, "create", "extensiontypes.kubeext.dev")
	}
	var syncErr error
	if o.Sync {
		fmt.Fprintf(o.ErrOut, "Reading the versions of extension type %s from %s\n", obj.Name, obj.Spec.Chart.Repository)
		if syncErr = cat.Sync(ctx, obj); syncErr == nil {
			fmt.Fprintln(o.ErrOut, typeSyncSummary(obj))
		}
	}
	obj.SetManagedFields(nil)
	if err := o.printer.PrintObj(obj, o.Out); err != nil {
		return err
	}
	if syncErr != nil {
		return fmt.Errorf("extension type %s was added, but its versions could not be read; run `kubectl ext type sync %s` once the chart source is reachable: %w", obj.Name, obj.Name, syncErr)
	}
	return nil
}
