package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/azflags"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/policyinput"
)

// chartFlags reach chart repositories, like Helm's flags of the same names.
type chartFlags struct {
	RegistryConfig        string
	PlainHTTP             bool
	CAFile                string
	InsecureSkipTLSVerify bool
	CacheDir              string
}

func (c *chartFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.RegistryConfig, "registry-config", os.Getenv("HELM_REGISTRY_CONFIG"), "Path to the OCI registry credentials file (Helm's registry config); defaults to $HELM_REGISTRY_CONFIG or Helm's own.")
	fs.BoolVar(&c.PlainHTTP, "plain-http", false, "Use plain HTTP for oci:// chart registries (a registry on loopback).")
	fs.StringVar(&c.CAFile, "chart-ca-file", "", "PEM bundle of certificate authorities to trust for chart repositories.")
	fs.BoolVar(&c.InsecureSkipTLSVerify, "chart-insecure-skip-tls-verify", false, "Skip verifying chart repositories' TLS certificates.")
	fs.StringVar(&c.CacheDir, "chart-cache-dir", defaultChartCache(), "Where downloaded charts are cached.")
}

func defaultChartCache() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "kubectl-ext", "charts")
}

// scheme knows the built-in kinds and the kubeext.dev kinds. It is built on first use
// and then shared: registering every built-in kind takes about 1.5 ms, and the command
// tree, built at every start of the plugin, used to build one per printing command.
var scheme = sync.OnceValue(lifecycle.Scheme)

// lazyTyper is the scheme as the -o printers' runtime.ObjectTyper, built only when a
// command prints an object.
type lazyTyper struct{}

func (lazyTyper) ObjectKinds(obj runtime.Object) ([]schema.GroupVersionKind, bool, error) {
	return scheme().ObjectKinds(obj)
}

func (lazyTyper) Recognizes(gvk schema.GroupVersionKind) bool { return scheme().Recognizes(gvk) }

// newPrintFlags returns kubectl's -o flags for a command whose objects are printed
// with their kind set; operation is the verb of the name printer ("created"), or "".
func newPrintFlags(operation string) *genericclioptions.PrintFlags {
	pf := genericclioptions.NewPrintFlags(operation)
	pf.TypeSetterPrinter = printers.NewTypeSetter(lazyTyper{})
	return pf
}

// factory builds clients and the lifecycle manager from the kubectl global flags. Flags
// are parsed after the factory is made, so everything is built lazily, on first use,
// and then kept: one discovery client and one set of chart-source options per factory
// (fleet mode makes one factory per context, see forContext).
type factory struct {
	flags  *genericclioptions.ConfigFlags
	charts chartFlags
	// cluster is az's flags that name the cluster; --cluster-name becomes the context.
	cluster azflags.Cluster

	mapperOnce sync.Once
	mapper     meta.RESTMapper

	discoveryOnce sync.Once
	dc            discovery.DiscoveryInterface
	dcErr         error

	chartOnce sync.Once
	chartOpts chartsource.Options
}

// The client-side rate limit of every client the plugin makes: kubectl's for
// discovery (ConfigFlags' WithDiscoveryQPS and WithDiscoveryBurst in kubectl's
// defaultConfigFlags). client-go's default, 5 requests a second after a burst of 10,
// would make a command that reads an object per extension wait on itself; the API
// server's priority and fairness still protects it.
const (
	clientQPS   = 50
	clientBurst = 300
)

// newConfigFlags returns kubectl's global flags, whose REST configs carry the plugin's
// rate limit: Helm, discovery and the clients all build theirs from these flags.
func newConfigFlags() *genericclioptions.ConfigFlags {
	flags := genericclioptions.NewConfigFlags(true).WithDiscoveryQPS(clientQPS).WithDiscoveryBurst(clientBurst)
	flags.WrapConfigFn = func(c *rest.Config) *rest.Config {
		c.QPS, c.Burst = clientQPS, clientBurst
		return c
	}
	return flags
}

// client returns a client for the flags' cluster whose API warnings are logged.
func (f *factory) client() (client.Client, error) { return f.newClient(nil) }

// newClient returns lifecycle's client for the flags' cluster, with the scheme made
// once per process and the factory's mapper, which maps the kinds every command uses
// without discovery. The API server's warnings go to warnings as kubectl prints them,
// once each; with nil warnings, to controller-runtime's logger.
func (f *factory) newClient(warnings io.Writer) (client.Client, error) {
	f.mapperOnce.Do(func() { f.mapper = newRESTMapper(f.flags.ToRESTMapper) })
	return lifecycle.NewClient(f.flags, warnings, client.Options{Scheme: scheme(), Mapper: f.mapper})
}

// discovery returns the factory's discovery client, built once, which reads the
// cluster's version once.
func (f *factory) discovery() (discovery.DiscoveryInterface, error) {
	f.discoveryOnce.Do(func() {
		dc, err := lifecycle.NewDiscovery(f.flags)
		if err != nil {
			f.dcErr = err
			return
		}
		f.dc = &versionOnce{DiscoveryInterface: dc}
	})
	return f.dc, f.dcErr
}

