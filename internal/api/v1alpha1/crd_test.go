package v1alpha1_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// The package's one control plane, started by the first test that needs it, so the
// pure tests of the API types (trains, JSON) run without one.
var (
	shared = &testenv.Shared{}
	env    *testenv.Env
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, shared)) }

// requireEnv is the first line of every test that talks to the API server; under
// -short it skips the test.
func requireEnv(t *testing.T) {
	t.Helper()
	env = shared.Env(t)
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func name(prefix string) string { return prefix + "-" + rand.String(6) }

func clusterType(n string) *v1alpha1.ExtensionType {
	return v1alpha1test.Type(n, v1alpha1test.Description("Podinfo demo service"), v1alpha1test.ClusterOnly)
}

func TestExtensionTypeRoundTrip(t *testing.T) {
	requireEnv(t)
	tests := []struct {
		name string
		obj  *v1alpha1.ExtensionType
		// want is the spec the API server returns.
		want v1alpha1.ExtensionTypeSpec
	}{
		{
			name: "a cluster-scoped type gets the default release trains and upgrade policy",
			obj:  clusterType(name("cluster")),
			want: v1alpha1.ExtensionTypeSpec{
				Description: "Podinfo demo service",
				Chart:       v1alpha1.ChartSource{Repository: "https://charts.example.org", Name: "podinfo"},
				Scopes: v1alpha1.Scopes{
					Default: v1alpha1.ScopeCluster,
					Cluster: &v1alpha1.ClusterScopeOptions{DefaultReleaseNamespace: "podinfo"},
				},
				ReleaseTrains: []v1alpha1.ReleaseTrain{{Name: "Stable"}, {Name: "Preview", IncludePrerelease: true}},
				UpgradePolicy: v1alpha1.UpgradePolicyKubernetesMinor,
			},
		},
		{
			name: "a namespace-scoped type with its own trains and the Minor policy is kept as written",
			obj: &v1alpha1.ExtensionType{
				ObjectMeta: metav1.ObjectMeta{Name: name("ns")},
				Spec: v1alpha1.ExtensionTypeSpec{
					Chart:         v1alpha1.ChartSource{Repository: "oci://registry.example.org/charts", Name: "agent"},
					Scopes:        v1alpha1.Scopes{Default: v1alpha1.ScopeNamespace, Namespace: &v1alpha1.NamespaceScopeOptions{}},
					ReleaseTrains: []v1alpha1.ReleaseTrain{{Name: "Fast", IncludePrerelease: true}},
					UpgradePolicy: v1alpha1.UpgradePolicyMinor,
				},
			},
			want: v1alpha1.ExtensionTypeSpec{
				Chart:         v1alpha1.ChartSource{Repository: "oci://registry.example.org/charts", Name: "agent"},
				Scopes:        v1alpha1.Scopes{Default: v1alpha1.ScopeNamespace, Namespace: &v1alpha1.NamespaceScopeOptions{}},
				ReleaseTrains: []v1alpha1.ReleaseTrain{{Name: "Fast", IncludePrerelease: true}},
				UpgradePolicy: v1alpha1.UpgradePolicyMinor,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ctx(t)
			if err := env.Client.Create(c, tt.obj); err != nil {
				t.Fatalf("create: %v", err)
			}
			got := &v1alpha1.ExtensionType{}
			if err := env.Client.Get(c, client.ObjectKeyFromObject(tt.obj), got); err != nil {
				t.Fatalf("get: %v", err)
			}
			if !equalJSON(t, got.Spec, tt.want) {
				t.Errorf("spec read back differs:\n got %s\nwant %s", toJSON(t, got.Spec), toJSON(t, tt.want))
			}
		})
	}
}

func TestExtensionRoundTrip(t *testing.T) {
	requireEnv(t)
	tests := []struct {
		name string
		spec v1alpha1.ExtensionSpec
		want v1alpha1.ExtensionSpec
	}{
		{
			name: "a cluster-scoped extension with nothing but a type gets auto-upgrade on the Stable train",
			spec: v1alpha1.ExtensionSpec{
				ExtensionType: "example.podinfo",
				Scope:         v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "podinfo"}},
			},
			want: v1alpha1.ExtensionSpec{
				ExtensionType:           "example.podinfo",
				Scope:                   v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "podinfo"}},
				AutoUpgradeMinorVersion: ptr.To(true),
				ReleaseTrain:            "Stable",
			},
		},
		{
			name: "a pinned namespace-scoped extension with settings is read back unchanged",
			spec: v1alpha1.ExtensionSpec{
				ExtensionType:                  "example.podinfo",
				Scope:                          v1alpha1.Scope{Namespace: &v1alpha1.NamespaceScope{TargetNamespace: "team-a"}},
				AutoUpgradeMinorVersion:        ptr.To(false),
				ReleaseTrain:                   "Preview",
				Version:                        "1.5.0-rc.1",
				ConfigurationSettings:          map[string]string{"replicaCount": "2", "ui.message": "hello, world"},
				ConfigurationProtectedSettings: &v1alpha1.ProtectedSettingsRef{SecretName: "podinfo-protected-settings"},
			},
			want: v1alpha1.ExtensionSpec{
				ExtensionType:                  "example.podinfo",
				Scope:                          v1alpha1.Scope{Namespace: &v1alpha1.NamespaceScope{TargetNamespace: "team-a"}},
				AutoUpgradeMinorVersion:        ptr.To(false),
				ReleaseTrain:                   "Preview",
				Version:                        "1.5.0-rc.1",
				ConfigurationSettings:          map[string]string{"replicaCount": "2", "ui.message": "hello, world"},
				ConfigurationProtectedSettings: &v1alpha1.ProtectedSettingsRef{SecretName: "podinfo-protected-settings"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ctx(t)
			ext := &v1alpha1.Extension{ObjectMeta: metav1.ObjectMeta{Name: name("ext")}, Spec: tt.spec}
			if err := env.Client.Create(c, ext); err != nil {
				t.Fatalf("create: %v", err)
			}
			got := &v1alpha1.Extension{}
			if err := env.Client.Get(c, client.ObjectKeyFromObject(ext), got); err != nil {
				t.Fatalf("get: %v", err)
			}
			if !equalJSON(t, got.Spec, tt.want) {
				t.Errorf("spec read back differs:\n got %s\nwant %s", toJSON(t, got.Spec), toJSON(t, tt.want))
			}
		})
	}
}

