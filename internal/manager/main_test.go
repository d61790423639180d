package manager_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chartutil"
	helmrelease "helm.sh/helm/v3/pkg/release"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/release"
	"github.com/kubeext/kubectl-ext/internal/testenv"
	"github.com/kubeext/kubectl-ext/internal/testenv/webhooktest"
)

// The extension manager's end-to-end tests treat it as a black box, as an operator
// meets it: its binary run as a process from a kubeconfig (as it runs outside the
// cluster), the real kube-apiserver with the shipped webhook served in-process, real
// Helm, and the real kubectl with the plugin on PATH. The package has one control
// plane and one build of the two commands, made by the first test that needs them.
//
// Tests run in parallel on that one cluster, so each gives its manager a --selector
// of its own (shardLabel=<unique value>) and puts that label on its Extensions: a
// manager never acts on another test's extensions, and parallel managers never contend.
// The tests that must have the cluster to themselves (the API server restart, and the
// one that needs no manager running at all) are not parallel: Go runs them before the
// parallel ones start.
var (
	hook   = &webhooktest.Server{}
	shared = &testenv.Shared{Setup: hook.Setup}
	bins   = &testenv.Binaries{Names: []string{"kubectl-ext", "extension-manager"}}
	env    *testenv.Env
	binDir string
)

// shardLabel scopes a test's manager to the test's Extensions (--selector).
const shardLabel = "e2e.kubeext.dev/shard"

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	// Charts downloaded by the commands under test are cached in a scratch directory
	// (the processes started inherit it).
	cleanup, err := testenv.ScratchChartCache()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cleanup()
	vwc, err := webhooktest.Registration()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	shared.Options.ValidatingWebhooks = []*admissionregistrationv1.ValidatingWebhookConfiguration{vwc}
	return testenv.Run(m, shared, bins)
}

// requireEnv is the first line of every test: it starts the control plane and builds
// the commands on first use, and skips under -short.
func requireEnv(t *testing.T) {
	t.Helper()
	env = shared.Env(t)
	binDir = bins.Dir(t)
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	return c
}

func uniq(prefix string) string { return prefix + "-" + rand.String(5) }

// ---- the manager as a process

// harness is one test's view of the cluster: its shard, and the managers it started.
// A subtest works through h.sub(t), so that its failures end the subtest, not the
// parent (testing forbids FailNow on a parent from a subtest).
type harness struct {
	t     *testing.T
	shard string
	// run is shared by a test's harness and its subtests'.
	run *running
}

type running struct{ managers []*managerProcess }

// sub is the harness for a subtest of h's test: same shard, same managers.
func (h *harness) sub(t *testing.T) *harness { return &harness{t: t, shard: h.shard, run: h.run} }

type managerProcess struct {
	*testenv.Process
	name string
	// ended is set when the test stopped or killed it on purpose; a manager that
	// ends otherwise fails the test.
	ended bool
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	requireEnv(t)
	h := &harness{t: t, shard: rand.String(8), run: &running{}}
	t.Cleanup(func() {
		for _, m := range h.run.managers {
			if m.ended {
				continue
			}
			if err := m.Stop(20 * time.Second); err != nil {
				t.Errorf("%s did not shut down cleanly on SIGTERM: %v", m.name, err)
			}
		}
		if t.Failed() {
			for _, m := range h.run.managers {
				t.Logf("---- output of %s (pid %d):\n%s", m.name, m.Pid(), tail(m.Output.String(), 30000))
			}
		}
	})
	return h
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "[...]\n" + s[len(s)-n:]
}

// startManager runs bin/extension-manager from the control plane's kubeconfig with the
// settings the tests share (no waiting for workloads: the control plane runs no
// nodes; no leader election, metrics or probes; drift checked every 2 s; a short
// first retry), scoped to the test's shard. args come last, so they override these.
func (h *harness) startManager(args ...string) *managerProcess {
	h.t.Helper()
	all := append([]string{
		"--kubeconfig", env.Kubeconfig,
		"--wait=false",
		"--leader-elect=false",
		"--metrics-bind-address=0",
		"--health-probe-bind-address=0",
		"--drift-interval", "2s",
		"--retry-backoff", "1s",
		"--selector", shardLabel + "=" + h.shard,
	}, args...)
	p, err := testenv.StartProcess(filepath.Join(binDir, "extension-manager"), all)
	if err != nil {
		h.t.Fatal(err)
	}
	m := &managerProcess{Process: p, name: fmt.Sprintf("manager #%d %v", len(h.run.managers)+1, args)}
	h.run.managers = append(h.run.managers, m)
	return m
}

