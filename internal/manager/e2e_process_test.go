package manager_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	helmrelease "helm.sh/helm/v3/pkg/release"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/manager"
)

// TestKilledMidInstallIsRecovered: a manager that waits for workloads (--wait=true;
// the test cluster runs no nodes, so they never become ready) is killed with SIGKILL
// while Helm waits in the middle of an install: the release is left pending-install
// and the Extension Creating. A manager started afterwards recovers it: the end state
// is consistent (installed and Ready, nothing pending, no failed revision left), and
// the extension keeps converging: a change applied afterwards is installed.
func TestKilledMidInstallIsRecovered(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	typ, _ := fileType(t, podinfo(t, "1.4.0")...)
	first := h.startManager("--wait=true", "--timeout", "5m")
	d := h.ext(typ, map[string]string{"message": "first"})
	d.mustApply(t)
	h.eventually("Helm waiting in the middle of the install", 60*time.Second, func() (bool, string) {
		hist := history(t, d.name, d.namespace)
		return len(hist) == 1 && hist[0].Info.Status == helmrelease.StatusPendingInstall, summary(hist)
	})
	h.kill(first)
	if e := mustGetExt(t, d.name); e.Status.ProvisioningState != v1alpha1.ProvisioningCreating {
		t.Fatalf("after the kill: %s; want Creating, the install interrupted", describe(e))
	}

	h.startManager()
	h.waitSettled(d.name, 60*time.Second, func(e *v1alpha1.Extension) bool {
		return clean(history(t, d.name, d.namespace)) && e.Status.CurrentVersion == "1.4.0"
	})
	hist := history(t, d.name, d.namespace)
	if last := hist[len(hist)-1]; last.Config["message"] != "first" {
		t.Errorf("the recovered release has values %s, want message=first", releaseValues(last))
	}
	if evs, n := eventsWith(t, d.name, "Recovered"); n == 0 || evs[0].Type != corev1.EventTypeWarning {
		t.Errorf("no Warning event Recovered for the interrupted install: %s", eventSummary(events(t, d.name)))
	}

	d.settings = map[string]string{"message": "after-the-restart"}
	d.mustApply(t)
	h.waitSettled(d.name, 60*time.Second, func(e *v1alpha1.Extension) bool {
		last := lastRevision(t, d.name, d.namespace)
		return last != nil && last.Config["message"] == "after-the-restart" && clean(history(t, d.name, d.namespace))
	})
}

// leaseHolder is the holder of the manager's leader election Lease in ns, "" if none.
func leaseHolder(t *testing.T, ns string) string {
	t.Helper()
	l := &coordinationv1.Lease{}
	if err := env.Client.Get(testCtx(t), client.ObjectKey{Namespace: ns, Name: manager.LeaderElectionID}, l); err != nil {
		if notFound(err) {
			return ""
		}
		t.Fatalf("reading the leader election lease: %v", err)
	}
	return ptr.Deref(l.Spec.HolderIdentity, "")
}

// TestLeaderElection: two managers with leader election. The first one started leads
// (the Lease extension-manager.kubeext.dev names it) and keeps leading once the second
// one runs; killed with SIGKILL (it cannot release the Lease), it is replaced by the
// second after the lease expires, which installs an Extension applied after the kill.
func TestLeaderElection(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ns := uniq("e2e-leader")
	if err := env.Client.Create(testCtx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	typ, _ := fileType(t, podinfo(t, "1.4.0")...)
	elect := []string{"--leader-elect=true", "--leader-election-namespace", ns}

	leader := h.startManager(elect...)
	var first string
	h.eventually("the first manager to lead", 60*time.Second, func() (bool, string) {
		first = leaseHolder(t, ns)
		return first != "", "no holder"
	})
	standby := h.startManager(elect...)
	before := h.ext(typ, nil)
	before.mustApply(t)
	h.waitSettled(before.name, 60*time.Second)
	if got := leaseHolder(t, ns); got != first {
		t.Fatalf("the lease moved from %q to %q while its holder ran", first, got)
	}
	// The standby reconciles nothing: its log never names the extension the leader
	// installed (a manager's log names each extension it works on).
	if !strings.Contains(leader.Output.String(), before.name) {
		t.Errorf("the leader's log does not name %s: this test's way of telling who acted no longer works", before.name)
	}
	if strings.Contains(standby.Output.String(), before.name) {
		t.Errorf("the standby manager acted on %s while the other one led", before.name)
	}

	h.kill(leader)
	after := h.ext(typ, nil)
	after.mustApply(t)
	h.eventually("the second manager to take the lease over", 60*time.Second, func() (bool, string) {
		got := leaseHolder(t, ns)
		return got != "" && got != first, "holder " + got
	})
	h.waitSettled(after.name, 60*time.Second)
	if hist := history(t, after.name, after.namespace); len(hist) != 1 || !clean(hist) {
		t.Errorf("helm history %s, want one deployed revision", summary(hist))
	}
}

// gatedRepo is a Helm chart repository over loopback HTTP that holds back the first
// download of one archive until the test opens the gate, so that the operation that
// pulls it (the manager loads a declared version's chart under the extension's lock)
// holds the lock for as long as a test needs a second one to meet it, with no timing.
// Every other request, and every later download of that archive, is served at once.
type gatedRepo struct {
	url string
	// held is closed when the held download has arrived; open lets it through.
	held, open chan struct{}
}

func serveGatedRepo(t *testing.T, specs []chartsourcetest.Spec, archive string) *gatedRepo {
	t.Helper()
	dir := chartsourcetest.Charts(t, specs)
	r := &gatedRepo{held: make(chan struct{}), open: make(chan struct{})}
	var first atomic.Bool
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/"+archive) && first.CompareAndSwap(false, true) {
			close(r.held)
			select {
			case <-r.open:
			case <-req.Context().Done():
				return
			}
		}
		files.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(r.release)
	chartsourcetest.WriteIndex(t, dir, srv.URL)
	r.url = srv.URL
	return r
}

