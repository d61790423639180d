package admission

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// sarServer is a fake API server answering SubjectAccessReviews with allow, counting
// them and keeping the last.
type sarServer struct {
	allow func(authorizationv1.SubjectAccessReviewSpec) bool
	fail  error
	asked atomic.Int32
	last  atomic.Pointer[authorizationv1.SubjectAccessReviewSpec]
}

func (s *sarServer) rights(ttl time.Duration) *SubjectAccess {
	c := fake.NewClientset()
	c.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		s.asked.Add(1)
		if s.fail != nil {
			return true, nil, s.fail
		}
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
		s.last.Store(&r.Spec)
		r.Status.Allowed = s.allow(r.Spec)
		return true, r, nil
	})
	return NewSubjectAccess(c.AuthorizationV1().SubjectAccessReviews(), ttl)
}

// TestSubjectAccess: what is asked for each install identity, for the whole user, and
// that answers are remembered per writer and identity for the TTL.
func TestSubjectAccess(t *testing.T) {
	alice := authenticationv1.UserInfo{Username: "alice", UID: "u-1", Groups: []string{"team-a"},
		Extra: map[string]authenticationv1.ExtraValue{"scopes": {"x"}}}
	installer := v1alpha1.InstallIdentity{Namespace: "kubeext-system", Name: "kubeext-installer"}
	tests := []struct {
		name      string
		id        v1alpha1.InstallIdentity
		allow     bool
		wantAttrs authorizationv1.ResourceAttributes
	}{
		{name: "a ServiceAccount: impersonate it", id: installer, allow: true,
			wantAttrs: authorizationv1.ResourceAttributes{Namespace: "kubeext-system", Verb: "impersonate", Resource: "serviceaccounts", Name: "kubeext-installer"}},
		{name: "a ServiceAccount the writer may not impersonate", id: installer, allow: false,
			wantAttrs: authorizationv1.ResourceAttributes{Namespace: "kubeext-system", Verb: "impersonate", Resource: "serviceaccounts", Name: "kubeext-installer"}},
		{name: "the caller: everything", id: v1alpha1.InstallIdentity{}, allow: false,
			wantAttrs: authorizationv1.ResourceAttributes{Verb: "*", Group: "*", Resource: "*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &sarServer{allow: func(authorizationv1.SubjectAccessReviewSpec) bool { return tt.allow }}
			r := srv.rights(time.Minute)
			for range 3 {
				got, err := r.MayActAs(context.Background(), alice, tt.id)
				if err != nil || got != tt.allow {
					t.Fatalf("MayActAs = %v, %v; want %v", got, err, tt.allow)
				}
			}
			if n := srv.asked.Load(); n != 1 {
				t.Errorf("asked the API server %d times, want once (remembered)", n)
			}
			spec := srv.last.Load()
			if *spec.ResourceAttributes != tt.wantAttrs || spec.User != "alice" || spec.UID != "u-1" ||
				len(spec.Groups) != 1 || spec.Groups[0] != "team-a" || spec.Extra["scopes"][0] != "x" {
				t.Errorf("asked %+v with attributes %+v", spec, *spec.ResourceAttributes)
			}
			// Another writer, or the same writer in other groups, is asked about anew.
			bob := alice
			bob.Groups = []string{"team-b"}
			if _, err := r.MayActAs(context.Background(), bob, tt.id); err != nil || srv.asked.Load() != 2 {
				t.Errorf("another writer: %v, asked %d times", err, srv.asked.Load())
			}
		})
	}

	t.Run("an answer is forgotten after the TTL", func(t *testing.T) {
		srv := &sarServer{allow: func(authorizationv1.SubjectAccessReviewSpec) bool { return true }}
		r := srv.rights(time.Millisecond)
		for range 2 {
			if _, err := r.MayActAs(context.Background(), alice, installer); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if n := srv.asked.Load(); n != 2 {
			t.Errorf("asked %d times, want twice", n)
		}
	})

	t.Run("an API server that cannot answer is an error, never an allow", func(t *testing.T) {
		srv := &sarServer{fail: errors.New("connection refused")}
		got, err := srv.rights(time.Minute).MayActAs(context.Background(), alice, installer)
		if err == nil || got || !strings.Contains(err.Error(), "whether alice may act as ServiceAccount kubeext-system/kubeext-installer") {
			t.Errorf("MayActAs = %v, %v", got, err)
		}
	})
}

// fixedRights answers MayActAs with may.
type fixedRights struct {
	may bool
	ids []v1alpha1.InstallIdentity
}

func (f *fixedRights) MayActAs(_ context.Context, _ authenticationv1.UserInfo, id v1alpha1.InstallIdentity) (bool, error) {
	f.ids = append(f.ids, id)
	return f.may, nil
}

// TestValidatorAsksRights: spec and status writes of an Extension are judged with what
// the writer may do, about the identity the written object resolves to.
func TestValidatorAsksRights(t *testing.T) {
	tests := []struct {
		name   string
		may    bool
		req    func(t *testing.T) admissionv1.AdmissionRequest
		wantID string
		denied bool
	}{
		{name: "create naming a ServiceAccount the writer may not impersonate", may: false, denied: true,
			wantID: "ServiceAccount podinfo/installer (the extension's spec.serviceAccountName)",
			req: func(t *testing.T) admissionv1.AdmissionRequest {
				return request(admissionv1.Create, "", raw(t, ext("podinfo", func(e *v1alpha1.Extension) { e.Spec.ServiceAccountName = "installer" })), runtime.RawExtension{}).AdmissionRequest
			}},
		{name: "create as the caller by a writer who may do everything", may: true, wantID: "the caller",
			req: func(t *testing.T) admissionv1.AdmissionRequest {
				return request(admissionv1.Create, "", raw(t, ext("podinfo")), runtime.RawExtension{}).AdmissionRequest
			}},
		{name: "a status write by a writer who may not act as the caller", may: false, denied: true, wantID: "the caller",
			req: func(t *testing.T) admissionv1.AdmissionRequest {
				e := ext("podinfo")
				return request(admissionv1.Update, "status", raw(t, e), raw(t, e)).AdmissionRequest
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := testHandler(t)
			rights := &fixedRights{may: tt.may}
			h.Validator.Rights = rights
			d, err := h.Validator.Validate(context.Background(), tt.req(t))
			if err != nil {
				t.Fatal(err)
			}
			denied := false
			for _, r := range d.Deny {
				denied = denied || r.ID == "EXT-IDENTITY-001"
			}
			if denied != tt.denied {
				t.Errorf("EXT-IDENTITY-001 denied: %v, want %v (%+v)", denied, tt.denied, d)
			}
			if len(rights.ids) != 1 || rights.ids[0].String() != tt.wantID {
				t.Errorf("asked about %v, want %s", rights.ids, tt.wantID)
			}
		})
	}
}
