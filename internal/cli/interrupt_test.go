package cli_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/failpoint"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// fpBins is the plugin built with the failpoints tag (internal/failpoint), for the
// tests that stop a command at a step; every other test runs the build that ships.
// TestMain removes it once all of them are done.
var fpBins = &testenv.Binaries{Names: []string{"kubectl-ext"}, Tags: []string{"failpoints"}}

// interruptStep is one step of one command at which the matrix interrupts it, and
// what each signal leaves there.
type interruptStep struct {
	command, step string
	kill, sigint  leftState
	// then is the command run next ("" for the same command again).
	then string
}

// leftState is what an interrupted command leaves: the Extension's provisioningState
// ("" with noExtension: no Extension at all) and errorInfo code, and the newest
// stored revision of the release and its status ("" when there is no release).
type leftState struct {
	noExtension bool
	state       v1alpha1.ProvisioningState
	code        string
	revision    int
	release     helmrelease.Status
	// changed: the interrupted command's change is in the Extension's spec.
	changed bool
	// unapplied (checked for update): the status's observedGeneration is behind the
	// spec's generation, which tells that the spec written was never applied.
	unapplied bool
	// recovered: what the next command must say it recovered ("" when nothing).
	recovered []string
}

const (
	recoveredPending  = "by an interrupted command: removed its record"
	recoveredState    = "by an interrupted command (lock expired"
	recoveredDeployed = "deployed by an interrupted command that never recorded it"
	// recoveredSpec is what the next update says of the spec a killed one wrote but
	// never applied (generation 2: create wrote 1).
	recoveredSpec = "Recovered: the spec of generation 2 of extension %s was never applied (status at generation 1); applying it"
)

