package lifecycle

import (
	"context"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
	"github.com/kubeext/kubectl-ext/internal/install"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/policyinput"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// ConnectOptions say how to reach one cluster: the plugin fills them from the kubectl
// flags (once per cluster of a fleet), the extension manager from a kubeconfig context.
type ConnectOptions struct {
	// Getter gives the REST config; Helm builds its own clients from it too.
	Getter genericclioptions.RESTClientGetter
	// Charts are the chart-source options; their Progress is replaced by Progress.
	Charts chartsource.Options
	// Progress receives one line per long step and every warning; nil discards them.
	Progress io.Writer
	// Live, when set, draws live progress (Config.Live); Progress should write
	// through its Writer.
	Live *LiveProgress
	// Client and Discovery, when set, are used instead of building new ones, so a
	// caller that already holds them (the plugin's factory memoises discovery) does
	// not build them twice.
	Client    client.Client
	Discovery discovery.DiscoveryInterface
	// Holder names the caller in locks and to the policies; "" means user@host/pid.
	Holder string
	// Reporter names the caller in Events; "" means DefaultReporter.
	Reporter string
}

// Scheme knows client-go's kinds and the kubeext.dev kinds: what a lifecycle client
// reads and writes, and what a printer of those objects needs to set their kind.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	// Both only fail on a kind registered twice, which a fresh scheme cannot have.
	_ = clientgoscheme.AddToScheme(s)
	_ = v1alpha1.AddToScheme(s)
	return s
}

// noCluster is the error of a getter that gives no REST config, worded for the
// kubectl flags a user can fix it with.
func noCluster(err error) error {
	return fmt.Errorf("no cluster to talk to (check --kubeconfig and --context): %w", err)
}

// NewClient builds a controller-runtime client for the getter's cluster with opts:
// Scheme when opts names no scheme, and a discovery-backed mapper when it names no
// mapper.
// The API server's warnings (among them the admission webhook's findings of rules set
// to warn) are written to warnings as kubectl writes them ("Warning: ..."), once
// each; with nil warnings they go to controller-runtime's logger.
func NewClient(g genericclioptions.RESTClientGetter, warnings io.Writer, opts client.Options) (client.Client, error) {
	cfg, err := g.ToRESTConfig()
	if err != nil {
		return nil, noCluster(err)
	}
	if warnings != nil {
		cfg = rest.CopyConfig(cfg)
		cfg.WarningHandler = rest.NewWarningWriter(warnings, rest.WarningWriterOptions{Deduplicate: true})
	}
	if opts.Scheme == nil {
		opts.Scheme = Scheme()
	}
	return client.New(cfg, opts)
}

// NewDiscovery builds a discovery client for the getter's cluster.
func NewDiscovery(g genericclioptions.RESTClientGetter) (discovery.DiscoveryInterface, error) {
	cfg, err := g.ToRESTConfig()
	if err != nil {
		return nil, noCluster(err)
	}
	return discovery.NewDiscoveryClientForConfig(cfg)
}

// ChartSources opens chart sources with opts.
func ChartSources(opts chartsource.Options) func(v1alpha1.ChartSource) (chartsource.Source, error) {
	return func(spec v1alpha1.ChartSource) (chartsource.Source, error) { return chartsource.New(spec, opts) }
}

// PolicyEngine returns the embedded policies with the webhook's configuration
// (install.PolicyConfigMap) when the cluster has it, so the verdicts given before a
// write match the webhook's. A configuration that cannot be read is not used, and one
// that does not parse is ignored with a warning on progress, rather than failing: the
// webhook still judges every write.
func PolicyEngine(ctx context.Context, c client.Reader, progress io.Writer) (*policy.Engine, error) {
	engine, err := policy.New(ctx, policy.Options{})
	if err != nil {
		return nil, err
	}
	if progress == nil {
		progress = io.Discard
	}
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, install.PolicyConfigMap, cm); err != nil {
		// No webhook installed (NotFound) is the common case; a user who may not read
		// the ConfigMap gets the embedded defaults too, and the webhook still judges.
		return engine, nil
	}
	data, ok := cm.Data["policy.yaml"]
	if !ok {
		return engine, nil
	}
	pc, err := policy.ParseConfig([]byte(data))
	if err == nil {
		err = engine.SetConfig(pc)
	}
	if err != nil {
		fmt.Fprintf(progress, "Warning: ignoring the policy configuration in ConfigMap %s: %v\n", install.PolicyConfigMap, err)
	}
	return engine, nil
}

// Connect builds a Manager for one cluster the way the plugin and the extension
// manager both do: a client with Scheme, discovery for the cluster's version, Helm
// over the same getter, and chart sources with opts.Charts. The policy engine, with
// the webhook's configuration, is made when the Manager first judges a write.
func Connect(ctx context.Context, opts ConnectOptions) (*Manager, error) {
	c := opts.Client
	if c == nil {
		var err error
		if c, err = NewClient(opts.Getter, opts.Progress, client.Options{}); err != nil {
			return nil, err
		}
	}
	dc := opts.Discovery
	if dc == nil {
		var err error
		if dc, err = NewDiscovery(opts.Getter); err != nil {
			return nil, err
		}
	}
	charts := opts.Charts
	charts.Progress = opts.Progress
	return New(Config{
		Client:   c,
		Helm:     HelmClient{Client: &release.Client{Getter: opts.Getter}},
		Cluster:  policyinput.Discovery{Client: dc},
		Charts:   ChartSources(charts),
		Progress: opts.Progress,
		Live:     opts.Live,
		Holder:   opts.Holder,
		Reporter: opts.Reporter,
	}), nil
}
