package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/release"
)

func identityExtension(name string, scope v1alpha1.ScopeName, sa string) *v1alpha1.Extension {
	e := &v1alpha1.Extension{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)},
		Spec:       v1alpha1.ExtensionSpec{ExtensionType: "example.podinfo", ServiceAccountName: sa},
	}
	if scope == v1alpha1.ScopeNamespace {
		e.Spec.Scope.Namespace = &v1alpha1.NamespaceScope{TargetNamespace: "team-a"}
	} else {
		e.Spec.Scope.Cluster = &v1alpha1.ClusterScope{ReleaseNamespace: "podinfo"}
	}
	return e
}

func identityType(sa *v1alpha1.ServiceAccountReference) *v1alpha1.ExtensionType {
	t := &v1alpha1.ExtensionType{ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo"}}
	t.Spec.Install.ServiceAccount = sa
	return t
}

func TestIdentityOf(t *testing.T) {
	installer := &v1alpha1.ServiceAccountReference{Namespace: "kubeext-system", Name: "kubeext-installer"}
	for _, tc := range []struct {
		name string
		typ  *v1alpha1.ExtensionType
		ext  *v1alpha1.Extension
		want Identity
	}{
		{name: "cluster scope, nothing named: the caller",
			typ: identityType(nil), ext: identityExtension("p", v1alpha1.ScopeCluster, ""), want: Identity{}},
		{name: "cluster scope, type gone: the caller",
			ext: identityExtension("p", v1alpha1.ScopeCluster, ""), want: Identity{}},
		{name: "cluster scope, the type's ServiceAccount",
			typ: identityType(installer), ext: identityExtension("p", v1alpha1.ScopeCluster, ""),
			want: Identity{Namespace: "kubeext-system", Name: "kubeext-installer"}},
		{name: "cluster scope, the extension's ServiceAccount wins, in the release namespace",
			typ: identityType(installer), ext: identityExtension("p", v1alpha1.ScopeCluster, "mine"),
			want: Identity{Namespace: "podinfo", Name: "mine"}},
		{name: "namespace scope: one made for the extension in its target namespace",
			typ: identityType(installer), ext: identityExtension("p", v1alpha1.ScopeNamespace, ""),
			want: Identity{Namespace: "team-a", Name: "kubeext-p", Managed: true}},
		{name: "namespace scope, the extension's ServiceAccount",
			typ: identityType(installer), ext: identityExtension("p", v1alpha1.ScopeNamespace, "mine"),
			want: Identity{Namespace: "team-a", Name: "mine"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := IdentityOf(tc.typ, tc.ext)
			got.From = ""
			if got != tc.want {
				t.Errorf("IdentityOf = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestInstallAccountName(t *testing.T) {
	if got := InstallAccountName("podinfo"); got != "kubeext-podinfo" {
		t.Errorf("InstallAccountName(podinfo) = %q", got)
	}
	long := strings.Repeat("a", 253)
	a, b := InstallAccountName(long), InstallAccountName(long[:252]+"b")
	if len(a) > 253 || len(b) > 253 || a == b {
		t.Errorf("long names: %d and %d characters, equal: %v; want at most 253 and distinct", len(a), len(b), a == b)
	}
}

// impHelm is a Helm that can impersonate: As records whom it acts as and hands out
// a Helm whose calls fail with the configured errors.
type impHelm struct {
	Helm       // never called: the tests call only the methods below
	as         []string
	asErr      error
	installErr error
	calls      []string
}

func (h *impHelm) As(_ context.Context, namespace, name string) (Helm, error) {
	h.as = append(h.as, namespace+"/"+name)
	if h.asErr != nil {
		return nil, h.asErr
	}
	return &impersonated{parent: h, who: namespace + "/" + name}, nil
}

type impersonated struct {
	Helm
	parent *impHelm
	who    string
}

func (h *impersonated) Install(_ context.Context, req release.Request) (release.Record, error) {
	h.parent.calls = append(h.parent.calls, "install as "+h.who)
	return release.Record{}, h.parent.installErr
}

func (h *impersonated) Uninstall(_ context.Context, _, _ string, _ release.Record, _ bool, _ time.Duration) error {
	h.parent.calls = append(h.parent.calls, "uninstall as "+h.who)
	return nil
}

// plainHelm cannot impersonate.
type plainHelm struct{ Helm }

func identityManager(t *testing.T, h Helm, objs ...client.Object) (*Manager, client.Client) {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	// The kinds the refusals name, as the API server's discovery would map them.
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(rbacv1.SchemeGroupVersion.WithKind("ClusterRole"), meta.RESTScopeRoot)
	mapper.Add(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}, meta.RESTScopeRoot)
	c := fake.NewClientBuilder().WithScheme(s).WithRESTMapper(mapper).WithObjects(objs...).Build()
	return New(Config{Client: c, Helm: h}), c
}

func TestHelmForCaller(t *testing.T) {
	h := &impHelm{}
	m, _ := identityManager(t, h, identityType(nil))
	got, err := m.helmFor(context.Background(), nil, identityExtension("p", v1alpha1.ScopeCluster, ""))
	if err != nil {
		t.Fatal(err)
	}
	if got != Helm(h) || len(h.as) != 0 {
		t.Errorf("a cluster-scoped extension naming no ServiceAccount must run as the caller; impersonated %v", h.as)
	}
}

func TestHelmForTypeServiceAccount(t *testing.T) {
	h := &impHelm{}
	typ := identityType(&v1alpha1.ServiceAccountReference{Namespace: "kubeext-system", Name: "kubeext-installer"})
	m, _ := identityManager(t, h, typ)
	// The type is read when the caller does not hand it over (delete, recovery).
	hh, err := m.helmFor(context.Background(), nil, identityExtension("p", v1alpha1.ScopeCluster, ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hh.Install(context.Background(), release.Request{Name: "p", Namespace: "podinfo"}); err != nil {
		t.Fatal(err)
	}
	if want := "install as kubeext-system/kubeext-installer"; len(h.calls) != 1 || h.calls[0] != want {
		t.Errorf("calls %v, want [%s]", h.calls, want)
	}
}

func TestHelmForNamespaceScope(t *testing.T) {
	ctx := context.Background()
	e := identityExtension("p", v1alpha1.ScopeNamespace, "")
	h := &impHelm{}
	m, c := identityManager(t, h)
	hh, err := m.helmFor(ctx, identityType(nil), e)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.as) != 1 || h.as[0] != "team-a/kubeext-p" {
		t.Fatalf("impersonated %v, want team-a/kubeext-p", h.as)
	}
	key := types.NamespacedName{Namespace: "team-a", Name: "kubeext-p"}
	sa, role, rb := &corev1.ServiceAccount{}, &rbacv1.Role{}, &rbacv1.RoleBinding{}
	for _, o := range []client.Object{sa, role, rb} {
		if err := c.Get(ctx, key, o); err != nil {
			t.Fatalf("the install account's %T: %v", o, err)
		}
		if !accountOwnedBy(o, e) {
			t.Errorf("%T is not labelled and owned by the extension: %v %v", o, o.GetLabels(), o.GetOwnerReferences())
		}
	}
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("the install ServiceAccount must not mount a token: no pod runs as it")
	}
	if rb.RoleRef.Kind != "Role" || rb.RoleRef.Name != "kubeext-p" || len(rb.Subjects) != 1 ||
		rb.Subjects[0].Kind != "ServiceAccount" || rb.Subjects[0].Namespace != "team-a" || rb.Subjects[0].Name != "kubeext-p" {
		t.Errorf("RoleBinding %+v %+v, want Role kubeext-p bound to ServiceAccount team-a/kubeext-p", rb.RoleRef, rb.Subjects)
	}
	for _, r := range role.Rules {
		for _, res := range r.Resources {
			for _, bad := range []string{"*", "pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "services/proxy", "serviceaccounts/token"} {
				if res == bad {
					t.Errorf("the install Role grants %s", res)
				}
			}
		}
		for _, v := range r.Verbs {
			if v == "*" || v == "impersonate" || v == "escalate" || v == "bind" {
				t.Errorf("the install Role grants the verb %s", v)
			}
		}
	}

	// A second operation finds its own account and keeps it.
	if _, err := m.helmFor(ctx, identityType(nil), e); err != nil {
		t.Fatalf("again: %v", err)
	}
	// Uninstall removes it.
	if err := hh.Uninstall(context.Background(), "p", "team-a", release.Record{}, false, 0); err != nil {
		t.Fatal(err)
	}
	for _, o := range []client.Object{&corev1.ServiceAccount{}, &rbacv1.Role{}, &rbacv1.RoleBinding{}} {
		if err := c.Get(ctx, key, o); !apierrors.IsNotFound(err) {
			t.Errorf("%T after uninstall: %v, want it gone", o, err)
		}
	}
}

func TestHelmForRefusals(t *testing.T) {
	ctx := context.Background()
	e := identityExtension("p", v1alpha1.ScopeNamespace, "")
	foreign := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "kubeext-p", Labels: map[string]string{"made-by": "someone"}}}
	denied := &release.ImpersonationError{User: "alice", Namespace: "team-a", Name: "kubeext-p"}
	for _, tc := range []struct {
		name    string
		helm    Helm
		objs    []client.Object
		want    string
		wantErr error
	}{
		{name: "the caller may not impersonate", helm: &impHelm{asErr: denied},
			want: "alice may not impersonate ServiceAccount team-a/kubeext-p", wantErr: denied},
		{name: "an account of that name someone else made", helm: &impHelm{}, objs: []client.Object{foreign},
			want: "ServiceAccount team-a/kubeext-p exists but was not made by kubectl ext for extension p"},
		{name: "a Helm that cannot impersonate", helm: plainHelm{},
			want: "cannot impersonate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, c := identityManager(t, tc.helm, tc.objs...)
			_, err := m.helmFor(ctx, identityType(nil), e)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("%v does not wrap %v", err, tc.wantErr)
			}
			// Nothing of ours was written, and a foreign account is left as it was.
			sa := &corev1.ServiceAccount{}
			err = c.Get(ctx, types.NamespacedName{Namespace: "team-a", Name: "kubeext-p"}, sa)
			switch {
			case len(tc.objs) == 0 && !apierrors.IsNotFound(err):
				t.Errorf("an install ServiceAccount was made: %v", err)
			case len(tc.objs) > 0 && (err != nil || sa.Labels["made-by"] != "someone" || len(sa.OwnerReferences) != 0):
				t.Errorf("the foreign ServiceAccount was changed: %v %+v", err, sa.ObjectMeta)
			}
		})
	}
}

// The API server's refusal of a ClusterRole and a CRD to a namespace-scope install
// ServiceAccount, as Helm reports them together.
const clusterScopeRefusal = `Unable to continue with install: could not get information about the resource ClusterRole "p-reader" in namespace "": ` +
	`clusterroles.rbac.authorization.k8s.io "p-reader" is forbidden: User "system:serviceaccount:team-a:kubeext-p" cannot get resource "clusterroles" ` +
	`in API group "rbac.authorization.k8s.io" at the cluster scope; ` +
	`customresourcedefinitions.apiextensions.k8s.io "widgets.example.org" is forbidden: User "system:serviceaccount:team-a:kubeext-p" cannot create resource ` +
	`"customresourcedefinitions" in API group "apiextensions.k8s.io" at the cluster scope`

func TestInstallRefusedClusterScopedObjects(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		scope     v1alpha1.ScopeName
		installed error
		want      []string
		wantIs    error
	}{
		{name: "namespace scope, cluster-scoped objects", scope: v1alpha1.ScopeNamespace, installed: errors.New(clusterScopeRefusal),
			want: []string{"namespace-scoped extensions cannot create cluster-scoped objects", `ClusterRole "p-reader" (get)`,
				`CustomResourceDefinition "widgets.example.org" (create)`, "install the type with cluster scope"},
			wantIs: ErrClusterScopedObject},
		{name: "namespace scope, refused in its namespace", scope: v1alpha1.ScopeNamespace,
			installed: errors.New(`leases.coordination.k8s.io "x" is forbidden: User "system:serviceaccount:team-a:kubeext-p" cannot create resource "leases" in API group "coordination.k8s.io" in the namespace "team-a"`),
			want:      []string{"ServiceAccount team-a/kubeext-p", "was refused", "spec.serviceAccountName", `cannot create resource "leases"`}},
		{name: "cluster scope, the type's ServiceAccount lacks a grant", scope: v1alpha1.ScopeCluster, installed: errors.New(clusterScopeRefusal),
			want: []string{"ServiceAccount podinfo/installer", `may not touch ClusterRole "p-reader" (get)`, "grant it what the chart needs"}},
		{name: "not a refusal: as Helm said", scope: v1alpha1.ScopeNamespace, installed: errors.New("chart told to fail"),
			want: []string{"chart told to fail"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sa := ""
			if tc.scope == v1alpha1.ScopeCluster {
				sa = "installer"
			}
			e := identityExtension("p", tc.scope, sa)
			h := &impHelm{installErr: tc.installed}
			m, c := identityManager(t, h)
			hh, err := m.helmFor(ctx, identityType(nil), e)
			if err != nil {
				t.Fatal(err)
			}
			_, err = hh.Install(ctx, release.Request{Name: "p", Namespace: ReleaseNamespace(e)})
			if err == nil {
				t.Fatal("the install succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("%v is not %v", err, tc.wantIs)
			}
			if tc.scope == v1alpha1.ScopeNamespace {
				// The failed install left no release, so its account goes too.
				if err := c.Get(ctx, types.NamespacedName{Namespace: "team-a", Name: "kubeext-p"}, &corev1.ServiceAccount{}); !apierrors.IsNotFound(err) {
					t.Errorf("the install ServiceAccount stayed after the failed install: %v", err)
				}
			}
		})
	}
}

// The extension manager makes install Roles in the namespaces that opt in with
// manifests/extension-manager's kubeext-extension-manager-namespace; RBAC lets it
// only if that ClusterRole holds every rule of the install Role.
func TestManagerNamespaceRoleCoversInstallRules(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "manifests", "extension-manager", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var held []rbacv1.PolicyRule
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		cr := &rbacv1.ClusterRole{}
		if err := dec.Decode(cr); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if cr.Kind == "ClusterRole" && cr.Name == "kubeext-extension-manager-namespace" {
			held = cr.Rules
		}
	}
	if held == nil {
		t.Fatal("rbac.yaml has no ClusterRole kubeext-extension-manager-namespace")
	}
	covered := func(group, resource, verb string) bool {
		for _, r := range held {
			if len(r.ResourceNames) == 0 && slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) {
				return true
			}
		}
		return false
	}
	for _, r := range installRules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					if !covered(g, res, v) {
						t.Errorf("kubeext-extension-manager-namespace lacks %s on %s.%s, which the install Role grants", v, res, g)
					}
				}
			}
		}
	}
	if !covered("", "serviceaccounts", "impersonate") {
		t.Error("kubeext-extension-manager-namespace lacks impersonate on serviceaccounts")
	}
}
