// Package webhooktest serves the shipped admission webhook in-process for a test
// package's control plane (testenv.Shared), registered with the API server under a
// name of its own, so end-to-end tests run with the policies enforced.
//
// It is a package of its own, not part of testenv, because internal/webhook's own
// tests import testenv: testenv importing internal/webhook would be an import cycle.
package webhooktest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr/funcr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"

	"github.com/kubeext/kubectl-ext/internal/testenv"
	"github.com/kubeext/kubectl-ext/internal/webhook"
)

// NameSuffix is added to the shipped ValidatingWebhookConfiguration's name, so a test
// that applies the shipped manifests (or runs `kubectl ext init --with-webhook`)
// neither patches nor finds the registration under test.
const NameSuffix = "-under-test"

// Registration returns the shipped ValidatingWebhookConfiguration, renamed with
// NameSuffix, for testenv.Options.ValidatingWebhooks: the rules that ship, pointed at
// the in-process server.
func Registration() (*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	vwc, err := testenv.ShippedWebhookConfiguration()
	if err != nil {
		return nil, err
	}
	vwc.Name += NameSuffix
	return vwc, nil
}

// Server is the webhook served in-process by webhook.Serve. Its Setup is a
// testenv.Shared Setup:
//
//	var hook = &webhooktest.Server{}
//	var shared = &testenv.Shared{Setup: hook.Setup}
//
// with Registration in shared.Options.ValidatingWebhooks. A Server serves one
// control plane at a time.
type Server struct {
	// Log collects the webhook's log lines (verbosity 1: every decision).
	Log testenv.SyncBuffer
	// PolicyFile is the webhook's --config, "{}" (the defaults) when Setup returns;
	// tests rewrite it to change enforcement, and the webhook reloads it within
	// 100ms.
	PolicyFile string
	// HealthAddr serves /healthz and /readyz.
	HealthAddr string
	// Delay, when set before Setup, makes the webhook slow: a proxy on the address the
	// API server calls holds each review for Delay before the webhook sees it (or until
	// the API server hangs up). Longer than the registration's timeoutSeconds (5 s as
	// shipped), the API server gives up on every review and, with failurePolicy Fail,
	// refuses the write; shorter, writes are only slow.
	Delay time.Duration

	// held counts the reviews the delaying proxy held for the whole Delay and passed on.
	held atomic.Int64
}

// Held is the number of reviews the delaying proxy (Delay) held for the whole Delay
// and passed on to the webhook, so a test can tell that its writes were slowed.
func (s *Server) Held() int64 { return s.held.Load() }

// Setup starts the webhook against e where the API server expects it
// (e.WebhookServing) and waits until it is ready; the returned stop shuts it down
// and reports how it ended.
func (s *Server) Setup(e *testenv.Env) (stop func() error, err error) {
	s.PolicyFile = filepath.Join(e.Dir(), "policy.yaml")
	if err := os.WriteFile(s.PolicyFile, []byte("{}\n"), 0o600); err != nil {
		return nil, err
	}
	if s.HealthAddr, err = testenv.FreeAddr(); err != nil {
		return nil, err
	}
	host, port, certDir := e.WebhookServing()
	var stopDelay func()
	if s.Delay > 0 {
		// The webhook serves on a port of its own, behind the delaying proxy.
		if stopDelay, err = delayProxy(e, s.Delay, net.JoinHostPort(host, strconv.Itoa(port)), &port, &s.held); err != nil {
			return nil, err
		}
	}
	o := webhook.NewOptions()
	o.Host, o.Port, o.CertDir = host, port, certDir
	o.ConfigFile = s.PolicyFile
	// Short intervals, so a test's policy rewrite or API server restart with another
	// emulated version is seen at once instead of after the production defaults.
	o.ConfigReload = 100 * time.Millisecond
	o.VersionRefresh = 200 * time.Millisecond
	o.MetricsAddr = "0"
	o.HealthAddr = s.HealthAddr
	// Longer than a review's own bound (the API server's 5 s timeout), so a review the
	// API server still has in flight at teardown drains instead of failing the package
	// on a loaded machine; internal/webhook tests the grace period itself.
	o.ShutdownGracePeriod = 30 * time.Second

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := funcr.New(func(prefix, args string) { fmt.Fprintln(&s.Log, prefix, args) }, funcr.Options{Verbosity: 1})
	go func() { done <- webhook.Serve(ctx, o, e.Config, log) }()
	if err := waitReady("http://"+s.HealthAddr+"/readyz", done); err != nil {
		cancel()
		if stopDelay != nil {
			stopDelay()
		}
		return nil, fmt.Errorf("%w\n%s", err, s.Log.String())
	}
	return func() error {
		if stopDelay != nil {
			stopDelay()
		}
		cancel()
		if err := <-done; err != nil {
			return fmt.Errorf("webhook: %w", err)
		}
		return nil
	}, nil
}

// waitReady polls /readyz until the webhook serves (or fails to start).
func waitReady(readyz string, done <-chan error) error {
	const limit = 60 * time.Second
	deadline := time.Now().Add(limit)
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
	return fmt.Errorf("the webhook was not ready within %s", limit)
}

// delayProxy serves on addr, where the API server calls the webhook, with the serving
// certificate the API server trusts, and passes each request on to the webhook after
// delay (counting it in held), or drops it when the API server hangs up first. It sets *port to a free port
// of the same host for the webhook itself. The returned stop closes the proxy and the
// reviews it holds.
func delayProxy(e *testenv.Env, delay time.Duration, addr string, port *int, held *atomic.Int64) (stop func(), err error) {
	host, _, certDir := e.WebhookServing()
	free, err := testenv.FreeAddr()
	if err != nil {
		return nil, err
	}
	_, p, err := net.SplitHostPort(free)
	if err != nil {
		return nil, err
	}
	if *port, err = strconv.Atoi(p); err != nil {
		return nil, err
	}
	target := &url.URL{Scheme: "https", Host: net.JoinHostPort(host, p)}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(e.WebhookCABundle()) {
		return nil, fmt.Errorf("the webhook's CA bundle holds no certificate")
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening where the API server calls the webhook: %w", err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
			held.Add(1)
			proxy.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	})}
	go func() {
		_ = srv.ServeTLS(l, filepath.Join(certDir, "tls.crt"), filepath.Join(certDir, "tls.key"))
	}()
	return func() { _ = srv.Close() }, nil
}
