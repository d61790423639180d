package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// webhookProcess is the real webhook binary, run as its ServiceAccount would run it.
type webhookProcess struct {
	cmd     *exec.Cmd
	log     *testenv.SyncBuffer
	done    chan struct{}
	err     error
	addr    string // host:port of the HTTPS server
	health  string // host:port of /healthz and /readyz
	metrics string // host:port of /metrics
	certDir string
}

// startWebhook runs bin/webhook with --self-managed-certs and the shipped names,
// serving HTTPS on addr, and waits until /readyz answers.
func startWebhook(t *testing.T, kubeconfig, addr string) *webhookProcess {
	t.Helper()
	p := launchWebhook(t, kubeconfig, addr)
	p.waitReady(t)
	return p
}

// launchWebhook is startWebhook without the wait.
func launchWebhook(t *testing.T, kubeconfig, addr string) *webhookProcess {
	t.Helper()
	p := &webhookProcess{log: &testenv.SyncBuffer{}, done: make(chan struct{}), addr: addr, health: freeAddr(t), metrics: freeAddr(t), certDir: t.TempDir()}
	host, port, _ := net.SplitHostPort(p.addr)
	p.cmd = exec.Command(filepath.Join(binDir, "webhook"),
		"--kubeconfig", kubeconfig,
		"--self-managed-certs",
		"--host", host, "--port", port,
		"--cert-dir", p.certDir,
		"--health-probe-bind-address", p.health,
		"--metrics-bind-address", p.metrics,
		"--shutdown-grace-period", "5s",
	)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("webhook on %s logged:\n%s", p.addr, p.log)
		}
	})
	return p
}

func (p *webhookProcess) waitReady(t *testing.T) {
	t.Helper()
	eventually(t, 60*time.Second, "the webhook on "+p.addr+" becomes ready", func(ctx context.Context) error {
		if p.exited() {
			t.Fatalf("the webhook exited before it was ready (%v):\n%s", p.err, p.log)
		}
		return ready(ctx, p.health)
	})
}

func (p *webhookProcess) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, as the kubelet does, and returns the exit error.
func (p *webhookProcess) stop(t *testing.T) error {
	t.Helper()
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("the webhook did not stop within 30s of SIGTERM")
	}
	return p.err
}

const (
	certNamespace = "kubeext-system"
	certSecret    = "kubeext-webhook-cert"
	webhookConfig = "kubeext-webhook"
	serviceDNS    = "kubeext-webhook.kubeext-system.svc"
)

