// Package lifecycle is the extension manager's core: create, update and delete of an
// extension instance. It checks every write with the embedded policies before the API
// server sees it, records the Extension and its status, keeps protected settings in a
// Secret, installs and upgrades the chart with Helm, and recovers what an interrupted
// command left behind. It has no cobra in it: the CLI fills a request and prints.
//
// The files follow the responsibilities: create.go, update.go, delete.go and
// upgrade.go are the operations (plan.go the pure upgrade planner); helm.go adapts the
// Helm SDK and holds apply, the install-or-upgrade-and-record step create and update
// share; status.go writes the status; protected.go keeps the protected settings;
// resolve.go finds a type (through internal/catalog) and the version to install;
// lock.go serialises commands; errors.go turns API errors into messages.
package lifecycle

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/policyinput"
)

// Config is what a Manager works with.
type Config struct {
	Client client.Client
	Helm   Helm
	// Policy is the policy engine; nil means PolicyEngine's, made the first time a
	// write is judged, so commands that judge nothing never compile the policies.
	Policy  *policy.Engine
	Cluster policyinput.ClusterVersioner
	// Charts opens an ExtensionType's chart source.
	Charts func(v1alpha1.ChartSource) (chartsource.Source, error)
	// Progress receives one line per long step and every warning; nil discards them.
	Progress io.Writer
	// Live, when set, draws the progress of chart downloads and of Helm's waits on a
	// terminal (progress.go); Progress should then write through Live.Writer.
	Live *LiveProgress
	// Holder names this command in locks and as the user the policies judge;
	// "" means user@host/pid-suffix.
	Holder string
	// Now is the clock of statuses and locks; nil means time.Now.
	Now func() time.Time
	// Reporter names this program in the Events it records (source.component and
	// reportingController): "" means DefaultReporter, "kubectl-ext"; the extension
	// manager sets "extension-manager".
	Reporter string
}

// Manager runs lifecycle operations against one cluster. Build it with New.
type Manager struct {
	client   client.Client
	helm     Helm
	cluster  policyinput.ClusterVersioner
	charts   func(v1alpha1.ChartSource) (chartsource.Source, error)
	out      io.Writer
	live     *LiveProgress
	holder   string
	now      func() time.Time
	catalog  *catalog.Catalog
	gatherer policyinput.Gatherer
	reporter string

	// engineMu guards engine, made on first use; judgeMu makes loading the engine's
	// inventory and judging with it one step, so that two judgements at once (the
	// extension manager's workers) each judge with the cluster they listed.
	engineMu sync.Mutex
	engine   *policy.Engine
	judgeMu  sync.Mutex
}

// New returns a Manager for cfg, with the defaults of its empty fields filled in once.
func New(cfg Config) *Manager {
	m := &Manager{
		client: cfg.Client, helm: cfg.Helm, engine: cfg.Policy, cluster: cfg.Cluster,
		charts: cfg.Charts, out: cfg.Progress, live: cfg.Live, holder: cfg.Holder, now: cfg.Now, reporter: cfg.Reporter,
	}
	if m.reporter == "" {
		m.reporter = DefaultReporter
	}
	if m.out == nil {
		m.out = io.Discard
	}
	if m.holder == "" {
		m.holder = defaultHolder()
	}
	if m.now == nil {
		m.now = time.Now
	}
	m.catalog = &catalog.Catalog{Client: m.client, Charts: m.charts, Progress: m.out, Now: m.now, Explain: Explain}
	m.gatherer = policyinput.Gatherer{Reader: m.client, Cluster: m.cluster}
	return m
}

// defaultHolder names this process: user@host/pid plus a random suffix, so two
// commands of one process (fleet mode) are told apart too. The suffix is long enough
// that two holders never share a name by chance: containers of one pod share the
// hostname, and each may run as root with PID 1, and a holder takes a lease naming
// itself for its own.
func defaultHolder() string {
	host, _ := os.Hostname()
	user := os.Getenv("USER")
	if user == "" {
		user = "kubectl-ext"
	}
	return fmt.Sprintf("%s@%s/%d-%s", user, host, os.Getpid(), rand.String(16))
}

