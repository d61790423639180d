package admission_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// The writes of issue 11 that walked around the policies, each made with the real
// kubectl by a user whose only rights are those RBAC gives a plugin user: every
// kubeext.dev resource and its status, nothing else. Each is refused with its rule id.

// installer is the install ServiceAccount plugin users may impersonate, in any
// namespace: the extensions they write install as it (installAs).
const installer = "installer"

var installAs = v1alpha1test.InstallAs(installer)

// pluginUser returns a kubeconfig of a user (client certificate) in a group bound to
// a ClusterRole over the kubeext.dev kinds and their status, as `kubectl ext` users
// are, who may impersonate the ServiceAccounts named installer.
func pluginUser(t *testing.T) string {
	t.Helper()
	requireEnv(t)
	ctx := testCtx(t)
	const group = "test:kubeext-users"
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "test-kubeext-user"},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{v1alpha1.Group},
			Resources: []string{"extensions", "extensions/status", "extensiontypes", "extensiontypes/status"},
			Verbs:     []string{"get", "list", "watch", "create", "update", "patch", "delete"},
		}, {
			// The install identity of the extensions these users write (EXT-IDENTITY-001).
			APIGroups:     []string{""},
			Resources:     []string{"serviceaccounts"},
			ResourceNames: []string{installer},
			Verbs:         []string{"impersonate"},
		}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test-kubeext-user"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: group}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := env.Client.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	kc, err := env.KubeconfigFor("tenant-"+uniq("u"), group)
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

