package describe

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func fixtures() []v1alpha1.Extension {
	created := metav1.NewTime(now.Add(-26 * time.Hour))
	return []v1alpha1.Extension{
		{
			ObjectMeta: metav1.ObjectMeta{Name: "podinfo", CreationTimestamp: created},
			Spec: v1alpha1.ExtensionSpec{ExtensionType: "example.podinfo", ReleaseTrain: "Stable",
				AutoUpgradeMinorVersion: ptr.To(true),
				Scope:                   v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "podinfo"}},
				ConfigurationSettings:   map[string]string{"replicaCount": "2", "ui.message": "hello"}},
			Status: v1alpha1.ExtensionStatus{ProvisioningState: v1alpha1.ProvisioningSucceeded, CurrentVersion: "1.4.2",
				KubernetesVersion: "1.36", Release: v1alpha1.ReleaseRef{Name: "podinfo", Namespace: "podinfo", Revision: 3},
				Statuses: []v1alpha1.StatusEntry{{Code: "Succeeded", DisplayStatus: "Deployed", Level: v1alpha1.LevelInformation,
					Message: "version 1.4.2 deployed (release revision 3)", Time: ptr.To(metav1.NewTime(now.Add(-5 * time.Minute)))}}},
		},
		{
			ObjectMeta: metav1.ObjectMeta{Name: "agent-team-a", CreationTimestamp: metav1.NewTime(now.Add(-90 * time.Second))},
			Spec: v1alpha1.ExtensionSpec{ExtensionType: "example.agent", ReleaseTrain: "Preview", Version: "2.0.0-rc.1",
				AutoUpgradeMinorVersion: ptr.To(false),
				Scope:                   v1alpha1.Scope{Namespace: &v1alpha1.NamespaceScope{TargetNamespace: "team-a"}}},
			Status: v1alpha1.ExtensionStatus{ProvisioningState: v1alpha1.ProvisioningFailed, TargetVersion: "2.0.0-rc.1",
				ErrorInfo: &v1alpha1.ErrorInfo{Code: "HelmFailed", Message: "helm install: chart agent was told to fail"}},
		},
	}
}

func TestTableGolden(t *testing.T) {
	tests := []struct {
		name   string
		wide   bool
		golden string
	}{
		{name: "the default table has the az columns", golden: "list.golden"},
		{name: "the wide table adds target, revision and error", wide: true, golden: "list-wide.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := ExtensionTable(&b, fixtures(), nil, tt.wide, now); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, b.Bytes())
		})
	}
}

func TestDescribeGolden(t *testing.T) {
	tests := []struct {
		name   string
		ext    v1alpha1.Extension
		keys   []string
		golden string
	}{
		{name: "a deployed extension shows settings and only the keys of protected settings", ext: fixtures()[0], keys: []string{"apiKey", "db.password"}, golden: "show-succeeded.golden"},
		{name: "a failed extension shows its error", ext: fixtures()[1], golden: "show-failed.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Extension(&b, &tt.ext, tt.keys, now); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, b.Bytes())
		})
	}
}
