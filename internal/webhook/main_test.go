package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// One control plane for the package, started by the first test that needs it; the
// tests in it run one after another, each registering (and removing) its own
// ValidatingWebhookConfiguration. The webhook binary is built on first use too.
var (
	shared = &testenv.Shared{}
	bins   = &testenv.Binaries{Names: []string{"webhook"}}
	env    *testenv.Env
	binDir string
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, shared, bins)) }

// requireEnv is the first line of every test that talks to the API server: it starts
// the control plane on first use, and skips the test under -short.
func requireEnv(t *testing.T) {
	t.Helper()
	env = shared.Env(t)
}

// requireBinary builds the webhook binary on first use, for the tests that run it as
// a process; under -short they skip.
func requireBinary(t *testing.T) {
	t.Helper()
	testenv.RequireIntegration(t)
	binDir = bins.Dir(t)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// eventually polls cond every 100ms until it holds, failing the test with what after
// timeout. cond's error is the reason it does not hold yet, reported on timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(context.Context) error) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		last = cond(ctx)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("%s: not within %s: %v", what, timeout, last)
	}
}

// ready reports whether the health endpoint at addr answers /readyz with 200.
func ready(ctx context.Context, addr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/readyz: %s", resp.Status)
	}
	return nil
}

// servedCertificate connects to addr as the API server does, verifying the serving
// certificate against caPEM for serverName, and returns it.
func servedCertificate(addr, serverName string, caPEM []byte) (*x509.Certificate, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no certificate in the CA bundle")
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr,
		&tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}
