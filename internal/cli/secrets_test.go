package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
)

// TestProtectedValuesNeverShown: protected values are searched for in every output
// format of show and list, in the Extension as stored, in events, and in the stderr
// of every command (failing ones included), and never found.
func TestProtectedValuesNeverShown(t *testing.T) {
	requireEnv(t)
	secrets := []string{"pr0tected-alpha-7f3a", "pr0tected-beta-91c2", "pr0tected-gamma-c4d1"}
	typ := httpType(t, chartsourcetest.Podinfo())
	name, ns := uniq("secret"), uniq("secret")

	var outputs []string
	record := func(label string, args ...string) {
		t.Helper()
		res := kext(t, args...)
		if !strings.HasPrefix(label, "failing") && res.ExitCode != 0 {
			t.Errorf("%s: exit %d: %s", label, res.ExitCode, res.Stderr)
		}
		outputs = append(outputs, label+" stdout:\n"+res.Stdout, label+" stderr:\n"+res.Stderr)
	}
	record("create", "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait",
		"--config-protected", "apiKey="+secrets[0], "db.password="+secrets[1])
	if e := getExt(t, name); e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded {
		t.Fatalf("create failed: %+v\n%s", e.Status, strings.Join(outputs, "\n"))
	}
	record("dry-run create", "create", uniq("dry"), "--extension-type", typ, "--dry-run=client", "-o", "yaml",
		"--config-protected", "apiKey="+secrets[0])
	record("update", "update", name, "--config-protected", "apiKey="+secrets[2], "--yes", "--no-wait")
	record("failing update", "update", name, "--config-protected", "apiKey="+secrets[2], "bad..key="+secrets[1], "--yes")
	record("failing helm update", "update", name, "--config-protected", "apiKey="+secrets[2], "--config", "fail=true", "--yes", "--no-wait")
	for _, o := range []string{"", "json", "yaml", "name", "jsonpath={..}", "go-template={{.}}", "wide"} {
		args := []string{"show", name}
		largs := []string{"list"}
		if o != "" {
			args = append(args, "-o", o)
			largs = append(largs, "-o", o)
		}
		if o != "wide" {
			record("show -o "+o, args...)
		}
		record("list -o "+o, largs...)
	}

	stored, err := env.Kubectl(testCtx(t), "", "get", "ext", name, "-o", "json", "--show-managed-fields")
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, "the stored Extension:\n"+stored.Stdout)
	events := &corev1.EventList{}
	if err := env.Client.List(testCtx(t), events); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(events)
	outputs = append(outputs, "events:\n"+string(b))

	for _, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("a protected value appears in %s", strings.SplitN(out, "\n", 2)[0])
			}
		}
	}
	// The keys are shown, so the check above looks at real output.
	if all := strings.Join(outputs, "\n"); !strings.Contains(all, "apiKey (values are never shown)") {
		t.Errorf("show never listed the protected keys")
	}
}
