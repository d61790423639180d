package install

import (
	"context"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/utils/ptr"
)

const managerUser = "system:serviceaccount:kubeext-system:kubeext-extension-manager"

// access is one question to the API server's authorizer about the manager's
// ServiceAccount, and the answer its shipped RBAC must give.
type access struct {
	verb, group, resource, subresource, namespace, name string
	want                                                bool
}

func (a access) String() string {
	s := a.verb + " " + a.resource
	if a.group != "" {
		s += "." + a.group
	}
	if a.subresource != "" {
		s += "/" + a.subresource
	}
	if a.name != "" {
		s += " " + a.name
	}
	if a.namespace != "" {
		s += " in " + a.namespace
	}
	return s
}

// checkAccess asks the real authorizer (a SubjectAccessReview, as RBAC and kubectl
// auth can-i do) each question about the manager's ServiceAccount.
func checkAccess(t *testing.T, cs kubernetes.Interface, cases []access) {
	t.Helper()
	for _, a := range cases {
		review, err := cs.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{
				User:   managerUser,
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kubeext-system", "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: a.verb, Group: a.group, Resource: a.resource,
					Subresource: a.subresource, Namespace: a.namespace, Name: a.name},
			}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		if review.Status.Allowed != a.want {
			t.Errorf("the manager may %s: %v, want %v", a, review.Status.Allowed, a.want)
		}
	}
}

