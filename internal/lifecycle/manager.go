// Package lifecycle is the extension manager's core: create, update and delete of an
// extension instance. It checks every write with the embedded policies before the API
// server sees it, records the Extension and its status, keeps protected settings in a
// Secret, installs and upgrades the chart with Helm, and recovers what an interrupted
// command left behind. It has no cobra in it: the CLI fills a request and prints.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/policyinput"
	"github.com/kubeext/kubectl-ext/internal/release"
	"github.com/kubeext/kubectl-ext/internal/settings"
)

// Helm is what the manager needs of Helm; *release.Client is one.
type Helm interface {
	// Install and Upgrade return the new revision.
	Install(ctx context.Context, req release.Request) (int, error)
	Upgrade(ctx context.Context, req release.Request) (int, error)
	Uninstall(name, namespace string, wait bool, timeout time.Duration) error
	RecoverPending(name, namespace string, timeout time.Duration) (string, error)
	// Deployed reports whether a deployed revision of the release exists.
	Deployed(name, namespace string) (bool, error)
}

// HelmClient adapts *release.Client to Helm.
type HelmClient struct{ *release.Client }

// Install implements Helm.
func (h HelmClient) Install(ctx context.Context, req release.Request) (int, error) {
	r, err := h.Client.Install(ctx, req)
	if err != nil {
		return 0, err
	}
	return r.Version, nil
}

// Upgrade implements Helm.
func (h HelmClient) Upgrade(ctx context.Context, req release.Request) (int, error) {
	r, err := h.Client.Upgrade(ctx, req)
	if err != nil {
		return 0, err
	}
	return r.Version, nil
}

