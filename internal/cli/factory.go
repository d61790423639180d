package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
	"github.com/kubeext/kubectl-ext/internal/install"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/policyinput"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// PolicyConfigMap is where `kubectl ext init --with-webhook` keeps the policy
// configuration; the plugin reads it so its verdicts match the webhook's.
var PolicyConfigMap = install.PolicyConfigMap

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

// scheme knows the built-in kinds and the kubeext.dev kinds.
func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = v1alpha1.AddToScheme(s)
	return s
}

// factory builds clients and the lifecycle manager from the kubectl global flags. Flags
// are parsed after the factory is made, so everything is built lazily, on first use,
// and then kept: one discovery client and one set of chart-source options per factory
// (fleet mode makes one factory per context, see forContext).
type factory struct {
	flags  *genericclioptions.ConfigFlags
	charts chartFlags

	discoveryOnce sync.Once
	dc            discovery.DiscoveryInterface
	dcErr         error

	chartOnce sync.Once
	chartOpts chartsource.Options
}

func (f *factory) client() (client.Client, error) {
	cfg, err := f.flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("no cluster to talk to (check --kubeconfig and --context): %w", err)
	}
	return client.New(cfg, client.Options{Scheme: scheme()})
}

// discovery returns the factory's discovery client, built once.
func (f *factory) discovery() (discovery.DiscoveryInterface, error) {
	f.discoveryOnce.Do(func() {
		cfg, err := f.flags.ToRESTConfig()
		if err != nil {
			f.dcErr = fmt.Errorf("no cluster to talk to (check --kubeconfig and --context): %w", err)
			return
		}
		f.dc, f.dcErr = discovery.NewDiscoveryClientForConfig(cfg)
	})
	return f.dc, f.dcErr
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

// chartSources opens chart sources with the factory's options.
func (f *factory) chartSources(progress io.Writer) func(v1alpha1.ChartSource) (chartsource.Source, error) {
	opts := f.chartOptions(progress)
	return func(spec v1alpha1.ChartSource) (chartsource.Source, error) { return chartsource.New(spec, opts) }
}

// catalog returns the catalog of the cluster, with progress lines going to progress.
func (f *factory) catalog(progress io.Writer) (*catalog.Catalog, error) {
	c, err := f.client()
	if err != nil {
		return nil, err
	}
	return &catalog.Catalog{Client: c, Charts: f.chartSources(progress), Progress: progress, Explain: lifecycle.Explain}, nil
}

// manager returns a lifecycle manager whose progress lines go to progress.
func (f *factory) manager(ctx context.Context, progress io.Writer) (*lifecycle.Manager, error) {
	c, err := f.client()
	if err != nil {
		return nil, err
	}
	dc, err := f.discovery()
	if err != nil {
		return nil, err
	}
	engine, err := policy.New(ctx, policy.Options{})
	if err != nil {
		return nil, err
	}
	// The webhook's configuration, when installed, so the local verdicts match.
	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, PolicyConfigMap, cm); err == nil {
		if data, ok := cm.Data["policy.yaml"]; ok {
			pc, perr := policy.ParseConfig([]byte(data))
			if perr == nil {
				perr = engine.SetConfig(pc)
			}
			if perr != nil {
				fmt.Fprintf(progress, "Warning: ignoring the policy configuration in ConfigMap %s: %v\n", PolicyConfigMap, perr)
			}
		}
	}
	return lifecycle.New(lifecycle.Config{
		Client:   c,
		Helm:     lifecycle.HelmClient{Client: &release.Client{Getter: f.flags}},
		Policy:   engine,
		Cluster:  policyinput.Discovery{Client: dc},
		Charts:   f.chartSources(progress),
		Progress: progress,
	}), nil
}
