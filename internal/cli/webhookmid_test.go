package cli_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/release"
	"github.com/kubeext/kubectl-ext/internal/testenv"
	"github.com/kubeext/kubectl-ext/internal/testenv/webhooktest"
)

// Reliability matrix: the admission webhook lost in the middle of an operation
//
// TestWebhookLostMidOperation: the webhook serves the Extension write, then stops
// before the command's first status write (the webhook reviews extensions/status
// too). The moment is exact: a proxy in front of the API server stops the webhook
// when it sees that status write, before passing it on. (The failpoints build cannot
// do this: a failpoint holds the command until it is interrupted, and this row is
// about a command that runs on.) The command fails closed, saying the webhook could
// not be reached; it cannot record the failure either, so the Extension is left as
// after a command killed at that step. Once the webhook is back, the same command
// again recovers and says so.
func TestWebhookLostMidOperation(t *testing.T) {
	requireEnv(t)
	// A control plane of its own: the rows stop its webhook.
	e, _ := startRegistered(t)
	stopHook, err := (&webhooktest.Server{}).Setup(e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if stopHook != nil {
			_ = stopHook()
		}
	})
	url := chartsourcetest.ServeHTTP(t, chartsourcetest.Charts(t, chartsourcetest.Podinfo()))
	typ := uniq("mid.podinfo")
	et := v1alpha1test.Type(typ, v1alpha1test.Chart(v1alpha1.ChartSource{Repository: url, Name: "podinfo"}),
		v1alpha1test.ClusterOnly, v1alpha1test.MultipleInstances, allowLoopbackHTTP)
	if err := e.Client.Create(testCtx(t), et); err != nil {
		t.Fatal(err)
	}
	p := newCutProxy(t, e)
	kubeconfig := singleClusterKubeconfig(t, p)
	run := func(args ...string) testenv.Result {
		t.Helper()
		through := *e
		through.Kubeconfig = kubeconfig
		res, err := through.Kubectl(testCtx(t), binDir, append([]string{"ext"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	// The rows share the control plane and its webhook, one after the other.
	for _, tt := range []struct {
		row string
		// create: the command is the create; else an update of an extension created
		// first.
		create bool
		// state is the extension's state left, revision the release's newest (0: none).
		state    v1alpha1.ProvisioningState
		revision int
		// recovered is what the same command again says it recovered.
		recovered string
	}{
		{
			row: "create/after-extension-write", create: true,
			state:     "",
			recovered: "Recovered: extension %s was recorded without a state",
		},
		{
			row:       "update/after-extension-write",
			state:     v1alpha1.ProvisioningSucceeded,
			revision:  1,
			recovered: "Recovered: the spec of generation 2 of extension %s was never applied (status at generation 1); applying it",
		},
	} {
		t.Run(tt.row, func(t *testing.T) {
			name, ns := uniq("mid"), uniq("mid")
			command := []string{"create", name, "--extension-type", typ, "--release-namespace", ns, "--config", "added=1", "--no-wait"}
			if !tt.create {
				if res := run("create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait"); res.ExitCode != 0 {
					t.Fatalf("create: exit %d\n%s", res.ExitCode, res.Stderr)
				}
				command = []string{"update", name, "--config", "added=1", "--no-wait"}
			}
			statusWrite := func(r *http.Request, _ []byte) bool {
				return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/extensions/"+name+"/status")
			}
			// The cut never fires: the matcher stops the webhook, under the proxy's
			// lock, before the status write goes on, and lets it through.
			stopped := false
			p.arm(func(r *http.Request, body []byte) bool {
				if !stopped && statusWrite(r, body) {
					stopped = true
					if err := stopHook(); err != nil {
						t.Errorf("stopping the webhook: %v", err)
					}
					stopHook = nil
				}
				return false
			})
			res := run(command...)
			p.arm(nil)
			if !stopped {
				_, log := p.wasCut()
				t.Fatalf("the command never reached its status write; its requests:\n%s", log)
			}
			t.Logf("with the webhook lost after the Extension write:\n%s", res.Stderr)
			if res.ExitCode != 1 || !strings.Contains(res.Stderr, "could not reach the kubeext admission webhook") ||
				!strings.Contains(res.Stderr, "kubectl ext init --check") || !strings.Contains(res.Stderr, "\nrecording the failure: the API server could not reach the kubeext admission webhook") ||
				strings.Contains(strings.ToLower(res.Stderr), "denied") {
				t.Errorf("%s: exit %d, want 1 and an error saying the webhook could not be reached, not denied, and that the failure could not be recorded:\n%s", command[0], res.ExitCode, res.Stderr)
			}

			// What is left: the spec written, the status as before the command (it could
			// record neither its start nor its failure), the release untouched.
			got := &v1alpha1.Extension{}
			if err := e.Client.Get(testCtx(t), nameKey(name), got); err != nil {
				t.Fatal(err)
			}
			if got.Spec.ConfigurationSettings["added"] != "1" || got.Status.ProvisioningState != tt.state || got.Status.ErrorInfo != nil ||
				got.Status.ObservedGeneration >= got.Generation {
				t.Errorf("left: spec %v, %q %+v, observedGeneration %d of %d; want the setting, %q, no error, the spec unapplied",
					got.Spec.ConfigurationSettings, got.Status.ProvisioningState, got.Status.ErrorInfo, got.Status.ObservedGeneration, got.Generation, tt.state)
			}
			if rev := newestOn(t, e, name, ns); rev != tt.revision {
				t.Errorf("the release's newest revision is %d, want %d", rev, tt.revision)
			}

			// The webhook back, the same command again recovers and lands.
			if stopHook, err = (&webhooktest.Server{}).Setup(e); err != nil {
				t.Fatal(err)
			}
			res = run(command...)
			if res.ExitCode != 0 || !strings.Contains(res.Stderr, fmt.Sprintf(tt.recovered, name)) {
				t.Errorf("%s again with the webhook back: exit %d, want 0 saying %q:\n%s", command[0], res.ExitCode, fmt.Sprintf(tt.recovered, name), res.Stderr)
			}
			settledOn(t, "the cluster", e, name, ns, v1alpha1.ProvisioningSucceeded, helmrelease.StatusDeployed, true)
			if err := e.Client.Get(testCtx(t), nameKey(ns), &corev1.Namespace{}); err != nil {
				t.Errorf("release namespace %s: %v", ns, err)
			}
		})
	}
}

// singleClusterKubeconfig writes a kubeconfig whose one context talks to the cluster
// behind p (the proxy authenticates to it).
func singleClusterKubeconfig(t *testing.T, p *cutProxy) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = p.cluster()
	cfg.AuthInfos["c"] = clientcmdapi.NewAuthInfo()
	cfg.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "c"}
	cfg.CurrentContext = "c"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// newestOn is the newest revision of release ns/name on e, 0 when there is none.
func newestOn(t *testing.T, e *testenv.Env, name, ns string) int {
	t.Helper()
	h, err := (&release.Client{Getter: &genericclioptions.ConfigFlags{KubeConfig: &e.Kubeconfig}}).History(name, ns)
	if err != nil && !strings.Contains(err.Error(), "not found") {
		t.Fatalf("history of %s/%s: %v", ns, name, err)
	}
	newest := 0
	for _, r := range h {
		newest = max(newest, r.Version)
	}
	return newest
}
