package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
)

// TestInvalidFlags: every invalid combination is refused with its message and exit
// code 1, and nothing is written to the cluster.
func TestInvalidFlags(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	existing := uniq("existing")
	mustKext(t, "create", existing, "--extension-type", typ, "--no-wait")
	dir := t.TempDir()
	file := filepath.Join(dir, "settings.yaml")
	if err := os.WriteFile(file, []byte("replicaCount: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("- not\n- an object\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"create without a name", []string{"create", "--extension-type", typ}, "takes exactly one NAME"},
		{"create with two names", []string{"create", "a", "b", "--extension-type", typ}, "takes exactly one NAME"},
		{"create without a type", []string{"create", "x"}, "--extension-type is required"},
		{"a name that cannot be a release name", []string{"create", "Bad_Name", "--extension-type", typ}, "must be at most 53 lowercase letters"},
		{"a scope that does not exist", []string{"create", "x", "--extension-type", typ, "--scope", "global"}, "--scope must be cluster or namespace"},
		{"cluster scope with a target namespace", []string{"create", "x", "--extension-type", typ, "--scope", "cluster", "--target-namespace", "a"}, "--target-namespace goes with --scope namespace"},
		{"namespace scope with a release namespace", []string{"create", "x", "--extension-type", typ, "--scope", "namespace", "--target-namespace", "a", "--release-namespace", "b"}, "--release-namespace goes with --scope cluster"},
		{"namespace scope without a target namespace", []string{"create", "x", "--extension-type", typ, "--scope", "namespace"}, "--scope namespace needs --target-namespace"},
		{"both namespaces without a scope", []string{"create", "x", "--extension-type", typ, "--release-namespace", "a", "--target-namespace", "b"}, "cannot both be given"},
		{"a version with auto-upgrade on", []string{"create", "x", "--extension-type", typ, "--version", "1.4.0"}, "--version pins the extension"},
		{"auto-upgrade off without a version", []string{"create", "x", "--extension-type", typ, "--auto-upgrade", "false"}, "needs --version"},
		{"auto-upgrade neither true nor false", []string{"create", "x", "--extension-type", typ, "--auto-upgrade-minor-version", "maybe"}, "must be true or false"},
		{"inline settings and a settings file on create", []string{"create", "x", "--extension-type", typ, "--config", "a=1", "--config-file", file}, "mutually exclusive"},
		{"inline protected settings and their file on create", []string{"create", "x", "--extension-type", typ, "--config-protected", "a=1", "--config-protected-file", file}, "mutually exclusive"},
		{"a settings pair without =", []string{"create", "x", "--extension-type", typ, "--config", "novalue"}, "--configuration-settings"},
		{"a settings key that is no --set path", []string{"create", "x", "--extension-type", typ, "--config", "a..b=1"}, "--configuration-settings"},
		{"a settings file that is not an object", []string{"create", "x", "--extension-type", typ, "--config-file", bad}, "--configuration-settings-file"},
		{"a settings file that does not exist", []string{"create", "x", "--extension-type", typ, "--config-file", filepath.Join(dir, "nope.yaml")}, "--configuration-settings-file"},
		{"an unknown dry-run mode", []string{"create", "x", "--extension-type", typ, "--dry-run=always"}, `--dry-run must be "none", "client" or "server"`},
		{"a timeout of zero", []string{"create", "x", "--extension-type", typ, "--timeout", "0s"}, "--timeout must be positive"},
		{"an unknown extension type lists the known ones", []string{"create", "x", "--extension-type", "no.such.type"}, "known types:"},
		{"an unknown version lists the available ones", []string{"create", "x", "--extension-type", typ, "--auto-upgrade", "false", "--version", "9.9.9"}, "[EXT-VERSION-005] version 9.9.9 is not in the catalog"},
		{"a protected namespace is refused by the embedded policies", []string{"create", "x", "--extension-type", typ, "--release-namespace", "kube-system"}, "[EXT-SCOPE-007]"},
		{"a train the type lacks is refused by the embedded policies", []string{"create", "x", "--extension-type", typ, "--release-train", "Nightly"}, "[EXT-VERSION-003]"},
		{"update with nothing to change", []string{"update", existing}, "nothing to update"},
		{"update of an auto-upgrading extension with a version alone", []string{"update", existing, "--version", "1.4.0"}, "--version pins the extension, so it needs --auto-upgrade-minor-version false"},
		{"update with a version and auto-upgrade true", []string{"update", existing, "--auto-upgrade", "true", "--version", "1.4.0"}, "cannot go with --auto-upgrade-minor-version true"},
		{"update with auto-upgrade off and no version", []string{"update", existing, "--auto-upgrade", "false"}, "needs --version"},
		{"update of an extension that does not exist", []string{"update", "no-such-ext", "--config", "a=1"}, "extension not found: no-such-ext"},
		{"update to a minor downgrade is refused by the embedded policies", []string{"update", existing, "--auto-upgrade", "false", "--version", "1.4.0"}, "[EXT-UPGRADE-002]"},
		{"show of an extension that does not exist", []string{"show", "no-such-ext"}, "extension not found"},
		{"list with an unknown output format", []string{"list", "-o", "toml"}, "unable to match a printer"},
		{"an unknown flag", []string{"create", "x", "--extension-type", typ, "--frobnicate"}, "unknown flag: --frobnicate"},
	}
	before := snapshot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := kext(t, tt.args...)
			if res.ExitCode != 1 {
				t.Fatalf("exit code %d, want 1\nstdout: %s\nstderr: %s", res.ExitCode, res.Stdout, res.Stderr)
			}
			if !strings.Contains(res.Stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, res.Stderr)
			}
		})
	}
	if after := snapshot(t); after != before {
		t.Errorf("refused commands changed the cluster:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot summarises what the plugin could have written: extensions (with their
// generations), namespaces, Secrets and Leases.
func snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	exts := &v1alpha1.ExtensionList{}
	if err := env.Client.List(testCtx(t), exts); err != nil {
		t.Fatal(err)
	}
	for _, e := range exts.Items {
		b.WriteString(e.Name + "@" + e.ResourceVersion + " ")
	}
	out, err := env.Kubectl(testCtx(t), "", "get", "namespaces,secrets,leases", "-A", "--no-headers", "-o", "custom-columns=N:.metadata.name,RV:.metadata.resourceVersion")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out.Stdout, "\n") {
		if !strings.HasPrefix(line, "apiserver-") { // the API server's own identity lease
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
