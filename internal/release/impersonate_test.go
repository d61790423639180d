package release_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeext/kubectl-ext/internal/release"
)

const installSA = "system:serviceaccount:podinfo:kubeext-podinfo"

// fakeAPI is an API server that answers discovery and the self reviews, and records
// the Impersonate-User header of every request.
type fakeAPI struct {
	mu           sync.Mutex
	impersonated map[string]string // path -> Impersonate-User
	reviewed     *authorizationv1.ResourceAttributes
	allowed      bool
	// allowAfter: with it, reviews are allowed from the allowAfter-th on.
	allowAfter int
	reviews    int
	user       string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.impersonated[r.URL.Path] = r.Header.Get("Impersonate-User")
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	var body any
	switch r.URL.Path {
	case "/api":
		body = metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}}
	case "/apis":
		body = metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
	case "/api/v1":
		body = metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: "v1",
			APIResources: []metav1.APIResource{{Name: "configmaps", Kind: "ConfigMap", Namespaced: true, Verbs: []string{"get"}}}}
	case "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
		// client-go may send protobuf or JSON; the scheme's deserializer reads both.
		data, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(data, nil, nil)
		review, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
		if err != nil || !ok {
			http.Error(w, fmt.Sprintf("not a SelfSubjectAccessReview: %v", err), http.StatusBadRequest)
			return
		}
		review.APIVersion, review.Kind = "authorization.k8s.io/v1", "SelfSubjectAccessReview"
		f.mu.Lock()
		f.reviewed = review.Spec.ResourceAttributes
		f.reviews++
		review.Status.Allowed = f.allowed || (f.allowAfter > 0 && f.reviews >= f.allowAfter)
		f.mu.Unlock()
		body = review
	case "/apis/authentication.k8s.io/v1/selfsubjectreviews":
		body = &authenticationv1.SelfSubjectReview{TypeMeta: metav1.TypeMeta{APIVersion: "authentication.k8s.io/v1", Kind: "SelfSubjectReview"}, Status: authenticationv1.SelfSubjectReviewStatus{
			UserInfo: authenticationv1.UserInfo{Username: f.user}}}
	default:
		http.NotFound(w, r)
		return
	}
	_ = json.NewEncoder(w).Encode(body)
}

// start serves f and returns the caller's getter: a kubeconfig for it, with --as
// when as is set, and namespace "default".
func (f *fakeAPI) start(t *testing.T, as string) *genericclioptions.ConfigFlags {
	t.Helper()
	f.impersonated = map[string]string{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: srv.URL}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u", Namespace: "default"}
	kc.CurrentContext = "c"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &path
	flags.Impersonate = &as
	flags.BearerToken = nil // an empty --token would override the kubeconfig's
	return flags
}

func TestImpersonateConfig(t *testing.T) {
	for _, tc := range []struct {
		name, as string
	}{
		{name: "caller as themselves"},
		// The caller's own --as is replaced: the API server checks the authenticated
		// caller's right to impersonate, it never chains impersonation.
		{name: "caller with --as", as: "bob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := (&fakeAPI{}).start(t, tc.as)
			g := release.Impersonate(base, installSA)

			cfg, err := g.ToRESTConfig()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Impersonate.UserName != installSA || len(cfg.Impersonate.Groups) != 0 || cfg.Impersonate.UID != "" {
				t.Errorf("Impersonate = %+v, want user %s alone", cfg.Impersonate, installSA)
			}
			// (clientcmd hands credentials only to TLS servers, so the fake's plain
			// HTTP leaves no token to compare; the server is the caller's.)
			if !strings.HasPrefix(cfg.Host, "http://127.0.0.1:") {
				t.Errorf("host %q is not the caller's server", cfg.Host)
			}
			loaded, err := g.ToRawKubeConfigLoader().ClientConfig()
			if err != nil {
				t.Fatal(err)
			}
			if loaded.Impersonate.UserName != installSA {
				t.Errorf("the loader's config impersonates %q, want %s", loaded.Impersonate.UserName, installSA)
			}
			if ns, _, err := g.ToRawKubeConfigLoader().Namespace(); err != nil || ns != "default" {
				t.Errorf("namespace = %q, %v; want the kubeconfig's default", ns, err)
			}

			// The wrapped getter keeps the caller's identity.
			own, err := base.ToRESTConfig()
			if err != nil {
				t.Fatal(err)
			}
			if own.Impersonate.UserName != tc.as {
				t.Errorf("the base getter now impersonates %q, want %q", own.Impersonate.UserName, tc.as)
			}
		})
	}
}