// Deployed implements Helm.
func (h HelmClient) Deployed(name, namespace string) (bool, error) {
	hist, err := h.Client.History(name, namespace)
	if errors.Is(err, release.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, r := range hist {
		if r.Info != nil && r.Info.Status == helmrelease.StatusDeployed {
			return true, nil
		}
	}
	return false, nil
}

// Manager runs lifecycle operations against one cluster.
type Manager struct {
	Client  client.Client
	Helm    Helm
	Policy  *policy.Engine
	Cluster policyinput.ClusterVersioner
	// Charts opens an ExtensionType's chart source.
	Charts func(v1alpha1.ChartSource) (chartsource.Source, error)
	// Progress receives one line per long step and every warning.
	Progress io.Writer
	// Holder names this command in locks; defaults to user@host/pid.
	Holder string
	Now    func() time.Time
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

// CreateRequest is `kubectl ext create`.
type CreateRequest struct {
	Name             string
	ExtensionType    string
	Scope            v1alpha1.ScopeName // "" = the type's default
	ReleaseNamespace string
	TargetNamespace  string
	AutoUpgrade      *bool // nil = true
	Version          string
	ReleaseTrain     string // "" = Stable
	Settings         map[string]string
	// Protected settings; nil means none.
	Protected map[string]string
	Wait      bool
	Timeout   time.Duration
	DryRun    DryRun
}

// UpdateRequest is `kubectl ext update`; nil fields stay as they are.
type UpdateRequest struct {
	Name         string
	AutoUpgrade  *bool
	Version      *string
	ReleaseTrain *string
	// Settings are merged key by key into the current ones.
	Settings map[string]string
	// Protected, when non-nil, replaces the whole set of protected settings.
	Protected map[string]string
	Wait      bool
	Timeout   time.Duration
	DryRun    DryRun
	// TargetVersion, when set, moves an auto-upgrading extension to this version (the
	// upgrade command); the policies judge the move like any other.
	TargetVersion string
}

// DeleteRequest is `kubectl ext delete`.
type DeleteRequest struct {
	Name    string
	Force   bool // remove only the record
	Wait    bool
	Timeout time.Duration
}

// Errors a caller can test with errors.Is.
var (
	ErrNotFound      = errors.New("extension not found")
	ErrAlreadyExists = errors.New("extension already exists")
	ErrDenied        = errors.New("denied by policy")
	ErrInvalid       = errors.New("invalid request")
)

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) holder() string {
	if m.Holder != "" {
		return m.Holder
	}
	host, _ := os.Hostname()
	user := os.Getenv("USER")
	if user == "" {
		user = "kubectl-ext"
	}
	m.Holder = fmt.Sprintf("%s@%s/%d-%s", user, host, os.Getpid(), rand.String(4))
	return m.Holder
}

func (m *Manager) progress(format string, args ...any) {
	if m.Progress != nil {
		fmt.Fprintf(m.Progress, format+"\n", args...)
	}
}

// ProtectedSecretName is the Secret that holds an extension's protected settings.
func ProtectedSecretName(extension string) string { return extension + "-protected-settings" }

// ProtectedSettingsKey is the Secret data key of the protected settings, a JSON object
// of setting key to value (setting keys such as a[0] cannot be Secret keys).
const ProtectedSettingsKey = "settings.json"

// ReleaseNamespace is where an extension's release, Secret and lock live.
func ReleaseNamespace(e *v1alpha1.Extension) string {
	switch {
	case e.Spec.Scope.Cluster != nil:
		return e.Spec.Scope.Cluster.ReleaseNamespace
	case e.Spec.Scope.Namespace != nil:
		return e.Spec.Scope.Namespace.TargetNamespace
	}
	return ""
}

// ScopeOf names an extension's scope.
func ScopeOf(e *v1alpha1.Extension) v1alpha1.ScopeName {
	if e.Spec.Scope.Namespace != nil && e.Spec.Scope.Cluster == nil {
		return v1alpha1.ScopeNamespace
	}
	return v1alpha1.ScopeCluster
}

// getType reads an extension type, listing the known ones when it does not exist.
func (m *Manager) getType(ctx context.Context, name string) (*v1alpha1.ExtensionType, error) {
	t := &v1alpha1.ExtensionType{}
	err := m.Client.Get(ctx, types.NamespacedName{Name: name}, t)
	if apierrors.IsNotFound(err) {
		list := &v1alpha1.ExtensionTypeList{}
		if lerr := m.Client.List(ctx, list); lerr != nil {
			return nil, fmt.Errorf("%w: extension type %q does not exist", ErrInvalid, name)
		}
		var names []string
		for _, it := range list.Items {
			names = append(names, it.Name)
		}
		sort.Strings(names)
		known := "none; add one with `kubectl ext type add` or `kubectl ext init`"
		if len(names) > 0 {
			known = strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("%w: extension type %q does not exist (known types: %s)", ErrInvalid, name, known)
	}
	if err != nil {
		return nil, explain(err, "get", "extensiontypes.kubeext.dev")
	}
	return t, nil
}

// ensureCatalog syncs the type's versions when they were never read.
func (m *Manager) ensureCatalog(ctx context.Context, t *v1alpha1.ExtensionType) error {
	if len(t.Status.Versions) > 0 {
		return nil
	}
	m.progress("Reading the versions of extension type %s from %s", t.Name, t.Spec.Chart.Repository)
	src, err := m.Charts(t.Spec.Chart)
	if err != nil {
		return err
	}
	return catalog.Sync(ctx, m.Client, t, src, m.now())
}

// judge evaluates the policies on a write, printing warnings; a denial is an error
// carrying every "[RULE-ID] message" line.
func (m *Manager) judge(ctx context.Context, req policy.Request) error {
	in, err := policyinput.Gatherer{Reader: m.Client, Cluster: m.Cluster}.Input(ctx, req)
	if err != nil {
		return err
	}
	d, err := m.Policy.Evaluate(ctx, in)
	if err != nil {
		return err
	}
	for _, w := range d.Warn {
		m.progress("Warning: %s", w)
	}
	if !d.Allowed() {
		return fmt.Errorf("%w:\n%s", ErrDenied, strings.Join(policy.Lines(d.Deny), "\n"))
	}
	return nil
}

// resolveVersion picks the version to install: the pinned one, or the newest the
// train offers and the cluster can run.
func (m *Manager) resolveVersion(ctx context.Context, t *v1alpha1.ExtensionType, e *v1alpha1.Extension) (string, error) {
	train := e.Spec.ReleaseTrain
	if !ptr.Deref(e.Spec.AutoUpgradeMinorVersion, true) {
		if _, ok := catalog.Lookup(t, e.Spec.Version); !ok {
			avail := catalog.Names(catalog.Candidates(t, train, ""))
			return "", fmt.Errorf("%w: version %q of extension type %s does not exist (the %s train offers: %s)",
				ErrInvalid, e.Spec.Version, t.Name, train, listOrNone(avail))
		}
		return e.Spec.Version, nil
	}
	cluster, err := m.Cluster.ClusterInfo(ctx)
	if err != nil {
		return "", err
	}
	cands := catalog.Candidates(t, train, cluster.KubernetesVersion)
	if len(cands) == 0 {
		return "", fmt.Errorf("%w: the %s train of extension type %s offers no version for Kubernetes %s (versions: %s)",
			ErrInvalid, train, t.Name, cluster.KubernetesVersion, listOrNone(catalog.Names(t.Status.Versions)))
	}
	return cands[0].Version, nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	if len(s) > 10 {
		s = append(s[:10:10], "...")
	}
	return strings.Join(s, ", ")
}

// loadChart pulls the chart of a version.
func (m *Manager) loadChart(ctx context.Context, t *v1alpha1.ExtensionType, version string) (*chart.Chart, error) {
	m.progress("Pulling chart %s %s from %s", t.Spec.Chart.Name, version, t.Spec.Chart.Repository)
	src, err := m.Charts(t.Spec.Chart)
	if err != nil {
		return nil, err
	}
	return src.Load(ctx, version)
}

// values merges settings and protected settings (protected win) into Helm values.
func values(s, protected map[string]string) (map[string]any, error) {
	v, err := settings.Values(settings.Merge(s, protected))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return v, nil
}

// readProtected returns the protected settings kept in the extension's Secret.
func (m *Manager) readProtected(ctx context.Context, e *v1alpha1.Extension) (map[string]string, error) {
	if e.Spec.ConfigurationProtectedSettings == nil {
		return nil, nil
	}
	s := &corev1.Secret{}
	key := types.NamespacedName{Namespace: ReleaseNamespace(e), Name: e.Spec.ConfigurationProtectedSettings.SecretName}
	if err := m.Client.Get(ctx, key, s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, explain(err, "get", "secrets")
	}
	return DecodeProtected(s)
}

// ProtectedKeys lists the keys of an extension's protected settings, never the values.
func (m *Manager) ProtectedKeys(ctx context.Context, e *v1alpha1.Extension) ([]string, error) {
	p, err := m.readProtected(ctx, e)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// writeProtected creates or replaces the Secret, owned by the Extension.
func (m *Manager) writeProtected(ctx context.Context, e *v1alpha1.Extension, p map[string]string, dry DryRun) error {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		Namespace: ReleaseNamespace(e),
		Name:      e.Spec.ConfigurationProtectedSettings.SecretName,
	}}
	data, err := EncodeProtected(p)
	if err != nil {
		return err
	}
	var opts []client.CreateOption
	if dry == DryRunServer {
		opts = append(opts, client.DryRunAll)
	}
	existing := &corev1.Secret{}
	err = m.Client.Get(ctx, client.ObjectKeyFromObject(s), existing)
	switch {
	case apierrors.IsNotFound(err):
		s.Labels = map[string]string{"app.kubernetes.io/managed-by": "kubectl-ext", "kubeext.dev/extension": e.Name}
		s.Type = corev1.SecretTypeOpaque
		s.Data = map[string][]byte{ProtectedSettingsKey: data}
		if e.UID != "" {
			s.OwnerReferences = []metav1.OwnerReference{{
				APIVersion: v1alpha1.GroupVersion.String(), Kind: "Extension", Name: e.Name, UID: e.UID,
			}}
		}
		if err := m.Client.Create(ctx, s, opts...); err != nil {
			return explain(err, "create", "secrets")
		}
		return nil
	case err != nil:
		return explain(err, "get", "secrets")
	}
	existing.Data = map[string][]byte{ProtectedSettingsKey: data}
	var uopts []client.UpdateOption
	if dry == DryRunServer {
		uopts = append(uopts, client.DryRunAll)
	}
	if err := m.Client.Update(ctx, existing, uopts...); err != nil {
		return explain(err, "update", "secrets")
	}
	return nil
}

func (m *Manager) ensureNamespace(ctx context.Context, ns string, dry DryRun) error {
	n := &corev1.Namespace{}
	err := m.Client.Get(ctx, types.NamespacedName{Name: ns}, n)
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return explain(err, "get", "namespaces")
	}
	if dry != DryRunNone {
		return nil
	}
	m.progress("Creating namespace %s", ns)
	n = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"app.kubernetes.io/managed-by": "kubectl-ext"}}}
	if err := m.Client.Create(ctx, n); err != nil && !apierrors.IsAlreadyExists(err) {
		return explain(err, "create", "namespaces")
	}
	return nil
}