// interruptSteps: create, update, upgrade and delete, each at its four steps (see
// internal/failpoint), and at Helm's wait for the objects (the only rows run without
// --no-wait; nothing becomes ready on this cluster, so Helm waits until the signal). Create installs revision 1; update and upgrade start from
// revision 1 (upgrade: version 1.4.0 set up in two commands, so revision 2) and store
// the next; delete starts from revision 1.
func interruptSteps() []interruptStep {
	var rows []interruptStep
	rows = append(rows,
		interruptStep{command: "create", step: failpoint.BeforeExtensionWrite,
			kill:   leftState{noExtension: true},
			sigint: leftState{noExtension: true}},
		interruptStep{command: "create", step: failpoint.AfterExtensionWrite,
			kill:   leftState{state: "", changed: true, recovered: []string{"recorded without a state"}},
			sigint: leftState{state: v1alpha1.ProvisioningFailed, code: "Interrupted", changed: true}},
		interruptStep{command: "create", step: failpoint.DuringHelm,
			kill:   leftState{state: v1alpha1.ProvisioningCreating, revision: 1, release: helmrelease.StatusPendingInstall, changed: true, recovered: []string{recoveredPending, recoveredState}},
			sigint: leftState{state: v1alpha1.ProvisioningFailed, code: "Interrupted", changed: true}},
		interruptStep{command: "create", step: failpoint.DuringHelmWait,
			kill:   leftState{state: v1alpha1.ProvisioningCreating, revision: 1, release: helmrelease.StatusPendingInstall, changed: true, recovered: []string{recoveredPending, recoveredState}},
			sigint: leftState{state: v1alpha1.ProvisioningFailed, code: "Interrupted", changed: true}},
		interruptStep{command: "create", step: failpoint.BeforeStatusWrite,
			kill:   leftState{state: v1alpha1.ProvisioningCreating, revision: 1, release: helmrelease.StatusDeployed, changed: true, recovered: []string{recoveredDeployed, recoveredState}},
			sigint: leftState{state: v1alpha1.ProvisioningFailed, code: "Interrupted", revision: 1, release: helmrelease.StatusDeployed, changed: true}},
	)
	for _, cmd := range []string{"update", "upgrade"} {
		base := 1
		if cmd == "upgrade" {
			base = 2
		}
		rows = append(rows,
			interruptStep{command: cmd, step: failpoint.BeforeExtensionWrite,
				kill:   leftState{state: v1alpha1.ProvisioningSucceeded, revision: base, release: helmrelease.StatusDeployed},
				sigint: leftState{state: v1alpha1.ProvisioningSucceeded, revision: base, release: helmrelease.StatusDeployed}},
			interruptStep{command: cmd, step: failpoint.AfterExtensionWrite,
				kill:   leftState{state: v1alpha1.ProvisioningSucceeded, revision: base, release: helmrelease.StatusDeployed, changed: cmd == "update", unapplied: cmd == "update"},
				sigint: leftState{state: v1alpha1.ProvisioningFailed, code: "Interrupted", revision: base, release: helmrelease.StatusDeployed, changed: cmd == "update"}},
			interruptStep{command: cmd, step: failpoint.DuringHelm,
				kill: leftState{state: v1alpha1.ProvisioningUpdating, revision: base + 1, release: helmrelease.StatusPendingUpgrade, changed: cmd == "update", unapplied: cmd == "update",
					recovered: []string{recoveredPending, recoveredState}},
				// Rolled back: the rollback stored revision base+2.
				sigint: leftState{state: v1alpha1.ProvisioningFailed, code: "Interrupted", revision: base + 2, release: helmrelease.StatusDeployed, changed: cmd == "update"}},
			interruptStep{command: cmd, step: failpoint.DuringHelmWait,
				kill: leftState{state: v1alpha1.ProvisioningUpdating, revision: base + 1, release: helmrelease.StatusPendingUpgrade, changed: cmd == "update", unapplied: cmd == "update",
					recovered: []string{recoveredPending, recoveredState}},
				sigint: leftState{state: v1alpha1.ProvisioningFailed, code: "Interrupted", revision: base + 2, release: helmrelease.StatusDeployed, changed: cmd == "update"}},
			interruptStep{command: cmd, step: failpoint.BeforeStatusWrite,
				kill: leftState{state: v1alpha1.ProvisioningUpdating, revision: base + 1, release: helmrelease.StatusDeployed, changed: cmd == "update", unapplied: cmd == "update",
					recovered: []string{recoveredDeployed, recoveredState}},
				sigint: leftState{state: v1alpha1.ProvisioningFailed, code: "Interrupted", revision: base + 1, release: helmrelease.StatusDeployed, changed: cmd == "update"}},
		)
	}
	rows = append(rows,
		interruptStep{command: "delete", step: failpoint.BeforeExtensionWrite,
			kill:   leftState{state: v1alpha1.ProvisioningSucceeded, revision: 1, release: helmrelease.StatusDeployed},
			sigint: leftState{state: v1alpha1.ProvisioningSucceeded, revision: 1, release: helmrelease.StatusDeployed}},
		interruptStep{command: "delete", step: failpoint.AfterExtensionWrite,
			kill:   leftState{state: v1alpha1.ProvisioningDeleting, revision: 1, release: helmrelease.StatusDeployed, recovered: []string{recoveredState}},
			sigint: leftState{state: v1alpha1.ProvisioningFailed, code: "Interrupted", revision: 1, release: helmrelease.StatusDeployed}},
		// Helm marks the release uninstalling before it deletes anything. Uninstalling
		// takes no context, so after SIGINT it finishes, and the record removal fails.
		interruptStep{command: "delete", step: failpoint.DuringHelm,
			kill:   leftState{state: v1alpha1.ProvisioningDeleting, revision: 1, release: helmrelease.StatusUninstalling, recovered: []string{recoveredState}},
			sigint: leftState{state: v1alpha1.ProvisioningFailed, code: "Interrupted"}},
		// The objects are deleted; Helm waits for them to go.
		interruptStep{command: "delete", step: failpoint.DuringHelmWait,
			kill:   leftState{state: v1alpha1.ProvisioningDeleting, revision: 1, release: helmrelease.StatusUninstalling, recovered: []string{recoveredState}},
			sigint: leftState{state: v1alpha1.ProvisioningFailed, code: "Interrupted"}},
		interruptStep{command: "delete", step: failpoint.BeforeStatusWrite,
			kill:   leftState{state: v1alpha1.ProvisioningDeleting, recovered: []string{recoveredState}},
			sigint: leftState{state: v1alpha1.ProvisioningFailed, code: "Interrupted"}},
	)
	return rows
}