// TestSelfManagedCertificates installs the shipped webhook manifests with the real
// kubectl, runs the real webhook binary with --self-managed-certs as the shipped
// ServiceAccount (so the shipped RBAC is what it gets), and follows its certificates
// through generation by two replicas at once, injection into the caBundle, a third
// replica, renewal of an expiring serving certificate, replacement of an expiring CA,
// a deleted Secret, and shutdown. The API server calls the webhook through the shipped Service name,
// verifying it with the injected caBundle. The steps build on each other and run in
// order.
func TestSelfManagedCertificates(t *testing.T) {
	requireEnv(t)
	requireBinary(t)
	ctx := t.Context()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	res, err := env.Kubectl(ctx, binDir, "apply", "-k", filepath.Join(root, "manifests", "webhook"))
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("kubectl apply -k manifests/webhook: %v %s", err, res.Stderr)
	}
	t.Cleanup(func() {
		// The configuration would send the package's later writes to a stopped webhook,
		// and a rerun (-count) starts from the shipped, empty Secret and Service. The
		// namespace stays: without a namespace controller it would never go.
		for _, obj := range []client.Object{
			&admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: webhookConfig}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: certSecret, Namespace: certNamespace}},
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kubeext-webhook", Namespace: certNamespace}},
		} {
			if err := env.Client.Delete(context.Background(), obj); err != nil {
				t.Errorf("deleting %T %s: %v", obj, obj.GetName(), err)
			}
		}
	})

	// This cluster runs no pods and no proxy, so the Service cannot select a pod. An
	// ExternalName Service of the same name pointing at localhost takes its place:
	// the API server still resolves the shipped clientConfig (name, namespace, path)
	// and verifies the certificate for kubeext-webhook.kubeext-system.svc. Only the
	// port changes, to the one the first replica listens on.
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kubeext-webhook", Namespace: certNamespace}}
	if err := env.Client.Delete(ctx, svc); err != nil {
		t.Fatal(err)
	}
	svc = &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubeext-webhook", Namespace: certNamespace},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"},
	}
	if err := env.Client.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	setServicePort(t, int32(p))

	// Before the webhook runs, the shipped Secret is empty and the caBundle unset.
	if s := secret(t); len(s.Data) != 0 {
		t.Fatalf("the shipped Secret already holds %d keys", len(s.Data))
	}
	if ca := caBundle(t); len(ca) != 0 {
		t.Fatalf("the shipped configuration already has a caBundle")
	}

	kubeconfig, err := env.KubeconfigFor("system:serviceaccount:kubeext-system:kubeext-webhook",
		"system:serviceaccounts", "system:serviceaccounts:kubeext-system")
	if err != nil {
		t.Fatal(err)
	}
	// Two replicas start at once, as the Deployment's do, racing to fill the Secret.
	first, second := launchWebhook(t, kubeconfig, addr), launchWebhook(t, kubeconfig, freeAddr(t))
	first.waitReady(t)
	second.waitReady(t)

	var generated *corev1.Secret
	t.Run("generates a CA and a serving certificate for the Service", func(t *testing.T) {
		generated = secret(t)
		for _, k := range []string{"ca.crt", "ca.key", "tls.crt", "tls.key"} {
			if len(generated.Data[k]) == 0 {
				t.Fatalf("the Secret has no %s", k)
			}
		}
		leaf := parseCert(t, generated.Data["tls.crt"])
		if !slices.Contains(leaf.DNSNames, serviceDNS) {
			t.Errorf("serving certificate names %v, want %s among them", leaf.DNSNames, serviceDNS)
		}
		if err := leaf.CheckSignatureFrom(parseCert(t, generated.Data["ca.crt"])); err != nil {
			t.Errorf("the serving certificate is not signed by the Secret's CA: %v", err)
		}
	})

	t.Run("injects the CA into the caBundle and serves the certificate from the cert dir", func(t *testing.T) {
		if got := caBundle(t); !bytes.Equal(got, generated.Data["ca.crt"]) {
			t.Errorf("caBundle is not the Secret's CA:\n%s", got)
		}
		for _, k := range []string{"tls.crt", "tls.key"} {
			b, err := os.ReadFile(filepath.Join(first.certDir, k))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, generated.Data[k]) {
				t.Errorf("%s in the cert dir differs from the Secret's", k)
			}
		}
		if err := serves(first, generated); err != nil {
			t.Error(err)
		}
	})

	t.Run("the API server calls the webhook through the Service, trusting the caBundle", func(t *testing.T) {
		deniedThroughWebhook(t, "no-such-type-1")
	})

	t.Run("serves /healthz, refuses anonymous and unauthorized scrapes, and counts the denial in /metrics for a metrics reader", func(t *testing.T) {
		if code, _ := get(t, "http://"+first.health+"/healthz"); code != http.StatusOK {
			t.Errorf("/healthz: %d", code)
		}
		url := "https://" + first.metrics + "/metrics"
		if code, body := scrape(t, url, ""); code != http.StatusUnauthorized {
			t.Errorf("an anonymous scrape: %d %q, want 401", code, body)
		}
		if code, body := scrape(t, url, serviceAccountToken(t, "no-metrics-role")); code != http.StatusForbidden {
			t.Errorf("a scrape by a ServiceAccount without the metrics-reader role: %d %q, want 403", code, body)
		}
		reader := serviceAccountToken(t, "metrics-reader")
		bindMetricsReader(t, "metrics-reader")
		var body string
		eventually(t, 30*time.Second, "the metrics reader is served", func(context.Context) error {
			var code int
			if code, body = scrape(t, url, reader); code != http.StatusOK {
				return fmt.Errorf("/metrics: %d %s", code, body)
			}
			return nil
		})
		for _, series := range []string{
			`kubeext_admission_reviews_total{decision="denied",operation="CREATE",subresource="none"} 1`,
			`kubeext_policy_violations_total{enforcement="deny",rule="EXT-TYPE-001"} 1`,
			`kubeext_admission_review_duration_seconds_count{decision="denied"} 1`,
		} {
			if !strings.Contains(body, series) {
				t.Errorf("/metrics has no %s", series)
			}
		}
	})

	t.Run("puts back a caBundle that someone else changed", func(t *testing.T) {
		other := newRotator().CreateCACert
		ca, err := other(time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		setCABundle(t, ca.CertPEM)
		eventually(t, 30*time.Second, "the caBundle is the Secret's CA again", func(context.Context) error {
			if got := caBundle(t); !bytes.Equal(got, generated.Data["ca.crt"]) {
				return errors.New("caBundle still differs")
			}
			return nil
		})
	})

	t.Run("replicas started together agree on one certificate", func(t *testing.T) {
		if err := serves(second, generated); err != nil {
			t.Error(err)
		}
	})

	third := startWebhook(t, kubeconfig, freeAddr(t))
	t.Run("a replica started later reuses the stored certificate", func(t *testing.T) {
		now := secret(t)
		if !bytes.Equal(now.Data["tls.crt"], generated.Data["tls.crt"]) || !bytes.Equal(now.Data["ca.crt"], generated.Data["ca.crt"]) {
			t.Fatal("starting another replica replaced the certificates")
		}
		if err := serves(third, now); err != nil {
			t.Error(err)
		}
	})

	t.Run("renews a serving certificate near its expiry and keeps the CA", func(t *testing.T) {
		before := secret(t)
		ca := artifactsFrom(t, before)
		crt, key, err := newRotator().CreateCertPEM(ca, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		updateSecret(t, func(s *corev1.Secret) { s.Data["tls.crt"], s.Data["tls.key"] = crt, key })

		eventually(t, 60*time.Second, "every replica serves a renewed certificate", func(context.Context) error {
			now := secret(t)
			if bytes.Equal(now.Data["tls.crt"], crt) {
				return errors.New("the Secret still holds the expiring certificate")
			}
			if left := time.Until(parseCert(t, now.Data["tls.crt"]).NotAfter); left < 180*24*time.Hour {
				return fmt.Errorf("the stored certificate expires in %s", left)
			}
			return errors.Join(serves(first, now), serves(second, now), serves(third, now))
		})
		if now := secret(t); !bytes.Equal(now.Data["ca.crt"], before.Data["ca.crt"]) {
			t.Error("renewing the serving certificate replaced the CA")
		}
		if got := caBundle(t); !bytes.Equal(got, before.Data["ca.crt"]) {
			t.Error("renewing the serving certificate changed the caBundle")
		}
	})

	t.Run("replaces a CA near its expiry and updates the caBundle", func(t *testing.T) {
		r := newRotator()
		ca, err := r.CreateCACert(time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		crt, key, err := r.CreateCertPEM(ca, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		updateSecret(t, func(s *corev1.Secret) {
			s.Data["ca.crt"], s.Data["ca.key"], s.Data["tls.crt"], s.Data["tls.key"] = ca.CertPEM, ca.KeyPEM, crt, key
		})

		eventually(t, 60*time.Second, "a new CA in the Secret and the caBundle, served by every replica", func(context.Context) error {
			now := secret(t)
			if bytes.Equal(now.Data["ca.crt"], ca.CertPEM) {
				return errors.New("the Secret still holds the expiring CA")
			}
			if left := time.Until(parseCert(t, now.Data["ca.crt"]).NotAfter); left < 180*24*time.Hour {
				return fmt.Errorf("the stored CA expires in %s", left)
			}
			if !bytes.Equal(caBundle(t), now.Data["ca.crt"]) {
				return errors.New("the caBundle is not the new CA yet")
			}
			return errors.Join(serves(first, now), serves(second, now), serves(third, now))
		})
		deniedThroughWebhook(t, "no-such-type-2")
	})

	t.Run("a deleted Secret, applied again, is filled again without a restart", func(t *testing.T) {
		before := secret(t)
		if err := env.Client.Delete(ctx, before); err != nil {
			t.Fatal(err)
		}
		// Meanwhile the replicas keep serving the certificate they have.
		if err := serves(first, before); err != nil {
			t.Errorf("after the Secret was deleted: %v", err)
		}
		res, err := env.Kubectl(ctx, binDir, "apply", "-f", filepath.Join(root, "manifests", "webhook", "secret.yaml"))
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("kubectl apply -f manifests/webhook/secret.yaml: %v %s", err, res.Stderr)
		}
		eventually(t, 60*time.Second, "new certificates in the Secret and the caBundle, served by every replica", func(context.Context) error {
			now := secret(t)
			if len(now.Data["ca.crt"]) == 0 {
				return errors.New("the Secret is still empty")
			}
			if !bytes.Equal(caBundle(t), now.Data["ca.crt"]) {
				return errors.New("the caBundle is not the new CA yet")
			}
			return errors.Join(serves(first, now), serves(second, now), serves(third, now))
		})
		deniedThroughWebhook(t, "no-such-type-3")
	})

	t.Run("SIGTERM stops a replica cleanly while the others keep serving", func(t *testing.T) {
		if err := second.stop(t); err != nil {
			t.Fatalf("the webhook exited with %v after SIGTERM:\n%s", err, second.log)
		}
		if !strings.Contains(second.log.String(), "Stopping and waiting for webhooks") {
			t.Errorf("no orderly shutdown in the log:\n%s", second.log)
		}
		deniedThroughWebhook(t, "no-such-type-4")
	})
}

// serves checks that p presents the Secret's serving certificate, verified by the
// Secret's CA for the Service's name, and has the same files in its cert dir.
func serves(p *webhookProcess, s *corev1.Secret) error {
	leaf, err := servedCertificate(p.addr, serviceDNS, s.Data["ca.crt"])
	if err != nil {
		return fmt.Errorf("webhook on %s: %w", p.addr, err)
	}
	want, _ := pem.Decode(s.Data["tls.crt"])
	if want == nil || !bytes.Equal(leaf.Raw, want.Bytes) {
		return fmt.Errorf("webhook on %s serves another certificate than the Secret's", p.addr)
	}
	for _, k := range []string{"tls.crt", "tls.key"} {
		b, err := os.ReadFile(filepath.Join(p.certDir, k))
		if err != nil {
			return err
		}
		if !bytes.Equal(b, s.Data[k]) {
			return fmt.Errorf("%s in %s differs from the Secret's", k, p.certDir)
		}
	}
	return nil
}

// deniedThroughWebhook creates, with the real kubectl, an Extension of a type that
// does not exist: only the webhook, reached over TLS, answers with the rule id.
func deniedThroughWebhook(t *testing.T, name string) {
	t.Helper()
	// Not in t.TempDir(): kubectl splits -f at the commas a subtest's name may bring.
	manifest := filepath.Join(env.Dir(), name+".yaml")
	if err := os.WriteFile(manifest, []byte(`apiVersion: kubeext.dev/v1alpha1
kind: Extension
metadata:
  name: `+name+`
spec:
  extensionType: example.no-such-type
  scope:
    cluster:
      releaseNamespace: demo
`), 0o600); err != nil {
		t.Fatal(err)
	}
	// The API server learns a new caBundle through its informer, so for a moment after
	// a CA changes it may still verify with the old one: a failure to call the webhook
	// is retried for a while, any other answer is final.
	want := `admission webhook "extensions.kubeext.dev" denied the request`
	eventually(t, 30*time.Second, "the webhook denies an unknown type", func(ctx context.Context) error {
		res, err := env.Kubectl(ctx, binDir, "create", "-f", manifest)
		if err != nil {
			return err
		}
		if strings.Contains(res.Stderr, "failed calling webhook") {
			t.Logf("retrying: %s", strings.TrimSpace(res.Stderr))
			return errors.New(res.Stderr)
		}
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, want) || !strings.Contains(res.Stderr, "[EXT-TYPE-001]") {
			t.Fatalf("kubectl create of an unknown type: exit %d, want a denial by the webhook with [EXT-TYPE-001]:\n%s%s",
				res.ExitCode, res.Stdout, res.Stderr)
		}
		return nil
	})
}

func secret(t *testing.T) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{}
	if err := env.Client.Get(context.Background(), types.NamespacedName{Namespace: certNamespace, Name: certSecret}, s); err != nil {
		t.Fatal(err)
	}
	return s
}