// setStatus writes the status through the status subresource (admission-reviewed),
// retrying on conflicts with a fresh read.
func (m *Manager) setStatus(ctx context.Context, e *v1alpha1.Extension, mutate func(*v1alpha1.ExtensionStatus)) error {
	for attempt := 0; ; attempt++ {
		mutate(&e.Status)
		err := m.Client.Status().Update(ctx, e)
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt >= 4 {
			return explain(err, "update", "extensions/status")
		}
		if gerr := m.Client.Get(ctx, client.ObjectKeyFromObject(e), e); gerr != nil {
			return gerr
		}
	}
}

func (m *Manager) statusEntry(level v1alpha1.StatusLevel, code, display, msg string) v1alpha1.StatusEntry {
	t := metav1.NewTime(m.now())
	return v1alpha1.StatusEntry{Code: code, DisplayStatus: display, Level: level, Message: msg, Time: &t}
}

// begin marks the extension as in progress toward target.
func (m *Manager) begin(ctx context.Context, e *v1alpha1.Extension, state v1alpha1.ProvisioningState, target string) error {
	return m.setStatus(ctx, e, func(s *v1alpha1.ExtensionStatus) {
		s.ProvisioningState = state
		s.Scope = ScopeOf(e)
		s.TargetVersion = target
		s.Release.Name, s.Release.Namespace = e.Name, ReleaseNamespace(e)
		s.ErrorInfo = nil
		s.Statuses = []v1alpha1.StatusEntry{m.statusEntry(v1alpha1.LevelInformation, string(state), string(state),
			fmt.Sprintf("%s toward version %s", state, target))}
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Progressing", Status: metav1.ConditionTrue,
			Reason: string(state), Message: "version " + target, ObservedGeneration: e.Generation})
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse,
			Reason: string(state), Message: "the operation is in progress", ObservedGeneration: e.Generation})
	})
}