// Reliability matrix: SIGKILL and SIGINT at each step of create, update, upgrade and delete
func TestInterrupt(t *testing.T) {
	requireEnv(t)
	fpDir := fpBins.Dir(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	for _, s := range interruptSteps() {
		for _, sig := range []struct {
			name   string
			signal syscall.Signal
			left   leftState
		}{{"sigkill", syscall.SIGKILL, s.kill}, {"sigint", syscall.SIGINT, s.sigint}} {
			t.Run(s.command+"/"+sig.name+"/"+s.step, func(t *testing.T) {
				t.Parallel()
				interruptRow(t, fpDir, typ, s, sig.signal, sig.left)
			})
		}
	}
	// The user gives up and deletes the extension: what the interrupted revision
	// created (or, for update, what it applied) must go with it, although nobody
	// recorded that revision.
	for _, r := range []struct{ name, command, step string }{
		{"create/sigkill/during-helm-wait/then-delete", "create", failpoint.DuringHelmWait},
		{"create/sigkill/before-status-write/then-delete", "create", failpoint.BeforeStatusWrite},
		{"update/sigkill/during-helm/then-delete", "update", failpoint.DuringHelm},
		{"update/sigkill/before-status-write/then-delete", "update", failpoint.BeforeStatusWrite},
	} {
		i := slices.IndexFunc(interruptSteps(), func(s interruptStep) bool { return s.command == r.command && s.step == r.step })
		s := interruptSteps()[i]
		s.then = "delete"
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			interruptRow(t, fpDir, typ, s, syscall.SIGKILL, s.kill)
		})
	}
	// The API server stops answering once the create reached its status write; then
	// Ctrl-C. Every step after it (the failure's status write, its Event, the lock's
	// release) must give up within its bound, and the command end saying what it could
	// not record; a second Ctrl-C must end it at once.
	for _, r := range []struct {
		name   string
		twice  bool
		within time.Duration
	}{
		{"create/sigint/hung-api-server", false, 90 * time.Second},
		{"create/sigint-twice/hung-api-server", true, 5 * time.Second},
	} {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			hungRow(t, fpDir, typ, r.twice, r.within)
		})
	}
}

// hungProxy is a TLS reverse proxy in front of the test API server, with its
// system:masters credentials, that holds every request from the moment it is hung
// until the client gives up. kubeconfig talks to it.
type hungProxy struct {
	hung       atomic.Bool
	held       atomic.Int32
	kubeconfig string
}