func updateSecret(t *testing.T, mutate func(*corev1.Secret)) {
	t.Helper()
	s := secret(t)
	mutate(s)
	if err := env.Client.Update(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func webhookConfiguration(t *testing.T) *admissionregistrationv1.ValidatingWebhookConfiguration {
	t.Helper()
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: webhookConfig}, vwc); err != nil {
		t.Fatal(err)
	}
	if len(vwc.Webhooks) != 1 || vwc.Webhooks[0].ClientConfig.Service == nil {
		t.Fatalf("the shipped configuration should call one webhook through a Service: %+v", vwc.Webhooks)
	}
	return vwc
}

func caBundle(t *testing.T) []byte {
	t.Helper()
	return webhookConfiguration(t).Webhooks[0].ClientConfig.CABundle
}

func setCABundle(t *testing.T, ca []byte) {
	t.Helper()
	vwc := webhookConfiguration(t)
	vwc.Webhooks[0].ClientConfig.CABundle = ca
	if err := env.Client.Update(context.Background(), vwc); err != nil {
		t.Fatal(err)
	}
}

func setServicePort(t *testing.T, port int32) {
	t.Helper()
	vwc := webhookConfiguration(t)
	vwc.Webhooks[0].ClientConfig.Service.Port = &port
	if err := env.Client.Update(context.Background(), vwc); err != nil {
		t.Fatal(err)
	}
}

