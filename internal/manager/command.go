package manager

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
)

// Options are the extension manager's flags.
type Options struct {
	Kubeconfig  string
	Context     string
	Contexts    []string
	AllContexts bool

	UpgradeInterval time.Duration
	Window          string
	DriftInterval   time.Duration
	Wait            bool
	Timeout         time.Duration
	RetryBackoff    time.Duration

	LeaderElect             bool
	LeaderElectionNamespace string
	HealthProbeAddr         string
	MetricsAddr             string
	MaxConcurrentReconciles int
	Selector                string
}

// DefaultOptions are the flags' defaults.
func DefaultOptions() Options {
	return Options{
		UpgradeInterval: 6 * time.Hour, DriftInterval: 10 * time.Minute, Wait: true, Timeout: 5 * time.Minute,
		RetryBackoff: 30 * time.Second, LeaderElect: true, HealthProbeAddr: ":8081", MetricsAddr: ":8443",
		MaxConcurrentReconciles: 2,
	}
}

// Validate checks the flags before anything connects.
func (o Options) Validate() error {
	if o.Context != "" && (len(o.Contexts) > 0 || o.AllContexts) {
		return fmt.Errorf("--context names one cluster; with --contexts or --all-contexts leave it out")
	}
	if len(o.Contexts) > 0 && o.AllContexts {
		return fmt.Errorf("give --contexts or --all-contexts, not both")
	}
	if _, err := ParseWindow(o.Window); err != nil {
		return fmt.Errorf("--maintenance-window: %w", err)
	}
	if _, err := labels.Parse(o.Selector); err != nil {
		return fmt.Errorf("--selector: %w", err)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--upgrade-interval", o.UpgradeInterval}, {"--drift-interval", o.DriftInterval}, {"--timeout", o.Timeout}} {
		if d.v < 0 {
			return fmt.Errorf("%s must not be negative", d.name)
		}
	}
	if o.RetryBackoff <= 0 {
		return fmt.Errorf("--retry-backoff must be positive")
	}
	if o.MaxConcurrentReconciles < 1 {
		return fmt.Errorf("--max-concurrent-reconciles must be at least 1")
	}
	return nil
}

// NewCommand is the extension-manager command; its logs go to logOut.
func NewCommand(logOut io.Writer) *cobra.Command {
	o := DefaultOptions()
	cmd := &cobra.Command{
		Use:   "extension-manager",
		Short: "Run the extension lifecycle continuously: declared Extensions, drift, and auto-upgrades",
		Long: `extension-manager keeps every Extension of a cluster as its spec says, with the same
lifecycle library, lock and policies as kubectl ext:

  - An Extension written with kubectl apply or GitOps is installed, and a changed spec applied.
  - Deleting an Extension uninstalls its release (the manager adds the finalizer
    kubeext.dev/uninstall; without the manager nothing is added).
  - Drift (a helm upgrade or rollback by hand, an edited or deleted object) is reported as the
    Drifted condition and an Event, and corrected unless spec.driftPolicy is Report.
  - Every --upgrade-interval, ExtensionTypes are synced and auto-upgrading extensions moved to
    the newest version their train, the cluster and the policies allow (never a new major),
    inside the --maintenance-window only. A failed upgrade is rolled back and retried with
    backoff.

It runs in the cluster (kubectl ext init --with-manager) or outside it from a kubeconfig, over
one or many contexts, as AKS runs its extension manager off the user's nodes.`,
		Example: `  # In the cluster (the Deployment's arguments):
  extension-manager --leader-elect --health-probe-bind-address=:8081 --metrics-bind-address=:8443

  # Outside the cluster, over two clusters of a kubeconfig, upgrading on Saturday nights only:
  extension-manager --kubeconfig ~/.kube/config --contexts prod-eu,prod-us \
    --maintenance-window "Sat 02:00 4h" --leader-election-namespace kube-system`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return Run(cmd.Context(), o, logOut)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Kubeconfig, "kubeconfig", "", "Outside the cluster: the kubeconfig (default: the in-cluster config, else $KUBECONFIG or ~/.kube/config).")
	f.StringVar(&o.Context, "context", "", "The kubeconfig context of the one cluster to manage (default: the current context).")
	f.StringSliceVar(&o.Contexts, "contexts", nil, "Manage each of these kubeconfig contexts (comma-separated), one manager per cluster in this process.")
	f.BoolVar(&o.AllContexts, "all-contexts", false, "Manage every context of the kubeconfig.")
	f.DurationVar(&o.UpgradeInterval, "upgrade-interval", o.UpgradeInterval, "How often extension types are synced and auto-upgrades planned; 0 turns auto-upgrade off.")
	f.StringVar(&o.Window, "maintenance-window", "", `Weekly window, in UTC, in which upgrades may start: "DAY HH:MM DURATION", e.g. "Sat 02:00 4h". Empty: any time.`)
	f.DurationVar(&o.DriftInterval, "drift-interval", o.DriftInterval, "How often each installed extension is checked for drift; 0 turns drift detection off.")
	f.BoolVar(&o.Wait, "wait", o.Wait, "Wait for a release's workloads to be ready before an operation counts as succeeded.")
	f.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long Helm waits for workloads, and for a stale lock.")
	f.DurationVar(&o.RetryBackoff, "retry-backoff", o.RetryBackoff, "The delay after a failed operation; it doubles per consecutive failure, up to the upgrade interval (at least 10m).")
	f.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Elect a leader per cluster (Lease extension-manager.kubeext.dev), so that replicas never act at once.")
	f.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "The leader election Lease's namespace (default: the pod's namespace in the cluster, kube-system outside).")
	f.StringVar(&o.HealthProbeAddr, "health-probe-bind-address", o.HealthProbeAddr, `Where /healthz and /readyz are served; "0" disables.`)
	f.StringVar(&o.MetricsAddr, "metrics-bind-address", o.MetricsAddr, `Where the Prometheus metrics are served over HTTPS, to authenticated and authorized clients only; "0" disables.`)
	f.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", o.MaxConcurrentReconciles, "How many extensions are worked on at once.")
	f.StringVar(&o.Selector, "selector", "", "Manage only the Extensions whose labels match this selector (to shard, or to keep some by hand).")
	return cmd
}

// Main runs the command and returns the process's exit code.
func Main(ctx context.Context, args []string) int {
	cmd := NewCommand(os.Stderr)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	return 0
}