func newHungProxy(t *testing.T) *hungProxy {
	t.Helper()
	target, err := url.Parse(env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := rest.TransportFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	p := &hungProxy{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = rt
	released := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.hung.Load() {
			p.held.Add(1)
			select {
			case <-r.Context().Done():
			case <-released:
			}
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { close(released); srv.Close() })
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["hung"] = &clientcmdapi.Cluster{Server: srv.URL, InsecureSkipTLSVerify: true}
	cfg.AuthInfos["hung"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["hung"] = &clientcmdapi.Context{Cluster: "hung", AuthInfo: "hung"}
	cfg.CurrentContext = "hung"
	p.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, p.kubeconfig); err != nil {
		t.Fatal(err)
	}
	return p
}

func hungRow(t *testing.T, fpDir, typ string, twice bool, within time.Duration) {
	name, ns := uniq("hung"), uniq("hung")
	p := newHungProxy(t)
	point := "create/" + failpoint.BeforeStatusWrite
	c := startInterruptible(t, fpDir, p.kubeconfig, point, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait")
	c.waitFor(t, fmt.Sprintf("failpoint %s reached", point), 90*time.Second)
	p.hung.Store(true)
	c.signal(t, syscall.SIGINT)
	if twice {
		c.waitFor(t, "interrupted: cleaning up (Ctrl-C again to stop at once)", 10*time.Second)
		// The second Ctrl-C is for a command stuck on the API server: it goes once the
		// clean-up's first request is held (before, it could end the command before
		// any request was, and the row tested nothing).
		waitFor(t, "the clean-up's first request is held", func() bool { return p.held.Load() > 0 })
		c.signal(t, syscall.SIGINT)
	}
	sent := time.Now()
	if !c.exitsWithin(within) {
		t.Fatalf("still running %v after the last SIGINT (%d requests held):\n%s", within, p.held.Load(), c.text())
	}
	took := time.Since(sent).Round(time.Millisecond)
	t.Logf("exited %v after the last SIGINT, %d requests held; stderr:\n%s", took, p.held.Load(), c.text())
	if p.held.Load() == 0 {
		t.Error("the API server held no request: the row tests nothing")
	}
	st := c.cmd.ProcessState
	if twice {
		// Go's default for a signal no longer caught: the process dies of it.
		if ws, ok := st.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
			t.Errorf("after the second SIGINT: %v, want killed by SIGINT", st)
		}
		return
	}
	_, errText, _ := strings.Cut(c.text(), "\nerror: ")
	if st.ExitCode() != 1 || !strings.HasPrefix(errText, "interrupted: ") || !strings.Contains(errText, "recording the failure: ") {
		t.Errorf("exit %d, error %q: want 1, interrupted, and that the failure could not be recorded", st.ExitCode(), errText)
	}
}

func interruptRow(t *testing.T, fpDir, typ string, s interruptStep, sig syscall.Signal, left leftState) {
	name, ns := uniq("intr"), uniq("intr")
	createArgs := []string{"create", name, "--extension-type", typ, "--release-namespace", ns}
	var args []string
	switch s.command {
	case "create":
		args = createArgs
	case "update":
		mustKext(t, append(createArgs, "--no-wait")...)
		args = []string{"update", name, "--config", "message=interrupted"}
	case "upgrade":
		mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--auto-upgrade", "false", "--version", "1.4.0", "--no-wait")
		mustKext(t, "update", name, "--auto-upgrade", "true", "--no-wait")
		args = []string{"upgrade", name}
	case "delete":
		mustKext(t, append(createArgs, "--no-wait")...)
		args = []string{"delete", name, "--yes"}
	}
	// The next command never waits: nothing becomes ready here.
	next := append(slices.Clone(args), "--no-wait")
	if s.step == failpoint.DuringHelmWait {
		args = append(args, "--timeout", "2m")
	} else {
		args = next
	}
	before := time.Now()
	exit, stderr := interrupted(t, fpDir, s.command+"/"+s.step, sig, args...)
	t.Logf("interrupted in %s; its stderr:\n%s", time.Since(before).Round(time.Millisecond), stderr)

	// What the interrupted command left.
	if sig == syscall.SIGINT {
		// It says it cleans up, and its error (which may span lines: Helm's lists)
		// begins with the word that it was interrupted.
		_, errText, _ := strings.Cut(stderr, "\nerror: ")
		if exit != 1 || !strings.Contains(stderr, "\ninterrupted: cleaning up (Ctrl-C again to stop at once)\n") || !strings.HasPrefix(errText, "interrupted: ") {
			t.Errorf("after SIGINT: exit %d, error %q, want 1, the clean-up line and \"error: interrupted: ...\"", exit, errText)
		}
	}
	e, err := readExt(t, name)
	switch {
	case left.noExtension:
		if err == nil || !apierrors.IsNotFound(err) {
			t.Errorf("want no Extension, got %v (%v)", e, err)
		}
	case err != nil:
		t.Fatal(err)
	default:
		if e.Status.ProvisioningState != left.state {
			t.Errorf("provisioningState %q, want %q (status %+v)", e.Status.ProvisioningState, left.state, e.Status)
		}
		code := ""
		if e.Status.ErrorInfo != nil {
			code = e.Status.ErrorInfo.Code
			if left.code == "Interrupted" && !strings.Contains(e.Status.ErrorInfo.Message, "interrupted") {
				t.Errorf("errorInfo %+v does not say the command was interrupted", e.Status.ErrorInfo)
			}
		}
		if code != left.code {
			t.Errorf("errorInfo code %q, want %q (%+v)", code, left.code, e.Status.ErrorInfo)
		}
		if got := e.Spec.ConfigurationSettings["message"] == "interrupted"; s.command == "update" && got != left.changed {
			t.Errorf("the spec holds the interrupted update's setting: %v, want %v", got, left.changed)
		}
		if got := e.Status.ObservedGeneration < e.Generation; s.command == "update" && got != left.unapplied {
			t.Errorf("observedGeneration %d of generation %d: unapplied %v, want %v", e.Status.ObservedGeneration, e.Generation, got, left.unapplied)
		}
	}
	rev, st := newest(t, name, ns)
	if rev != left.revision || st != left.release {
		t.Errorf("newest release revision %d %q, want %d %q", rev, st, left.revision, left.release)
	}
	if sig == syscall.SIGINT {
		// The interrupted Helm action was finished off (rolled back, uninstalled), and
		// what is deployed is what the status records.
		if st.IsPending() {
			t.Errorf("SIGINT left revision %d %s", rev, st)
		}
		if err == nil && st == helmrelease.StatusDeployed && e.Status.Release.Revision != rev {
			t.Errorf("revision %d is deployed, but the status records %d", rev, e.Status.Release.Revision)
		}
	}

	// The next command a user runs: the same one again, or s.then.
	nextCmd := s.command
	if s.then == "delete" {
		nextCmd, next = s.then, []string{"delete", name, "--yes", "--no-wait"}
		// The release's objects (the chart's ConfigMap and Deployment), which the
		// interrupted revision lists: deleted with it, not left behind.
		left.recovered = []string{fmt.Sprintf("by an interrupted command%s: deleted its 2 objects (ConfigMap %s, Deployment %s); removed its record", map[string]string{
			failpoint.DuringHelm: "", failpoint.DuringHelmWait: "", failpoint.BeforeStatusWrite: " that never recorded it",
		}[s.step], name, name), recoveredState}
	}
	if s.command == "update" && left.unapplied && s.then == "" {
		left.recovered = append(slices.Clone(left.recovered), fmt.Sprintf(recoveredSpec, name))
	}
	started := time.Now()
	res := kext(t, next...)
	took := time.Since(started)
	if res.ExitCode != 0 {
		t.Fatalf("the next %s: exit %d\nstderr: %s", nextCmd, res.ExitCode, res.Stderr)
	}
	for _, want := range left.recovered {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("the next %s does not say %q:\n%s", s.command, want, res.Stderr)
		}
	}
	// A killed command leaves its lock's Lease, which the next one takes over at once
	// (its holder was a process of this machine that has exited), without waiting
	// for it to expire; after SIGINT the lock was released.
	kill := sig == syscall.SIGKILL
	if msg := fmt.Sprintf("Taking over the lock of extension %s: its holder", name); kill != strings.Contains(res.Stderr, msg) {
		t.Errorf("the next %s says %q: %v, want %v", nextCmd, msg, !kill, kill)
	}
	if kill && took > 15*time.Second { // the Lease lasts 20 s
		t.Errorf("the next %s took %v to take over the Lease", nextCmd, took)
	}
	if len(left.recovered) == 0 && strings.Contains(res.Stderr, "Recovered:") {
		t.Errorf("the next %s recovered what nothing left:\n%s", s.command, res.Stderr)
	}
	t.Logf("the next %s:\n%s%s", nextCmd, res.Stdout, res.Stderr)

	// The end state.
	if nextCmd == "delete" {
		if !strings.Contains(res.Stderr+res.Stdout, "Deleted extension "+name) {
			t.Errorf("the next delete does not say it deleted extension %s", name)
		}
		if err := env.Client.Get(testCtx(t), client.ObjectKey{Namespace: ns, Name: name}, &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
			t.Errorf("after the next delete the release's ConfigMap is still there (%v)", err)
		}
		if err := env.Client.Get(testCtx(t), client.ObjectKey{Namespace: ns, Name: name}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
			t.Errorf("after the next delete the release's Deployment is still there (%v)", err)
		}
		if _, err := readExt(t, name); !apierrors.IsNotFound(err) {
			t.Errorf("after the next delete the Extension is still there (%v)", err)
		}
		if rev, st := newest(t, name, ns); rev != 0 {
			t.Errorf("after the next delete the release has revision %d %s", rev, st)
		}
		return
	}
	e = getExt(t, name)
	if e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded || e.Status.ObservedGeneration != e.Generation {
		t.Errorf("after the next %s: state %q, observedGeneration %d of %d", s.command, e.Status.ProvisioningState, e.Status.ObservedGeneration, e.Generation)
	}
	h := history(t, name, ns)
	last := h[len(h)-1]
	for _, r := range h {
		if r.Info.Status.IsPending() {
			t.Errorf("revision %d is still %s", r.Version, r.Info.Status)
		}
	}
	if last.Info.Status != helmrelease.StatusDeployed || e.Status.Release.Revision != last.Version {
		t.Errorf("after the next %s: newest revision %d %s, recorded %d (history %v)", s.command, last.Version, last.Info.Status, e.Status.Release.Revision, summary(h))
	}
	switch s.command {
	case "update":
		if e.Spec.ConfigurationSettings["message"] != "interrupted" || last.Config["message"] != "interrupted" {
			t.Errorf("the update's setting is missing: spec %v, release values %v", e.Spec.ConfigurationSettings, last.Config)
		}
	case "upgrade":
		if e.Status.CurrentVersion == "1.4.0" || last.Chart.Metadata.Version != e.Status.CurrentVersion {
			t.Errorf("after the next upgrade: current version %s, release chart %s", e.Status.CurrentVersion, last.Chart.Metadata.Version)
		}
	}
}

// interrupted runs `kubectl ext ARGS...` with the failpoints build, stopping at point,
// waits until it says it reached it, sends sig and waits for it to exit. It returns
// the exit code and stderr.
func interrupted(t *testing.T, fpDir, point string, sig syscall.Signal, args ...string) (int, string) {
	t.Helper()
	c := startInterruptible(t, fpDir, env.Kubeconfig, point, args...)
	c.waitFor(t, fmt.Sprintf("failpoint %s reached", point), 90*time.Second)
	c.signal(t, sig)
	if !c.exitsWithin(60 * time.Second) {
		t.Fatalf("the command did not exit after %v:\n%s", sig, c.text())
	}
	return c.cmd.ProcessState.ExitCode(), c.text()
}

// interruptible is `kubectl ext` of the failpoints build, running.
type interruptible struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
	lines  chan string
	exited chan struct{}
}

