package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

func TestCompletion(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	name := uniq("complete")
	mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", uniq("c"), "--no-wait")

	// kubectl 1.26+ completes plugin arguments through kubectl_complete-<plugin> on PATH.
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(root, "hack", "kubectl_complete-ext"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(binDir, "kubectl_complete-ext"), script, 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"the bash script is cobra's, for kubectl-ext", []string{"ext", "completion", "bash"}, []string{"bash completion V2 for kubectl-ext", "__complete"}},
		{"the first word completes to the subcommands", []string{"ext", "__complete", ""}, []string{"create", "show", "list", "update", "delete", "upgrade", "version", "completion"}},
		{"show completes extension names from the cluster", []string{"ext", "__complete", "show", ""}, []string{name}},
		{"--extension-type completes type names from the catalog", []string{"ext", "__complete", "create", "x", "--extension-type", ""}, []string{typ}},
		{"kubectl itself completes plugin arguments through kubectl_complete-ext", []string{"__complete", "ext", "delete", "compl"}, []string{name}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := env.Kubectl(testCtx(t), binDir, tt.args...)
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("kubectl %v: %v exit %d %s", tt.args, err, res.ExitCode, res.Stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.Stdout, w) {
					t.Errorf("kubectl %s lacks %q:\n%s", strings.Join(tt.args, " "), w, res.Stdout)
				}
			}
		})
	}
}
