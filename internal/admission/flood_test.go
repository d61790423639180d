package admission_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// TestNamespaceAdminFloodsTheWebhook is issue 11's namespace admin (full rights in one
// namespace, nothing else) trying to wear the webhook down. Extensions are
// cluster-scoped, so the API server never sends the webhook a review on its behalf;
// what it can do is reach the webhook's port from a pod of its namespace (when the
// optional NetworkPolicy is not applied) and post reviews of its own, forged as
// system:masters and as large as the webhook reads, and flood the API server with
// writes in its namespace. Under both floods the webhook stays fail-closed: a cluster
// admin's write that a rule refuses is never admitted, a write the rules allow goes
// through, and afterwards the Extension holds exactly what the cluster admin wrote.
func TestNamespaceAdminFloodsTheWebhook(t *testing.T) {
	requireEnv(t)
	ctx := testCtx(t)
	currentMinor(t, "1.36")
	typ := newType(t)
	ext := extension(typ, pinned("1.4.0"))
	if err := env.Client.Create(ctx, ext); err != nil {
		t.Fatal(err)
	}
	installedAt(t, ext, "1.4.0", "1.36")
	before := ext.Spec.DeepCopy()

	admin := namespaceAdmin(t)
	host, port, _ := env.WebhookServing()
	url := "https://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/validate-kubeext-dev-v1alpha1-extension"
	forged := forgedReview(t, typ)
	// Over controller-runtime's 7 MiB request limit: read up to the limit, then refused.
	oversized := append(bytes.Clone(forged[:len(forged)-2]), []byte(`,"padding":"`+strings.Repeat("x", 8<<20)+`"}}`)...)

	flood, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var verdicts, forgedAllowed, tooLarge, apiWrites atomic.Int64
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		// The attacker has no CA bundle and needs none: the webhook asks for no client
		// certificate, and a verdict is all it could get back.
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the attacker's client
		MaxIdleConnsPerHost: 64,
	}}
	post := func(body []byte) (int, *admissionv1.AdmissionReview, error) {
		req, err := http.NewRequestWithContext(flood, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		out := &admissionv1.AdmissionReview{}
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			return resp.StatusCode, nil, err
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("%w: %.200s", err, raw)
		}
		return resp.StatusCode, out, nil
	}
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for flood.Err() == nil {
				body := forged
				if i == 0 {
					body = oversized
				}
				code, review, err := post(body)
				switch {
				case err != nil:
					continue // the flood's own timeouts, and the end of the flood
				case i == 0:
					if review.Response != nil && review.Response.Result != nil && strings.Contains(review.Response.Result.Message, "too large") {
						tooLarge.Add(1)
					} else {
						t.Errorf("an oversized review got %d %+v, want it refused as too large", code, review.Response)
					}
				case review.Response != nil:
					verdicts.Add(1)
					if review.Response.Allowed {
						forgedAllowed.Add(1)
					} else if r := review.Response.Result; r == nil || !strings.Contains(r.Message, "[EXT-") {
						t.Errorf("a forged review got %+v; want a verdict of the rules (it is judged like any other)", r)
					}
				}
			}
		}()
	}
	blob := strings.Repeat("z", 256<<10)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for flood.Err() == nil {
				s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: admin.ns, Name: uniq("flood")},
					StringData: map[string]string{"blob": blob}}
				if err := admin.c.Create(flood, s); err == nil {
					apiWrites.Add(1)
					_ = admin.c.Delete(flood, s)
				}
			}
		}()
	}
	defer func() { stop(); wg.Wait() }()
	eventually(t, "the flood under way", func() error {
		if verdicts.Load() < 20 || apiWrites.Load() < 5 {
			return fmt.Errorf("%d verdicts, %d API writes so far", verdicts.Load(), apiWrites.Load())
		}
		return nil
	})

	key := client.ObjectKeyFromObject(ext)
	patch := func(version string) error {
		return env.Client.Patch(ctx, &v1alpha1.Extension{ObjectMeta: metav1.ObjectMeta{Name: ext.Name}},
			client.RawPatch(types.MergePatchType, []byte(`{"spec":{"version":"`+version+`"}}`)))
	}
	// A rule refuses the next minor (EXT-UPGRADE-001). Under the flood it may be refused
	// by the rule or, if no slot freed up in time, because the webhook could not be
	// called (failurePolicy Fail): never admitted.
	for range 5 {
		err := patch("1.5.0")
		if err == nil {
			t.Fatal("the move to 1.5.0 was admitted under the flood; want it refused")
		}
		if !strings.Contains(err.Error(), "denied the request") && !strings.Contains(err.Error(), "failed calling webhook") {
			t.Fatalf("the move to 1.5.0: %v; want a denial, or the webhook's failure", err)
		}
	}
	// A patch release the rules allow goes through, retried as kubectl ext retries a
	// webhook that could not be reached.
	var err error
	for attempt := 1; attempt <= 10; attempt++ {
		if err = patch("1.4.9"); err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
			t.Logf("the allowed write went through on attempt %d", attempt)
			break
		}
	}
	if err != nil {
		t.Fatalf("the move to 1.4.9, which the rules allow, under the flood: %v", err)
	}
	stop()
	wg.Wait()

	got := &v1alpha1.Extension{}
	if err := env.Client.Get(ctx, key, got); err != nil {
		t.Fatal(err)
	}
	want := before.DeepCopy()
	want.Version = "1.4.9"
	if gotJSON, wantJSON := mustJSON(t, got.Spec), mustJSON(t, want); gotJSON != wantJSON {
		t.Errorf("after the flood the spec is\n%s\nwant only the cluster admin's change:\n%s", gotJSON, wantJSON)
	}
	// The forged reviews were judged like any other (the claimed system:masters makes
	// no difference to the rules), and judging them wrote nothing: there is no
	// Extension of that name.
	if err := env.Client.Get(ctx, client.ObjectKey{Name: forgedName}, &v1alpha1.Extension{}); !apierrors.IsNotFound(err) {
		t.Errorf("the forged review's Extension: %v; want none", err)
	}
	t.Logf("flood: %d forged verdicts (%d allowed), %d oversized reviews refused, %d Secret writes by the namespace admin",
		verdicts.Load(), forgedAllowed.Load(), tooLarge.Load(), apiWrites.Load())
	if tooLarge.Load() == 0 {
		t.Error("no oversized review was answered; want each refused as too large")
	}
}

