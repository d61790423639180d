package admission_test

import (
	"fmt"
	"os"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/kubeext/kubectl-ext/internal/testenv"
	"github.com/kubeext/kubectl-ext/internal/testenv/webhooktest"
)

// The package's one control plane, started by the first test that needs it, with the
// shipped webhook registered and served in-process (webhooktest).
var (
	hook   = &webhooktest.Server{}
	shared = &testenv.Shared{Setup: serveWebhook}
	env    *testenv.Env
	// policyFile is the webhook's --config; tests rewrite it to change enforcement.
	policyFile string
	// webhookLog collects the webhook's log lines.
	webhookLog = &hook.Log
)

func TestMain(m *testing.M) {
	// Registered under another name, so that applying the shipped manifests
	// (TestManifestsApplyOnServer) does not patch the test's registration.
	vwc, err := webhooktest.Registration()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
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
	stop, err := hook.Setup(e)
	policyFile = hook.PolicyFile
	return stop, err
}