// kill ends a manager with SIGKILL, as a node failure would.
func (h *harness) kill(m *managerProcess) {
	h.t.Helper()
	m.ended = true
	if err := m.Kill(); err != nil {
		h.t.Fatal(err)
	}
}

// stop ends a manager with SIGTERM, as a rollout would, and fails the test unless it
// exits cleanly.
func (h *harness) stop(m *managerProcess) {
	h.t.Helper()
	m.ended = true
	if err := m.Stop(20 * time.Second); err != nil {
		h.t.Errorf("%s did not shut down cleanly on SIGTERM: %v", m.name, err)
	}
}

// eventually polls cond until it holds. cond returns whether it holds and, when not,
// what it saw, for the failure message. A manager that ends on its own fails the test
// at once, with its output.
func (h *harness) eventually(what string, timeout time.Duration, cond func() (bool, string)) {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		for _, m := range h.run.managers {
			if !m.ended && m.Exited() {
				m.ended = true
				h.t.Fatalf("%s exited on its own (%v) while waiting for %s; last seen: %s", m.name, m.Wait(context.Background()), what, saw)
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("after %s, still waiting for %s; last seen: %s", timeout, what, saw)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// steadily checks that cond holds for the whole of d (polled), e.g. that nothing is
// changed while the manager runs a few rounds.
func (h *harness) steadily(what string, d time.Duration, cond func() (bool, string)) {
	h.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok, saw := cond(); !ok {
			h.t.Fatalf("%s no longer holds: %s", what, saw)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// ---- kubectl

func kubectl(t *testing.T, args ...string) testenv.Result {
	t.Helper()
	res, err := env.Kubectl(testCtx(t), binDir, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return res
}

func mustKubectl(t *testing.T, args ...string) testenv.Result {
	t.Helper()
	res := kubectl(t, args...)
	if res.ExitCode != 0 {
		t.Fatalf("kubectl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), res.ExitCode, res.Stdout, res.Stderr)
	}
	return res
}

// decl is an Extension as a user declares it in a file for kubectl apply or GitOps.
type decl struct {
	name, typ, namespace, shard string
	settings                    map[string]string
	// pinned is the version pinned with autoUpgradeMinorVersion false; "" declares an
	// auto-upgrading extension.
	pinned      string
	driftPolicy v1alpha1.DriftPolicy
	// extra spec fields, e.g. a policy-refused combination.
	extra map[string]any
}

// ext declares an auto-upgrading cluster-scope Extension of typ in the harness's shard.
func (h *harness) ext(typ string, settings map[string]string) decl {
	return decl{name: uniq("ext"), typ: typ, namespace: uniq("rel"), shard: h.shard, settings: settings}
}

func (d decl) yaml(t *testing.T) []byte {
	t.Helper()
	spec := map[string]any{
		"extensionType": d.typ,
		"scope":         map[string]any{"cluster": map[string]any{"releaseNamespace": d.namespace}},
	}
	if d.pinned != "" {
		spec["autoUpgradeMinorVersion"], spec["version"] = false, d.pinned
	} else {
		spec["autoUpgradeMinorVersion"] = true
	}
	if len(d.settings) > 0 {
		spec["configurationSettings"] = d.settings
	}
	if d.driftPolicy != "" {
		spec["driftPolicy"] = d.driftPolicy
	}
	for k, v := range d.extra {
		spec[k] = v
	}
	obj := map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(),
		"kind":       "Extension",
		"metadata":   map[string]any{"name": d.name, "labels": map[string]string{shardLabel: d.shard}},
		"spec":       spec,
	}
	b, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// apply writes the declaration to a file and runs `kubectl apply -f` on it.
func (d decl) apply(t *testing.T) testenv.Result {
	t.Helper()
	f := filepath.Join(t.TempDir(), d.name+".yaml")
	if err := os.WriteFile(f, d.yaml(t), 0o600); err != nil {
		t.Fatal(err)
	}
	return kubectl(t, "apply", "-f", f)
}

func (d decl) mustApply(t *testing.T) {
	t.Helper()
	if res := d.apply(t); res.ExitCode != 0 {
		t.Fatalf("kubectl apply of %s: exit %d\n%s\n%s\n%s", d.name, res.ExitCode, d.yaml(t), res.Stdout, res.Stderr)
	}
}

// ---- types and charts

// fileType records an ExtensionType whose charts are the archives of a file://
// directory holding the podinfo test chart at versions, and returns the type and the
// directory, where publish adds versions later.
func fileType(t *testing.T, specs ...chartsourcetest.Spec) (typ, dir string) {
	t.Helper()
	dir = chartsourcetest.Charts(t, specs)
	return recordType(t, v1alpha1.ChartSource{Repository: "file://" + dir, Name: "podinfo"}), dir
}

// publish adds chart versions to a file:// chart directory, as a chart's maintainers
// publish a release; the type sees them at its next sync.
func publish(t *testing.T, dir string, specs ...chartsourcetest.Spec) {
	t.Helper()
	for _, s := range specs {
		ch, err := chartsourcetest.Chart(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := chartutil.Save(ch, dir); err != nil {
			t.Fatal(err)
		}
	}
}

// podinfo returns the standard podinfo test chart specs of the versions named.
func podinfo(t *testing.T, versions ...string) []chartsourcetest.Spec {
	t.Helper()
	var out []chartsourcetest.Spec
	for _, v := range versions {
		i := slices.IndexFunc(chartsourcetest.Podinfo(), func(s chartsourcetest.Spec) bool { return s.Version == v })
		if i < 0 {
			t.Fatalf("no podinfo test chart %s", v)
		}
		out = append(out, chartsourcetest.Podinfo()[i])
	}
	return out
}

func recordType(t *testing.T, src v1alpha1.ChartSource) string {
	t.Helper()
	et := v1alpha1test.Type(uniq("e2e.podinfo"),
		v1alpha1test.Description("podinfo for the manager's tests"),
		v1alpha1test.Chart(src),
		v1alpha1test.DefaultReleaseNamespace(uniq("podinfo")),
		v1alpha1test.MultipleInstances)
	// The webhook admits a plain http repository only with this annotation
	// (EXT-TYPEDEF-001); the tests' chart servers are on loopback.
	if strings.HasPrefix(src.Repository, "http://") {
		et.Annotations = map[string]string{v1alpha1.AnnotationAllowInsecureRepository: "the tests' chart repository, on loopback"}
	}
	if err := env.Client.Create(testCtx(t), et); err != nil {
		t.Fatalf("recording the extension type: %v", err)
	}
	return et.Name
}

// ---- what the tests read

func getExt(t *testing.T, name string) (*v1alpha1.Extension, error) {
	t.Helper()
	e := &v1alpha1.Extension{}
	err := env.Client.Get(testCtx(t), client.ObjectKey{Name: name}, e)
	return e, err
}

func mustGetExt(t *testing.T, name string) *v1alpha1.Extension {
	t.Helper()
	e, err := getExt(t, name)
	if err != nil {
		t.Fatalf("reading extension %s: %v", name, err)
	}
	return e
}

// describe is an extension's state in one line, for failure messages.
func describe(e *v1alpha1.Extension) string {
	var conds []string
	for _, c := range e.Status.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s(%s, gen %d: %s)", c.Type, c.Status, c.Reason, c.ObservedGeneration, c.Message))
	}
	errInfo := ""
	if e.Status.ErrorInfo != nil {
		errInfo = e.Status.ErrorInfo.Code + ": " + e.Status.ErrorInfo.Message
	}
	return fmt.Sprintf("%s: gen %d observed %d, state %q, version %q (target %q, kube %q), release %+v, finalizers %v, error %q, conditions [%s]",
		e.Name, e.Generation, e.Status.ObservedGeneration, e.Status.ProvisioningState, e.Status.CurrentVersion,
		e.Status.TargetVersion, e.Status.KubernetesVersion, e.Status.Release, e.Finalizers, errInfo, strings.Join(conds, "; "))
}

func condition(e *v1alpha1.Extension, typ string) *metav1.Condition {
	return meta.FindStatusCondition(e.Status.Conditions, typ)
}

// settled: the extension's current spec is applied (observedGeneration), it
// Succeeded, and Ready says so for this generation: what kstatus and Flux read.
func settled(e *v1alpha1.Extension) bool {
	ready := condition(e, v1alpha1.ConditionReady)
	return e.Status.ObservedGeneration == e.Generation && e.Status.ProvisioningState == v1alpha1.ProvisioningSucceeded &&
		ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration == e.Generation
}

// waitSettled waits until the extension is settled and extra (if any) holds too.
func (h *harness) waitSettled(name string, timeout time.Duration, extra ...func(*v1alpha1.Extension) bool) *v1alpha1.Extension {
	h.t.Helper()
	var e *v1alpha1.Extension
	h.eventually("extension "+name+" to be installed and Ready", timeout, func() (bool, string) {
		var err error
		if e, err = getExt(h.t, name); err != nil {
			return false, err.Error()
		}
		ok := settled(e)
		for _, f := range extra {
			ok = ok && f(e)
		}
		return ok, describe(e)
	})
	return e
}

func helmClient() *release.Client {
	return &release.Client{Getter: &genericclioptions.ConfigFlags{KubeConfig: &env.Kubeconfig}}
}

// history is the release's stored revisions, oldest first; none when there is no release.
func history(t *testing.T, name, ns string) []*helmrelease.Release {
	t.Helper()
	hist, err := helmClient().History(name, ns)
	if errors.Is(err, release.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("helm history %s/%s: %v", ns, name, err)
	}
	return hist
}

func lastRevision(t *testing.T, name, ns string) *helmrelease.Release {
	t.Helper()
	hist := history(t, name, ns)
	if len(hist) == 0 {
		return nil
	}
	return hist[len(hist)-1]
}

// summary is a history in one line: revision, status, chart version, values.
func summary(hist []*helmrelease.Release) string {
	var out []string
	for _, r := range hist {
		v := ""
		if r.Chart != nil && r.Chart.Metadata != nil {
			v = r.Chart.Metadata.Version
		}
		cfg, _ := json.Marshal(r.Config)
		out = append(out, fmt.Sprintf("#%d %s %s %s", r.Version, r.Info.Status, v, cfg))
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// clean: no revision is failed or pending, so nothing is left for a next command to
// recover or roll back.
func clean(hist []*helmrelease.Release) bool {
	for _, r := range hist {
		if r.Info.Status == helmrelease.StatusFailed || r.Info.Status.IsPending() {
			return false
		}
	}
	return len(hist) > 0 && hist[len(hist)-1].Info.Status == helmrelease.StatusDeployed
}

func chartVersion(r *helmrelease.Release) string {
	if r == nil || r.Chart == nil || r.Chart.Metadata == nil {
		return ""
	}
	return r.Chart.Metadata.Version
}

// configMap reads the ConfigMap the podinfo test chart renders (named after the
// release): its message and the values the chart saw.
func configMap(t *testing.T, name, ns string) (*corev1.ConfigMap, error) {
	t.Helper()
	cm := &corev1.ConfigMap{}
	err := env.Client.Get(testCtx(t), client.ObjectKey{Namespace: ns, Name: name}, cm)
	return cm, err
}

// events are the Events recorded for an extension, in namespace default where kubectl
// looks for the events of cluster-scoped objects.
func events(t *testing.T, name string) []corev1.Event {
	t.Helper()
	list := &corev1.EventList{}
	if err := env.Client.List(testCtx(t), list, client.InNamespace(metav1.NamespaceDefault),
		client.MatchingFields{"involvedObject.name": name}); err != nil {
		t.Fatalf("listing events: %v", err)
	}
	var out []corev1.Event
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == "Extension" {
			out = append(out, e)
		}
	}
	return out
}

// eventsWith are the extension's events of reason, and how many times they were
// recorded (repeats bump count rather than add events).
func eventsWith(t *testing.T, name, reason string) (evs []corev1.Event, count int) {
	t.Helper()
	for _, e := range events(t, name) {
		if e.Reason == reason {
			evs = append(evs, e)
			count += max(1, int(e.Count))
		}
	}
	return evs, count
}

func eventSummary(evs []corev1.Event) string {
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%s %s x%d (%s): %s", e.Type, e.Reason, e.Count, e.Source.Component, e.Message))
	}
	return "[" + strings.Join(out, "; ") + "]"
}

// waitEvent waits for an event of reason on the extension whose message has every one
// of want, and returns it.
func (h *harness) waitEvent(name, reason string, timeout time.Duration, want ...string) corev1.Event {
	h.t.Helper()
	var found corev1.Event
	h.eventually(fmt.Sprintf("an event %s on %s mentioning %q", reason, name, want), timeout, func() (bool, string) {
		evs, _ := eventsWith(h.t, name, reason)
		for _, e := range evs {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(e.Message, w)
			}
			if ok {
				found = e
				return true, ""
			}
		}
		return false, eventSummary(events(h.t, name))
	})
	return found
}

func notFound(err error) bool { return apierrors.IsNotFound(err) }
