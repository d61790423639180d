// Command localcluster runs the project's throwaway control plane (the one tests use)
// until it is interrupted, for `make demo` and for trying the plugin by hand:
//
//	go run ./hack/localcluster --kubeconfig /tmp/kubeext-demo.kubeconfig
//
// With --ready it also runs kube-controller-manager, kube-scheduler and kwok's
// simulated nodes (built by `make cluster-assets`), so workloads really become Ready.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kubeext/kubectl-ext/internal/testenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	// An own flag set: controller-runtime registers --kubeconfig on the global one.
	fs := flag.NewFlagSet("localcluster", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "where to write the kubeconfig of the local cluster (required)")
	emulated := fs.String("emulated-version", "", "Kubernetes minor the API server emulates, e.g. 1.36")
	verbose := fs.Bool("v", false, "show the control plane's logs")
	ready := fs.Bool("ready", false, "also run kube-controller-manager, kube-scheduler and kwok's simulated nodes, so pods become Ready (make cluster-assets builds them)")
	nodes := fs.Int("nodes", 1, "how many simulated nodes a --ready cluster has")
	webhookEnv := fs.String("webhook-env", "", "register the shipped ValidatingWebhookConfiguration, pointed at a local server, and write WEBHOOK_HOST, WEBHOOK_PORT and WEBHOOK_CERT_DIR for it to this file")
	_ = fs.Parse(os.Args[1:])
	if *kubeconfig == "" {
		return fmt.Errorf("--kubeconfig is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	opts := testenv.Options{EmulatedVersion: *emulated, Ready: *ready, Nodes: *nodes}
	if *webhookEnv != "" {
		vwc, err := testenv.ShippedWebhookConfiguration()
		if err != nil {
			return err
		}
		opts.ValidatingWebhooks = append(opts.ValidatingWebhooks, vwc)
	}
	if *verbose {
		opts.Output = os.Stderr
	}
	what := "etcd and kube-apiserver"
	if *ready {
		what += fmt.Sprintf(", kube-controller-manager, kube-scheduler and kwok with %d node(s)", *nodes)
	}
	fmt.Fprintf(os.Stderr, "localcluster: starting %s\n", what)
	began := time.Now()
	env, err := testenv.Start(opts)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(os.Stderr, "localcluster: stopping the control plane")
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "localcluster: %v\n", err)
		}
	}()
	if *webhookEnv != "" {
		host, port, dir := env.WebhookServing()
		data := fmt.Sprintf("WEBHOOK_HOST=%s\nWEBHOOK_PORT=%d\nWEBHOOK_CERT_DIR=%s\n", host, port, dir)
		if err := os.WriteFile(*webhookEnv, []byte(data), 0o600); err != nil {
			return err
		}
	}
	kc, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		return err
	}
	// Written last and atomically: the file's appearance tells callers the cluster is ready.
	tmp := *kubeconfig + ".tmp"
	if err := os.WriteFile(tmp, kc, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, *kubeconfig); err != nil {
		return err
	}
	defer os.Remove(*kubeconfig)
	fmt.Fprintf(os.Stderr, "localcluster: ready at %s in %.1fs (kubeconfig %s); Ctrl-C stops it\n",
		env.Config.Host, time.Since(began).Seconds(), *kubeconfig)
	<-ctx.Done()
	return nil
}