// release opens the gate (once).
func (r *gatedRepo) release() {
	select {
	case <-r.open:
	default:
		close(r.open)
	}
}

// Reliability matrix: the plugin and the extension manager change one extension at once
//
// TestPluginAndManagerAtOnce: a declared change (kubectl apply of a new pinned
// version) and `kubectl ext update` on the same extension, made to meet on the lock
// without timing luck: the manager pulls the declared version's chart under the
// extension's lock (a declared spec is written already, so it checks the settings
// there), and the chart repository holds that download until the test lets it go. The
// plugin's update, run meanwhile, is refused at once, naming the manager (its holder
// identity, with its PID) as the holder and telling the user to retry; the manager
// then finishes, and the plugin's retry lands. Both changes end up in the spec and in
// the deployed release, and Helm's history holds no failed or pending revision.
func TestPluginAndManagerAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	charts := serveGatedRepo(t, podinfo(t, "1.4.0", "1.4.1"), "podinfo-1.4.1.tgz")
	typ := recordType(t, v1alpha1.ChartSource{Repository: charts.url, Name: "podinfo"})
	mgr := h.startManager()
	d := h.ext(typ, map[string]string{"message": "declared"})
	d.pinned = "1.4.0"
	// The manager records the type's catalog once it starts; until then the webhook
	// refuses a pin to a version the catalog does not list (EXT-VERSION-005). Any
	// other refusal ends the test.
	h.eventually("the webhook admits the pinned extension", 60*time.Second, func() (bool, string) {
		res := d.apply(t)
		if res.ExitCode != 0 && !strings.Contains(res.Stderr, "EXT-VERSION-005") {
			t.Fatalf("kubectl apply of %s: exit %d\n%s", d.name, res.ExitCode, res.Stderr)
		}
		return res.ExitCode == 0, res.Stderr
	})
	h.waitSettled(d.name, 60*time.Second)

	d.pinned = "1.4.1"
	d.mustApply(t)
	select {
	case <-charts.held:
	case <-time.After(60 * time.Second):
		t.Fatal("the manager never pulled the declared version's chart")
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	holder := fmt.Sprintf("%s@%s/%d", manager.Reporter, host, mgr.Pid())
	lease := &coordinationv1.Lease{}
	if err := env.Client.Get(testCtx(t), client.ObjectKey{Namespace: d.namespace, Name: "kubeext-" + d.name}, lease); err != nil ||
		!strings.HasPrefix(ptr.Deref(lease.Spec.HolderIdentity, ""), holder) {
		t.Fatalf("while the manager pulls the chart, the lock is held by %q (%v), want %s", ptr.Deref(lease.Spec.HolderIdentity, ""), err, holder)
	}

	update := []string{"ext", "update", d.name, "--config", "fromPlugin=yes", "--no-wait", "--timeout", "60s"}
	res, err := env.Kubectl(testCtx(t), binDir, update...)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "another operation is in progress on extension "+d.name+" (held by "+holder) ||
		!strings.Contains(res.Stderr, "retry when it finishes") {
		t.Errorf("the plugin's update while the manager holds the lock: exit %d, want a refusal naming %s:\n%s", res.ExitCode, holder, res.Stderr)
	}
	if e, err := getExt(t, d.name); err != nil || e.Spec.ConfigurationSettings["fromPlugin"] != "" {
		t.Errorf("the refused update wrote its setting: %v %v", err, e)
	}

	charts.release()
	h.waitSettled(d.name, 60*time.Second, func(e *v1alpha1.Extension) bool { return e.Status.CurrentVersion == "1.4.1" })
	res, err = env.Kubectl(testCtx(t), binDir, update...)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("the plugin's retry once the manager is done: %v exit %d\n%s", err, res.ExitCode, res.Stderr)
	}
	e := h.waitSettled(d.name, 60*time.Second, func(e *v1alpha1.Extension) bool {
		last := lastRevision(t, d.name, d.namespace)
		return last != nil && last.Config["fromPlugin"] == "yes" && last.Chart.Metadata.Version == "1.4.1"
	})
	if s := e.Spec.ConfigurationSettings; s["fromPlugin"] != "yes" || s["message"] != "declared" || e.Spec.Version != "1.4.1" {
		t.Errorf("the spec lost a change: %v, version %s", s, e.Spec.Version)
	}
	if hist := history(t, d.name, d.namespace); !clean(hist) {
		t.Errorf("helm history %s has failed or pending revisions", summary(hist))
	}
}
