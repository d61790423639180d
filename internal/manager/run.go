package manager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
	"github.com/kubeext/kubectl-ext/internal/fleet"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// LeaderElectionID is the Lease the replicas of the manager elect a leader with.
// Its name has a dot, which no extension's lock Lease (kubeext-NAME, NAME a Helm
// release name) can have, so the two never share a Lease in one namespace.
const LeaderElectionID = "extension-manager.kubeext.dev"

// Reporter names the manager in Events.
const Reporter = "extension-manager"

// Run manages every cluster the options name until ctx ends: one controller-runtime
// manager per cluster (each with its own leader election), in this process.
func Run(ctx context.Context, o Options, logOut io.Writer) error {
	// Errors are expected outcomes here (a failed install, a refused write), logged
	// with their message; stack traces only for panics.
	log := zap.New(zap.WriteTo(logOut), zap.StacktraceLevel(zapcore.PanicLevel))
	ctrl.SetLogger(log)
	contexts, err := o.clusters()
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	for i, name := range contexts {
		flags := genericclioptions.NewConfigFlags(false)
		if o.Kubeconfig != "" {
			flags.KubeConfig = &o.Kubeconfig
		}
		if name != "" {
			n := name
			flags.Context = &n
		}
		clog := log
		if name != "" {
			clog = log.WithValues("context", name)
		}
		first := i == 0
		g.Go(func() error {
			err := runCluster(gctx, o, flags, name, first, clog)
			if err != nil && name != "" {
				err = fmt.Errorf("context %s: %w", name, err)
			}
			return err
		})
	}
	return g.Wait()
}

// clusters lists the kubeconfig contexts to manage; [""] is the one the kubeconfig (or
// the in-cluster config) makes current.
func (o Options) clusters() ([]string, error) {
	if len(o.Contexts) == 0 && !o.AllContexts {
		return []string{o.Context}, nil
	}
	flags := genericclioptions.NewConfigFlags(false)
	if o.Kubeconfig != "" {
		flags.KubeConfig = &o.Kubeconfig
	}
	raw, err := flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	return fleet.Contexts(raw, o.Contexts, o.AllContexts)
}

// runCluster runs the manager of one cluster. Health and metrics are served by the
// first cluster's manager only: their ports are the process's.
func runCluster(ctx context.Context, o Options, flags *genericclioptions.ConfigFlags, contextName string, first bool, log logr.Logger) error {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	selector, err := labels.Parse(o.Selector)
	if err != nil {
		return err
	}
	healthAddr, metricsAddr := o.HealthProbeAddr, o.MetricsAddr
	if !first {
		healthAddr, metricsAddr = "0", "0"
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        lifecycle.Scheme(),
		Logger:                        log,
		Cache:                         cache.Options{ByObject: map[client.Object]cache.ByObject{&v1alpha1.Extension{}: {Label: selector}}},
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionNamespace:       leaderElectionNamespace(o),
		LeaderElectionReleaseOnCancel: true,
		HealthProbeBindAddress:        healthAddr,
		Metrics:                       metricsOptions(metricsAddr),
	})
	if err != nil {
		return fmt.Errorf("building the manager: %w", err)
	}
	// The lifecycle reads and writes uncached: its reads are the fresh ones the lock
	// and the policies need, and drift reads objects of any kind, which a cache would
	// watch forever.
	direct, err := lifecycle.NewClient(flags, logWriter{log.WithName("api-warnings")}, client.Options{})
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	lc, err := lifecycle.Connect(ctx, lifecycle.ConnectOptions{
		Getter: flags, Client: direct, Progress: logWriter{log.WithName("lifecycle")},
		Holder: fmt.Sprintf("%s@%s/%d", Reporter, host, os.Getpid()),
		// Chart downloads are cached as the plugin caches them.
		Charts:   chartsource.Options{},
		Reporter: Reporter,
	})
	if err != nil {
		return err
	}
	now := time.Now
	maxBackoff := max(o.UpgradeInterval, 10*time.Minute)
	upgrades := newBackoff(o.RetryBackoff, maxBackoff, now)
	r := &Reconciler{Reader: mgr.GetClient(), Lifecycle: lc, Wait: o.Wait, Timeout: o.Timeout,
		DriftInterval: o.DriftInterval, Backoff: newBackoff(o.RetryBackoff, maxBackoff, now), Upgrades: upgrades, Now: now}
	err = ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Extension{}).
		// Controller names are unique per process (they label its metrics).
		Named(controllerName(contextName)).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: o.MaxConcurrentReconciles,
			// Errors back off from a second to the maximum, never hot.
			RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Second, maxBackoff),
		}).
		Complete(r)
	if err != nil {
		return err
	}
	window, _ := ParseWindow(o.Window)
	if err := mgr.Add(&Upgrader{Reader: mgr.GetClient(), Lifecycle: lc, Interval: o.UpgradeInterval, Window: window,
		Wait: o.Wait, Timeout: o.Timeout, Backoff: upgrades, Now: now,
		Log: log.WithName("upgrader")}); err != nil {
		return err
	}
	if healthAddr != "0" {
		if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
			return err
		}
		if err := mgr.AddReadyzCheck("readyz", func(req *http.Request) error {
			if !mgr.GetCache().WaitForCacheSync(req.Context()) {
				return errors.New("the cache is not synced")
			}
			return nil
		}); err != nil {
			return err
		}
	}
	log.Info("starting the extension manager", "leaderElection", o.LeaderElect, "upgradeInterval", o.UpgradeInterval,
		"maintenanceWindow", window.String(), "driftInterval", o.DriftInterval, "selector", o.Selector)
	return mgr.Start(ctx)
}

func controllerName(contextName string) string {
	if contextName == "" {
		return "extension"
	}
	return "extension-" + contextName
}

func leaderElectionNamespace(o Options) string {
	if o.LeaderElectionNamespace != "" {
		return o.LeaderElectionNamespace
	}
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return "kube-system"
}

func metricsOptions(addr string) metricsserver.Options {
	if addr == "0" {
		return metricsserver.Options{BindAddress: "0"}
	}
	return metricsserver.Options{BindAddress: addr, SecureServing: true, FilterProvider: filters.WithAuthenticationAndAuthorization}
}

// logWriter turns the lifecycle's progress lines into log lines.
type logWriter struct{ log logr.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(string(p), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			w.log.Info(line)
		}
	}
	return len(p), nil
}