// TestSchemaRejectsBadValues writes unstructured objects so that values the Go types
// would never produce still reach the API server.
func TestSchemaRejectsBadValues(t *testing.T) {
	requireEnv(t)
	extension := func(mutate func(map[string]any)) *unstructured.Unstructured {
		o := map[string]any{
			"apiVersion": "kubeext.dev/v1alpha1", "kind": "Extension",
			"metadata": map[string]any{"name": name("bad")},
			"spec": map[string]any{
				"extensionType": "example.podinfo",
				"scope":         map[string]any{"cluster": map[string]any{"releaseNamespace": "podinfo"}},
			},
		}
		mutate(o)
		return &unstructured.Unstructured{Object: o}
	}
	extType := func(mutate func(map[string]any)) *unstructured.Unstructured {
		o := map[string]any{
			"apiVersion": "kubeext.dev/v1alpha1", "kind": "ExtensionType",
			"metadata": map[string]any{"name": name("bad")},
			"spec": map[string]any{
				"chart": map[string]any{"repository": "https://charts.example.org", "name": "podinfo"},
			},
		}
		mutate(o)
		return &unstructured.Unstructured{Object: o}
	}
	spec := func(o map[string]any) map[string]any { return o["spec"].(map[string]any) }

	tests := []struct {
		name      string
		obj       *unstructured.Unstructured
		statusSet map[string]any // written through the status subresource after create
		wantField string
	}{
		{
			name:      "a default scope that is neither cluster nor namespace is rejected",
			obj:       extType(func(o map[string]any) { spec(o)["scopes"] = map[string]any{"default": "tenant"} }),
			wantField: "spec.scopes.default",
		},
		{
			name:      "an upgrade policy outside KubernetesMinor and Minor is rejected",
			obj:       extType(func(o map[string]any) { spec(o)["upgradePolicy"] = "Always" }),
			wantField: "spec.upgradePolicy",
		},
		{
			name:      "a chart repository with an unsupported scheme is rejected",
			obj:       extType(func(o map[string]any) { spec(o)["chart"].(map[string]any)["repository"] = "ftp://charts" }),
			wantField: "spec.chart.repository",
		},
		{
			name:      "an extension without a type is rejected",
			obj:       extension(func(o map[string]any) { delete(spec(o), "extensionType") }),
			wantField: "spec.extensionType",
		},
		{
			name:      "a provisioning state outside the lifecycle's states is rejected",
			obj:       extension(func(map[string]any) {}),
			statusSet: map[string]any{"provisioningState": "Installing"},
			wantField: "status.provisioningState",
		},
		{
			name:      "a status scope that is neither cluster nor namespace is rejected",
			obj:       extension(func(map[string]any) {}),
			statusSet: map[string]any{"scope": "global"},
			wantField: "status.scope",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ctx(t)
			err := env.Client.Create(c, tt.obj)
			if tt.statusSet != nil {
				if err != nil {
					t.Fatalf("create: %v", err)
				}
				tt.obj.Object["status"] = tt.statusSet
				err = env.Client.Status().Update(c, tt.obj)
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.wantField) {
				t.Errorf("the error does not name %s: %v", tt.wantField, err)
			}
		})
	}
}

