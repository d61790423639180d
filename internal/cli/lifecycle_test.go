package cli_test

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// TestAzWalkthrough follows the az k8s-extension documentation: create with settings
// and protected settings, show, list, update auto-upgrade and settings, update the
// protected settings (an omitted key is gone), delete. Every step runs the real
// kubectl; release revisions are read with the Helm SDK.
func TestAzWalkthrough(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	name := uniq("podinfo")
	ns := uniq("walk")

	// create
	res := mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns,
		"--config", "replicaCount=2", "message=hello world", // as the shell passes message="hello world"
		"--config-protected", "apiKey=first-secret-value", "token=second-secret-value", "--no-wait")
	if !strings.Contains(res.Stdout, "extension.kubeext.dev/"+name+" created") {
		t.Errorf("create printed %q", res.Stdout)
	}
	for _, want := range []string{"Pulling chart podinfo 2.0.0", "Installing release " + ns + "/" + name, "is Succeeded at version 2.0.0"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("create's progress lacks %q:\n%s", want, res.Stderr)
		}
	}
	e := getExt(t, name)
	if e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded || e.Status.CurrentVersion != "2.0.0" || e.Status.Release.Revision != 1 {
		t.Fatalf("after create: %+v", e.Status)
	}
	if e.Status.KubernetesVersion != "1.37" || e.Status.Scope != v1alpha1.ScopeCluster || e.Status.ObservedGeneration != e.Generation {
		t.Errorf("after create: kubernetesVersion %q scope %q observedGeneration %d (generation %d)",
			e.Status.KubernetesVersion, e.Status.Scope, e.Status.ObservedGeneration, e.Generation)
	}
	h := history(t, name, ns)
	if len(h) != 1 || h[0].Info.Status != helmrelease.StatusDeployed || h[0].Chart.Metadata.Version != "2.0.0" {
		t.Fatalf("helm history after create: %v", summary(h))
	}
	wantValues(t, h[0], map[string]any{"replicaCount": float64(2), "message": "hello world", "apiKey": "first-secret-value", "token": "second-secret-value"})

	// show
	res = mustKext(t, "show", name)
	for _, re := range []string{`Extension type:\s+` + regexp.QuoteMeta(typ), `Current version:\s+2\.0\.0`, `Provisioning state:\s+Succeeded`,
		`Protected settings:\s+apiKey, token \(values are never shown\)`, `replicaCount:\s+2`, `Release:\s+` + ns + `/` + name + ` revision 1`} {
		if !regexp.MustCompile(re).MatchString(res.Stdout) {
			t.Errorf("show lacks %s:\n%s", re, res.Stdout)
		}
	}

	// list
	res = mustKext(t, "list")
	row := regexp.MustCompile(`(?m)^` + name + `\s+` + regexp.QuoteMeta(typ) + `\s+cluster\s+` + ns + `\s+2\.0\.0\s+true\s+Stable\s+Succeeded\s+\S+\s*$`)
	if !regexp.MustCompile(`(?m)^NAME\s+TYPE\s+SCOPE\s+NAMESPACE\s+VERSION\s+AUTO-UPGRADE\s+TRAIN\s+STATE\s+AGE\s*$`).MatchString(res.Stdout) || !row.MatchString(res.Stdout) {
		t.Errorf("list printed:\n%s", res.Stdout)
	}

	// update auto-upgrade and settings: pin the installed version and change one setting.
	res = mustKext(t, "update", name, "--auto-upgrade-minor-version", "false", "--version", "2.0.0", "--config", "replicaCount=3", "--no-wait")
	e = getExt(t, name)
	if *e.Spec.AutoUpgradeMinorVersion || e.Spec.Version != "2.0.0" || e.Spec.ConfigurationSettings["replicaCount"] != "3" || e.Spec.ConfigurationSettings["message"] != "hello world" {
		t.Fatalf("after update: %+v", e.Spec)
	}
	h = history(t, name, ns)
	if len(h) != 2 || h[1].Info.Status != helmrelease.StatusDeployed || e.Status.Release.Revision != 2 {
		t.Fatalf("helm history after update: %v (status revision %d)", summary(h), e.Status.Release.Revision)
	}
	wantValues(t, h[1], map[string]any{"replicaCount": float64(3), "message": "hello world", "apiKey": "first-secret-value", "token": "second-secret-value"})

	// update protected settings: the whole set is replaced, token is gone
	mustKext(t, "update", name, "--config-protected", "apiKey=third-secret-value", "--yes", "--no-wait")
	h = history(t, name, ns)
	if len(h) != 3 {
		t.Fatalf("helm history after the protected update: %v", summary(h))
	}
	vals := h[2].Config
	if vals["apiKey"] != "third-secret-value" {
		t.Errorf("apiKey not replaced: %v", keys(vals))
	}
	if _, ok := vals["token"]; ok {
		t.Errorf("token was left out of the new protected settings but is still a value")
	}
	s := &corev1.Secret{}
	if err := env.Client.Get(testCtx(t), client.ObjectKey{Namespace: ns, Name: lifecycle.ProtectedSecretName(name)}, s); err != nil {
		t.Fatal(err)
	}
	p, err := lifecycle.DecodeProtected(s)
	if err != nil || len(p) != 1 || p["apiKey"] != "third-secret-value" {
		t.Errorf("the Secret holds keys %v (err %v); want only apiKey", keys(toAny(p)), err)
	}
	if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Name != name {
		t.Errorf("the Secret is not owned by the Extension: %+v", s.OwnerReferences)
	}

	// delete
	res = mustKext(t, "delete", name, "--yes", "--no-wait")
	if !strings.Contains(res.Stdout, "extension.kubeext.dev/"+name+" deleted") {
		t.Errorf("delete printed %q", res.Stdout)
	}
	if _, err := helmClient().Last(name, ns); !errors.Is(err, release.ErrNotFound) {
		t.Errorf("the release is still there after delete: %v", err)
	}
	if err := env.Client.Get(testCtx(t), client.ObjectKeyFromObject(s), &corev1.Secret{}); !apierrors.IsNotFound(err) {
		t.Errorf("the protected-settings Secret is still there: %v", err)
	}
	if err := env.Client.Get(testCtx(t), nameKey(name), &v1alpha1.Extension{}); !apierrors.IsNotFound(err) {
		t.Errorf("the Extension is still there: %v", err)
	}

	// delete again: it says so and exits 0, as az does
	res = mustKext(t, "delete", name, "--yes")
	if !strings.Contains(res.Stdout, "not found; nothing to delete") {
		t.Errorf("a second delete printed %q", res.Stdout)
	}
}

func summary(h []*helmrelease.Release) []string {
	var out []string
	for _, r := range h {
		out = append(out, r.Chart.Metadata.Version+":"+r.Info.Status.String())
	}
	return out
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func toAny(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// wantValues compares the user-supplied values of a release (JSON-normalised).
func wantValues(t *testing.T, r *helmrelease.Release, want map[string]any) {
	t.Helper()
	b, _ := json.Marshal(r.Config)
	got := map[string]any{}
	_ = json.Unmarshal(b, &got)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("release value %s: got %v, want %v", k, redactIfSecret(k, got[k]), redactIfSecret(k, v))
		}
	}
}

func redactIfSecret(k string, v any) any {
	if k == "apiKey" || k == "token" {
		if v == nil {
			return nil
		}
		return "<set>"
	}
	return v
}
