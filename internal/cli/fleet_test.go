package cli_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// fleetKubeconfig writes a kubeconfig with contexts "one" and "two" for two real
// control planes and "down" for an address nothing listens on.
func fleetKubeconfig(t *testing.T, one, two *testenv.Env) string {
	t.Helper()
	merged := clientcmdapi.NewConfig()
	for name, e := range map[string]*testenv.Env{"one": one, "two": two} {
		cfg, err := clientcmd.LoadFromFile(e.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		cur := cfg.Contexts[cfg.CurrentContext]
		merged.Clusters[name] = cfg.Clusters[cur.Cluster]
		merged.AuthInfos[name] = cfg.AuthInfos[cur.AuthInfo]
		merged.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	merged.Clusters["down"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1", InsecureSkipTLSVerify: true}
	merged.AuthInfos["down"] = merged.AuthInfos["one"]
	merged.Contexts["down"] = &clientcmdapi.Context{Cluster: "down", AuthInfo: "down"}
	merged.CurrentContext = "one"
	path := filepath.Join(t.TempDir(), "fleet.kubeconfig")
	if err := clientcmd.WriteToFile(*merged, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFleet: the same operation on two local control planes and one unreachable
// cluster: the reachable ones succeed, the failure is reported per cluster, and the
// exit code is non-zero.
func TestFleet(t *testing.T) {
	requireEnv(t)
	two := startWithWebhook(t)

	url := chartsourcetest.ServeHTTP(t, chartsourcetest.Charts(t, chartsourcetest.Podinfo()))
	typ := uniq("fleet.podinfo")
	for _, e := range []*testenv.Env{env, two} {
		et := v1alpha1test.Type(typ, v1alpha1test.Chart(v1alpha1.ChartSource{Repository: url, Name: "podinfo"}),
			v1alpha1test.ClusterOnly, v1alpha1test.MultipleInstances, allowLoopbackHTTP)
		if err := e.Client.Create(testCtx(t), et); err != nil {
			t.Fatal(err)
		}
	}
	fleet := *env
	fleet.Kubeconfig = fleetKubeconfig(t, env, two)
	run := func(args ...string) testenv.Result {
		t.Helper()
		res, err := fleet.Kubectl(testCtx(t), binDir, append([]string{"ext"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	name, ns := uniq("fleet"), uniq("fleet")

	res := run("create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait", "--contexts", "one,two,down")
	if res.ExitCode != 1 {
		t.Fatalf("create on a fleet with an unreachable cluster: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	for _, re := range []string{
		`(?m)^CONTEXT\s+RESULT\s+MESSAGE$`,
		`(?m)^one\s+succeeded\s+Succeeded at version 2\.0\.0$`,
		`(?m)^two\s+succeeded\s+Succeeded at version 2\.0\.0$`,
		`(?m)^down\s+failed\s+.*cannot reach the cluster`,
		`(?m)^\[one\] extension\.kubeext\.dev/` + name + ` created$`,
	} {
		if !regexp.MustCompile(re).MatchString(res.Stdout) {
			t.Errorf("create's output lacks %s:\n%s", re, res.Stdout)
		}
	}
	if !strings.Contains(res.Stderr, "1 of 3 clusters did not succeed: down") {
		t.Errorf("stderr does not name the failed cluster:\n%s", res.Stderr)
	}
	for _, e := range []*testenv.Env{env, two} {
		got := &v1alpha1.Extension{}
		if err := e.Client.Get(testCtx(t), nameKey(name), got); err != nil || got.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded {
			t.Errorf("on %s: %v %+v", e.Config.Host, err, got.Status)
		}
	}

	res = run("list", "--contexts", "one,two")
	if res.ExitCode != 0 {
		t.Fatalf("list: exit %d %s", res.ExitCode, res.Stderr)
	}
	for _, c := range []string{"one", "two"} {
		if !regexp.MustCompile(`(?m)^` + c + `\s+` + name + `\s+` + regexp.QuoteMeta(typ) + `\s+cluster\s+` + ns + `\s+2\.0\.0`).MatchString(res.Stdout) {
			t.Errorf("list lacks %s's row:\n%s", c, res.Stdout)
		}
	}

	res = run("upgrade", "--all", "--dry-run", "--all-contexts")
	if res.ExitCode != 1 || !regexp.MustCompile(`(?m)^down\s+failed`).MatchString(res.Stdout) ||
		!regexp.MustCompile(`(?m)^one\s+succeeded`).MatchString(res.Stdout) {
		t.Errorf("upgrade --all-contexts: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}

	res = run("delete", name, "--yes", "--no-wait", "--contexts", "one,two")
	if res.ExitCode != 0 || strings.Count(res.Stdout, "extension.kubeext.dev/"+name+" deleted") != 2 {
		t.Errorf("delete on two clusters: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "--contexts", "one,nowhere"}, `context "nowhere" is not in the kubeconfig`},
		{[]string{"list", "--contexts", "one", "--all-contexts"}, "not both"},
		{[]string{"list", "--contexts", "one", "--context", "two"}, "leave it out"},
	} {
		if res := run(tt.args...); res.ExitCode != 1 || !strings.Contains(res.Stderr, tt.want) {
			t.Errorf("%v: exit %d %q, want %q", tt.args, res.ExitCode, res.Stderr, tt.want)
		}
	}
}
