package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// drainLabel marks the Extensions that the drain test's webhook registration reviews,
// so that the registration never intercepts another test's writes.
const drainLabel = "kubeext.dev/test-drain"

// TestShutdownDrainsInFlightReviews registers the webhook (in process) with the API
// server, holds one review in flight, and shuts the server down around it: the server
// stops accepting connections, the held review is still answered, and Serve returns
// cleanly. A review held past the shutdown grace period does not hold Serve longer.
func TestShutdownDrainsInFlightReviews(t *testing.T) {
	requireEnv(t)
	host, port, certDir := env.WebhookServing()
	addr := net.JoinHostPort(host, fmt.Sprint(port))
	register(t, addr)

	// The hook holds a review only while armed; it reports the hold on entered.
	var armed atomic.Bool
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	testHookReview = func(context.Context) {
		if armed.CompareAndSwap(true, false) {
			entered <- struct{}{}
			<-release
		}
	}
	t.Cleanup(func() { testHookReview = nil })

	tests := []struct {
		name  string
		grace time.Duration
		// released: the held review is let go while the server drains; otherwise it is
		// held until Serve has returned.
		released bool
		// wantWrite is in the error of the write whose review was held, wantServe in
		// Serve's error ("" for none).
		wantWrite, wantServe string
	}{
		{
			name:      "a review in flight when shutdown begins is answered",
			grace:     20 * time.Second,
			released:  true,
			wantWrite: "[EXT-TYPE-001]",
		},
		{
			name:      "a review held past the grace period does not hold shutdown",
			grace:     time.Second,
			wantServe: "grace period",
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := NewOptions()
			o.Host, o.Port, o.CertDir = host, port, certDir
			o.MetricsAddr = "0"
			o.HealthAddr = freeAddr(t)
			o.ShutdownGracePeriod = tt.grace
			log := &testenv.SyncBuffer{}
			logger := funcr.New(func(prefix, args string) { fmt.Fprintln(log, prefix, args) }, funcr.Options{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			served := make(chan error, 1)
			go func() { served <- Serve(ctx, o, env.Config, logger) }()
			defer func() {
				if t.Failed() {
					t.Logf("webhook log:\n%s", log)
				}
			}()

			eventually(t, 60*time.Second, "the webhook is ready", func(ctx context.Context) error { return ready(ctx, o.HealthAddr) })
			// Until the API server has picked up the registration, writes bypass it.
			eventually(t, 30*time.Second, "the API server calls the webhook", func(ctx context.Context) error {
				err := env.Client.Create(ctx, drainExtension(fmt.Sprintf("probe-%d", i)), client.DryRunAll)
				if err == nil {
					return fmt.Errorf("a dry-run write was allowed, not reviewed")
				}
				if !strings.Contains(err.Error(), "[EXT-TYPE-001]") {
					return fmt.Errorf("a dry-run write was not reviewed: %w", err)
				}
				return nil
			})

			armed.Store(true)
			wrote := make(chan error, 1)
			go func() { wrote <- env.Client.Create(context.Background(), drainExtension(fmt.Sprintf("held-%d", i))) }()
			select {
			case <-entered:
			case err := <-wrote:
				t.Fatalf("the write returned before its review was held: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatal("no review reached the webhook")
			}
			start := time.Now()
			cancel()

			if tt.released {
				eventually(t, 10*time.Second, "the server stops accepting connections", func(context.Context) error {
					c, err := net.DialTimeout("tcp", addr, time.Second)
					if err != nil {
						return nil
					}
					c.Close()
					return errors.New("a new connection was accepted")
				})
				select {
				case err := <-served:
					t.Fatalf("Serve returned (%v) while a review was in flight", err)
				default:
				}
				release <- struct{}{}
				if err := <-wrote; err == nil || !strings.Contains(err.Error(), tt.wantWrite) {
					t.Errorf("the held write ended with %v, want the webhook's answer %q", err, tt.wantWrite)
				}
			}

			select {
			case err := <-served:
				switch {
				case tt.wantServe == "" && err != nil:
					t.Errorf("Serve: %v", err)
				case tt.wantServe != "" && (err == nil || !strings.Contains(err.Error(), tt.wantServe)):
					t.Errorf("Serve returned %v, want an error about the %s", err, tt.wantServe)
				}
			case <-time.After(tt.grace + 30*time.Second):
				t.Fatalf("Serve had not returned %s after shutdown began", time.Since(start))
			}
			if !tt.released {
				release <- struct{}{} // Serve is gone; let the abandoned handler finish.
				<-wrote
			}
		})
	}
}

// register points a copy of the shipped webhook configuration at addr (with envtest's
// serving certificate), reviewing only Extensions labelled drainLabel.
func register(t *testing.T, addr string) {
	t.Helper()
	vwc, err := testenv.ShippedWebhookConfiguration()
	if err != nil {
		t.Fatal(err)
	}
	vwc.Name = "kubeext-webhook-drain"
	for i := range vwc.Webhooks {
		w := &vwc.Webhooks[i]
		w.ClientConfig = admissionregistrationv1.WebhookClientConfig{
			URL:      ptr.To("https://" + addr + ValidatePath),
			CABundle: env.WebhookCABundle(),
		}
		w.ObjectSelector = &metav1.LabelSelector{MatchLabels: map[string]string{drainLabel: "true"}}
		// The held review must outlive the steps around it on a slow machine.
		w.TimeoutSeconds = ptr.To[int32](30)
	}
	if err := env.Client.Create(t.Context(), vwc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Client.Delete(context.Background(), vwc); err != nil {
			t.Errorf("deleting the webhook configuration: %v", err)
		}
	})
}

// drainExtension is an Extension of a type that does not exist: the webhook denies it
// with EXT-TYPE-001, which tells its answer from any failure to get one.
func drainExtension(name string) *v1alpha1.Extension {
	e := v1alpha1test.Extension(name, "example.no-such-type", v1alpha1test.ReleaseNamespace("demo"))
	e.Labels = map[string]string{drainLabel: "true"}
	return e
}