// TestManagerOnAPIServer applies what `kubectl ext init --with-manager` applies to a
// real API server, then: the check finds the Deployment (no nodes here, so no replica
// is available) and, once a Lease names one, the leader; and the shipped RBAC grants
// the manager what it needs (SPEC of issue 12, docs/manager.md) and nothing that makes
// it a cluster admin, until a namespace opts in, and then only there.
func TestManagerOnAPIServer(t *testing.T) {
	env := shared.Env(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	m, err := Build(Selection{Manager: true, ManagerImage: testManagerImage})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := (Applier{Dynamic: dyn, Mapper: mapper, Out: &out, Timeout: time.Minute}).Apply(ctx, m); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"namespace/kubeext-system serverside-applied", "deployment.apps/kubeext-extension-manager serverside-applied",
		"clusterrole.rbac.authorization.k8s.io/kubeext-extension-manager serverside-applied", "service/kubeext-extension-manager-metrics serverside-applied"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("init --with-manager did not say %q:\n%s", want, out.String())
		}
	}

	t.Run("check", func(t *testing.T) {
		ck, err := NewChecker(env.Config, false, true)
		if err != nil {
			t.Fatal(err)
		}
		rows := func() map[string]CheckRow {
			t.Helper()
			rs, err := ck.Check(ctx)
			if err != nil {
				t.Fatal(err)
			}
			by := map[string]CheckRow{}
			for _, r := range rs {
				by[r.Component] = r
			}
			return by
		}
		const deploy, lease = "deployment/kubeext-extension-manager -n kubeext-system", "lease/" + ManagerLease + " -n kubeext-system"
		got := rows()
		if r := got[deploy]; r.Status != "NotAvailable" || !strings.Contains(r.Detail, "0/2 replicas available, image "+testManagerImage) || r.Problem == "" {
			t.Errorf("%s: %+v, want NotAvailable with 0/2 replicas of %s, a problem", deploy, r, testManagerImage)
		}
		if r := got[lease]; r.Status != "Missing" || r.Problem == "" {
			t.Errorf("%s: %+v, want Missing, a problem", lease, r)
		}
		now := metav1.NewMicroTime(time.Now())
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "kubeext-system", Name: ManagerLease},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("kubeext-extension-manager-0_test"), LeaseDurationSeconds: ptr.To[int32](15),
				AcquireTime: &now, RenewTime: &now}}
		if err := env.Client.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), l) })
		if r := rows()[lease]; r.Status != "Held" || !strings.Contains(r.Detail, "held by kubeext-extension-manager-0_test") || r.Problem != "" {
			t.Errorf("%s: %+v, want Held by kubeext-extension-manager-0_test", lease, r)
		}
	})

	t.Run("rbac", func(t *testing.T) {
		checkAccess(t, cs, []access{
			// What the reconcilers, the type sync, the lock and the events need.
			{verb: "watch", group: "kubeext.dev", resource: "extensions", want: true},
			{verb: "update", group: "kubeext.dev", resource: "extensions", want: true},
			{verb: "patch", group: "kubeext.dev", resource: "extensions", subresource: "status", want: true},
			{verb: "update", group: "kubeext.dev", resource: "extensions", subresource: "finalizers", want: true},
			{verb: "list", group: "kubeext.dev", resource: "extensiontypes", want: true},
			{verb: "update", group: "kubeext.dev", resource: "extensiontypes", subresource: "status", want: true},
			{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: "team-a", want: true},
			{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: "kubeext-system", name: ManagerLease, want: true},
			{verb: "create", resource: "events", namespace: "default", want: true},
			{verb: "patch", resource: "events", namespace: "default", want: true},
			{verb: "list", resource: "events", namespace: "default", want: true},
			{verb: "create", resource: "namespaces", want: true},
			{verb: "impersonate", resource: "serviceaccounts", namespace: "kubeext-system", name: "kubeext-installer", want: true},
			{verb: "get", resource: "configmaps", namespace: "kubeext-system", name: "kubeext-policy", want: true},
			{verb: "create", group: "authentication.k8s.io", resource: "tokenreviews", want: true},
			{verb: "create", group: "authorization.k8s.io", resource: "subjectaccessreviews", want: true},
			// Not a cluster admin, and no way to become one.
			{verb: "*", group: "*", resource: "*", want: false},
			{verb: "get", resource: "secrets", namespace: "kube-system", want: false},
			{verb: "list", resource: "secrets", want: false},
			{verb: "get", resource: "secrets", namespace: "team-a", want: false},
			{verb: "impersonate", resource: "serviceaccounts", namespace: "kube-system", name: "clusterrole-aggregation-controller", want: false},
			{verb: "impersonate", resource: "users", name: "admin", want: false},
			{verb: "impersonate", resource: "groups", name: "system:masters", want: false},
			{verb: "create", resource: "serviceaccounts", subresource: "token", namespace: "kubeext-system", name: "kubeext-installer", want: false},
			{verb: "create", resource: "pods", subresource: "exec", namespace: "kubeext-system", want: false},
			{verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings", want: false},
			{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles", want: false},
			{verb: "update", group: "kubeext.dev", resource: "extensiontypes", want: false},
			{verb: "delete", group: "kubeext.dev", resource: "extensions", want: false},
			{verb: "delete", resource: "namespaces", name: "team-a", want: false},
			{verb: "list", resource: "events", namespace: "kube-system", want: false},
			{verb: "create", group: "apps", resource: "deployments", namespace: "team-a", want: false},
		})
	})

	t.Run("a namespace opts in", func(t *testing.T) {
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubeext-extension-manager"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kubeext-extension-manager-namespace"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "kubeext-system", Name: "kubeext-extension-manager"}}}
		if err := env.Client.Create(ctx, rb); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), rb) })
		// RBAC's cache sees the binding shortly after it is written.
		deadline := time.Now().Add(10 * time.Second)
		for {
			r, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: managerUser, ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "get", Resource: "secrets", Namespace: "default"}}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status.Allowed || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		checkAccess(t, cs, []access{
			{verb: "get", resource: "secrets", namespace: "default", want: true},
			{verb: "update", resource: "secrets", namespace: "default", want: true},
			{verb: "impersonate", resource: "serviceaccounts", namespace: "default", name: "kubeext-podinfo", want: true},
			{verb: "create", group: "rbac.authorization.k8s.io", resource: "roles", namespace: "default", want: true},
			{verb: "create", group: "apps", resource: "deployments", namespace: "default", want: true},
			// There, and nowhere else.
			{verb: "get", resource: "secrets", namespace: "kube-system", want: false},
			{verb: "impersonate", resource: "serviceaccounts", namespace: "kube-system", name: "default", want: false},
			{verb: "create", resource: "pods", subresource: "exec", namespace: "default", want: false},
			{verb: "create", resource: "serviceaccounts", subresource: "token", namespace: "default", want: false},
			{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "roles", namespace: "default", want: false},
		})
	})
}
