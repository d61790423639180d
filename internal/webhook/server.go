package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/go-logr/logr"
	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/kubeext/kubectl-ext/internal/admission"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/policyinput"
)

// ValidatePath is where the webhook serves reviews of Extensions.
const ValidatePath = "/validate-kubeext-dev-v1alpha1-extension"

// Run loads the client configuration (--kubeconfig, then in-cluster, then the usual
// kubeconfig rules) and serves until ctx is cancelled.
func Run(ctx context.Context, o *Options) error {
	cfg, err := restConfig(o.Kubeconfig)
	if err != nil {
		return err
	}
	log := zap.New(zap.UseFlagOptions(&o.Zap))
	return Serve(ctx, o, cfg, log)
}

func restConfig(path string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	if path == "" {
		if cfg, err := rest.InClusterConfig(); err == nil {
			return cfg, nil
		}
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no Kubernetes client configuration (in-cluster, --kubeconfig or $KUBECONFIG): %w", err)
	}
	return cfg, nil
}

// Serve runs the webhook against the cluster of cfg until ctx is cancelled, then drains
// in-flight reviews for up to the shutdown grace period.
func Serve(ctx context.Context, o *Options, cfg *rest.Config, log logr.Logger) error {
	ctrl.SetLogger(log)
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}

	engine, err := policy.New(ctx, policy.Options{ExtraDir: o.PolicyDir})
	if err != nil {
		return err
	}
	if o.ConfigFile != "" {
		if err := engine.ReloadConfig(o.ConfigFile); err != nil {
			return err
		}
	}

	grace := o.ShutdownGracePeriod
	mgr, err := ctrl.NewManager(cfg, manager.Options{
		Scheme:                  scheme,
		Logger:                  log,
		Metrics:                 metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress:  o.HealthAddr,
		GracefulShutdownTimeout: &grace,
		WebhookServer: crwebhook.NewServer(crwebhook.Options{
			Host:    o.Host,
			Port:    o.Port,
			CertDir: o.CertDir,
		}),
		Cache: cache.Options{
			// Only the certificate Secret is read from a namespace; the kubeext.dev
			// kinds are cluster-scoped.
			ByObject: map[client.Object]cache.ByObject{
				&corev1.Secret{}: {Namespaces: map[string]cache.Config{o.ServiceNamespace: {}}},
			},
		},
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}

	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	version := &policyinput.CachedVersion{
		Source:   policyinput.Discovery{Client: dc},
		Interval: o.VersionRefresh,
		OnError:  func(err error) { log.Error(err, "refreshing the cluster version") },
	}
	if err := mgr.Add(manager.RunnableFunc(version.Start)); err != nil {
		return err
	}
	if o.ConfigFile != "" {
		if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
			engine.Watch(ctx, o.ConfigFile, o.ConfigReload, func(err error) {
				log.Error(err, "policy configuration not reloaded; the previous one stays", "path", o.ConfigFile)
			})
			return nil
		})); err != nil {
			return err
		}
	}

	certsReady := make(chan struct{})
	if o.SelfManagedCerts {
		if err := rotator.AddRotator(mgr, &rotator.CertRotator{
			SecretKey:      types.NamespacedName{Namespace: o.ServiceNamespace, Name: o.SecretName},
			CertDir:        o.CertDir,
			CAName:         "kubeext-webhook-ca",
			CAOrganization: "kubeext",
			DNSName:        fmt.Sprintf("%s.%s.svc", o.ServiceName, o.ServiceNamespace),
			ExtraDNSNames:  []string{o.ServiceName, fmt.Sprintf("%s.%s", o.ServiceName, o.ServiceNamespace)},
			IsReady:        certsReady,
			Webhooks:       []rotator.WebhookInfo{{Name: o.WebhookConfigName, Type: rotator.Validating}},
		}); err != nil {
			return fmt.Errorf("setting up certificate rotation: %w", err)
		}
	} else {
		close(certsReady)
	}

	handler := admission.NewHandler(
		&admission.Validator{Engine: engine, Inputs: policyinput.Gatherer{Reader: mgr.GetClient(), Cluster: version}},
		admission.NewMetrics(metrics.Registry),
		log.WithName("admission"),
		o.MaxConcurrent,
	)

	// The webhook server starts once its certificates exist; until then /readyz fails.
	var serving atomic.Pointer[crwebhook.Server]
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("webhook", func(req *http.Request) error {
		s := serving.Load()
		if s == nil {
			return errors.New("waiting for serving certificates")
		}
		return (*s).StartedChecker()(req)
	}); err != nil {
		return err
	}
	go func() {
		select {
		case <-ctx.Done():
			return
		case <-certsReady:
		}
		srv := mgr.GetWebhookServer()
		srv.Register(ValidatePath, &crwebhook.Admission{Handler: handler})
		serving.Store(&srv)
		log.Info("serving admission reviews", "port", o.Port, "path", ValidatePath)
	}()

	log.Info("starting the kubectl-ext webhook", "selfManagedCerts", o.SelfManagedCerts, "certDir", o.CertDir)
	return mgr.Start(ctx)
}
