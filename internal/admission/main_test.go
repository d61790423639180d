package admission_test

import (
	"context"
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

// The package's one control plane, started by the first test that needs it, with the
// shipped webhook registered and served in-process by webhook.Serve.
var (
	shared = &testenv.Shared{Setup: serveWebhook}
	env    *testenv.Env
	// policyFile is the webhook's --config; tests rewrite it to change enforcement.
	policyFile string
	// webhookLog collects the webhook's log lines.
	webhookLog = &testenv.SyncBuffer{}
	healthAddr string
)

func TestMain(m *testing.M) {
	vwc, err := testenv.ShippedWebhookConfiguration()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Registered under another name, so that applying the shipped manifests
	// (TestManifestsApplyOnServer) does not patch the test's registration.
	vwc.Name += "-under-test"
	shared.Options = testenv.Options{
		EmulatedVersion:    "1.36",
		ValidatingWebhooks: []*admissionregistrationv1.ValidatingWebhookConfiguration{vwc},
	}
	os.Exit(testenv.Run(m, shared))
}

// requireEnv is the first line of every test that talks to the API server: it starts
// the control plane and the webhook on first use, and skips the test under -short.
func requireEnv(t *testing.T) {
	t.Helper()
	env = shared.Env(t)
}

// serveWebhook starts the webhook against the new control plane and waits until it is
// ready; the teardown stops it.
func serveWebhook(e *testenv.Env) (func() error, error) {
	policyFile = filepath.Join(e.Dir(), "policy.yaml")
	if err := os.WriteFile(policyFile, []byte("{}\n"), 0o600); err != nil {
		return nil, err
	}
	var err error
	if healthAddr, err = testenv.FreeAddr(); err != nil {
		return nil, err
	}
	host, port, certDir := e.WebhookServing()
	o := webhook.NewOptions()
	o.Host, o.Port, o.CertDir = host, port, certDir
	o.ConfigFile = policyFile
	o.ConfigReload = 100 * time.Millisecond
	o.VersionRefresh = 200 * time.Millisecond
	o.MetricsAddr = "0"
	o.HealthAddr = healthAddr
	// Longer than a review's own bound (the API server's 5 s timeout), so a review the API
	// server still has in flight at teardown drains instead of failing the package on a
	// loaded machine; internal/webhook tests the grace period itself.
	o.ShutdownGracePeriod = 30 * time.Second

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := funcr.New(func(prefix, args string) { fmt.Fprintln(webhookLog, prefix, args) }, funcr.Options{Verbosity: 1})
	go func() { done <- webhook.Serve(ctx, o, e.Config, log) }()
	stop := func() error {
		cancel()
		if err := <-done; err != nil {
			return fmt.Errorf("webhook: %w", err)
		}
		return nil
	}
	if err := waitReady("http://"+healthAddr+"/readyz", done); err != nil {
		cancel()
		return nil, fmt.Errorf("%w\n%s", err, webhookLog.String())
	}
	return stop, nil
}

// waitReady polls /readyz until the webhook serves (or fails to start).
func waitReady(readyz string, done <-chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return fmt.Errorf("the webhook stopped before it was ready: %w", err)
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