// versionOnce is a discovery client that asks the API server for its version once.
// Several steps of a command ask for it (resolving the version to install, judging the
// write), and it only changes with an upgrade of the cluster, which no command of a
// few seconds waits for.
type versionOnce struct {
	discovery.DiscoveryInterface
	once sync.Once
	info *version.Info
	err  error
}

func (d *versionOnce) ServerVersion() (*version.Info, error) {
	d.once.Do(func() { d.info, d.err = d.DiscoveryInterface.ServerVersion() })
	return d.info, d.err
}

// clusterInfo reads the cluster's effective Kubernetes version from /version.
func (f *factory) clusterInfo(ctx context.Context) (policy.ClusterInfo, error) {
	dc, err := f.discovery()
	if err != nil {
		return policy.ClusterInfo{}, err
	}
	info, err := policyinput.Discovery{Client: dc}.ClusterInfo(ctx)
	return info, lifecycle.Explain(err, "read", "the cluster's version")
}

// chartOptions returns the chart-source options of the chart flags, built once, with
// progress lines going to progress (each command, and each cluster of a fleet, has
// its own stream).
func (f *factory) chartOptions(progress io.Writer) chartsource.Options {
	f.chartOnce.Do(func() {
		f.chartOpts = chartsource.Options{
			CacheDir:              f.charts.CacheDir,
			PlainHTTP:             f.charts.PlainHTTP,
			InsecureSkipTLSVerify: f.charts.InsecureSkipTLSVerify,
			CAFile:                f.charts.CAFile,
			RegistryConfig:        f.charts.RegistryConfig,
		}
	})
	opts := f.chartOpts
	opts.Progress = progress
	return opts
}

// catalog returns the catalog of the cluster, with progress lines going to progress.
func (f *factory) catalog(progress io.Writer) (*catalog.Catalog, error) {
	c, err := f.newClient(progress)
	if err != nil {
		return nil, err
	}
	return &catalog.Catalog{Client: c, Charts: lifecycle.ChartSources(f.chartOptions(progress)), Progress: progress, Explain: lifecycle.Explain}, nil
}

// manager returns a lifecycle manager whose progress lines go to progress, built
// with the factory's client, discovery client and chart options.
func (f *factory) manager(ctx context.Context, progress io.Writer) (*lifecycle.Manager, error) {
	progress, live := liveProgress(ctx, progress) // on a terminal only (progress.go)
	c, err := f.newClient(progress)
	if err != nil {
		return nil, err
	}
	dc, err := f.discovery()
	if err != nil {
		return nil, err
	}
	return lifecycle.Connect(ctx, lifecycle.ConnectOptions{
		Getter: f.flags, Charts: f.chartOptions(progress), Progress: progress, Live: live, Client: c, Discovery: dc,
	})
}

// takesNamespace is the annotation of the one command where kubectl's -n has a
// meaning (list: the extensions whose release is in that namespace).
const takesNamespace = "kubeext.dev/takes-namespace"

// refuseNamespace refuses kubectl's -n/--namespace where it has no meaning: extensions
// are cluster-scoped, and an az user's -n is the extension's name. kubectl would
// otherwise take it silently.
func refuseNamespace(cmd *cobra.Command) error {
	if !cmd.Flags().Changed("namespace") || cmd.Annotations[takesNamespace] != "" {
		return nil
	}
	ns, _ := cmd.Flags().GetString("namespace")
	return azflags.NamespaceError(cmd.CommandPath(), ns, cmd.Flags().Lookup("name") != nil)
}

// addAzFlags registers az's cluster flags on fs, kubectl's global flags, and says
// there what kubectl's -n means here.
func (f *factory) addAzFlags(fs *pflag.FlagSet) {
	f.cluster.AddFlags(fs)
	if ns := fs.Lookup("namespace"); ns != nil {
		ns.Usage = "Only for kubectl ext list: the extensions whose release is in this namespace. Extensions are cluster-scoped, so the other commands refuse it (az's -n is --name: give NAME or --name)."
	}
}

// applyAzFlags runs before every command: it refuses -n where it has no meaning,
// notes az's cluster flags that have none, and makes --cluster-name the context.
func (f *factory) applyAzFlags(cmd *cobra.Command) error {
	if err := refuseNamespace(cmd); err != nil {
		return err
	}
	if note := f.cluster.Note(cmd.Flags().Changed); note != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), note)
	}
	if !cmd.Flags().Changed("cluster-name") {
		return nil
	}
	for _, fleet := range []string{"contexts", "all-contexts"} {
		if cmd.Flags().Changed(fleet) {
			return fmt.Errorf("--cluster-name names one cluster; with --%s leave it out", fleet)
		}
	}
	// The kubeconfig is read with its own loading rules: the flags' loader keeps the
	// context it was first built with, and the context is what this sets.
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = ptr.Deref(f.flags.KubeConfig, "")
	raw, err := rules.Load()
	if err != nil {
		return fmt.Errorf("reading the kubeconfig for --cluster-name: %w", err)
	}
	contexts := make(map[string]string, len(raw.Contexts))
	for name, c := range raw.Contexts {
		contexts[name] = c.Cluster
	}
	name, err := azflags.ResolveContext(f.cluster.Name, ptr.Deref(f.flags.Context, ""), contexts)
	if err != nil {
		return err
	}
	f.flags.Context = &name
	return nil
}
