package lifecycle

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	fakediscovery "k8s.io/client-go/discovery/fake"
	fakeclientset "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/install"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// TestScheme checks that the scheme knows both the built-in and the kubeext.dev kinds,
// which every client and printer of the plugin relies on.
func TestScheme(t *testing.T) {
	s := Scheme()
	for _, obj := range []client.Object{&corev1.ConfigMap{}, &corev1.Secret{}, &v1alpha1.Extension{}, &v1alpha1.ExtensionType{}} {
		if _, _, err := s.ObjectKinds(obj); err != nil {
			t.Errorf("%T: %v", obj, err)
		}
	}
}

func policyConfigMap(data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: install.PolicyConfigMap.Namespace, Name: install.PolicyConfigMap.Name},
		Data:       data,
	}
}

// TestPolicyEngine covers reading the webhook's policy configuration: used when it
// parses, ignored with a warning when it does not, and silently absent otherwise.
func TestPolicyEngine(t *testing.T) {
	tests := []struct {
		name        string
		objs        []client.Object
		wantMode    policy.Mode // EXT-UPGRADE-001's mode; "" means not configured
		wantWarning string
	}{
		{name: "no webhook installed: the defaults, no warning"},
		{name: "the webhook's configuration is used",
			objs:     []client.Object{policyConfigMap(map[string]string{"policy.yaml": "enforcement: {EXT-UPGRADE-001: warn}"})},
			wantMode: policy.ModeWarn},
		{name: "a configuration naming an unknown rule is ignored with a warning",
			objs:        []client.Object{policyConfigMap(map[string]string{"policy.yaml": "enforcement: {EXT-NOPE-001: warn}"})},
			wantWarning: "Warning: ignoring the policy configuration in ConfigMap kubeext-system/kubeext-policy"},
		{name: "a ConfigMap without policy.yaml: the defaults",
			objs: []client.Object{policyConfigMap(map[string]string{"other": "x"})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(Scheme()).WithObjects(tt.objs...).Build()
			var progress bytes.Buffer
			engine, err := PolicyEngine(context.Background(), c, &progress)
			if err != nil {
				t.Fatal(err)
			}
			if got := engine.Config().Enforcement["EXT-UPGRADE-001"]; got != tt.wantMode {
				t.Errorf("EXT-UPGRADE-001 mode %q, want %q", got, tt.wantMode)
			}
			if tt.wantWarning == "" && progress.Len() > 0 {
				t.Errorf("unexpected progress %q", progress.String())
			}
			if !strings.Contains(progress.String(), tt.wantWarning) {
				t.Errorf("progress %q does not contain %q", progress.String(), tt.wantWarning)
			}
		})
	}
}

// TestConnect covers what Connect does without a cluster: the message of a kubeconfig
// that names none, and a manager built on given clients with the cluster's policy
// configuration applied.
func TestConnect(t *testing.T) {
	missing := genericclioptions.NewConfigFlags(false)
	path := filepath.Join(t.TempDir(), "no-such-kubeconfig")
	missing.KubeConfig = &path

	tests := []struct {
		name    string
		opts    ConnectOptions
		wantErr string
		check   func(t *testing.T, m *Manager)
	}{
		{name: "a kubeconfig that cannot be read names the flags to check",
			opts:    ConnectOptions{Getter: missing},
			wantErr: "no cluster to talk to (check --kubeconfig and --context)"},
		{name: "given clients are used, and the webhook's configuration applied once a write is judged",
			opts: ConnectOptions{
				Getter: missing,
				Client: fake.NewClientBuilder().WithScheme(Scheme()).WithObjects(
					policyConfigMap(map[string]string{"policy.yaml": "enforcement: {EXT-UPGRADE-001: dryrun}"})).Build(),
				Discovery: &fakediscovery.FakeDiscovery{Fake: &fakeclientset.NewClientset().Fake},
			},
			check: func(t *testing.T, m *Manager) {
				if m.engine != nil {
					t.Error("Connect made the policy engine: commands that judge nothing must not pay for it")
				}
				engine, err := m.policies(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if again, _ := m.policies(context.Background()); again != engine {
					t.Error("a second judgement made a second engine")
				}
				if got := engine.Config().Enforcement["EXT-UPGRADE-001"]; got != policy.ModeDryRun {
					t.Errorf("EXT-UPGRADE-001 mode %q, want dryrun", got)
				}
				if m.charts == nil || m.helm == nil || m.cluster == nil {
					t.Errorf("manager without charts, Helm or cluster: %+v", m)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Connect(context.Background(), tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, m)
		})
	}
}
