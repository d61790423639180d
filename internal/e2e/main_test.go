//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/kubeext/kubectl-ext/internal/testenv"
	"github.com/kubeext/kubectl-ext/internal/testenv/webhooktest"
)

// The package's one Ready control plane, with the shipped webhook served in-process
// as on a real cluster, and its kubectl-ext binary: each made by the first test that
// needs it. Two nodes, so that a test can label one without taking the other's pods
// away.
var (
	hook   = &webhooktest.Server{}
	shared = &testenv.Shared{Setup: hook.Setup, Options: testenv.Options{Ready: true, Nodes: 2}}
	bins   = &testenv.Binaries{Names: []string{"kubectl-ext"}}
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
	// Registered under another name than the shipped one, as in internal/cli's tests.
	vwc, err := webhooktest.Registration()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	shared.Options.ValidatingWebhooks = []*admissionregistrationv1.ValidatingWebhookConfiguration{vwc}
	return testenv.Run(m, shared, bins)
}