// newRotator describes certificates exactly as the webhook makes them (the shipped
// names), so that only the validity differs in the ones the tests plant.
func newRotator() *rotator.CertRotator {
	return newCertRotator(NewOptions(), nil)
}

func artifactsFrom(t *testing.T, s *corev1.Secret) *rotator.KeyPairArtifacts {
	t.Helper()
	block, _ := pem.Decode(s.Data["ca.key"])
	if block == nil {
		t.Fatal("ca.key holds no PEM block")
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &rotator.KeyPairArtifacts{Cert: parseCert(t, s.Data["ca.crt"]), CertPEM: s.Data["ca.crt"], Key: key, KeyPEM: s.Data["ca.key"]}
}

func parseCert(t *testing.T, pemBytes []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// scrape GETs the secure metrics endpoint with token as bearer ("" for none). The
// endpoint's certificate is controller-runtime's self-signed one, so it is not
// verified here; what is under test is who gets the metrics.
func scrape(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the metrics server's self-signed certificate; authentication is under test
		ForceAttemptHTTP2: true,
	}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// serviceAccountToken creates ServiceAccount name in the webhook's namespace and
// returns a token the API server issued for it (TokenRequest), as a scraper's pod gets.
func serviceAccountToken(t *testing.T, name string) string {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: certNamespace}}
	if err := env.Client.Create(t.Context(), sa); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}
	if err := env.Client.SubResource("token").Create(t.Context(), sa, tr); err != nil {
		t.Fatalf("requesting a token for %s: %v", name, err)
	}
	return tr.Status.Token
}

// bindMetricsReader binds the shipped kubeext-webhook-metrics-reader ClusterRole to
// ServiceAccount name, as an operator binds Prometheus'.
func bindMetricsReader(t *testing.T, name string) {
	t.Helper()
	b := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test-" + name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kubeext-webhook-metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: certNamespace}},
	}
	if err := env.Client.Create(t.Context(), b); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), b) })
}