// startInterruptible starts `kubectl ext ARGS...` with the failpoints build on
// kubeconfig, stopping at point.
func startInterruptible(t *testing.T, fpDir, kubeconfig, point string, args ...string) *interruptible {
	t.Helper()
	kubectl, err := testenv.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	c := &interruptible{lines: make(chan string, 1024), exited: make(chan struct{})}
	c.cmd = exec.Command(kubectl, append([]string{"ext"}, args...)...)
	c.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, failpoint.Env+"="+point,
		"PATH="+fpDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	pipe, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	})
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			c.mu.Lock()
			c.stderr.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
			select {
			case c.lines <- sc.Text():
			default:
			}
		}
		close(c.lines)
		// kubectl execs the plugin, so the signals go to the plugin itself.
		_ = c.cmd.Wait()
		close(c.exited)
	}()
	return c
}

func (c *interruptible) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// waitFor waits until the command prints line.
func (c *interruptible) waitFor(t *testing.T, line string, within time.Duration) {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				<-c.exited
				t.Fatalf("the command ended (%v) before it said %q:\n%s", c.cmd.ProcessState, line, c.text())
			}
			if l == line {
				return
			}
		case <-timeout:
			t.Fatalf("the command did not say %q within %v:\n%s", line, within, c.text())
		}
	}
}

