package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubeext/kubectl-ext/internal/testenv"
	"github.com/kubeext/kubectl-ext/internal/testenv/webhooktest"
)

// The package's one control plane and its kubectl-ext binary, each made by the first
// test that needs it, so the pure tests (goldens, argument parsing, validation) run
// without either and `go test -short` needs neither. The control plane runs the
// shipped webhook, served in-process, so every test meets the policies a real cluster
// enforces.
var (
	// hook is the webhook under test: its Log holds every decision, its PolicyFile is
	// the webhook's --config.
	hook   = &webhooktest.Server{}
	shared = &testenv.Shared{Setup: hook.Setup}
	bins   = &testenv.Binaries{Names: []string{"kubectl-ext"}}
	env    *testenv.Env
	// binDir holds the kubectl-ext binary built for this package's tests; it goes first
	// on PATH so the real kubectl discovers the plugin.
	binDir string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	// Charts downloaded by the commands under test are cached in a scratch directory
	// (the processes started inherit it).
	cleanup, err := testenv.ScratchChartCache()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cleanup()
	// Registered under another name than the shipped one, so `kubectl ext init
	// --with-webhook` and the manifests the tests apply neither patch nor find it.
	vwc, err := webhooktest.Registration()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	shared.Options.ValidatingWebhooks = []*admissionregistrationv1.ValidatingWebhookConfiguration{vwc}
	return testenv.Run(m, shared, bins, fpBins)
}

// startWithWebhook starts another control plane, for a test that needs a second
// cluster, with the shipped webhook registered and served as on the package's own;
// both stop when t ends.
func startWithWebhook(t *testing.T) *testenv.Env {
	t.Helper()
	e, _ := startRegistered(t)
	stop, err := (&webhooktest.Server{}).Setup(e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("second cluster's %v", err)
		}
	})
	return e
}

// startRegistered starts another control plane with the shipped webhook registered
// (returned) but not served: the test serves it, and stops it, as it needs. The
// control plane stops when t ends.
func startRegistered(t *testing.T) (*testenv.Env, *admissionregistrationv1.ValidatingWebhookConfiguration) {
	t.Helper()
	vwc, err := webhooktest.Registration()
	if err != nil {
		t.Fatal(err)
	}
	e, err := testenv.Start(testenv.Options{ValidatingWebhooks: []*admissionregistrationv1.ValidatingWebhookConfiguration{vwc}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Errorf("stopping the second control plane: %v", err)
		}
	})
	return e, vwc
}

// requireEnv is the first line of every test that talks to a cluster or runs the real
// kubectl: it starts the control plane and builds the plugin on first use, and skips
// the test under -short (`make test-unit`).
func requireEnv(t *testing.T) {
	t.Helper()
	env = shared.Env(t)
	binDir = bins.Dir(t)
}

// setPolicy replaces the webhook's configuration (hook.PolicyFile) and waits until
// inForce holds, i.e. the webhook reloaded it. The file is renamed into place, so the
// webhook never reads half of it.
func setPolicy(t *testing.T, yaml string, inForce func(context.Context) error) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(hook.PolicyFile), "policy.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, hook.PolicyFile); err != nil {
		t.Fatal(err)
	}
	var last error
	err := wait.PollUntilContextTimeout(testCtx(t), 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = inForce(ctx)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("the webhook did not take up the configuration %q: %v", yaml, last)
	}
}