func TestImpersonateDiscoveryAndMapper(t *testing.T) {
	api := &fakeAPI{}
	g := release.Impersonate(api.start(t, ""), installSA)
	dc, err := g.ToDiscoveryClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dc.ServerGroups(); err != nil {
		t.Fatal(err)
	}
	mapper, err := g.ToRESTMapper()
	if err != nil {
		t.Fatal(err)
	}
	gvk, err := mapper.KindFor(schemaGVR("", "v1", "configmaps"))
	if err != nil || gvk.Kind != "ConfigMap" {
		t.Fatalf("KindFor(configmaps) = %v, %v", gvk, err)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	for _, path := range []string{"/api", "/apis", "/api/v1"} {
		if got, ok := api.impersonated[path]; !ok || got != installSA {
			t.Errorf("GET %s: Impersonate-User %q (requested: %v), want %s", path, got, ok, installSA)
		}
	}
}

func TestClientAs(t *testing.T) {
	api := &fakeAPI{}
	base := api.start(t, "")
	c := &release.Client{Getter: base, Debug: func(string, ...any) {}}
	as := c.As("podinfo", "kubeext-podinfo")
	if as == c || as.Debug == nil {
		t.Fatal("As must return a copy that keeps the other fields")
	}
	if c.Getter != base {
		t.Error("As changed the original client's getter")
	}
	cfg, err := as.Getter.ToRESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Impersonate.UserName != installSA {
		t.Errorf("As impersonates %q, want %s", cfg.Impersonate.UserName, installSA)
	}
	if got := release.ServiceAccountUser("podinfo", "kubeext-podinfo"); got != installSA {
		t.Errorf("ServiceAccountUser = %q", got)
	}
}

func TestCheckImpersonation(t *testing.T) {
	for _, tc := range []struct {
		name    string
		allowed bool
		user    string
		want    []string // substrings of the error; none means allowed
	}{
		{name: "allowed", allowed: true, user: "alice"},
		{name: "refused, named", user: "alice", want: []string{
			"alice may not impersonate ServiceAccount podinfo/kubeext-podinfo",
			"kubectl create role kubeext-impersonate-kubeext-podinfo -n podinfo --verb=impersonate --resource=serviceaccounts --resource-name=kubeext-podinfo",
			"kubectl create rolebinding kubeext-impersonate-kubeext-podinfo -n podinfo --role=kubeext-impersonate-kubeext-podinfo --user=alice",
		}},
		{name: "refused, anonymous review", want: []string{
			"the user of this kubeconfig may not impersonate", "--user=USER",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPI{allowed: tc.allowed, user: tc.user}
			c := &release.Client{Getter: api.start(t, "")}
			err := c.CheckImpersonation(context.Background(), "podinfo", "kubeext-podinfo")
			api.mu.Lock()
			reviewed, asked := api.reviewed, api.impersonated["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"]
			api.mu.Unlock()
			if reviewed == nil || reviewed.Verb != "impersonate" || reviewed.Resource != "serviceaccounts" ||
				reviewed.Namespace != "podinfo" || reviewed.Name != "kubeext-podinfo" {
				t.Errorf("reviewed %+v, want impersonate serviceaccounts podinfo/kubeext-podinfo", reviewed)
			}
			if asked != "" {
				t.Errorf("the review impersonated %q; it must ask as the caller", asked)
			}
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("allowed, got %v", err)
				}
				return
			}
			var ierr *release.ImpersonationError
			if !errors.As(err, &ierr) {
				t.Fatalf("got %v, want an *ImpersonationError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func schemaGVR(group, version, resource string) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: group, Version: version, Resource: resource}
}

func TestWaitAllowed(t *testing.T) {
	for _, tc := range []struct {
		name       string
		allowAfter int
		wantErr    bool
	}{
		{name: "in force at once", allowAfter: 1},
		{name: "in force at the third review", allowAfter: 3},
		{name: "never in force", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPI{allowAfter: tc.allowAfter}
			c := (&release.Client{Getter: api.start(t, "")}).As("team-a", "kubeext-p")
			err := c.WaitAllowed(context.Background(), "team-a", "list", "secrets", time.Second)
			if (err != nil) != tc.wantErr {
				t.Fatalf("WaitAllowed: %v, want error %v", err, tc.wantErr)
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			if api.impersonated["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"] != "system:serviceaccount:team-a:kubeext-p" {
				t.Error("the review was not asked as the ServiceAccount")
			}
			if r := api.reviewed; r == nil || r.Verb != "list" || r.Resource != "secrets" || r.Namespace != "team-a" {
				t.Errorf("reviewed %+v", r)
			}
			if !tc.wantErr && api.reviews != tc.allowAfter {
				t.Errorf("%d reviews, want %d (polling stops once allowed)", api.reviews, tc.allowAfter)
			}
			if tc.wantErr && !strings.Contains(err.Error(), "waiting for system:serviceaccount:team-a:kubeext-p to be allowed to list secrets in namespace team-a") {
				t.Errorf("error %q does not say what it waited for", err)
			}
		})
	}
}
