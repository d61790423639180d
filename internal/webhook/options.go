// Package webhook wires the admission webhook server: flags, TLS (a cert dir or
// self-managed certificates), health endpoints, metrics, and graceful shutdown.
// The admission decision itself lives in internal/admission.
package webhook

import (
	goflag "flag"
	"fmt"
	"net"
	"time"

	"github.com/spf13/pflag"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/kubeext/kubectl-ext/internal/admission"
)

// Options are the webhook's flags.
type Options struct {
	Kubeconfig          string
	Host                string
	Port                int
	CertDir             string
	PolicyDir           string
	ConfigFile          string
	MetricsAddr         string
	MetricsSecure       bool
	HealthAddr          string
	SelfManagedCerts    bool
	ServiceName         string
	ServiceNamespace    string
	WebhookConfigName   string
	SecretName          string
	ConfigReload        time.Duration
	VersionRefresh      time.Duration
	MaxConcurrent       int
	DenialEvents        bool
	ShutdownGracePeriod time.Duration
	Zap                 zap.Options
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		Port:              9443,
		CertDir:           "/tmp/k8s-webhook-server/serving-certs",
		MetricsAddr:       ":8443",
		MetricsSecure:     true,
		HealthAddr:        ":8081",
		ServiceName:       "kubeext-webhook",
		ServiceNamespace:  "kubeext-system",
		WebhookConfigName: "kubeext-webhook",
		SecretName:        "kubeext-webhook-cert",
		ConfigReload:      10 * time.Second,
		VersionRefresh:    time.Minute,
		// A review of the largest Extension etcd stores holds about 25 MiB of heap
		// for a quarter of a second (docs/operations.md, Limits): 8 at once stay
		// inside the Deployment's 256Mi, and 8 slots still evaluate hundreds of
		// typical reviews a second.
		MaxConcurrent:       8,
		DenialEvents:        true,
		ShutdownGracePeriod: 15 * time.Second,
	}
}

// AddFlags registers the options on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig to use outside a cluster; in a pod the service account is used.")
	fs.StringVar(&o.Host, "host", o.Host, "Address the webhook serves on; empty means all.")
	fs.IntVar(&o.Port, "port", o.Port, "Port the webhook serves HTTPS on.")
	fs.StringVar(&o.CertDir, "cert-dir", o.CertDir, "Directory holding tls.crt and tls.key (for example a cert-manager Secret mount). With --self-managed-certs, where the generated ones are written.")
	fs.StringVar(&o.PolicyDir, "policy-dir", o.PolicyDir, "Optional directory of extra .rego modules loaded beside the embedded policies.")
	fs.StringVar(&o.ConfigFile, "config", o.ConfigFile, "Policy configuration YAML (enforcement per rule, protected namespaces, version constraints); reloaded when it changes.")
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", o.MetricsAddr, "Address of the Prometheus metrics endpoint; \"0\" disables it.")
	fs.BoolVar(&o.MetricsSecure, "metrics-secure", o.MetricsSecure, "Serve metrics over HTTPS to callers the API server authenticates (TokenReview) and authorizes (SubjectAccessReview: get on /metrics). Off, metrics are plain HTTP and --metrics-bind-address must be a loopback address.")
	fs.StringVar(&o.HealthAddr, "health-probe-bind-address", o.HealthAddr, "Address of /healthz and /readyz.")
	fs.BoolVar(&o.SelfManagedCerts, "self-managed-certs", o.SelfManagedCerts, "Generate and rotate a CA and serving certificate, and keep the ValidatingWebhookConfiguration's caBundle current.")
	fs.StringVar(&o.ServiceName, "service-name", o.ServiceName, "Service in front of the webhook (with --self-managed-certs: the certificate's DNS name).")
	fs.StringVar(&o.ServiceNamespace, "service-namespace", o.ServiceNamespace, "Namespace of that Service and of the certificate Secret.")
	fs.StringVar(&o.WebhookConfigName, "webhook-config-name", o.WebhookConfigName, "ValidatingWebhookConfiguration whose caBundle is kept current.")
	fs.StringVar(&o.SecretName, "cert-secret-name", o.SecretName, "Secret that stores the self-managed certificates.")
	fs.DurationVar(&o.ConfigReload, "config-reload-interval", o.ConfigReload, "How often the policy configuration file is checked for changes.")
	fs.DurationVar(&o.VersionRefresh, "version-refresh-interval", o.VersionRefresh, "How often the cluster's Kubernetes version is read from discovery.")
	fs.IntVar(&o.MaxConcurrent, "max-concurrent-reviews", o.MaxConcurrent, "Reviews evaluated at once; more wait for a slot until the API server's timeout, then get 503. Each slot may hold about 25 MiB for the largest Extension: keep it under the memory limit.")
	fs.BoolVar(&o.DenialEvents, "denial-events", o.DenialEvents, "Record every denied write as a Warning Event (reason "+admission.DenialReason+") about the refused object, where `kubectl ext troubleshoot` and `kubectl describe` find it. Dry runs are never recorded.")
	logFlags := goflag.NewFlagSet("log", goflag.ContinueOnError)
	o.Zap.BindFlags(logFlags)
	fs.AddGoFlagSet(logFlags)
	fs.DurationVar(&o.ShutdownGracePeriod, "shutdown-grace-period", o.ShutdownGracePeriod, "How long in-flight reviews may take to finish on shutdown.")
}

// Validate checks the options.
func (o *Options) Validate() error {
	if o.Port <= 0 || o.Port > 65535 {
		return fmt.Errorf("--port must be between 1 and 65535, not %d", o.Port)
	}
	if o.CertDir == "" {
		return fmt.Errorf("--cert-dir is required")
	}
	if !o.MetricsSecure && o.MetricsAddr != "0" && !loopback(o.MetricsAddr) {
		return fmt.Errorf("--metrics-secure=false serves metrics without authentication: bind them to a loopback address (--metrics-bind-address=127.0.0.1:8080), not %q", o.MetricsAddr)
	}
	if o.MaxConcurrent < 1 {
		return fmt.Errorf("--max-concurrent-reviews must be at least 1")
	}
	if o.SelfManagedCerts && (o.ServiceName == "" || o.ServiceNamespace == "" || o.WebhookConfigName == "" || o.SecretName == "") {
		return fmt.Errorf("--self-managed-certs needs --service-name, --service-namespace, --webhook-config-name and --cert-secret-name")
	}
	return nil
}

// loopback reports whether addr (host:port) names a loopback host; an empty host means
// every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
