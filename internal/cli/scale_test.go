package cli_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/cli"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// TestRequestsPerCommandAreFlat: the API requests that list, show and a judged create
// (--dry-run=client, which evaluates the policies) make are the same with 1,000
// extensions in the cluster as with 10: no command reads anything per extension, and
// none asks for discovery of the kinds it uses. Each command runs once to warm the
// discovery and chart caches, as a user's earlier commands do, and is counted the
// second time. The cluster is one of its own, without a webhook: the requests are
// counted by a proxy in front of it, which only the plugin talks to.
func TestRequestsPerCommandAreFlat(t *testing.T) {
	testenv.RequireIntegration(t)
	binDir := bins.Dir(t)
	start := time.Now()
	cluster, err := testenv.Start(testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cluster.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	proxy := newCountingProxy(t, cluster.Config)
	kubeconfig := proxy.kubeconfig(t)
	cacheDir := t.TempDir()

	url := chartsourcetest.ServeHTTP(t, chartsourcetest.Charts(t, chartsourcetest.Podinfo()))
	et := v1alpha1test.Type("scale.podinfo", v1alpha1test.Chart(v1alpha1.ChartSource{Repository: url, Name: "podinfo"}),
		v1alpha1test.DefaultReleaseNamespace("podinfo"), v1alpha1test.MultipleInstances)
	allowLoopbackHTTP(et)
	if err := cluster.Client.Create(testCtx(t), et); err != nil {
		t.Fatal(err)
	}

	t.Logf("control plane started in %v", time.Since(start))
	commands := []struct {
		name string
		args []string
		// want is the exact count where it is known whatever the cluster holds; 0
		// checks only that the count does not grow.
		want int
	}{
		{"list", []string{"list"}, 1},
		{"list -o yaml", []string{"list", "-o", "yaml"}, 1},
		// The extension and its Events, read at once.
		{"show", []string{"show", "scale-1"}, 2},
		{"show -o yaml", []string{"show", "scale-1", "-o", "yaml"}, 2},
		{"create --dry-run=client", []string{"create", "scale-new", "--extension-type", et.Name, "--dry-run=client"}, 0},
	}
	counted := map[int][][]string{}
	have := 0
	for _, n := range []int{10, 1000} {
		start := time.Now()
		createExtensions(t, cluster.Client, et.Name, have, n)
		t.Logf("%d extensions recorded in %v", n-have, time.Since(start))
		have = n
		for _, c := range commands {
			args := append(slices.Clone(c.args), "--kubeconfig", kubeconfig, "--cache-dir", cacheDir)
			runPlugin(t, binDir, args...)
			proxy.reset()
			runPlugin(t, binDir, args...)
			counted[n] = append(counted[n], proxy.requests())
		}
		t.Logf("the commands ran in %v", time.Since(start))
	}
	for i, c := range commands {
		few, many := counted[10][i], counted[1000][i]
		t.Logf("%s: %d requests with 10 extensions, %d with 1,000:\n  %s", c.name, len(few), len(many), strings.Join(many, "\n  "))
		if len(many) != len(few) {
			t.Errorf("%s makes %d API requests with 1,000 extensions, %d with 10:\nwith 10:\n  %s\nwith 1,000:\n  %s",
				c.name, len(many), len(few), strings.Join(few, "\n  "), strings.Join(many, "\n  "))
		}
		if c.want != 0 && len(many) != c.want {
			t.Errorf("%s makes %d API requests, want %d:\n  %s", c.name, len(many), c.want, strings.Join(many, "\n  "))
		}
	}
}

// createExtensions records the extensions scale-(from+1) to scale-to of type typ, with
// a few writers at once.
func createExtensions(t *testing.T, c client.Client, typ string, from, to int) {
	t.Helper()
	g, ctx := errgroup.WithContext(testCtx(t))
	g.SetLimit(8)
	for i := from + 1; i <= to; i++ {
		g.Go(func() error {
			name := fmt.Sprintf("scale-%d", i)
			return c.Create(ctx, v1alpha1test.Extension(name, typ, v1alpha1test.ReleaseNamespace("ns-"+name)))
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("recording extensions: %v", err)
	}
}

// runPlugin runs the plugin's binary directly (kubectl, which only finds it, makes no
// request) and fails the test unless it exits 0.
func runPlugin(t *testing.T, binDir string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(testCtx(t), filepath.Join(binDir, "kubectl-ext"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl ext %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
}

// countingProxy forwards plain HTTP requests to an API server with the credentials of
// a config, and records each one's method and path.
type countingProxy struct {
	srv *httptest.Server
	mu  sync.Mutex
	log []string
}

func newCountingProxy(t *testing.T, cfg *rest.Config) *countingProxy {
	t.Helper()
	target, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	transport, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = transport
	p := &countingProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.log = append(p.log, r.Method+" "+r.URL.RequestURI())
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *countingProxy) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = nil
}

func (p *countingProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.log)
}

// kubeconfig writes a kubeconfig whose one context talks to the proxy.
func (p *countingProxy) kubeconfig(t *testing.T) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["proxy"] = &clientcmdapi.Cluster{Server: p.srv.URL}
	kc.AuthInfos["proxy"] = &clientcmdapi.AuthInfo{}
	kc.Contexts["proxy"] = &clientcmdapi.Context{Cluster: "proxy", AuthInfo: "proxy"}
	kc.CurrentContext = "proxy"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKnownKindsAreServed: the kinds the plugin maps without discovery are served
// under the resource and with the scope it maps them to.
func TestKnownKindsAreServed(t *testing.T) {
	requireEnv(t)
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	served := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	known, err := cli.KnownRESTMappings()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range known {
		t.Run(k.GroupVersionKind.String(), func(t *testing.T) {
			want, err := served.RESTMapping(k.GroupVersionKind.GroupKind(), k.GroupVersionKind.Version)
			if err != nil {
				t.Fatal(err)
			}
			if k.Resource != want.Resource || k.Scope.Name() != want.Scope.Name() {
				t.Errorf("mapped to %v (%s), served as %v (%s)", k.Resource, k.Scope.Name(), want.Resource, want.Scope.Name())
			}
		})
	}
}
