package cli_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/settings"
)

// wantNothingWritten checks that a refused command left no Extension, Namespace,
// protected-settings Secret or Helm release behind.
func wantNothingWritten(t *testing.T, name, ns string) {
	t.Helper()
	ctx := testCtx(t)
	if err := env.Client.Get(ctx, nameKey(name), &v1alpha1.Extension{}); !apierrors.IsNotFound(err) {
		t.Errorf("extension %s: %v, want it not to exist", name, err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s: %v, want it not to exist", ns, err)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: lifecycle.ProtectedSecretName(name)}, &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("secret %s/%s: %v, want it not to exist", ns, lifecycle.ProtectedSecretName(name), err)
	}
	if h, err := helmClient().History(name, ns); err == nil && len(h) > 0 {
		t.Errorf("helm release %s/%s has %d revisions, want none", ns, name, len(h))
	}
}

// TestSettingsSchemaRefusesBeforeWriting: through the real kubectl, create with a
// setting of the wrong type for the chart's values.schema.json is refused naming the
// key and the schema's complaint, with nothing written and no protected value shown,
// for a real run and both dry runs; update likewise leaves the extension as it was.
func TestSettingsSchemaRefusesBeforeWriting(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.WithSchema(chartsourcetest.Podinfo()))
	const secret = "pw-Zq81-never-shown"
	for _, dry := range []string{"", "--dry-run=client", "--dry-run=server"} {
		t.Run("create "+dry, func(t *testing.T) {
			name, ns := uniq("schema"), uniq("schema-ns")
			args := []string{"create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait",
				"--config", "replicaCount=two", "--config-protected", "auth.password=" + secret}
			if dry != "" {
				args = append(args, dry)
			}
			res := kext(t, args...)
			if res.ExitCode == 0 {
				t.Fatalf("create with replicaCount=two succeeded:\n%s\n%s", res.Stdout, res.Stderr)
			}
			for _, want := range []string{"values schema (values.schema.json) of chart podinfo 2.0.0 refuses the settings", "- replicaCount: got string, want integer"} {
				if !strings.Contains(res.Stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, res.Stderr)
				}
			}
			if strings.Contains(res.Stdout+res.Stderr, secret) {
				t.Errorf("the output shows the protected value:\n%s\n%s", res.Stdout, res.Stderr)
			}
			wantNothingWritten(t, name, ns)
		})
	}

	// A protected value the schema refuses is named by its key alone.
	name, ns := uniq("schema"), uniq("schema-ns")
	res := kext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait", "--config-protected", "auth.password=short")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "- auth.password: minLength: the protected value has fewer characters than 8") || strings.Contains(res.Stderr, "short") {
		t.Errorf("create with a short protected password: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	wantNothingWritten(t, name, ns)

	// update: the extension, its Secret and its release stay as they were.
	name, ns = uniq("schema"), uniq("schema-ns")
	mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait", "--config", "replicaCount=2")
	before := getExt(t, name)
	res = kext(t, "update", name, "--config", "replicaCount=0", "--no-wait")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "- replicaCount: minimum: got 0, want 1") {
		t.Errorf("update with replicaCount=0: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	after := getExt(t, name)
	if after.ResourceVersion != before.ResourceVersion || after.Spec.ConfigurationSettings["replicaCount"] != "2" {
		t.Errorf("the refused update wrote the extension: resourceVersion %s -> %s, settings %v",
			before.ResourceVersion, after.ResourceVersion, after.Spec.ConfigurationSettings)
	}
	if h := history(t, name, ns); len(h) != 1 {
		t.Errorf("helm history has %d revisions after the refused update, want 1", len(h))
	}
}

// TestSettingsTypoWarns: a key the chart does not know is warned about with the key
// meant, and the create goes on.
func TestSettingsTypoWarns(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.WithSchema(chartsourcetest.Podinfo()))
	name, ns := uniq("typo"), uniq("typo-ns")
	res := mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait",
		"--config", "replicaCout=2", "--config-protected", "auth.pasword=s3cret-value-x")
	for _, want := range []string{
		"Warning: setting replicaCout is not a value of chart podinfo 2.0.0 (neither its values.yaml nor its values.schema.json has it), so the chart may never read it; did you mean replicaCount?",
		"Warning: setting auth.pasword is not a value of chart podinfo 2.0.0",
		"did you mean auth.password?",
	} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.Stderr)
		}
	}
	if strings.Contains(res.Stderr, "s3cret-value-x") {
		t.Errorf("stderr shows the protected value:\n%s", res.Stderr)
	}
	if e := getExt(t, name); e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded {
		t.Errorf("the extension is %s, want Succeeded: %+v", e.Status.ProvisioningState, e.Status)
	}
}

