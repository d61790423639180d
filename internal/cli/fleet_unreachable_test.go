package cli_test

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	helmrelease "helm.sh/helm/v3/pkg/release"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/release"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// cutProxy stands between the plugin and one control plane's API server, so a test
// can make that cluster unreachable at an exact request: it terminates TLS with a
// certificate of its own (the kubeconfig trusts it), sees each request whole, and
// passes it on as the control plane's admin. Once armed, the first request cut
// matches and everything after it fail as an unreachable server does: the
// connection closes without an answer. The requests before it were answered, so what
// the cluster holds is exactly what the plugin wrote up to that point.
type cutProxy struct {
	srv  *httptest.Server
	addr string

	mu sync.Mutex
	// serving is the server on addr; nil while the cluster is unreachable.
	serving *http.Server
	cut     func(r *http.Request, body []byte) bool
	down    bool
	// log is the requests seen, for a failure's message.
	log []string
}

func newCutProxy(t *testing.T, e *testenv.Env) *cutProxy {
	t.Helper()
	target, err := url.Parse(e.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	transport, err := rest.TransportFor(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	fwd := httputil.NewSingleHostReverseProxy(target)
	fwd.Transport = transport
	fwd.FlushInterval = -1 // watches stream
	p := &cutProxy{}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		p.mu.Lock()
		p.log = append(p.log, r.Method+" "+r.URL.Path)
		if !p.down && p.cut != nil && p.cut(r, body) {
			p.down = true
			p.log[len(p.log)-1] += " (cut here)"
		}
		down := p.down
		p.mu.Unlock()
		if down {
			// As a server gone away: no answer, the connections dropped, and new ones
			// refused.
			p.stop()
			panic(http.ErrAbortHandler)
		}
		fwd.ServeHTTP(w, r)
	}))
	p.srv.EnableHTTP2 = true
	p.srv.StartTLS()
	p.addr = p.srv.Listener.Addr().String()
	p.serving = p.srv.Config
	t.Cleanup(func() {
		p.stop()
		p.srv.Close()
	})
	return p
}

// stop closes the listener and every connection, so dialling the address is refused.
func (p *cutProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.serving != nil {
		_ = p.serving.Close()
		p.serving = nil
	}
}

// arm makes the first request for which cut holds, and all after it, fail.
func (p *cutProxy) arm(cut func(r *http.Request, body []byte) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.down, p.log = cut, false, nil
}

// restore makes the cluster reachable again, at the same address.
func (p *cutProxy) restore(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.down = nil, false
	if p.serving != nil {
		return
	}
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("listening again on %s: %v", p.addr, err)
	}
	srv := &http.Server{Handler: p.srv.Config.Handler, TLSConfig: p.srv.TLS, ReadHeaderTimeout: time.Minute}
	go func() { _ = srv.ServeTLS(l, "", "") }()
	p.serving = srv
}

func (p *cutProxy) wasCut() (bool, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.down, strings.Join(p.log, "\n")
}

// cluster is a kubeconfig cluster entry for the proxy.
func (p *cutProxy) cluster() *clientcmdapi.Cluster {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})
	return &clientcmdapi.Cluster{Server: p.srv.URL, CertificateAuthorityData: ca}
}

