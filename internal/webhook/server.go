package webhook

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	crwebhook "sigs.k8s.io/controller-runtime/pkg/webhook"
	ctrladmission "sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/kubeext/kubectl-ext/internal/admission"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/policyinput"
)

// rightsTTL is how long the webhook remembers what a writer may do (EXT-IDENTITY-001):
// a command's burst of writes asks the API server once, and a revoked grant takes
// effect within it.
const rightsTTL = 10 * time.Second

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

	engine, err := policy.New(ctx, policy.Options{ExtraDir: o.PolicyDir, OwnNamespace: o.ServiceNamespace})
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
		Metrics:                 metricsOptions(o),
		HealthProbeBindAddress:  o.HealthAddr,
		GracefulShutdownTimeout: &grace,
		WebhookServer: crwebhook.NewServer(crwebhook.Options{
			Host:    o.Host,
			Port:    o.Port,
			CertDir: o.CertDir,
		}),
		Cache: cache.Options{
			// The cache holds every Extension of the cluster: no managedFields, which
			// nothing here reads and which can outweigh the object.
			DefaultTransform: cache.TransformStripManagedFields(),
			// Only the certificate Secret is read from a namespace; the kubeext.dev
			// kinds are cluster-scoped. A review only reads the type it names (the
			// install identity), so it is handed the cache's copy, not a deep copy.
			ByObject: map[client.Object]cache.ByObject{
				&corev1.Secret{}: {
					Namespaces: map[string]cache.Config{o.ServiceNamespace: {}},
					Field:      fields.OneTermEqualSelector("metadata.name", o.SecretName),
				},
				&v1alpha1.ExtensionType{}: {UnsafeDisableDeepCopy: ptr.To(true)},
				// Reviews read Extensions from the engine's inventory only; the
				// informer keeps of each what the inventory indexes.
				&v1alpha1.Extension{}: {Transform: policyinput.IndexedFieldsOnly},
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
	kc, err := kubernetes.NewForConfig(cfg)
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
		if err := rotator.AddRotator(mgr, newCertRotator(o, certsReady)); err != nil {
			return fmt.Errorf("setting up certificate rotation: %w", err)
		}
		if err := mgr.Add(&certFiles{dir: o.CertDir, secretName: o.SecretName, cache: mgr.GetCache(), log: log.WithName("certs")}); err != nil {
			return err
		}
	} else {
		close(certsReady)
	}

	h := admission.NewHandler(
		&admission.Validator{Engine: engine, Inputs: policyinput.Gatherer{Reader: mgr.GetClient(), Cluster: version},
			Types:  policyinput.Types{Cache: mgr.GetClient(), API: mgr.GetAPIReader()},
			Rights: admission.NewSubjectAccess(kc.AuthorizationV1().SubjectAccessReviews(), rightsTTL)},
		admission.NewMetrics(metrics.Registry),
		log.WithName("admission"),
		o.MaxConcurrent,
	)
	if o.DenialEvents {
		stop := recordDenials(ctx, h, kc, scheme, mgr.GetClient())
		defer stop()
	}
	var handler ctrladmission.Handler = h
	if hook := testHookReview; hook != nil {
		handler = hookedHandler{Handler: handler, hook: hook}
	}

	// The webhook server starts once its certificates exist; until then /readyz fails.
	var serving atomic.Pointer[crwebhook.Server]
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("webhook", func(req *http.Request) error {
		s := serving.Load()
		if s == nil {
			return errors.New("waiting for serving certificates and the kubeext.dev caches")
		}
		return (*s).StartedChecker()(req)
	}); err != nil {
		return err
	}
	// A webhook that cannot feed its inventory never becomes ready: it exits with the
	// reason instead of running unready for ever.
	runCtx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	go func() {
		ctx := runCtx
		select {
		case <-ctx.Done():
			return
		case <-certsReady:
		}
		// Reviews read ExtensionTypes and Extensions from the engine's inventory, which
		// the informers feed: start them before serving, so that no review waits for a
		// first list or is judged against an incomplete inventory, and none arriving
		// during shutdown (after the caches stop) finds an informer that can no longer
		// start.
		if err := warmCache(ctx, mgr.GetCache(), log); err != nil {
			return
		}
		synced, err := policyinput.Feed(ctx, mgr.GetCache(), engine, func(err error) {
			log.Error(err, "updating the policy inventory")
		})
		if err != nil {
			fail(fmt.Errorf("feeding the policy inventory: %w", err))
			return
		}
		if !toolscache.WaitForCacheSync(ctx.Done(), synced) {
			return
		}
		// The first list of every Extension was decoded whole and is garbage now; the
		// runtime would hand that peak back to the system only slowly. Once, here.
		debug.FreeOSMemory()
		srv := mgr.GetWebhookServer()
		srv.Register(ValidatePath, drainable(ctx, &crwebhook.Admission{Handler: handler}))
		serving.Store(&srv)
		log.Info("serving admission reviews", "port", o.Port, "path", ValidatePath)
	}()

	log.Info("starting the kubectl-ext webhook", "selfManagedCerts", o.SelfManagedCerts, "certDir", o.CertDir)
	if err := mgr.Start(runCtx); err != nil {
		return err
	}
	if cause := context.Cause(runCtx); ctx.Err() == nil && cause != nil {
		return cause
	}
	return nil
}

