package cli_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeext/kubectl-ext/internal/cli"
)

const refusal = "would be sent to every cluster of the fleet"

// unreachableFleet writes a kubeconfig with contexts one and two, whose servers
// refuse connections at once.
func unreachableFleet(t *testing.T) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	for _, n := range []string{"one", "two"} {
		kc.Clusters[n] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
		kc.AuthInfos[n] = &clientcmdapi.AuthInfo{Token: n + "-token"}
		kc.Contexts[n] = &clientcmdapi.Context{Cluster: n, AuthInfo: n}
	}
	kc.CurrentContext = "one"
	path := filepath.Join(t.TempDir(), "fleet.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFleetRefusesSharedCredentials: kubectl's credential flags override every
// context's user, so with several contexts fleet mode refuses them before it talks to
// any cluster; with one context they keep working.
func TestFleetRefusesSharedCredentials(t *testing.T) {
	kubeconfig := unreachableFleet(t)
	for _, tt := range []struct {
		name    string
		args    []string
		refused string // the flags named in the refusal; "" means not refused
	}{
		{"a token to two contexts", []string{"--contexts", "one,two", "--token", "t"}, "--token"},
		{"a client certificate and key to all contexts", []string{"--all-contexts", "--client-certificate", "c.crt", "--client-key", "c.key"},
			"--client-certificate, --client-key"},
		{"no server verification for two contexts", []string{"--contexts", "one,two", "--insecure-skip-tls-verify"}, "--insecure-skip-tls-verify"},
		{"a token to one context", []string{"--contexts", "one", "--token", "t"}, ""},
		// kubectl's --username and --password are gone and the plugin has none.
		{"a user name", []string{"--contexts", "one,two", "--username", "u"}, "unknown flag: --username"},
		{"two contexts with their own credentials", []string{"--contexts", "one,two"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			streams, _, out, errOut := genericiooptions.NewTestIOStreams()
			args := append([]string{"list", "--kubeconfig", kubeconfig, "--request-timeout", "5s"}, tt.args...)
			code := cli.Execute(cli.NewRootCommand(streams), streams, args)
			if code == 0 {
				t.Fatalf("list on unreachable clusters succeeded: %s", out)
			}
			if tt.refused == "" {
				// It went on to the clusters, which are unreachable.
				if strings.Contains(errOut.String(), refusal) || !strings.Contains(out.String()+errOut.String(), "one") {
					t.Errorf("refused or never ran:\nstdout: %s\nstderr: %s", out, errOut)
				}
				return
			}
			want := tt.refused + " " + refusal
			if strings.HasPrefix(tt.refused, "unknown flag") {
				want = tt.refused
			}
			if !strings.Contains(errOut.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, errOut)
			}
			if strings.Contains(out.String(), "CONTEXT") {
				t.Errorf("a cluster was tried before the refusal:\n%s", out)
			}
		})
	}
}

// TestFleetRefusesSharedCredentialsKubectl: the same refusal through the real kubectl.
func TestFleetRefusesSharedCredentialsKubectl(t *testing.T) {
	requireEnv(t)
	fleet := *env
	fleet.Kubeconfig = unreachableFleet(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := fleet.Kubectl(ctx, binDir, "ext", "list", "--contexts", "one,two", "--token", "secret-token")
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "--token "+refusal+" (one, two)") {
		t.Fatalf("exit %d, want 1 and the refusal\nstdout: %s\nstderr: %s", res.ExitCode, res.Stdout, res.Stderr)
	}
	if strings.Contains(res.Stdout+res.Stderr, "secret-token") {
		t.Error("the token was printed")
	}
}
