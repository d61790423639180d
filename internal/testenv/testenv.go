// Package testenv runs a real control plane for tests and the demo: kube-apiserver and
// etcd built from source by hack/envtest-assets.sh, started with controller-runtime's
// envtest, with the kubeext.dev CRDs installed. One control plane serves a whole test
// package, started by the first test that needs it (see Shared); tests get a
// rest.Config, a client and a kubeconfig file for the real kubectl.
//
// That bare API server stores objects and runs admission, but nothing acts on them: no
// Deployment ever rolls out. Options.Ready adds kube-controller-manager,
// kube-scheduler and kwok's simulated nodes (see ready.go), so pods are scheduled and
// become Ready and Jobs complete, for the tests and the demo that need it.
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/manifests"
)

// AssetsEnv is the variable that names the directory holding kube-apiserver and etcd.
// It is envtest's own variable, so setup-envtest users can point it at their assets.
const AssetsEnv = "KUBEBUILDER_ASSETS"

// CacheDirEnv names the cache root that hack/envtest-assets.sh builds the assets into;
// unset, it is kubectl-ext under the user's cache directory.
const CacheDirEnv = "KUBEEXT_CACHE_DIR"

// Options shape the control plane.
type Options struct {
	// EmulatedVersion, e.g. "1.36", starts kube-apiserver with --emulated-version=kube=1.36.
	EmulatedVersion string
	// APIServerArgs are extra kube-apiserver flags, name (without dashes) to value.
	APIServerArgs map[string]string
	// Output receives the control plane's logs; nil discards them.
	Output io.Writer
	// ValidatingWebhooks are registered with the API server, their clientConfig pointed
	// at a local server (see Env.WebhookServing) with a generated serving certificate.
	ValidatingWebhooks []*admissionregistrationv1.ValidatingWebhookConfiguration
	// WithoutCRDs starts a cluster on which `kubectl ext init` never ran.
	WithoutCRDs bool
	// Ready also starts kube-controller-manager, kube-scheduler and kwok with Nodes
	// simulated nodes, and returns once they are Ready: Deployments then roll out,
	// pods become Running and Ready, and Jobs complete. Its binaries are built by
	// `make cluster-assets` (hack/envtest-assets.sh --ready). The ServiceAccount
	// admission plugin, off on the bare API server, is on.
	Ready bool
	// Nodes is how many kwok nodes a Ready cluster starts with; 0 means one.
	Nodes int
}

// Env is a running control plane.
type Env struct {
	// Config talks to the API server as a member of system:masters.
	Config *rest.Config
	// Client is a controller-runtime client with the kubeext.dev types registered.
	Client client.Client
	// Kubeconfig is the path of a kubeconfig file for the same user (context "envtest").
	Kubeconfig string
	// Scheme knows the built-in kinds and the kubeext.dev kinds.
	Scheme *runtime.Scheme

	env *envtest.Environment
	dir string
	// components are the processes of a Ready cluster, in start order.
	components []*component
	// nodes are the names of the kwok nodes.
	nodes []string
}

// Scheme returns a scheme with client-go's kinds, the CRD kinds and the kubeext.dev kinds.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, v1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err) // only on a programming error in a scheme registration
		}
	}
	return s
}

// AssetsDir returns the directory of kube-apiserver and etcd: $KUBEBUILDER_ASSETS, or the
// newest build in the cache that hack/envtest-assets.sh fills.
func AssetsDir() (string, error) {
	return assetsDir(false)
}

func assetsDir(ready bool) (string, error) {
	if d := os.Getenv(AssetsEnv); d != "" {
		if err := hasBinaries(d, ready); err != nil {
			return "", fmt.Errorf("%s=%s: %w", AssetsEnv, d, err)
		}
		return d, nil
	}
	root, err := CacheRoot()
	if err != nil {
		return "", err
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "envtest", "kube-*"))
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if hasBinaries(d, ready) == nil {
			return d, nil
		}
	}
	if ready {
		return "", fmt.Errorf("no kube-apiserver, etcd, %s found (looked at $%s and %s); build them with `make cluster-assets`",
			strings.Join(readyAssets, ", "), AssetsEnv, filepath.Join(root, "envtest"))
	}
	return "", fmt.Errorf("no kube-apiserver and etcd found (looked at $%s and %s); build them with `make envtest-assets`",
		AssetsEnv, filepath.Join(root, "envtest"))
}