// threeClusterKubeconfig writes a kubeconfig with contexts a and b for two control
// planes and c for a third one behind p.
func threeClusterKubeconfig(t *testing.T, a, b *testenv.Env, p *cutProxy) string {
	t.Helper()
	merged := clientcmdapi.NewConfig()
	for name, e := range map[string]*testenv.Env{"a": a, "b": b} {
		cfg, err := clientcmd.LoadFromFile(e.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		cur := cfg.Contexts[cfg.CurrentContext]
		merged.Clusters[name] = cfg.Clusters[cur.Cluster]
		merged.AuthInfos[name] = cfg.AuthInfos[cur.AuthInfo]
		merged.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	// The proxy authenticates to c's API server itself.
	merged.Clusters["c"] = p.cluster()
	merged.AuthInfos["c"] = clientcmdapi.NewAuthInfo()
	merged.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "c"}
	merged.CurrentContext = "a"
	path := filepath.Join(t.TempDir(), "fleet.kubeconfig")
	if err := clientcmd.WriteToFile(*merged, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// Matchers of the requests at which a row cuts cluster c off.
var (
	extensionStatusWrite = func(name string, state v1alpha1.ProvisioningState) func(*http.Request, []byte) bool {
		return func(r *http.Request, body []byte) bool {
			return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/extensions/"+name+"/status") &&
				bytes.Contains(body, []byte(`"provisioningState":"`+string(state)+`"`))
		}
	}
	// chartObjectCreate: Helm creating the chart's objects in the release namespace,
	// after it stored the first revision as pending-install.
	chartObjectCreate = func(ns string) func(*http.Request, []byte) bool {
		return func(r *http.Request, _ []byte) bool {
			return r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/namespaces/"+ns+"/") &&
				!strings.HasSuffix(r.URL.Path, "/secrets") && !strings.HasSuffix(r.URL.Path, "/leases")
		}
	}
	// chartObjectWrite: Helm patching the chart's objects, after it stored the new
	// revision as pending (only Helm patches).
	chartObjectWrite = func(r *http.Request, _ []byte) bool { return r.Method == http.MethodPatch }
)

// Reliability matrix: one cluster of a --contexts fleet unreachable halfway through
func TestFleetUnreachable(t *testing.T) {
	requireEnv(t)
	b, c := startWithWebhook(t), startWithWebhook(t)
	url := chartsourcetest.ServeHTTP(t, chartsourcetest.Charts(t, chartsourcetest.Podinfo()))
	typ := uniq("unreachable.podinfo")
	for _, e := range []*testenv.Env{env, b, c} {
		et := v1alpha1test.Type(typ, v1alpha1test.Chart(v1alpha1.ChartSource{Repository: url, Name: "podinfo"}),
			v1alpha1test.ClusterOnly, v1alpha1test.MultipleInstances, allowLoopbackHTTP)
		if err := e.Client.Create(testCtx(t), et); err != nil {
			t.Fatal(err)
		}
	}
	clusters := map[string]*testenv.Env{"a": env, "b": b, "c": c}

	for _, tt := range []struct {
		row string
		// create: the command cut off is the create; else an update of an extension
		// the fleet created.
		create bool
		// cut matches the request of c at which c becomes unreachable.
		cut func(name, ns string) func(*http.Request, []byte) bool
		// state is c's extension state once cut off; release its release's last status.
		state   v1alpha1.ProvisioningState
		release helmrelease.Status
		// recovered is what the rerun says on c about what it found.
		recovered []string
	}{
		{
			// Helm stored the first revision as pending-install and created nothing.
			row: "create/during-helm", create: true,
			cut:   func(_, ns string) func(*http.Request, []byte) bool { return chartObjectCreate(ns) },
			state: v1alpha1.ProvisioningCreating, release: helmrelease.StatusPendingInstall,
			recovered: []string{"Taking over the lock of extension", "left pending-install by an interrupted command", "was left Creating by an interrupted command"},
		},
		{
			// The spec holds the new setting, the status was never told: the rerun finds
			// the lock of a process that exited and finishes the update.
			row: "update/after-extension-write",
			cut: func(name, _ string) func(*http.Request, []byte) bool {
				return extensionStatusWrite(name, v1alpha1.ProvisioningUpdating)
			},
			state: v1alpha1.ProvisioningSucceeded, release: helmrelease.StatusDeployed,
			recovered: []string{"Taking over the lock of extension", "a process of this machine that has exited"},
		},
		{
			// Helm stored the new revision as pending-upgrade and could neither apply nor
			// roll it back.
			row:   "update/during-helm",
			cut:   func(_, _ string) func(*http.Request, []byte) bool { return chartObjectWrite },
			state: v1alpha1.ProvisioningUpdating, release: helmrelease.StatusPendingUpgrade,
			recovered: []string{"Taking over the lock of extension", "left pending-upgrade by an interrupted command", "was left Updating by an interrupted command"},
		},
		{
			// Helm deployed the new revision; the status saying so never landed.
			row: "update/before-status-write",
			cut: func(name, _ string) func(*http.Request, []byte) bool {
				return extensionStatusWrite(name, v1alpha1.ProvisioningSucceeded)
			},
			state: v1alpha1.ProvisioningUpdating, release: helmrelease.StatusDeployed,
			recovered: []string{"Taking over the lock of extension", "was left Updating by an interrupted command"},
		},
	} {
		t.Run(tt.row, func(t *testing.T) {
			t.Parallel()
			p := newCutProxy(t, c)
			run := fleetRunner(t, threeClusterKubeconfig(t, env, b, p))
			name, ns := uniq("unreach"), uniq("unreach")
			command := []string{"create", name, "--extension-type", typ, "--release-namespace", ns, "--config", "added=1", "--no-wait", "--contexts", "a,b,c"}
			if !tt.create {
				if res := run("create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait", "--contexts", "a,b,c"); res.ExitCode != 0 {
					t.Fatalf("create on the fleet: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
				}
				command = []string{"update", name, "--config", "added=1", "--no-wait", "--contexts", "a,b,c"}
			}

			p.arm(tt.cut(name, ns))
			res := run(command...)
			if cut, log := p.wasCut(); !cut {
				t.Fatalf("cluster c was never cut off; its requests:\n%s", log)
			}
			if res.ExitCode != 1 {
				t.Errorf("%s with c cut off: exit %d, want 1", command[0], res.ExitCode)
			}
			for _, re := range []string{
				`(?m)^a\s+succeeded\s+Succeeded at version 2\.0\.0$`,
				`(?m)^b\s+succeeded\s+Succeeded at version 2\.0\.0$`,
				`(?m)^c\s+failed\s+cannot reach the cluster`,
				`(?m)^\[c\] error: .*(cannot reach the cluster|connection refused)`,
			} {
				if !regexp.MustCompile(re).MatchString(res.Stdout + res.Stderr) {
					t.Errorf("the output lacks %s:\n%s\n%s", re, res.Stdout, res.Stderr)
				}
			}
			if !strings.Contains(res.Stderr, "1 of 3 clusters did not succeed: c (to run it again on those alone: --contexts c)") {
				t.Errorf("stderr does not name the cluster cut off:\n%s", res.Stderr)
			}
			// The reachable clusters are done, not half-done.
			for _, k := range []string{"a", "b"} {
				settledOn(t, k, clusters[k], name, ns, v1alpha1.ProvisioningSucceeded, helmrelease.StatusDeployed, true)
			}
			settledOn(t, "c (cut off)", c, name, ns, tt.state, tt.release, false)

			// Once c is back, the same command again on all three: an update applies the
			// same values again, and a create of an extension that already has this spec
			// and Succeeded does nothing there (as az's create, a PUT), so the whole fleet
			// can be run again, not only the clusters the failure named.
			p.restore(t)
			res = run(command...)
			if res.ExitCode != 0 {
				t.Fatalf("the rerun once c is back: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
			}
			if !regexp.MustCompile(`(?m)^c\s+succeeded\s+Succeeded at version 2\.0\.0$`).MatchString(res.Stdout) {
				t.Errorf("the rerun's table:\n%s", res.Stdout)
			}
			for _, want := range tt.recovered {
				if !regexp.MustCompile(`(?m)^\[c\] .*` + regexp.QuoteMeta(want)).MatchString(res.Stderr) {
					t.Errorf("the rerun does not say on c %q:\n%s", want, res.Stderr)
				}
			}
			if tt.create {
				for _, k := range []string{"a", "b"} {
					if !strings.Contains(res.Stderr, "["+k+"] Extension "+name+" already exists with this spec: nothing to do") {
						t.Errorf("the rerun of create does not say on %s that there was nothing to do:\n%s", k, res.Stderr)
					}
				}
			}
			for k, e := range clusters {
				settledOn(t, k, e, name, ns, v1alpha1.ProvisioningSucceeded, helmrelease.StatusDeployed, true)
			}
		})
	}

	// Issue 15's ten concurrent updates, on the fleet, with c lost halfway: c is cut
	// off at the status write of the first update that reaches it (one always does:
	// the first to try takes the free lock), so the cut does not depend on how many
	// updates win c's lock.
	t.Run("ten-concurrent-updates/c-lost-halfway", func(t *testing.T) {
		t.Parallel()
		p := newCutProxy(t, c)
		run := fleetRunner(t, threeClusterKubeconfig(t, env, b, p))
		name, ns := uniq("tenfleet"), uniq("tenfleet")
		if res := run("create", name, "--extension-type", typ, "--release-namespace", ns, "--config", "original=kept", "--no-wait", "--contexts", "a,b,c"); res.ExitCode != 0 {
			t.Fatalf("create on the fleet: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
		}
		p.arm(extensionStatusWrite(name, v1alpha1.ProvisioningSucceeded))

		const n = 10
		results := make([]testenv.Result, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = run("update", name, "--config", fmt.Sprintf("k%d=v%d", i, i), "--no-wait", "--contexts", "a,b,c")
			}()
		}
		wg.Wait()
		if cut, log := p.wasCut(); !cut {
			t.Fatalf("cluster c was never cut off; its requests:\n%s", log)
		}

		// Each update, on each cluster, landed, was told to retry, or (on c) could not
		// reach it; the settings of a and b hold exactly the keys that landed there.
		want := map[string]map[string]string{"a": {"original": "kept"}, "b": {"original": "kept"}}
		again := map[int]string{}
		row := regexp.MustCompile(`(?m)^([abc])\s+(succeeded|failed)\s+(.*)$`)
		hint := regexp.MustCompile(`to run it again on those alone: --contexts (\S+)\)`)
		for i, res := range results {
			key, value := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
			rows := row.FindAllStringSubmatch(res.Stdout, -1)
			if len(rows) != 3 {
				t.Errorf("update %d: %d result rows, want 3:\n%s\n%s", i, len(rows), res.Stdout, res.Stderr)
				continue
			}
			var failed []string
			for _, r := range rows {
				switch {
				case r[2] == "succeeded":
					if r[1] != "c" {
						want[r[1]][key] = value
					}
				case strings.HasPrefix(r[3], "another operation is in progress"),
					r[1] == "c" && strings.HasPrefix(r[3], "cannot reach the cluster"):
					failed = append(failed, r[1])
				default:
					t.Errorf("update %d on %s neither landed nor was told to retry: %s", i, r[1], r[3])
				}
			}
			if len(failed) == 0 {
				if res.ExitCode != 0 {
					t.Errorf("update %d landed everywhere but exited %d", i, res.ExitCode)
				}
				continue
			}
			m := hint.FindStringSubmatch(res.Stderr)
			if res.ExitCode != 1 || m == nil || m[1] != strings.Join(failed, ",") {
				t.Errorf("update %d failed on %v: exit %d, want 1 and the hint to run it again there:\n%s", i, failed, res.ExitCode, res.Stderr)
				continue
			}
			again[i] = m[1]
		}
		t.Logf("updates to run again, and where: %v", again)
		for _, k := range []string{"a", "b"} {
			settledWith(t, k, clusters[k], name, ns, want[k])
		}

		// Once c is back, each update that did not land everywhere is run again where
		// its hint says, one after the other: each lands, and c is recovered by the
		// first that reaches it.
		p.restore(t)
		for i := range n {
			contexts, ok := again[i]
			if !ok {
				continue
			}
			if res := run("update", name, "--config", fmt.Sprintf("k%d=v%d", i, i), "--no-wait", "--contexts", contexts); res.ExitCode != 0 {
				t.Errorf("update %d again on %s: exit %d\n%s\n%s", i, contexts, res.ExitCode, res.Stdout, res.Stderr)
			}
		}
		all := map[string]string{"original": "kept"}
		for i := range n {
			all[fmt.Sprintf("k%d", i)] = fmt.Sprintf("v%d", i)
		}
		for k, e := range clusters {
			settledWith(t, k, e, name, ns, all)
		}
	})
}

// fleetRunner runs `kubectl ext ARGS...` through the real kubectl with kubeconfig.
func fleetRunner(t *testing.T, kubeconfig string) func(args ...string) testenv.Result {
	return func(args ...string) testenv.Result {
		t.Helper()
		fleet := *env
		fleet.Kubeconfig = kubeconfig
		res, err := fleet.Kubectl(testCtx(t), binDir, append([]string{"ext"}, args...)...)
		if err != nil {
			t.Error(err)
		}
		return res
	}
}

// settledOn checks the extension and its release on one cluster: its state, the last
// revision's status, no other revision pending, and whether the setting the update
// added is in the spec and (once settled) in the deployed values.
func settledOn(t *testing.T, cluster string, e *testenv.Env, name, ns string, state v1alpha1.ProvisioningState, last helmrelease.Status, landed bool) {
	t.Helper()
	got := &v1alpha1.Extension{}
	if err := e.Client.Get(testCtx(t), nameKey(name), got); err != nil {
		t.Errorf("on %s: %v", cluster, err)
		return
	}
	if got.Status.ProvisioningState != state {
		t.Errorf("on %s: extension %s is %s (%+v), want %s", cluster, name, got.Status.ProvisioningState, got.Status.ErrorInfo, state)
	}
	h, err := (&release.Client{Getter: &genericclioptions.ConfigFlags{KubeConfig: &e.Kubeconfig}}).History(name, ns)
	if err != nil || len(h) == 0 {
		t.Errorf("on %s: history of %s/%s: %v", cluster, ns, name, err)
		return
	}
	newest := h[0]
	for _, r := range h {
		if r.Version > newest.Version {
			newest = r
		}
	}
	for _, r := range h {
		// Under a pending newest revision the one it was to replace stays deployed.
		if r != newest && (r.Info.Status.IsPending() || (r.Info.Status == helmrelease.StatusDeployed && !newest.Info.Status.IsPending())) {
			t.Errorf("on %s: an older revision %d is %s", cluster, r.Version, r.Info.Status)
		}
	}
	if newest.Info.Status != last {
		t.Errorf("on %s: the last revision %d is %s, want %s", cluster, newest.Version, newest.Info.Status, last)
	}
	// Cut off or not, the spec holds the change: the Extension write came before the
	// cut. A command cut off cannot record an error, so there is none.
	if got.Spec.ConfigurationSettings["added"] != "1" {
		t.Errorf("on %s: the spec lacks the added setting: %v", cluster, got.Spec.ConfigurationSettings)
	}
	if !landed && got.Status.ErrorInfo != nil {
		t.Errorf("on %s: errorInfo %+v, want none (the cluster was cut off before anything could be recorded)", cluster, got.Status.ErrorInfo)
	}
	if landed {
		if got.Spec.ConfigurationSettings["added"] != "1" || fmt.Sprint(newest.Config["added"]) != "1" {
			t.Errorf("on %s: the added setting: spec %v, release values %v", cluster, got.Spec.ConfigurationSettings, newest.Config)
		}
		if got.Status.Release.Revision != newest.Version {
			t.Errorf("on %s: the status records revision %d, the release is at %d", cluster, got.Status.Release.Revision, newest.Version)
		}
	}
}