// TestTypeShowSettings: `type show --settings` lists the chart's settings with their
// type, default and description from the schema, marks the protected-looking ones,
// reads the newest Stable version unless --version names one, and prints JSON.
func TestTypeShowSettings(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.WithSchema(chartsourcetest.Podinfo()))

	res := mustKext(t, "type", "show", typ, "--settings")
	for _, re := range []string{
		`(?m)^KEY\s+TYPE\s+DEFAULT\s+PROTECTED\s+DESCRIPTION$`,
		`(?m)^auth\.password\s+string\s+-\s+yes\s+The admin password\.$`,
		`(?m)^fail\s+boolean\s+false\s+-\s+Make rendering fail \(for tests\)\.$`,
		`(?m)^message\s+string\s+"hello from podinfo"\s+-\s+What the pods say\.$`,
		`(?m)^replicaCount\s+integer\s+1\s+-\s+How many pods run\.$`,
	} {
		if !regexp.MustCompile(re).MatchString(res.Stdout) {
			t.Errorf("type show --settings lacks %s:\n%s", re, res.Stdout)
		}
	}
	if !strings.Contains(res.Stderr, "Settings of chart podinfo 2.0.0") || !strings.Contains(res.Stderr, "--configuration-protected-settings") {
		t.Errorf("stderr:\n%s", res.Stderr)
	}

	res = mustKext(t, "type", "show", typ, "--settings", "--version", "1.4.0", "-o", "json")
	var got struct {
		ExtensionType, Chart, Version string
		Schema                        bool
		Settings                      []settings.Setting
	}
	if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
		t.Fatalf("-o json: %v\n%s", err, res.Stdout)
	}
	keys := map[string]settings.Setting{}
	for _, s := range got.Settings {
		keys[s.Key] = s
	}
	if got.ExtensionType != typ || got.Chart != "podinfo" || got.Version != "1.4.0" || !got.Schema || len(got.Settings) != 5 ||
		!keys["auth.password"].Protected || keys["replicaCount"].Type != "integer" || keys["image"].Default != "registry.k8s.io/pause:3.10" {
		t.Errorf("-o json:\n%s", res.Stdout)
	}

	// A chart without a schema: the settings of its values.yaml, typed by their defaults.
	plain := httpType(t, chartsourcetest.Podinfo())
	res = mustKext(t, "type", "show", plain, "--settings")
	if !regexp.MustCompile(`(?m)^replicaCount\s+integer\s+1\s+-\s+-$`).MatchString(res.Stdout) || strings.Contains(res.Stdout, "auth.password") {
		t.Errorf("type show --settings of a chart without a schema:\n%s", res.Stdout)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--settings", "--version", "9.9.9"}, `has no version "9.9.9"`},
		{[]string{"--version", "1.4.0"}, "--version needs --settings"},
		{[]string{"--settings", "-o", "wide"}, "with --settings, --output must be json or yaml"},
	} {
		res := kext(t, append([]string{"type", "show", typ}, tt.args...)...)
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, tt.want) {
			t.Errorf("type show %v: exit %d, stderr %q, want %q", tt.args, res.ExitCode, res.Stderr, tt.want)
		}
	}
}
