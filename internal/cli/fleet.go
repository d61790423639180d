package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeext/kubectl-ext/internal/fleet"
)

// fleetFlags run one operation on several clusters of one kubeconfig; internal/fleet
// runs it.
type fleetFlags struct {
	Contexts []string
	All      bool
	Parallel int
}

func (ff *fleetFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&ff.Contexts, "contexts", nil, "Run on each of these kubeconfig contexts (comma-separated) instead of the current one.")
	fs.BoolVar(&ff.All, "all-contexts", false, "Run on every context of the kubeconfig.")
	fs.IntVar(&ff.Parallel, "parallel", 4, "With --contexts or --all-contexts: how many clusters at once.")
}

func (ff *fleetFlags) enabled() bool { return ff.All || len(ff.Contexts) > 0 }

func (ff *fleetFlags) validate() error {
	if ff.All && len(ff.Contexts) > 0 {
		return fmt.Errorf("give --contexts or --all-contexts, not both")
	}
	if ff.Parallel < 1 {
		return fmt.Errorf("--parallel must be at least 1")
	}
	return nil
}

// resolve lists the contexts to run on, checking that each exists in the kubeconfig
// and that no credential flag would go to several of them.
func (ff *fleetFlags) resolve(f *factory) ([]string, error) {
	if f.flags.Context != nil && *f.flags.Context != "" {
		return nil, fmt.Errorf("--context names one cluster; with --contexts or --all-contexts leave it out")
	}
	raw, err := f.flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	contexts, err := fleet.Contexts(raw, ff.Contexts, ff.All)
	if err != nil {
		return nil, err
	}
	if err := fleet.RefuseSharedCredentials(contexts, credentialFlags(f.flags)); err != nil {
		return nil, err
	}
	return contexts, nil
}

// credentialFlags names the kubectl flags given that carry credentials or switch off
// the server's verification. (kubectl's --username and --password are gone, and
// the plugin does not register them: they are refused as unknown flags.)
func credentialFlags(b *genericclioptions.ConfigFlags) []string {
	var given []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"--token", b.BearerToken != nil && *b.BearerToken != ""},
		{"--client-certificate", b.CertFile != nil && *b.CertFile != ""},
		{"--client-key", b.KeyFile != nil && *b.KeyFile != ""},
		{"--insecure-skip-tls-verify", b.Insecure != nil && *b.Insecure},
	} {
		if f.set {
			given = append(given, f.name)
		}
	}
	return given
}

// forContext returns a factory for one context, with the user's other kubectl flags.
func (f *factory) forContext(name string) *factory {
	b := f.flags
	n := newConfigFlags()
	n.KubeConfig, n.CacheDir = b.KubeConfig, b.CacheDir
	n.Context = &name
	n.Impersonate, n.ImpersonateUID, n.ImpersonateGroup = b.Impersonate, b.ImpersonateUID, b.ImpersonateGroup
	n.Insecure, n.TLSServerName, n.CAFile, n.CertFile, n.KeyFile = b.Insecure, b.TLSServerName, b.CAFile, b.CertFile, b.KeyFile
	n.BearerToken, n.Timeout, n.DisableCompression = b.BearerToken, b.Timeout, b.DisableCompression
	n.ImpersonateUserExtra, n.ProxyURL = b.ImpersonateUserExtra, b.ProxyURL
	n.Namespace = b.Namespace
	return &factory{flags: n, charts: f.charts}
}

// run runs op on the fleet when --contexts or --all-contexts is given, and otherwise
// once on the cluster of the current context, writing to out and errOut directly.
func (ff *fleetFlags) run(ctx context.Context, f *factory, out, errOut io.Writer, op clusterOp) error {
	if !ff.enabled() {
		_, err := op(ctx, f, out, errOut)
		return err
	}
	contexts, err := ff.resolve(f)
	if err != nil {
		return err
	}
	return runFleet(ctx, f, contexts, ff.Parallel, out, errOut, op)
}

// clusterOp runs one operation on one cluster, writing to out and errOut, and
// returns a one-line summary of what it did.
type clusterOp func(ctx context.Context, f *factory, out, errOut io.Writer) (string, error)

// runFleet runs op on every context with fleet.Run, each with its own factory.
func runFleet(ctx context.Context, f *factory, contexts []string, parallel int, out, errOut io.Writer, op clusterOp) error {
	raw, err := f.flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return fmt.Errorf("reading the kubeconfig: %w", err)
	}
	return fleet.Run(ctx, contexts, parallel, out, errOut, func(ctx context.Context, name string, out, errOut io.Writer) (string, error) {
		summary, err := op(ctx, f.forContext(name), out, errOut)
		return summary, lostCluster(err, serverOf(raw, name))
	})
}

// serverOf is the API server address of a kubeconfig context, "" when it has none.
func serverOf(raw clientcmdapi.Config, context string) string {
	c, ok := raw.Contexts[context]
	if !ok || c == nil {
		return ""
	}
	if cl, ok := raw.Clusters[c.Cluster]; ok && cl != nil {
		return strings.TrimSuffix(cl.Server, "/")
	}
	return ""
}

// networkFailures are what Go's HTTP client and net package say when a connection
// could not be made or was lost.
var networkFailures = []string{"dial tcp", "connection refused", "connection reset", "i/o timeout", "no route to host",
	"no such host", "unexpected EOF", "TLS handshake timeout", "http2: client connection lost"}

// lostCluster says first that a cluster could not be reached when a step failed for
// that reason. Where the plugin talks to the cluster itself it says so already
// ("cannot reach the cluster ..."), but a cluster lost halfway fails in whatever step
// was talking to it, often inside Helm, whose error names that step and is often
// flattened into text: the fleet's table, which cuts a message, would show the step
// and cut off the cause. It is judged from the text: a network failure on a request
// to this cluster's API server (a chart repository that cannot be reached is not the
// cluster).
func lostCluster(err error, server string) error {
	if err == nil || server == "" {
		return err
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "cannot reach the cluster") || !strings.Contains(msg, server+"/") {
		return err
	}
	for _, f := range networkFailures {
		if strings.Contains(msg, f) {
			return fmt.Errorf("cannot reach the cluster at %s: it was lost while the operation ran (check that its API server is up, then run the command again there: it recovers what was left): %w", server, err)
		}
	}
	return err
}
