package cli

import (
	"context"
	"fmt"
	"regexp"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

var createExample = templates.Examples(`
	# Install podinfo cluster-wide, auto-upgrading on the Stable train, with settings
	kubectl ext create podinfo --extension-type example.podinfo \
	  --release-namespace podinfo --config replicaCount=2 message="hello world"

	# Pin a version (auto-upgrade off) and pass a secret that is never shown back
	kubectl ext create podinfo --extension-type example.podinfo \
	  --auto-upgrade-minor-version false --version 1.4.1 \
	  --config-protected apiKey=s3cr3t

	# Install into one namespace, settings from a YAML file
	kubectl ext create podinfo-team-a --extension-type example.podinfo \
	  --scope namespace --target-namespace team-a --config-file values.yaml

	# See what would be created, checked by the policies, without writing anything
	kubectl ext create podinfo --extension-type example.podinfo --dry-run=client -o yaml`)

// CreateOptions is `kubectl ext create`.
type CreateOptions struct {
	Name, ExtensionType               string
	Scope, ReleaseNamespace, TargetNS string
	AutoUpgrade                       string
	Version, ReleaseTrain             string
	DryRun                            string
	settings                          settingsFlags
	wait                              waitFlags
	fleet                             fleetFlags
	print                             *genericclioptions.PrintFlags

	protectedGiven bool
	req            lifecycle.CreateRequest
	f              *factory
	genericiooptions.IOStreams
}

// NewCreateCommand returns `kubectl ext create`.
func NewCreateCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &CreateOptions{f: f, IOStreams: streams, print: genericclioptions.NewPrintFlags("created").WithTypeSetter(scheme())}
	cmd := &cobra.Command{
		Use:     "create NAME --extension-type TYPE [flags]",
		Short:   "Create an extension instance (az k8s-extension create)",
		Example: createExample,
		Args:    exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.ExtensionType, "extension-type", "t", "", "Extension type to install (see: kubectl ext type list). Required.")
	fs.StringVar(&o.Scope, "scope", "", "cluster or namespace; defaults to the type's default, or to cluster when --release-namespace is given.")
	fs.StringVar(&o.ReleaseNamespace, "release-namespace", "", "Namespace of the release with cluster scope (created if missing).")
	fs.StringVar(&o.TargetNS, "target-namespace", "", "Namespace to install into with namespace scope (created if missing).")
	fs.StringVar(&o.AutoUpgrade, "auto-upgrade-minor-version", "", "true (default) keeps the extension current within its train; false pins --version.")
	fs.StringVar(&o.AutoUpgrade, "auto-upgrade", "", "Alias of --auto-upgrade-minor-version.")
	fs.StringVar(&o.Version, "version", "", "Version to pin; requires --auto-upgrade-minor-version false.")
	fs.StringVar(&o.ReleaseTrain, "release-train", "", "Release train to take versions from (default Stable).")
	fs.StringVar(&o.DryRun, "dry-run", "none", `"none", "client" (local policy checks only) or "server" (the API server and webhook judge, nothing is kept).`)
	fs.Lookup("dry-run").NoOptDefVal = "client"
	o.settings.addFlags(fs)
	o.wait.addFlags(fs)
	o.fleet.addFlags(fs)
	o.print.AddFlags(cmd)
	cmd.ValidArgsFunction = cobra.NoFileCompletions
	_ = cmd.RegisterFlagCompletionFunc("extension-type", completeTypes(f))
	_ = cmd.RegisterFlagCompletionFunc("scope", fixedCompletions("cluster", "namespace"))
	_ = cmd.RegisterFlagCompletionFunc("auto-upgrade-minor-version", fixedCompletions("true", "false"))
	_ = cmd.RegisterFlagCompletionFunc("dry-run", fixedCompletions("none", "client", "server"))
	return cmd
}

var dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func exactName(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s takes exactly one NAME, got %d arguments; see '%s --help'", cmd.CommandPath(), len(args), cmd.CommandPath())
	}
	return nil
}

// Complete reads the flags.
func (o *CreateOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Name = args[0]
	o.protectedGiven = o.settings.protectedGivenIn(cmd.Flags())
	return nil
}

// Validate checks the flags before anything is read from or written to the cluster.
func (o *CreateOptions) Validate() error {
	if !dns1123Label.MatchString(o.Name) || len(o.Name) > 53 {
		return fmt.Errorf("NAME %q must be at most 53 lowercase letters, digits and '-', starting and ending with a letter or digit (it becomes the Helm release name)", o.Name)
	}
	if o.ExtensionType == "" {
		return fmt.Errorf("--extension-type is required (see `kubectl ext type list`)")
	}
	scope := v1alpha1.ScopeName(o.Scope)
	switch scope {
	case "", v1alpha1.ScopeCluster, v1alpha1.ScopeNamespace:
	default:
		return fmt.Errorf("--scope must be cluster or namespace, not %q", o.Scope)
	}
	switch {
	case scope == v1alpha1.ScopeCluster && o.TargetNS != "":
		return fmt.Errorf("--target-namespace goes with --scope namespace; with cluster scope use --release-namespace")
	case scope == v1alpha1.ScopeNamespace && o.ReleaseNamespace != "":
		return fmt.Errorf("--release-namespace goes with --scope cluster; with namespace scope the release lives in --target-namespace")
	case scope == v1alpha1.ScopeNamespace && o.TargetNS == "":
		return fmt.Errorf("--scope namespace needs --target-namespace")
	case scope == "" && o.ReleaseNamespace != "" && o.TargetNS != "":
		return fmt.Errorf("--release-namespace (cluster scope) and --target-namespace (namespace scope) cannot both be given")
	}
	auto := true
	if o.AutoUpgrade != "" {
		var err error
		if auto, err = parseBool("auto-upgrade-minor-version", o.AutoUpgrade); err != nil {
			return err
		}
	}
	switch {
	case auto && o.Version != "":
		return fmt.Errorf("--version pins the extension, so it needs --auto-upgrade-minor-version false")
	case !auto && o.Version == "":
		return fmt.Errorf("--auto-upgrade-minor-version false needs --version: name the version to pin")
	}
	dry, err := parseDryRun(o.DryRun)
	if err != nil {
		return err
	}
	if err := o.fleet.validate(); err != nil {
		return err
	}
	if err := o.wait.validate(); err != nil {
		return err
	}
	s, err := o.settings.parse(true, o.protectedGiven)
	if err != nil {
		return err
	}
	o.req = lifecycle.CreateRequest{
		Name: o.Name, ExtensionType: o.ExtensionType, Scope: scope,
		ReleaseNamespace: o.ReleaseNamespace, TargetNamespace: o.TargetNS,
		AutoUpgrade: ptr.To(auto), Version: o.Version, ReleaseTrain: o.ReleaseTrain,
		Settings: s.Settings, Protected: s.Protected,
		Wait: !o.wait.NoWait, Timeout: o.wait.Timeout, DryRun: dry,
	}
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

func orDryRun(state string) string {
	if state == "" {
		return "dry run"
	}
	return state
}

func versionOf(e *v1alpha1.Extension) string {
	if e.Status.CurrentVersion != "" {
		return e.Status.CurrentVersion
	}
	return e.Status.TargetVersion
}