func (c *interruptible) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// exitsWithin reports whether the command exits within d.
func (c *interruptible) exitsWithin(d time.Duration) bool {
	select {
	case <-c.exited:
		return true
	case <-time.After(d):
		return false
	}
}

// readExt reads an Extension, returning the API's error (NotFound when there is none).
func readExt(t *testing.T, name string) (*v1alpha1.Extension, error) {
	t.Helper()
	e := &v1alpha1.Extension{}
	err := env.Client.Get(testCtx(t), nameKey(name), e)
	return e, err
}

// newest is the newest stored revision of a release and its status; 0 and "" when
// there is none.
func newest(t *testing.T, name, ns string) (int, helmrelease.Status) {
	t.Helper()
	h, err := helmClient().History(name, ns)
	if err != nil || len(h) == 0 {
		return 0, ""
	}
	last := h[len(h)-1]
	return last.Version, last.Info.Status
}

// TestDeleteAfterInterruptedCreateKeepsForeignObjects: the revision a killed create
// stored but never recorded is a Secret any admin of the release namespace can
// rewrite. delete uninstalls what it lists only where the live object carries this
// release's Helm ownership: an object the forged manifest adds, created by someone
// else, stays.
func TestDeleteAfterInterruptedCreateKeepsForeignObjects(t *testing.T) {
	requireEnv(t)
	fpDir := fpBins.Dir(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	name, ns := uniq("forged"), uniq("forged")
	interrupted(t, fpDir, "create/"+failpoint.BeforeStatusWrite, syscall.SIGKILL,
		"create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait")

	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "not-" + name}}
	if err := env.Client.Create(testCtx(t), foreign); err != nil {
		t.Fatal(err)
	}
	secrets := driver.NewSecrets(kubernetes.NewForConfigOrDie(env.Config).CoreV1().Secrets(ns))
	key := fmt.Sprintf("sh.helm.release.v1.%s.v1", name)
	rel, err := secrets.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	rel.Manifest += fmt.Sprintf("\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\n", foreign.Name, ns)
	if err := secrets.Update(key, rel); err != nil {
		t.Fatal(err)
	}

	res := kext(t, "delete", name, "--yes", "--no-wait")
	if res.ExitCode != 0 {
		t.Fatalf("delete: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	t.Logf("delete:\n%s%s", res.Stdout, res.Stderr)
	if want := fmt.Sprintf("deleted its 2 objects (ConfigMap %s, Deployment %s); removed its record", name, name); !strings.Contains(res.Stderr, want) {
		t.Errorf("delete does not say %q", want)
	}
	if err := env.Client.Get(testCtx(t), client.ObjectKeyFromObject(foreign), &corev1.ConfigMap{}); err != nil {
		t.Errorf("the ConfigMap the forged record listed, not the release's, was deleted: %v", err)
	}
	if err := env.Client.Get(testCtx(t), client.ObjectKey{Namespace: ns, Name: name}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("the release's Deployment is still there (%v)", err)
	}
}
