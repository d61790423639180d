package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/policyinput"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// PolicyConfigMap is where `kubectl ext init --with-webhook` keeps the policy
// configuration; the plugin reads it so its verdicts match the webhook's.
var PolicyConfigMap = types.NamespacedName{Namespace: "kubeext-system", Name: "kubeext-policy"}

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

// factory builds clients and the lifecycle manager from the kubectl global flags.
type factory struct {
	flags  *genericclioptions.ConfigFlags
	charts chartFlags
}

func (f *factory) client() (client.Client, error) {
	cfg, err := f.flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("no cluster to talk to (check --kubeconfig and --context): %w", err)
	}
	return client.New(cfg, client.Options{Scheme: scheme()})
}

// manager returns a lifecycle manager whose progress lines go to progress.
func (f *factory) manager(ctx context.Context, progress interface{ Write([]byte) (int, error) }) (*lifecycle.Manager, error) {
	c, err := f.client()
	if err != nil {
		return nil, err
	}
	cfg, err := f.flags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
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
	opts := chartsource.Options{
		Progress:              progress,
		CacheDir:              f.charts.CacheDir,
		PlainHTTP:             f.charts.PlainHTTP,
		InsecureSkipTLSVerify: f.charts.InsecureSkipTLSVerify,
		CAFile:                f.charts.CAFile,
		RegistryConfig:        f.charts.RegistryConfig,
	}
	return &lifecycle.Manager{
		Client:   c,
		Helm:     lifecycle.HelmClient{Client: &release.Client{Getter: f.flags}},
		Policy:   engine,
		Cluster:  policyinput.Discovery{Client: dc},
		Charts:   func(spec v1alpha1.ChartSource) (chartsource.Source, error) { return chartsource.New(spec, opts) },
		Progress: progress,
	}, nil
}
