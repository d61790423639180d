package manager_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// TestHealthAndSecureMetrics: the manager serves /healthz and /readyz over plain HTTP
// for the kubelet's probes, and its metrics over HTTPS to authenticated and
// authorized clients only: no token is refused (401), a ServiceAccount without the
// nonResourceURL grant is forbidden (403), one with it reads the controller's metrics.
func TestHealthAndSecureMetrics(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	health, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	h.startManager("--health-probe-bind-address", health, "--metrics-bind-address", metrics)

	plain := &http.Client{Timeout: 5 * time.Second}
	for _, path := range []string{"/healthz", "/readyz"} {
		h.eventually(path+" to answer 200", 60*time.Second, func() (bool, string) {
			code, body := get(plain, "http://"+health+path, "")
			return code == http.StatusOK, body
		})
	}

	// The serving certificate is self-signed (the Deployment's Service is scraped the
	// same way by Prometheus with its own CA configuration).
	secure := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // a loopback test of authentication, not of the certificate
	url := "https://" + metrics + "/metrics"
	h.eventually("the metrics endpoint to refuse an anonymous request", 60*time.Second, func() (bool, string) {
		code, body := get(secure, url, "")
		return code == http.StatusUnauthorized, body
	})

	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ns := "default"
	reader, stranger := uniq("metrics-reader"), uniq("metrics-stranger")
	for _, sa := range []string{reader, stranger} {
		if _, err := cs.CoreV1().ServiceAccounts(ns).Create(testCtx(t), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: reader},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}
	if _, err := cs.RbacV1().ClusterRoles().Create(testCtx(t), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: reader},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: reader}}}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(testCtx(t), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	token := func(sa string) string {
		tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(testCtx(t), sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("a token for %s: %v", sa, err)
		}
		return tr.Status.Token
	}
	strangerToken, readerToken := token(stranger), token(reader)
	if code, body := get(secure, url, strangerToken); code != http.StatusForbidden {
		t.Errorf("a ServiceAccount without the grant got %d, want 403: %s", code, body)
	}
	h.eventually("the metrics to be served to the reader", 30*time.Second, func() (bool, string) {
		code, body := get(secure, url, readerToken)
		return code == http.StatusOK && strings.Contains(body, "controller_runtime_reconcile_total"), body
	})
}

// get returns the status code and (a short prefix of) the body; 0 when the request
// failed.
func get(c *http.Client, url, bearer string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(b)
}