func (m *Manager) progress(format string, args ...any) {
	fmt.Fprintf(m.out, format+"\n", args...)
}

// DryRun is how far a dry run goes.
type DryRun string

// The dry-run modes of kubectl: none, client (local checks only), server (the API
// server and the webhook judge every write, Helm renders against the server).
const (
	DryRunNone   DryRun = ""
	DryRunClient DryRun = "client"
	DryRunServer DryRun = "server"
)

// Get reads one extension.
func (m *Manager) Get(ctx context.Context, name string) (*v1alpha1.Extension, error) {
	e := &v1alpha1.Extension{}
	if err := m.client.Get(ctx, types.NamespacedName{Name: name}, e); err != nil {
		// A client that maps the kind without discovery (the plugin's) hears of missing
		// CRDs as a NotFound of the resource, not of the extension.
		if apierrors.IsNotFound(err) && !IsCRDMissing(err) {
			return nil, fmt.Errorf("%w: %s (`kubectl ext list` shows the extensions)", ErrNotFound, name)
		}
		return nil, explain(err, "get", "extensions.kubeext.dev")
	}
	return e, nil
}

// List reads every extension, sorted by name.
func (m *Manager) List(ctx context.Context) (*v1alpha1.ExtensionList, error) {
	l := &v1alpha1.ExtensionList{}
	if err := m.client.List(ctx, l); err != nil {
		return nil, explain(err, "list", "extensions.kubeext.dev")
	}
	return l, nil
}

// ReleaseNamespace is where an extension's release, Secret and lock live.
func ReleaseNamespace(e *v1alpha1.Extension) string { return e.ReleaseNamespace() }

// ScopeOf names an extension's scope.
func ScopeOf(e *v1alpha1.Extension) v1alpha1.ScopeName { return e.ScopeName() }

// verdict evaluates the policies on a write: the same Rego, with the same input, that
// the admission webhook evaluates when the write reaches the API server. A denial is
// an ErrDenied error carrying every "[RULE-ID] message" line; warnings are returned.
//
// The cluster's types and extensions are listed afresh for each verdict (two requests,
// whatever the cluster holds) into the engine's inventory.
func (m *Manager) verdict(ctx context.Context, req policy.Request) ([]policy.Result, error) {
	req.UserInfo = policy.UserInfo{Username: m.holder}
	engine, err := m.policies(ctx)
	if err != nil {
		return nil, err
	}
	in, err := m.gatherer.Input(ctx, req)
	if err != nil {
		return nil, err
	}
	m.judgeMu.Lock()
	defer m.judgeMu.Unlock()
	if err := m.gatherer.Load(ctx, engine); err != nil {
		return nil, err
	}
	d, err := engine.Evaluate(ctx, in)
	if err != nil {
		return nil, err
	}
	if !d.Allowed() {
		return d.Warn, fmt.Errorf("%w:\n%s", ErrDenied, strings.Join(policy.Lines(d.Deny), "\n"))
	}
	return d.Warn, nil
}

// policies returns the manager's policy engine, made on first use.
func (m *Manager) policies(ctx context.Context) (*policy.Engine, error) {
	m.engineMu.Lock()
	defer m.engineMu.Unlock()
	if m.engine == nil {
		e, err := PolicyEngine(ctx, m.client, m.out)
		if err != nil {
			return nil, err
		}
		m.engine = e
	}
	return m.engine, nil
}

// judge is verdict with the warnings printed.
func (m *Manager) judge(ctx context.Context, req policy.Request) error {
	warn, err := m.verdict(ctx, req)
	for _, w := range warn {
		m.progress("Warning: %s", w)
	}
	return err
}