const forgedName = "forged-by-the-namespace-admin"

// forgedReview is the AdmissionReview a namespace admin posts to the webhook itself:
// the create of an Extension, claimed to come from system:masters, with about 1 MiB
// of settings for the webhook to evaluate.
func forgedReview(t *testing.T, typ string) []byte {
	t.Helper()
	e := extension(typ, named(forgedName))
	e.Spec.ConfigurationSettings = map[string]string{}
	for i := range 16000 {
		e.Spec.ConfigurationSettings[fmt.Sprintf("key%06d", i)] = strings.Repeat("v", 50)
	}
	e.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("Extension"))
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID(rand.String(8)),
			Kind:      metav1.GroupVersionKind{Group: v1alpha1.Group, Version: "v1alpha1", Kind: "Extension"},
			Resource:  metav1.GroupVersionResource{Group: v1alpha1.Group, Version: "v1alpha1", Resource: "extensions"},
			Name:      forgedName,
			Operation: admissionv1.Create,
			UserInfo:  authenticationv1.UserInfo{Username: "system:admin", Groups: []string{"system:masters"}},
		},
	}
	review.Request.Object.Raw = []byte(mustJSON(t, e))
	return []byte(mustJSON(t, review))
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// nsAdmin is a user (client certificate) with every right in one namespace.
type nsAdmin struct {
	ns string
	c  client.Client
}

func namespaceAdmin(t *testing.T) *nsAdmin {
	t.Helper()
	ctx := testCtx(t)
	ns, user := uniq("flood"), uniq("ns-admin")
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "all"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: user},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "all"},
			Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}},
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	kc, err := env.KubeconfigFor(user)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 1000, 1000 // a flood, not a well-behaved client
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the namespace admin's binding in force", func() error {
		return c.List(ctx, &corev1.SecretList{}, client.InNamespace(ns))
	})
	// Its rights end at the namespace: Extensions are cluster-scoped.
	err = c.Create(ctx, extension("any", named(uniq("ns-admin-ext"))))
	if !apierrors.IsForbidden(err) {
		t.Fatalf("the namespace admin creates an Extension: %v; want Forbidden", err)
	}
	return &nsAdmin{ns: ns, c: c}
}