func TestStatusOnlyThroughSubresource(t *testing.T) {
	requireEnv(t)
	c := ctx(t)
	ext := &v1alpha1.Extension{
		ObjectMeta: metav1.ObjectMeta{Name: name("status")},
		Spec: v1alpha1.ExtensionSpec{
			ExtensionType: "example.podinfo",
			Scope:         v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "podinfo"}},
		},
	}
	if err := env.Client.Create(c, ext); err != nil {
		t.Fatalf("create: %v", err)
	}
	if ext.Status.ProvisioningState != "" {
		t.Fatalf("create kept a status: %+v", ext.Status)
	}

	ext.Status.ProvisioningState = v1alpha1.ProvisioningSucceeded
	ext.Status.CurrentVersion = "1.4.2"
	if err := env.Client.Status().Update(c, ext); err != nil {
		t.Fatalf("status update: %v", err)
	}

	// A spec write that carries another status changes the spec only.
	ext.Spec.ConfigurationSettings = map[string]string{"replicaCount": "3"}
	ext.Status.ProvisioningState = v1alpha1.ProvisioningFailed
	ext.Status.CurrentVersion = "9.9.9"
	if err := env.Client.Update(c, ext); err != nil {
		t.Fatalf("spec update: %v", err)
	}
	got := &v1alpha1.Extension{}
	if err := env.Client.Get(c, client.ObjectKeyFromObject(ext), got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.ConfigurationSettings["replicaCount"] != "3" {
		t.Errorf("the spec write was lost: %+v", got.Spec.ConfigurationSettings)
	}
	if got.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded || got.Status.CurrentVersion != "1.4.2" {
		t.Errorf("a spec write changed the status: %+v", got.Status)
	}

	// A status write that carries another spec changes the status only.
	got.Spec.ConfigurationSettings = map[string]string{"replicaCount": "7"}
	got.Status.ProvisioningState = v1alpha1.ProvisioningUpdating
	if err := env.Client.Status().Update(c, got); err != nil {
		t.Fatalf("status update: %v", err)
	}
	again := &v1alpha1.Extension{}
	if err := env.Client.Get(c, client.ObjectKeyFromObject(ext), again); err != nil {
		t.Fatal(err)
	}
	if again.Spec.ConfigurationSettings["replicaCount"] != "3" {
		t.Errorf("a status write changed the spec: %+v", again.Spec.ConfigurationSettings)
	}
	if again.Status.ProvisioningState != v1alpha1.ProvisioningUpdating {
		t.Errorf("the status write was lost: %+v", again.Status)
	}
}

func TestKubectlGetPrintsColumns(t *testing.T) {
	requireEnv(t)
	c := ctx(t)
	n := name("columns")
	ext := &v1alpha1.Extension{
		ObjectMeta: metav1.ObjectMeta{Name: n},
		Spec: v1alpha1.ExtensionSpec{
			ExtensionType: "example.podinfo",
			Scope:         v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "podinfo"}},
		},
	}
	if err := env.Client.Create(c, ext); err != nil {
		t.Fatal(err)
	}
	ext.Status = v1alpha1.ExtensionStatus{
		ProvisioningState: v1alpha1.ProvisioningSucceeded,
		Scope:             v1alpha1.ScopeCluster,
		CurrentVersion:    "1.4.2",
		Release:           v1alpha1.ReleaseRef{Name: n, Namespace: "podinfo", Revision: 1},
	}
	if err := env.Client.Status().Update(c, ext); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string
		want *regexp.Regexp
	}{
		{
			name: "the header names every column",
			args: []string{"get", "ext", n},
			want: regexp.MustCompile(`(?m)^NAME\s+TYPE\s+SCOPE\s+NAMESPACE\s+VERSION\s+STATE\s+AGE\s*$`),
		},
		{
			name: "the row shows type, scope, namespace, version and state",
			args: []string{"get", "ext", n},
			want: regexp.MustCompile(`(?m)^` + n + `\s+example\.podinfo\s+cluster\s+podinfo\s+1\.4\.2\s+Succeeded\s+\S+\s*$`),
		},
		{
			name: "the long resource name and the kubeext category work too",
			args: []string{"get", "kubeext", "--no-headers"},
			want: regexp.MustCompile(`(?m)^extension\.kubeext\.dev/` + n + `\s`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := env.Kubectl(c, "", tt.args...)
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("kubectl %v: %v (exit %d)\n%s", tt.args, err, res.ExitCode, res.Stderr)
			}
			if !tt.want.MatchString(res.Stdout) {
				t.Errorf("kubectl %v printed\n%s\nwant a line matching %s", tt.args, res.Stdout, tt.want)
			}
		})
	}
}
