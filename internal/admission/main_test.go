package admission_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/kubeext/kubectl-ext/internal/testenv"
	"github.com/kubeext/kubectl-ext/internal/webhook"
)

var (
	env *testenv.Env
	// policyFile is the webhook's --config; tests rewrite it to change enforcement.
	policyFile string
	// webhookLog collects the webhook's log lines.
	webhookLog = &testenv.SyncBuffer{}
	healthAddr string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	if testenv.FuzzWorker() {
		return m.Run()
	}
	vwc, err := testenv.ShippedWebhookConfiguration()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Registered under another name, so that applying the shipped manifests
	// (TestManifestsApplyOnServer) does not patch the test's registration.
	vwc.Name += "-under-test"
	e, err := testenv.Start(testenv.Options{
		EmulatedVersion:    "1.36",
		ValidatingWebhooks: []*admissionregistrationv1.ValidatingWebhookConfiguration{vwc},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env = e
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()

	policyFile = filepath.Join(env.Dir(), "policy.yaml")
	if err := os.WriteFile(policyFile, []byte("{}\n"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	healthAddr, err = testenv.FreeAddr()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	host, port, certDir := env.WebhookServing()
	o := webhook.NewOptions()
	o.Host, o.Port, o.CertDir = host, port, certDir
	o.ConfigFile = policyFile
	o.ConfigReload = 100 * time.Millisecond
	o.VersionRefresh = 200 * time.Millisecond
	o.MetricsAddr = "0"
	o.HealthAddr = healthAddr
	o.ShutdownGracePeriod = 5 * time.Second

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := funcr.New(func(prefix, args string) { fmt.Fprintln(webhookLog, prefix, args) }, funcr.Options{Verbosity: 1})
	go func() { done <- webhook.Serve(ctx, o, env.Config, log) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintf(os.Stderr, "webhook: %v\n", err)
		}
	}()
	if err := waitReady("http://"+healthAddr+"/readyz", done); err != nil {
		fmt.Fprintln(os.Stderr, err)
		fmt.Fprintln(os.Stderr, webhookLog.String())
		return 1
	}
	return m.Run()
}

// waitReady polls /readyz until the webhook serves (or fails to start).
func waitReady(readyz string, done <-chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return fmt.Errorf("the webhook stopped before it was ready: %v", err)
		default:
		}
		if resp, err := c.Get(readyz); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the webhook was not ready within 60s")
}
