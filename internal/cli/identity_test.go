package cli_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// Helm runs as the extension's install ServiceAccount, by impersonation, against the
// real API server with the real kubectl and Helm: what the ServiceAccount may not do
// fails, though the caller (a member of system:masters) could have done it.

// namespaceScoped makes a type offer namespace scope by default.
func namespaceScoped(t *v1alpha1.ExtensionType) {
	t.Spec.Scopes.Default = v1alpha1.ScopeNamespace
}

// clusterRoleChart writes the podinfo test chart 1.0.0 plus a ClusterRole named
// after the release as a file:// chart source.
func clusterRoleChart(t *testing.T) v1alpha1.ChartSource {
	t.Helper()
	ch, err := chartsourcetest.Chart(chartsourcetest.Spec{Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	ch.Templates = append(ch.Templates, &chart.File{Name: "templates/clusterrole.yaml", Data: []byte(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Name }}-reader
rules:
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list"]
`)})
	dir := t.TempDir()
	if _, err := chartutil.Save(ch, dir); err != nil {
		t.Fatal(err)
	}
	return v1alpha1.ChartSource{Repository: "file://" + dir, Name: "podinfo"}
}

func exists(t *testing.T, o client.Object) bool {
	t.Helper()
	err := env.Client.Get(testCtx(t), client.ObjectKeyFromObject(o), o)
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

func TestNamespaceScopeInstallsAsItsServiceAccount(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo(), namespaceScoped)
	name, ns := uniq("podinfo"), uniq("team")
	res := mustKext(t, "create", name, "--extension-type", typ, "--target-namespace", ns, "--no-wait")
	if !strings.Contains(res.Stderr, "is Succeeded") {
		t.Fatalf("create:\n%s", res.Stderr)
	}
	e := getExt(t, name)
	sa, role, rb := lifecycle.InstallAccount(e)
	for _, o := range []client.Object{sa, role, rb} {
		if !exists(t, o) {
			t.Fatalf("%T %s/%s was not made", o, o.GetNamespace(), o.GetName())
		}
		if refs := o.GetOwnerReferences(); len(refs) != 1 || refs[0].UID != e.UID {
			t.Errorf("%T %s is not owned by the extension: %v", o, o.GetName(), refs)
		}
	}
	if h := history(t, name, ns); len(h) != 1 || h[0].Info.Status != "deployed" {
		t.Fatalf("release history %v", summary(h))
	}

	// The install ServiceAccount may do what the release needs there, and nothing
	// outside its namespace: asked of the API server as the ServiceAccount.
	user := release.ServiceAccountUser(ns, sa.Name)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "deployments", "-n", ns}, "yes"},
		{[]string{"get", "secrets", "-n", ns}, "yes"},
		{[]string{"get", "secrets", "-n", "default"}, "no"},
		{[]string{"create", "clusterroles"}, "no"},
		{[]string{"create", "pods", "--subresource=exec", "-n", ns}, "no"},
		{[]string{"create", "serviceaccounts", "--subresource=token", "-n", ns}, "no"},
		{[]string{"impersonate", "serviceaccounts", "-n", ns}, "no"},
	} {
		out, _ := env.Kubectl(testCtx(t), binDir, append([]string{"auth", "can-i", "--as", user}, tc.args...)...)
		if got := strings.TrimSpace(out.Stdout); got != tc.want {
			t.Errorf("can %s %v: %q, want %s (%s)", user, tc.args, got, tc.want, out.Stderr)
		}
	}

	// Delete uninstalls as the ServiceAccount, then removes it.
	mustKext(t, "delete", name, "--yes")
	for _, o := range []client.Object{sa, role, rb} {
		if exists(t, o) {
			t.Errorf("%T %s/%s stayed after delete", o, o.GetNamespace(), o.GetName())
		}
	}
}

func TestNamespaceScopeChartWithClusterRoleFails(t *testing.T) {
	requireEnv(t)
	typ := recordType(t, clusterRoleChart(t), namespaceScoped)
	name, ns := uniq("podinfo"), uniq("team")
	res := kext(t, "create", name, "--extension-type", typ, "--target-namespace", ns, "--no-wait")
	if res.ExitCode == 0 {
		t.Fatalf("a namespace-scoped chart with a ClusterRole installed:\n%s", res.Stderr)
	}
	for _, want := range []string{"namespace-scoped extensions cannot create cluster-scoped objects",
		fmt.Sprintf("ClusterRole %q", name+"-reader"), "install the type with cluster scope"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("create's error lacks %q:\n%s", want, res.Stderr)
		}
	}
	// Nothing is left behind: no ClusterRole, no release, none of the chart's objects,
	// no install ServiceAccount.
	if exists(t, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name + "-reader"}}) {
		t.Error("the chart's ClusterRole exists")
	}
	if _, err := helmClient().Last(name, ns); !errors.Is(err, release.ErrNotFound) {
		t.Errorf("a release is stored: %v", err)
	}
	if exists(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}) {
		t.Error("the chart's ConfigMap exists")
	}
	if exists(t, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: lifecycle.InstallAccountName(name)}}) {
		t.Error("the install ServiceAccount stayed after the failed install")
	}
	if e := getExt(t, name); e.Status.ProvisioningState != v1alpha1.ProvisioningFailed ||
		e.Status.ErrorInfo == nil || !strings.Contains(e.Status.ErrorInfo.Message, "cannot create cluster-scoped objects") {
		t.Errorf("status %+v, want Failed naming the cluster-scoped object", e.Status)
	}
}

// TestClusterScopeTypeServiceAccount: a cluster-scoped type names an install
// ServiceAccount; the install succeeds with its grants and fails, naming it, without.
func TestClusterScopeTypeServiceAccount(t *testing.T) {
	requireEnv(t)
	ctx := testCtx(t)
	saNS := uniq("installers")
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: saNS}}); err != nil {
		t.Fatal(err)
	}
	// What the podinfo test chart and Helm's release records need, in any namespace.
	installer := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: uniq("podinfo-installer")}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	}}
	if err := env.Client.Create(ctx, installer); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		granted bool
	}{
		{"granted", true},
		{"not granted", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: saNS, Name: uniq("installer")}}
			if err := env.Client.Create(ctx, sa); err != nil {
				t.Fatal(err)
			}
			if tc.granted {
				if err := env.Client.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: sa.Name},
					RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: installer.Name},
					Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: saNS, Name: sa.Name}}}); err != nil {
					t.Fatal(err)
				}
			}
			typ := httpType(t, chartsourcetest.Podinfo(), func(et *v1alpha1.ExtensionType) {
				et.Spec.Install.ServiceAccount = &v1alpha1.ServiceAccountReference{Namespace: saNS, Name: sa.Name}
			})
			name, ns := uniq("podinfo"), uniq("podinfo")
			res := kext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait")
			if tc.granted {
				if res.ExitCode != 0 {
					t.Fatalf("create as %s: exit %d\n%s", sa.Name, res.ExitCode, res.Stderr)
				}
				if h := history(t, name, ns); len(h) != 1 || h[0].Info.Status != "deployed" {
					t.Fatalf("release history %v", summary(h))
				}
				mustKext(t, "delete", name, "--yes")
				return
			}
			if res.ExitCode == 0 {
				t.Fatal("the install succeeded as a ServiceAccount without grants: Helm did not impersonate it")
			}
			for _, want := range []string{"ServiceAccount " + saNS + "/" + sa.Name, "is forbidden"} {
				if !strings.Contains(res.Stderr, want) {
					t.Errorf("create's error lacks %q:\n%s", want, res.Stderr)
				}
			}
		})
	}
}

// TestImpersonationNotGranted: a plugin user who may write extensions but not
// impersonate the install ServiceAccount is told what to grant, before anything of
// the extension's install identity is made.
func TestImpersonationNotGranted(t *testing.T) {
	requireEnv(t)
	ctx := testCtx(t)
	user := uniq("carol")
	// Everything the plugin does as the caller, and no impersonation.
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: user}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"kubeext.dev"}, Resources: []string{"extensions", "extensions/status", "extensiontypes", "extensiontypes/status"},
			Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"namespaces", "secrets", "configmaps"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
	}}
	if err := env.Client.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: user},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}); err != nil {
		t.Fatal(err)
	}
	typ := httpType(t, chartsourcetest.Podinfo(), namespaceScoped)
	name, ns := uniq("podinfo"), uniq("team")
	res := kext(t, "create", name, "--extension-type", typ, "--target-namespace", ns, "--no-wait", "--as", user)
	if res.ExitCode == 0 {
		t.Fatalf("create without impersonation rights succeeded:\n%s", res.Stderr)
	}
	sa := lifecycle.InstallAccountName(name)
	for _, want := range []string{
		fmt.Sprintf("%s may not impersonate ServiceAccount %s/%s", user, ns, sa),
		fmt.Sprintf("kubectl create role kubeext-impersonate-%s -n %s --verb=impersonate --resource=serviceaccounts --resource-name=%s", sa, ns, sa),
		"--user=" + user,
	} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("create's error lacks %q:\n%s", want, res.Stderr)
		}
	}
	if exists(t, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: sa}}) {
		t.Error("the install ServiceAccount was made although the caller may not impersonate it")
	}
	if _, err := helmClient().Last(name, ns); !errors.Is(err, release.ErrNotFound) {
		t.Errorf("a release is stored: %v", err)
	}
}