// kubectlAs runs the real kubectl with kubeconfig kc.
func kubectlAs(t *testing.T, kc string, args ...string) testenv.Result {
	t.Helper()
	res, err := env.Kubectl(testCtx(t), "", append([]string{"--kubeconfig", kc}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// wantRefused checks kubectl failed with the webhook's denial naming every id.
func wantRefused(t *testing.T, res testenv.Result, ids ...string) {
	t.Helper()
	if res.ExitCode == 0 {
		t.Fatalf("kubectl succeeded; want a denial by %v\n%s", ids, res.Stdout)
	}
	if !strings.Contains(res.Stderr, "denied the request") {
		t.Fatalf("kubectl failed without a webhook denial (exit %d): %s", res.ExitCode, res.Stderr)
	}
	for _, id := range ids {
		if !strings.Contains(res.Stderr, "["+id+"]") {
			t.Errorf("the denial does not name [%s]: %s", id, res.Stderr)
		}
	}
}

func wantOK(t *testing.T, res testenv.Result) {
	t.Helper()
	if res.ExitCode != 0 {
		t.Fatalf("kubectl failed (exit %d): %s", res.ExitCode, res.Stderr)
	}
}

func statusPatch(t *testing.T, kc, name, patch string) testenv.Result {
	t.Helper()
	return kubectlAs(t, kc, "patch", "extensions.kubeext.dev", name, "--subresource=status", "--type=merge", "-p", patch)
}

func specPatch(t *testing.T, kc, name, patch string) testenv.Result {
	t.Helper()
	return kubectlAs(t, kc, "patch", "extensions.kubeext.dev", name, "--type=merge", "-p", patch)
}

// TestBaselineCannotBeRewritten: the two-write walks around the upgrade policy, at
// Kubernetes 1.36 for an extension pinned to 1.4.0 and adopted at 1.36. The first
// write of each is refused by a baseline rule; the move it prepared, tried anyway, is
// refused by the upgrade rule, for every status field that feeds a rule.
func TestBaselineCannotBeRewritten(t *testing.T) {
	kc := pluginUser(t)
	currentMinor(t, "1.36")
	typ := newType(t)
	ext := extension(typ, pinned("1.4.0"), installAs)
	if err := env.Client.Create(testCtx(t), ext); err != nil {
		t.Fatal(err)
	}
	installedAt(t, ext, "1.4.0", "1.36")

	tests := []struct {
		name, patch string
		ids         []string
	}{
		{name: "clearing status.kubernetesVersion", patch: `{"status":{"kubernetesVersion":""}}`, ids: []string{"EXT-BASELINE-002"}},
		{name: "moving status.kubernetesVersion back a minor", patch: `{"status":{"kubernetesVersion":"1.35"}}`, ids: []string{"EXT-BASELINE-002"}},
		{name: "setting status.currentVersion to garbage", patch: `{"status":{"currentVersion":"garbage"}}`, ids: []string{"EXT-BASELINE-001"}},
		{name: "setting status.currentVersion to a later version", patch: `{"status":{"currentVersion":"1.5.0"}}`, ids: []string{"EXT-BASELINE-001"}},
		{name: "clearing status.currentVersion", patch: `{"status":{"currentVersion":""}}`, ids: []string{"EXT-BASELINE-001"}},
		{
			name:  "naming a new minor as status.targetVersion and recording it in the same write",
			patch: `{"status":{"targetVersion":"1.5.0","currentVersion":"1.5.0"}}`,
			ids:   []string{"EXT-BASELINE-001", "EXT-UPGRADE-001"},
		},
		{name: "naming a new minor as status.targetVersion", patch: `{"status":{"targetVersion":"1.5.0"}}`, ids: []string{"EXT-UPGRADE-001"}},
		{name: "pointing status.release at another namespace", patch: `{"status":{"release":{"namespace":"kube-system"}}}`, ids: []string{"EXT-BASELINE-004"}},
		{name: "pointing status.release at another release", patch: `{"status":{"release":{"name":"cert-manager"}}}`, ids: []string{"EXT-BASELINE-004"}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused, and so is the move to 1.5.0 that would follow", func(t *testing.T) {
			wantRefused(t, statusPatch(t, kc, ext.Name, tt.patch), tt.ids...)
			wantRefused(t, specPatch(t, kc, ext.Name, `{"spec":{"version":"1.5.0"}}`), "EXT-UPGRADE-001")
		})
	}
	t.Run("the extension manager's own writes still pass: a patch target, then recording it", func(t *testing.T) {
		wantOK(t, statusPatch(t, kc, ext.Name, `{"status":{"targetVersion":"1.4.9"}}`))
		wantOK(t, statusPatch(t, kc, ext.Name, `{"status":{"currentVersion":"1.4.9","targetVersion":""}}`))
		got := &v1alpha1.Extension{}
		if err := env.Client.Get(testCtx(t), client.ObjectKeyFromObject(ext), got); err != nil {
			t.Fatal(err)
		}
		if got.Status.CurrentVersion != "1.4.9" || got.Status.KubernetesVersion != "1.36" {
			t.Errorf("status: current %q adopted at %q, want 1.4.9 at 1.36", got.Status.CurrentVersion, got.Status.KubernetesVersion)
		}
	})
}

// TestEditsWhileBeingDeleted: an extension held by a finalizer and deleted keeps its
// spec and baseline; its finalizer stays removable.
func TestEditsWhileBeingDeleted(t *testing.T) {
	kc := pluginUser(t)
	typ := newType(t)
	ext := extension(typ, pinned("1.4.0"), installAs, func(e *v1alpha1.Extension) { e.Finalizers = []string{"example.org/hold"} })
	if err := env.Client.Create(testCtx(t), ext); err != nil {
		t.Fatal(err)
	}
	installedAt(t, ext, "1.4.0", "1.36")
	wantOK(t, kubectlAs(t, kc, "delete", "extensions.kubeext.dev", ext.Name, "--wait=false"))

	t.Run("a version the catalog does not have is refused", func(t *testing.T) {
		wantRefused(t, specPatch(t, kc, ext.Name, `{"spec":{"version":"9.9.9"}}`), "EXT-DELETE-001", "EXT-VERSION-005")
	})
	t.Run("kube-system as release namespace is refused", func(t *testing.T) {
		wantRefused(t, specPatch(t, kc, ext.Name, `{"spec":{"scope":{"cluster":{"releaseNamespace":"kube-system"}}}}`),
			"EXT-DELETE-001", "EXT-SCOPE-006", "EXT-SCOPE-007")
	})
	t.Run("a new status.targetVersion or currentVersion is refused", func(t *testing.T) {
		wantRefused(t, statusPatch(t, kc, ext.Name, `{"status":{"targetVersion":"1.4.9"}}`), "EXT-DELETE-002")
	})
	t.Run("progress is recorded", func(t *testing.T) {
		wantOK(t, statusPatch(t, kc, ext.Name, `{"status":{"provisioningState":"Deleting"}}`))
	})
	t.Run("the finalizer is removed and the extension goes", func(t *testing.T) {
		wantOK(t, specPatch(t, kc, ext.Name, `{"metadata":{"finalizers":null}}`))
		err := env.Client.Get(testCtx(t), client.ObjectKeyFromObject(ext), &v1alpha1.Extension{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("the extension is still there after its finalizer went: %v", err)
		}
	})
}

// TestProtectedSecretNameIsFixed: the protected settings Secret is named at create (or
// on the update that adds protected settings) and never pointed elsewhere.
func TestProtectedSecretNameIsFixed(t *testing.T) {
	kc := pluginUser(t)
	typ := newType(t, multipleInstances)
	without := extension(typ, pinned("1.4.0"), installAs)
	with := extension(typ, pinned("1.4.0"), installAs, func(e *v1alpha1.Extension) {
		e.Spec.ConfigurationProtectedSettings = &v1alpha1.ProtectedSettingsRef{SecretName: e.Name + "-protected"}
	})
	for _, e := range []*v1alpha1.Extension{without, with} {
		if err := env.Client.Create(testCtx(t), e); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("pointing it at another Secret is refused", func(t *testing.T) {
		wantRefused(t, specPatch(t, kc, with.Name, `{"spec":{"configurationProtectedSettings":{"secretName":"kubeext-webhook-cert"}}}`), "EXT-SETTINGS-001")
	})
	t.Run("removing it is refused", func(t *testing.T) {
		wantRefused(t, specPatch(t, kc, with.Name, `{"spec":{"configurationProtectedSettings":null}}`), "EXT-SETTINGS-001")
	})
	t.Run("naming one on an update that finds none is allowed", func(t *testing.T) {
		wantOK(t, specPatch(t, kc, without.Name, `{"spec":{"configurationProtectedSettings":{"secretName":"`+without.Name+`-protected"}}}`))
	})
}

// TestExtensionTypeWritesAreReviewed: a type's chart source and catalog are judged
// like the extensions that use them.
func TestExtensionTypeWritesAreReviewed(t *testing.T) {
	kc := pluginUser(t)
	dir := t.TempDir()
	typeFile := func(name, repo string, annotations map[string]string) string {
		et := &v1alpha1.ExtensionType{
			TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "ExtensionType"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
			Spec:       v1alpha1.ExtensionTypeSpec{Chart: v1alpha1.ChartSource{Repository: repo, Name: "podinfo"}},
		}
		b, err := json.Marshal(et)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, name+".json")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	t.Run("an http repository is refused", func(t *testing.T) {
		wantRefused(t, kubectlAs(t, kc, "create", "-f", typeFile(uniq("test.http"), "http://charts.example.org", nil)), "EXT-TYPEDEF-001")
	})
	t.Run("an http repository with the annotation is allowed, and the reason is echoed", func(t *testing.T) {
		res := kubectlAs(t, kc, "create", "-f", typeFile(uniq("test.mirror"), "http://charts.example.org",
			map[string]string{"kubeext.dev/allow-insecure-repository": "site mirror"}))
		wantOK(t, res)
		if !strings.Contains(res.Stderr, "[EXT-WARN-004]") || !strings.Contains(res.Stderr, "site mirror") {
			t.Errorf("kubectl printed no EXT-WARN-004 with the reason: %q", res.Stderr)
		}
	})
	name := newType(t)
	t.Run("a catalog version that is not semver is refused", func(t *testing.T) {
		res := kubectlAs(t, kc, "patch", "extensiontypes.kubeext.dev", name, "--subresource=status", "--type=merge",
			"-p", `{"status":{"versions":[{"version":"v1.4.0","releaseTrains":["Stable"]}]}}`)
		wantRefused(t, res, "EXT-TYPEDEF-002")
	})
	t.Run("a catalog version on a train the type lacks is refused", func(t *testing.T) {
		res := kubectlAs(t, kc, "patch", "extensiontypes.kubeext.dev", name, "--subresource=status", "--type=merge",
			"-p", `{"status":{"versions":[{"version":"1.4.0","releaseTrains":["Nightly"]}]}}`)
		wantRefused(t, res, "EXT-TYPEDEF-003")
	})
	t.Run("a valid catalog is written", func(t *testing.T) {
		res := kubectlAs(t, kc, "patch", "extensiontypes.kubeext.dev", name, "--subresource=status", "--type=merge",
			"-p", `{"status":{"versions":[{"version":"1.4.0","releaseTrains":["stable","Preview"]}]}}`)
		wantOK(t, res)
	})
}

// TestCustomProtectedNamespacesKeepTheSystemOnes: a configuration that lists its own
// protected namespaces still protects kube-system and the webhook's namespace.
func TestCustomProtectedNamespacesKeepTheSystemOnes(t *testing.T) {
	requireEnv(t)
	typ := newType(t, multipleInstances)
	t.Cleanup(func() {
		setPolicy(t, "{}\n", func() error {
			err := env.Client.Create(testCtx(t), extension(typ, releaseNamespace("kube-public")), client.DryRunAll)
			if err == nil || !strings.Contains(err.Error(), "[EXT-SCOPE-007]") {
				return errNotYet(err)
			}
			return nil
		})
	})
	setPolicy(t, "protectedNamespaces: [platform]\n", func() error {
		err := env.Client.Create(testCtx(t), extension(typ, releaseNamespace("platform")), client.DryRunAll)
		if err == nil || !strings.Contains(err.Error(), "[EXT-SCOPE-007]") {
			return errNotYet(err)
		}
		return nil
	})
	for _, ns := range []string{"kube-system", "kubeext-system"} {
		t.Run(ns+" stays protected", func(t *testing.T) {
			wantDenied(t, env.Client.Create(testCtx(t), extension(typ, releaseNamespace(ns)), client.DryRunAll), "EXT-SCOPE-007")
		})
	}
	t.Run("a namespace the custom list drops is allowed", func(t *testing.T) {
		if err := env.Client.Create(testCtx(t), extension(typ, releaseNamespace("kube-public")), client.DryRunAll); err != nil {
			t.Fatalf("kube-public, not in the custom list, was refused: %v", err)
		}
	})
}