// succeed records the installed version and revision.
func (m *Manager) succeed(ctx context.Context, e *v1alpha1.Extension, version string, revision int) error {
	cluster, err := m.Cluster.ClusterInfo(ctx)
	if err != nil {
		return err
	}
	return m.setStatus(ctx, e, func(s *v1alpha1.ExtensionStatus) {
		if s.KubernetesVersion == "" || majorMinor(s.CurrentVersion) != majorMinor(version) {
			s.KubernetesVersion = cluster.Minor
		}
		s.ProvisioningState = v1alpha1.ProvisioningSucceeded
		s.CurrentVersion = version
		s.TargetVersion = ""
		s.Release.Revision = revision
		s.ErrorInfo = nil
		s.ObservedGeneration = e.Generation
		s.Statuses = []v1alpha1.StatusEntry{m.statusEntry(v1alpha1.LevelInformation, "Succeeded", "Deployed",
			fmt.Sprintf("version %s deployed (release revision %d)", version, revision))}
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue,
			Reason: "Succeeded", Message: "version " + version, ObservedGeneration: e.Generation})
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Progressing", Status: metav1.ConditionFalse,
			Reason: "Succeeded", Message: "version " + version, ObservedGeneration: e.Generation})
	})
}

// fail records an operation's failure; the returned error is opErr.
func (m *Manager) fail(ctx context.Context, e *v1alpha1.Extension, code string, opErr error) error {
	msg := opErr.Error()
	serr := m.setStatus(ctx, e, func(s *v1alpha1.ExtensionStatus) {
		s.ProvisioningState = v1alpha1.ProvisioningFailed
		s.TargetVersion = ""
		s.ErrorInfo = &v1alpha1.ErrorInfo{Code: code, Message: msg}
		s.ObservedGeneration = e.Generation
		s.Statuses = []v1alpha1.StatusEntry{m.statusEntry(v1alpha1.LevelError, code, "Failed", msg)}
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse,
			Reason: code, Message: msg, ObservedGeneration: e.Generation})
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{Type: "Progressing", Status: metav1.ConditionFalse,
			Reason: code, Message: msg, ObservedGeneration: e.Generation})
	})
	if serr != nil {
		return errors.Join(opErr, fmt.Errorf("recording the failure: %w", serr))
	}
	return opErr
}

func majorMinor(v string) string {
	parts := strings.SplitN(strings.SplitN(v, "-", 2)[0], ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// inProgress reports whether a state means an operation was under way.
func inProgress(s v1alpha1.ProvisioningState) bool {
	return s == v1alpha1.ProvisioningCreating || s == v1alpha1.ProvisioningUpdating || s == v1alpha1.ProvisioningDeleting
}

// recover repairs what an interrupted command left: a pending Helm release and a
// Creating/Updating/Deleting state no live command holds. The lock is held.
func (m *Manager) recover(ctx context.Context, e *v1alpha1.Extension, l *lock, timeout time.Duration) error {
	did, err := m.Helm.RecoverPending(e.Name, ReleaseNamespace(e), timeout)
	if err != nil {
		return fmt.Errorf("recovering the interrupted release of extension %s: %w", e.Name, err)
	}
	if did != "" {
		m.progress("Recovered: %s", did)
	}
	if inProgress(e.Status.ProvisioningState) {
		was := e.Status.ProvisioningState
		m.progress("Recovered: extension %s was left %s by an interrupted command (lock expired: %v)", e.Name, was, l.stale)
		return m.setStatus(ctx, e, func(s *v1alpha1.ExtensionStatus) {
			s.ProvisioningState = v1alpha1.ProvisioningFailed
			s.TargetVersion = ""
			s.ErrorInfo = &v1alpha1.ErrorInfo{Code: "Interrupted",
				Message: fmt.Sprintf("the command that set %s was interrupted; the next operation recovers it", was)}
		})
	}
	return nil
}
