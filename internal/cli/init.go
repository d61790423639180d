package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubeext/kubectl-ext/internal/install"
)

var initLong = templates.LongDesc(`
	Install what kubectl ext needs on a cluster: the kubeext.dev CRDs (Extension and
	ExtensionType), a default catalog of extension types, with --with-webhook the
	admission webhook that reviews every write of an Extension, and with --with-manager
	the extension manager, which installs declared Extensions, corrects drift and
	upgrades on a schedule (docs/manager.md). All of it is embedded in the plugin.

	Objects are applied with server-side apply (field manager kubectl-ext, taking over
	fields that other managers set): the CRDs first, which init waits for until they are
	Established, then the namespace, then the rest, the ValidatingWebhookConfiguration
	last. Running init again changes nothing that is current, and says "unchanged". The
	webhook's policy ConfigMap (kubeext-system/kubeext-policy) is created once and never
	overwritten, so your edits to it survive a re-run. A webhook registration made
	another way (called by URL, say, or with selectors that let writes pass unreviewed)
	is taken over: init removes what the embedded manifest does not set, keeps the
	caBundle, and says what it removed; if the API server refuses, init says what to run.

	--print writes the same objects as one YAML stream and contacts no cluster, for a
	GitOps repository. --check applies nothing: it reports whether the CRDs are
	Established, how many extension types there are, whether the webhook is registered,
	has ready endpoints and answers, and whether the manager's Deployment has available
	replicas and who holds its leader election Lease. It exits 1 when the CRDs are
	missing or, with --with-webhook, when the webhook is missing or does not answer, or,
	with --with-manager, when the manager is missing, unavailable or has no leader.`)

var initExample = templates.Examples(`
	# Install the CRDs and the default catalog, then read the catalog's versions
	kubectl ext init
	kubectl ext type sync --all

	# Also install the admission webhook, with the image from your registry
	kubectl ext init --with-webhook --image registry.example.com/kubeext-webhook:v0.1.0

	# Also run the extension manager in the cluster (two replicas, leader election)
	kubectl ext init --with-webhook --with-manager \
	  --manager-image registry.example.com/kubeext-extension-manager:v0.1.0

	# Let the API server check everything without changing anything
	kubectl ext init --with-webhook --with-manager --dry-run=server

	# Write the manifests for a GitOps repository instead of applying them
	kubectl ext init --with-webhook --print > kubeext.yaml

	# Is everything installed? Exit 1 if the CRDs are missing; with --with-webhook,
	# also if the webhook is missing or does not answer; with --with-manager, also if
	# the manager has no available replica or no leader
	kubectl ext init --check
	kubectl ext init --check --with-webhook --with-manager`)

// InitOptions is `kubectl ext init`: flags only; internal/install checks them and
// does the work.
type InitOptions struct {
	install.Options
	f *factory
	genericiooptions.IOStreams
}

// NewInitCommand returns `kubectl ext init`.
func NewInitCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &InitOptions{f: f, IOStreams: streams}
	image, imageErr := install.DefaultWebhookImage()
	managerImage, managerImageErr := install.DefaultManagerImage()
	cmd := &cobra.Command{
		Use:     "init [--with-webhook [--image REF]] [--with-manager [--manager-image REF]] [--without-catalog] [--print | --dry-run=server | --check]",
		Short:   "Install the CRDs, the default catalog and, optionally, the admission webhook and the extension manager",
		Long:    initLong,
		Example: initExample,
		Args:    initNoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, err := range []error{imageErr, managerImageErr} {
				if err != nil {
					return err // only with a broken build: the kustomizations are embedded
				}
			}
			o.ImageGiven = cmd.Flags().Changed("image")
			o.ManagerImageGiven = cmd.Flags().Changed("manager-image")
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&o.WithWebhook, "with-webhook", false, "Also install the admission webhook (namespace kubeext-system: Deployment, Service, RBAC, policy ConfigMap, ValidatingWebhookConfiguration). With --check: require it.")
	fs.StringVar(&o.Image, "image", image, "Image of the webhook's Deployment (with --with-webhook).")
	fs.BoolVar(&o.WithManager, "with-manager", false, "Also install the extension manager (namespace kubeext-system: Deployment of 2 replicas under leader election, metrics Service, RBAC, the install ServiceAccount kubeext-installer). With --check: require it.")
	fs.StringVar(&o.ManagerImage, "manager-image", managerImage, "Image of the extension manager's Deployment (with --with-manager).")
	fs.BoolVar(&o.WithoutCatalog, "without-catalog", false, "Do not install the default catalog of extension types.")
	fs.BoolVar(&o.Print, "print", false, "Print the objects as a YAML stream (for kubectl apply -f - or a GitOps repository) and apply nothing; contacts no cluster.")
	fs.StringVar(&o.DryRun, "dry-run", "none", `"none", or "server": the API server checks every object and keeps none.`)
	fs.BoolVar(&o.Check, "check", false, "Apply nothing; report what is installed, whether the webhook answers and whether the manager leads. Exit 1 if the CRDs (with --with-webhook: also the webhook; with --with-manager: also the manager) are missing.")
	fs.DurationVar(&o.Timeout, "timeout", time.Minute, "How long to wait for the CRDs to be Established.")
	cmd.ValidArgsFunction = cobra.NoFileCompletions
	_ = cmd.RegisterFlagCompletionFunc("dry-run", fixedCompletions("none", "server"))
	return cmd
}

func initNoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments, got %q; see '%s --help'", cmd.CommandPath(), strings.Join(args, " "), cmd.CommandPath())
	}
	return nil
}

// Run prints, checks or applies.
func (o *InitOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	if o.Check {
		return o.runCheck(ctx)
	}
	m, err := install.Build(o.Selection())
	if err != nil {
		return err
	}
	if o.Print {
		return install.WriteYAML(o.Out, m.All())
	}
	cfg, err := o.f.flags.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("no cluster to talk to (check --kubeconfig and --context): %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	mapper, err := o.f.flags.ToRESTMapper()
	if err != nil {
		return err
	}
	a := install.Applier{Dynamic: dyn, Mapper: mapper, DryRun: o.ServerDryRun(), Out: o.Out, Timeout: o.Timeout}
	if err := a.Apply(ctx, m); err != nil {
		return err
	}
	if !o.ServerDryRun() && !o.WithoutCatalog {
		fmt.Fprintln(o.ErrOut, "Read the catalog's versions from the chart sources with: kubectl ext type sync --all")
	}
	return nil
}

// runCheck prints the report of --check, and fails when it found a problem.
func (o *InitOptions) runCheck(ctx context.Context) error {
	cfg, err := o.f.flags.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("no cluster to talk to (check --kubeconfig and --context): %w", err)
	}
	ck, err := install.NewChecker(cfg, o.WithWebhook, o.WithManager)
	if err != nil {
		return err
	}
	rows, err := ck.Check(ctx)
	if err != nil {
		return err
	}
	return install.WriteReport(o.Out, rows, o.WithWebhook, o.WithManager)
}