// Denial Events are capped at this rate and burst, whatever object they are about: a
// flood of forged reviews (admission.EventDenials) cannot make the webhook write more.
const (
	denialEventQPS   = 1
	denialEventBurst = 50
)

// recordDenials has h record every denial as an Event about the refused object
// (admission.EventDenials), with a broadcaster of the webhook's own: client-go's
// correlator counts repeats and rate-limits each object's Events, so a write refused
// in a loop cannot flood the API server. A denial is recorded only when it matches
// the objects in cache (the informers that feed the inventory). The Events of a
// cluster-scoped object go to the "default" namespace, where kubectl and kubectl ext
// look for them. The returned stop shuts the broadcaster down (Events still queued
// are dropped).
func recordDenials(ctx context.Context, h *admission.Handler, kc kubernetes.Interface, scheme *runtime.Scheme, cache client.Reader) (stop func()) {
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kc.CoreV1().Events("")})
	host, _ := os.Hostname()
	h.Denials = admission.EventDenials{
		Recorder: b.NewRecorder(scheme, corev1.EventSource{Component: admission.DenialComponent, Host: host}),
		Objects:  admission.CachedUIDs{Reader: cache},
		Limit:    flowcontrol.NewTokenBucketPassiveRateLimiter(denialEventQPS, denialEventBurst),
	}
	return b.Shutdown
}

// metricsOptions serves metrics over HTTPS (controller-runtime's self-signed
// certificate) to callers the API server authenticates (TokenReview) and authorizes
// for get on the /metrics non-resource URL, as kubebuilder's scaffolding does; with
// --metrics-secure=false, plain HTTP, which Validate allows on loopback only.
func metricsOptions(o *Options) metricsserver.Options {
	if !o.MetricsSecure {
		return metricsserver.Options{BindAddress: o.MetricsAddr}
	}
	return metricsserver.Options{
		BindAddress:    o.MetricsAddr,
		SecureServing:  true,
		FilterProvider: filters.WithAuthenticationAndAuthorization,
	}
}

// warmCache starts the informers of the kinds a review reads and waits for them to
// sync, retrying while the kubeext.dev CRDs are missing. It fails only when ctx ends.
func warmCache(ctx context.Context, c cache.Cache, log logr.Logger) error {
	return wait.PollUntilContextCancel(ctx, 2*time.Second, true, func(ctx context.Context) (bool, error) {
		for _, obj := range []client.Object{&v1alpha1.ExtensionType{}, &v1alpha1.Extension{}} {
			if _, err := c.GetInformer(ctx, obj); err != nil {
				log.Error(err, "waiting for the kubeext.dev API (are the CRDs installed?)")
				return false, nil
			}
		}
		return c.WaitForCacheSync(ctx), nil
	})
}

// testHookReview, set only by tests, runs at the start of every review: it holds a
// review in flight so that a test can shut the server down around it.
var testHookReview func(context.Context)

type hookedHandler struct {
	ctrladmission.Handler
	hook func(context.Context)
}

func (h hookedHandler) Handle(ctx context.Context, req ctrladmission.Request) ctrladmission.Response {
	h.hook(ctx)
	return h.Handler.Handle(ctx, req)
}

// newCertRotator describes the self-managed CA and serving certificate: the serving
// certificate names the Service the API server calls, and the CA goes into the
// caBundle of the ValidatingWebhookConfiguration.
func newCertRotator(o *Options, ready chan struct{}) *rotator.CertRotator {
	return &rotator.CertRotator{
		SecretKey:      types.NamespacedName{Namespace: o.ServiceNamespace, Name: o.SecretName},
		CertDir:        o.CertDir,
		CertName:       secretCertKey,
		KeyName:        secretKeyKey,
		CAName:         "kubeext-webhook-ca",
		CAOrganization: "kubeext",
		DNSName:        fmt.Sprintf("%s.%s.svc", o.ServiceName, o.ServiceNamespace),
		ExtraDNSNames:  []string{o.ServiceName, fmt.Sprintf("%s.%s", o.ServiceName, o.ServiceNamespace)},
		ExtKeyUsages:   &[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsReady:        ready,
		Webhooks:       []rotator.WebhookInfo{{Name: o.WebhookConfigName, Type: rotator.Validating}},
	}
}