// CacheRoot is $KUBEEXT_CACHE_DIR, or kubectl-ext under the user's cache directory
// ($XDG_CACHE_HOME or ~/.cache): where hack/envtest-assets.sh builds the assets.
func CacheRoot() (string, error) {
	if root := os.Getenv(CacheDirEnv); root != "" {
		return root, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "kubectl-ext"), nil
}

func hasBinaries(dir string, ready bool) error {
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
			return fmt.Errorf("%s is missing; build it with `make envtest-assets`", b)
		}
	}
	if !ready {
		return nil
	}
	for _, b := range readyAssets {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
			return fmt.Errorf("%s is missing; build it with `make cluster-assets`", b)
		}
	}
	return nil
}

// CRDs returns the kubeext.dev CRDs embedded in the manifests package.
func CRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	var out []*apiextensionsv1.CustomResourceDefinition
	err := fs.WalkDir(manifests.CRDs, manifests.CRDDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		b, err := manifests.CRDs.ReadFile(path)
		if err != nil {
			return err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096).Decode(crd); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, crd)
		return nil
	})
	return out, err
}

// Start starts etcd and kube-apiserver, installs the CRDs and writes a kubeconfig; with
// opts.Ready, also the controllers, the scheduler and kwok's nodes (see Options.Ready).
func Start(opts Options) (*Env, error) {
	assets, err := assetsDir(opts.Ready)
	if err != nil {
		return nil, err
	}
	var crds []*apiextensionsv1.CustomResourceDefinition
	if !opts.WithoutCRDs {
		if crds, err = CRDs(); err != nil {
			return nil, fmt.Errorf("reading the embedded CRDs: %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "kubeext-envtest-")
	if err != nil {
		return nil, err
	}
	e := &Env{dir: dir, Scheme: Scheme()}

	// Own directories for certificates and data keep them across an API server restart,
	// so a restart with another emulated version reuses the port, the CA and etcd.
	te := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		Scheme:                   e.Scheme,
		CRDInstallOptions:        envtest.CRDInstallOptions{CRDs: crds},
		WebhookInstallOptions:    envtest.WebhookInstallOptions{ValidatingWebhooks: opts.ValidatingWebhooks},
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	te.ControlPlane.Etcd = &envtest.Etcd{DataDir: filepath.Join(dir, "etcd")}
	api := te.ControlPlane.GetAPIServer()
	api.CertDir = filepath.Join(dir, "apiserver")
	for _, d := range []string{te.ControlPlane.Etcd.DataDir, api.CertDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if opts.Output != nil {
		api.Out, api.Err = opts.Output, opts.Output
		te.ControlPlane.Etcd.Out, te.ControlPlane.Etcd.Err = opts.Output, opts.Output
	}
	// Open watches (a webhook's informers, kubectl -w) would otherwise hold a restart or
	// a stop for the API server's 60s shutdown timeout.
	api.Configure().Set("shutdown-watch-termination-grace-period", "1s")
	if opts.EmulatedVersion != "" {
		api.Configure().Set("emulated-version", "kube="+opts.EmulatedVersion)
	}
	if opts.Ready {
		// envtest disables the ServiceAccount admission plugin because it runs no
		// serviceaccount controller; a Ready cluster runs one, so pods get their
		// ServiceAccount and token volume as in any cluster. envtest's 10.0.0.0/24
		// would run out of ClusterIPs with a few hundred charts' Services.
		api.Configure().Disable("disable-admission-plugins")
		api.Configure().Set("service-cluster-ip-range", serviceCIDR)
	}
	for k, v := range opts.APIServerArgs {
		api.Configure().Set(k, v)
	}
	e.env = te

	if _, err := te.Start(); err != nil {
		_ = te.Stop()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the control plane from %s: %w", assets, err)
	}
	if err := e.connect(); err != nil {
		_ = e.Stop()
		return nil, err
	}
	if opts.Ready {
		if err := e.startReady(assets, opts); err != nil {
			_ = e.Stop()
			return nil, fmt.Errorf("starting the Ready cluster from %s: %w", assets, err)
		}
	}
	return e, nil
}

func (e *Env) connect() error {
	user, err := e.env.AddUser(envtest.User{Name: "kubeext-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("provisioning the admin user: %w", err)
	}
	e.Config = user.Config()
	e.Config.QPS, e.Config.Burst = 200, 400
	kc, err := user.KubeConfig()
	if err != nil {
		return err
	}
	e.Kubeconfig = filepath.Join(e.dir, "kubeconfig")
	if err := os.WriteFile(e.Kubeconfig, kc, 0o600); err != nil {
		return err
	}
	e.Client, err = client.New(e.Config, client.Options{Scheme: e.Scheme})
	return err
}

// KubeconfigFor provisions a client certificate for user in groups and writes a
// kubeconfig that authenticates as them, e.g. as a ServiceAccount
// ("system:serviceaccount:<namespace>:<name>") to test its RBAC.
func (e *Env) KubeconfigFor(user string, groups ...string) (string, error) {
	u, err := e.env.AddUser(envtest.User{Name: user, Groups: groups}, nil)
	if err != nil {
		return "", fmt.Errorf("provisioning user %s: %w", user, err)
	}
	kc, err := u.KubeConfig()
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(e.dir, "kubeconfig-*")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Write(kc); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// WebhookCABundle is the CA that signed the certificate in WebhookServing's directory,
// for tests that register a webhook of their own.
func (e *Env) WebhookCABundle() []byte { return e.env.WebhookInstallOptions.LocalServingCAData }

// RestartAPIServer stops kube-apiserver and starts it again on the same etcd, port and
// certificates, with a new emulated version ("" for none): a cluster minor upgrade.
func (e *Env) RestartAPIServer(emulatedVersion string) error {
	api := e.env.ControlPlane.GetAPIServer()
	if err := api.Stop(); err != nil {
		return fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	if emulatedVersion == "" {
		api.Configure().Disable("emulated-version")
	} else {
		api.Configure().Set("emulated-version", "kube="+emulatedVersion)
	}
	if err := api.Start(); err != nil {
		return fmt.Errorf("restarting kube-apiserver: %w", err)
	}
	return nil
}

// WebhookServing tells where the API server expects the webhooks of
// Options.ValidatingWebhooks to serve, and the directory of their tls.crt and tls.key.
func (e *Env) WebhookServing() (host string, port int, certDir string) {
	w := e.env.WebhookInstallOptions
	return w.LocalServingHost, w.LocalServingPort, w.LocalServingCertDir
}

// Dir is a scratch directory that lives as long as the control plane.
func (e *Env) Dir() string { return e.dir }

// Stop stops the control plane (a Ready cluster's kwok, scheduler and controllers
// first) and removes its files.
func (e *Env) Stop() error {
	errs := []error{e.stopComponents()}
	if e.env != nil {
		errs = append(errs, e.env.Stop())
	}
	errs = append(errs, os.RemoveAll(e.dir))
	return errors.Join(errs...)
}

// ShippedWebhookConfiguration reads the ValidatingWebhookConfiguration of manifests/,
// so tests and the demo register the rules that ship.
func ShippedWebhookConfiguration() (*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	b, err := manifests.Webhook.ReadFile(manifests.ValidatingWebhookFile)
	if err != nil {
		return nil, err
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096).Decode(vwc); err != nil {
		return nil, fmt.Errorf("%s: %w", manifests.ValidatingWebhookFile, err)
	}
	return vwc, nil
}
