package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// unreachableRepo refuses every connection: nothing listens on port 1.
const unreachableRepo = "http://127.0.0.1:1/charts"

// unreachableHTTPS is unreachableRepo over https, which `kubectl ext type add` can
// write past the webhook: it sets no allow-insecure-repository annotation.
const unreachableHTTPS = "https://127.0.0.1:1/charts"

// tableColumn returns the first column of each row of a table printed by the plugin,
// after the header.
func tableColumn(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return nil
	}
	var col []string
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > 0 {
			col = append(col, f[0])
		}
	}
	return col
}

// tableRows maps the first column of each row to the whole row's fields.
func tableRows(out string) map[string][]string {
	rows := map[string][]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			rows[f[0]] = f
		}
	}
	return rows
}

func getType(t *testing.T, name string) *v1alpha1.ExtensionType {
	t.Helper()
	et := &v1alpha1.ExtensionType{}
	if err := env.Client.Get(testCtx(t), nameKey(name), et); err != nil {
		t.Fatalf("reading extension type %s: %v", name, err)
	}
	return et
}

// wantExit1 checks that a command failed with exit code 1 and said want on stderr.
func wantExit1(t *testing.T, res testenv.Result, want string) {
	t.Helper()
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, want) {
		t.Errorf("exit %d, want 1 with %q in stderr:\nstdout: %s\nstderr: %s", res.ExitCode, want, res.Stdout, res.Stderr)
	}
}

// TestTypeVersions lists the podinfo test catalog (1.4.0, 1.4.1, 1.5.0-rc.1, 1.5.0,
// 1.6.0 for Kubernetes 1.99+ only, 2.0.0) served by a loopback chart repository, on
// the Stable and Preview trains, with and without --show-latest and --major-version,
// and with --all giving the reasons.
func TestTypeVersions(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())

	// The type was never synced: the first listing reads the catalog first.
	res := mustKext(t, "type", "versions", typ)
	if !strings.Contains(res.Stderr, "Reading the versions of extension type "+typ) {
		t.Errorf("the first listing did not say it reads the catalog:\n%s", res.Stderr)
	}
	if et := getType(t, typ); et.Status.SyncedAt == nil || len(et.Status.Versions) != 6 {
		t.Fatalf("after the first listing the type holds %d versions, synced at %v", len(et.Status.Versions), et.Status.SyncedAt)
	}

	header := regexp.MustCompile(`^VERSION\s+KUBE-VERSION\s+TRAINS\n`)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{name: "Stable is the default train: releases only, never 1.6.0", want: []string{"2.0.0", "1.5.0", "1.4.1", "1.4.0"}},
		{name: "Stable named in lower case", args: []string{"--release-train", "stable"}, want: []string{"2.0.0", "1.5.0", "1.4.1", "1.4.0"}},
		{name: "Preview adds the release candidate", args: []string{"--release-train", "Preview"}, want: []string{"2.0.0", "1.5.0", "1.5.0-rc.1", "1.4.1", "1.4.0"}},
		{name: "Stable --show-latest", args: []string{"--show-latest"}, want: []string{"2.0.0"}},
		{name: "Preview --show-latest", args: []string{"--release-train", "Preview", "--show-latest"}, want: []string{"2.0.0"}},
		{name: "Stable --major-version 1", args: []string{"--major-version", "1"}, want: []string{"1.5.0", "1.4.1", "1.4.0"}},
		{name: "Preview --major-version 1", args: []string{"--release-train", "Preview", "--major-version", "1"}, want: []string{"1.5.0", "1.5.0-rc.1", "1.4.1", "1.4.0"}},
		{name: "Stable --major-version 1 --show-latest", args: []string{"--major-version", "1", "--show-latest"}, want: []string{"1.5.0"}},
		{name: "Preview --major-version 1 --show-latest", args: []string{"--release-train", "Preview", "--major-version", "1", "--show-latest"}, want: []string{"1.5.0"}},
		{name: "Stable --major-version 2", args: []string{"--major-version", "2"}, want: []string{"2.0.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustKext(t, append([]string{"type", "versions", typ}, tt.args...)...)
			if !header.MatchString(res.Stdout) {
				t.Errorf("no VERSION KUBE-VERSION TRAINS header:\n%s", res.Stdout)
			}
			if got := tableColumn(t, res.Stdout); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("versions %v, want %v\n%s", got, tt.want, res.Stdout)
			}
		})
	}

	t.Run("a major version without versions prints no table and says so", func(t *testing.T) {
		res := mustKext(t, "type", "versions", typ, "--major-version", "3")
		if res.Stdout != "" || !strings.Contains(res.Stderr, "No 3.x versions of extension type "+typ+" on the Stable train") {
			t.Errorf("stdout %q stderr %q", res.Stdout, res.Stderr)
		}
	})

	t.Run("--all on Stable says why 1.6.0 and the rc are excluded", func(t *testing.T) {
		res := mustKext(t, "type", "versions", typ, "--all")
		if !regexp.MustCompile(`^VERSION\s+KUBE-VERSION\s+TRAINS\s+REASON\n`).MatchString(res.Stdout) {
			t.Errorf("no REASON column:\n%s", res.Stdout)
		}
		if got := tableColumn(t, res.Stdout); strings.Join(got, " ") != "2.0.0 1.6.0 1.5.0 1.5.0-rc.1 1.4.1 1.4.0" {
			t.Errorf("versions %v\n%s", got, res.Stdout)
		}
		for _, re := range []string{
			`(?m)^1\.6\.0\s+>=1\.99\.0-0\s+Stable,Preview\s+chart requires Kubernetes >=1\.99\.0-0$`,
			`(?m)^1\.5\.0-rc\.1\s+>=1\.25\.0-0\s+Preview\s+not on the Stable train$`,
			`(?m)^1\.5\.0\s+>=1\.25\.0-0\s+Stable,Preview\s+-$`,
			`(?m)^2\.0\.0\s+-\s+Stable,Preview\s+-$`,
		} {
			if !regexp.MustCompile(re).MatchString(res.Stdout) {
				t.Errorf("no row matching %s:\n%s", re, res.Stdout)
			}
		}
	})

	t.Run("--all on Preview excludes only 1.6.0", func(t *testing.T) {
		res := mustKext(t, "type", "versions", typ, "--all", "--release-train", "Preview")
		rows := tableRows(res.Stdout)
		if r := rows["1.5.0-rc.1"]; len(r) != 4 || r[3] != "-" {
			t.Errorf("the rc row: %v\n%s", r, res.Stdout)
		}
		if !strings.Contains(res.Stdout, "chart requires Kubernetes >=1.99.0-0") {
			t.Errorf("1.6.0 has no reason:\n%s", res.Stdout)
		}
	})

	t.Run("-o json lists version, kubeVersion, releaseTrains, excluded and reason", func(t *testing.T) {
		res := mustKext(t, "type", "versions", typ, "--all", "-o", "json")
		var rows []struct {
			Version       string   `json:"version"`
			KubeVersion   string   `json:"kubeVersion"`
			ReleaseTrains []string `json:"releaseTrains"`
			Excluded      bool     `json:"excluded"`
			Reason        string   `json:"reason"`
		}
		if err := json.Unmarshal([]byte(res.Stdout), &rows); err != nil {
			t.Fatalf("%v:\n%s", err, res.Stdout)
		}
		if len(rows) != 6 || rows[0].Version != "2.0.0" || rows[0].Excluded {
			t.Fatalf("rows %+v", rows)
		}
		if r := rows[1]; r.Version != "1.6.0" || !r.Excluded || r.KubeVersion != chartsourcetest.KubeVersionUnsatisfiable ||
			r.Reason != "chart requires Kubernetes "+chartsourcetest.KubeVersionUnsatisfiable || strings.Join(r.ReleaseTrains, ",") != "Stable,Preview" {
			t.Errorf("1.6.0: %+v", r)
		}
	})

	t.Run("-o yaml with --show-latest is a list of one", func(t *testing.T) {
		res := mustKext(t, "type", "versions", typ, "--release-train", "Preview", "--major-version", "1", "--show-latest", "-o", "yaml")
		var rows []map[string]any
		if err := yaml.Unmarshal([]byte(res.Stdout), &rows); err != nil {
			t.Fatalf("%v:\n%s", err, res.Stdout)
		}
		if len(rows) != 1 || rows[0]["version"] != "1.5.0" || rows[0]["excluded"] != false {
			t.Errorf("rows %v", rows)
		}
	})
}

// TestTypeAddListShow adds types from a loopback HTTP chart repository and from a
// file:// directory, syncs them, and lists and shows them. The webhook refuses plain
// http (EXT-TYPEDEF-001) unless the type carries an annotation, which `type add` does
// not set: the HTTP cases run as on a site that set the rule to warn.
func TestTypeAddListShow(t *testing.T) {
	requireEnv(t)
	dir := chartsourcetest.Charts(t, chartsourcetest.Podinfo())
	httpURL := chartsourcetest.ServeHTTP(t, dir)
	httpName, fileName := uniq("test.http"), uniq("test.file")

	t.Run("a plain HTTP repository is refused by the webhook, naming the rule and its annotation", func(t *testing.T) {
		name := uniq("test.http")
		res := kext(t, "type", "add", name, "--chart-repository", httpURL, "--chart", "podinfo")
		wantExit1(t, res, "[EXT-TYPEDEF-001]")
		if !strings.Contains(res.Stderr, "kubeext.dev/allow-insecure-repository") {
			t.Errorf("the refusal does not name the annotation: %s", res.Stderr)
		}
		if err := env.Client.Get(testCtx(t), nameKey(name), &v1alpha1.ExtensionType{}); !apierrors.IsNotFound(err) {
			t.Errorf("the refused type exists: %v", err)
		}
	})

	t.Run("with --allow-insecure-repository the webhook admits it and echoes the reason", func(t *testing.T) {
		name := uniq("test.http")
		res := mustKext(t, "type", "add", name, "--chart-repository", httpURL, "--chart", "podinfo",
			"--allow-insecure-repository", "loopback test server")
		if !strings.Contains(res.Stderr, "Warning: [EXT-WARN-004]") || !strings.Contains(res.Stderr, "loopback test server") {
			t.Errorf("stderr lacks the webhook's EXT-WARN-004 echo of the reason:\n%s", res.Stderr)
		}
		if got := getType(t, name).Annotations[v1alpha1.AnnotationAllowInsecureRepository]; got != "loopback test server" {
			t.Errorf("annotation %q", got)
		}
	})

	// httpWrite is a server dry run of an ExtensionType with the plain http repository:
	// nil once the webhook lets it through.
	httpWrite := func(ctx context.Context) error {
		et := v1alpha1test.Type(uniq("test.probe"), v1alpha1test.Chart(v1alpha1.ChartSource{Repository: httpURL, Name: "podinfo"}))
		return env.Client.Create(ctx, et, client.DryRunAll)
	}
	setPolicy(t, "enforcement:\n  EXT-TYPEDEF-001: warn\n", httpWrite)
	t.Cleanup(func() {
		setPolicy(t, "{}\n", func(ctx context.Context) error {
			if err := httpWrite(ctx); err == nil || !strings.Contains(err.Error(), "[EXT-TYPEDEF-001]") {
				return fmt.Errorf("a plain http type is not refused yet: %w", err)
			}
			return nil
		})
	})

	t.Run("add from an HTTP repository with --sync reads the versions at once", func(t *testing.T) {
		res := mustKext(t, "type", "add", httpName, "--chart-repository", httpURL, "--chart", "podinfo",
			"--description", "podinfo over HTTP", "--sync")
		if strings.TrimSpace(res.Stdout) != "extensiontype.kubeext.dev/"+httpName+" created" {
			t.Errorf("stdout %q", res.Stdout)
		}
		if !strings.Contains(res.Stderr, httpName+": 6 versions of chart podinfo (newest 2.0.0) from "+httpURL) {
			t.Errorf("stderr lacks the sync summary:\n%s", res.Stderr)
		}
		// The rule set to warn lets the write through with the webhook's finding, which
		// the plugin prints as kubectl prints warnings.
		if !strings.Contains(res.Stderr, "Warning: [EXT-TYPEDEF-001]") {
			t.Errorf("stderr lacks the webhook's warning:\n%s", res.Stderr)
		}
		et := getType(t, httpName)
		s := et.Spec
		if s.Chart.Repository != httpURL || s.Chart.Name != "podinfo" || s.Description != "podinfo over HTTP" ||
			s.Scopes.Default != v1alpha1.ScopeCluster || s.Scopes.Cluster == nil || s.Scopes.Namespace != nil ||
			len(s.ReleaseTrains) != 2 || s.UpgradePolicy != v1alpha1.UpgradePolicyKubernetesMinor {
			t.Errorf("spec %+v", s)
		}
		if len(et.Status.Versions) != 6 || et.Status.SyncedAt == nil {
			t.Errorf("status %+v", et.Status)
		}
	})

	t.Run("add from a file:// directory with every flag, then sync", func(t *testing.T) {
		ns := uniq("podinfo")
		mustKext(t, "type", "add", fileName, "--chart-repository", "file://"+dir, "--chart", "podinfo",
			"--namespace-scope=true", "--default-release-namespace", ns, "--allow-multiple-instances",
			"--release-train", "Stable", "--release-train", "Fast:prerelease", "--upgrade-policy", "Minor")
		et := getType(t, fileName)
		s := et.Spec
		if s.Scopes.Cluster == nil || s.Scopes.Cluster.DefaultReleaseNamespace != ns || !s.Scopes.Cluster.AllowMultipleInstances ||
			s.Scopes.Namespace == nil || s.UpgradePolicy != v1alpha1.UpgradePolicyMinor ||
			len(s.ReleaseTrains) != 2 || s.ReleaseTrains[1] != (v1alpha1.ReleaseTrain{Name: "Fast", IncludePrerelease: true}) {
			t.Errorf("spec %+v", s)
		}
		if et.Status.SyncedAt != nil {
			t.Errorf("synced without --sync")
		}
		res := mustKext(t, "type", "sync", fileName)
		if strings.TrimSpace(res.Stdout) != fileName+": 6 versions of chart podinfo (newest 2.0.0) from file://"+dir {
			t.Errorf("sync printed %q", res.Stdout)
		}
		res = mustKext(t, "type", "versions", fileName, "--release-train", "fast", "--major-version", "1")
		if got := tableColumn(t, res.Stdout); strings.Join(got, " ") != "1.5.0 1.5.0-rc.1 1.4.1 1.4.0" {
			t.Errorf("Fast 1.x versions %v", got)
		}
	})

	t.Run("adding an existing type fails and points at kubectl apply", func(t *testing.T) {
		res := kext(t, "type", "add", httpName, "--chart-repository", httpURL, "--chart", "podinfo")
		wantExit1(t, res, "extension type "+httpName+" already exists")
		if !strings.Contains(res.Stderr, "kubectl apply -f") {
			t.Errorf("no hint at kubectl apply: %s", res.Stderr)
		}
	})

	t.Run("--dry-run=client prints the object and creates nothing", func(t *testing.T) {
		name := uniq("test.dry")
		res := mustKext(t, "type", "add", name, "--chart-repository", httpURL, "--chart", "podinfo", "--dry-run=client", "-o", "yaml")
		et := &v1alpha1.ExtensionType{}
		if err := yaml.Unmarshal([]byte(res.Stdout), et); err != nil || et.Kind != "ExtensionType" || et.Spec.Chart.Repository != httpURL {
			t.Errorf("printed %v (%v):\n%s", et, err, res.Stdout)
		}
		res = mustKext(t, "type", "add", name, "--chart-repository", httpURL, "--chart", "podinfo", "--dry-run=server")
		if strings.TrimSpace(res.Stdout) != "extensiontype.kubeext.dev/"+name+" created (server dry run)" {
			t.Errorf("server dry run printed %q", res.Stdout)
		}
		if err := env.Client.Get(testCtx(t), nameKey(name), &v1alpha1.ExtensionType{}); !apierrors.IsNotFound(err) {
			t.Errorf("the dry runs created the type: %v", err)
		}
	})

	t.Run("the API server's validation errors are shown field by field", func(t *testing.T) {
		res := kext(t, "type", "add", uniq("test.invalid"), "--chart-repository", httpURL, "--chart", "podinfo", "--release-train", "9lives")
		wantExit1(t, res, `the API server refused ExtensionType "`)
		if !strings.Contains(res.Stderr, `spec.releaseTrains[0].name: Invalid value: "9lives"`) {
			t.Errorf("the field is not named: %s", res.Stderr)
		}
	})

	t.Run("list shows chart, repository, scopes, policy, versions, latest and sync age", func(t *testing.T) {
		res := mustKext(t, "type", "list")
		if !regexp.MustCompile(`^NAME\s+CHART\s+REPOSITORY\s+SCOPE\s+POLICY\s+VERSIONS\s+LATEST\s+SYNCED\n`).MatchString(res.Stdout) {
			t.Errorf("header:\n%s", res.Stdout)
		}
		for _, re := range []string{
			`(?m)^` + regexp.QuoteMeta(httpName) + `\s+podinfo\s+` + regexp.QuoteMeta(httpURL) + `\s+cluster\s+KubernetesMinor\s+6\s+2\.0\.0\s+\S+ ago$`,
			`(?m)^` + regexp.QuoteMeta(fileName) + `\s+podinfo\s+file://\S+\s+cluster,namespace\s+Minor\s+6\s+2\.0\.0\s+\S+ ago$`,
		} {
			if !regexp.MustCompile(re).MatchString(res.Stdout) {
				t.Errorf("no row matching %s:\n%s", re, res.Stdout)
			}
		}
		res = mustKext(t, "types", "ls", "-o", "wide")
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(httpName) + `\s.*\sStable,Preview\s+podinfo over HTTP$`).MatchString(res.Stdout) {
			t.Errorf("wide row:\n%s", res.Stdout)
		}
	})

	t.Run("list -o name, json and jsonpath", func(t *testing.T) {
		res := mustKext(t, "type", "list", "-o", "name")
		if !strings.Contains(res.Stdout, "extensiontype.kubeext.dev/"+httpName+"\n") {
			t.Errorf("-o name:\n%s", res.Stdout)
		}
		res = mustKext(t, "type", "list", "-o", "json")
		list := &v1alpha1.ExtensionTypeList{}
		if err := json.Unmarshal([]byte(res.Stdout), list); err != nil || list.Kind != "ExtensionTypeList" {
			t.Fatalf("-o json (%v):\n%s", err, res.Stdout)
		}
		found := false
		for _, it := range list.Items {
			if it.Name == httpName {
				found = len(it.Status.Versions) == 6 && it.ManagedFields == nil
			}
		}
		if !found {
			t.Errorf("-o json lacks %s with its versions", httpName)
		}
		res = mustKext(t, "type", "list", "-o", "jsonpath={.items[*].spec.chart.repository}")
		if !strings.Contains(res.Stdout, httpURL) {
			t.Errorf("-o jsonpath: %s", res.Stdout)
		}
	})

	t.Run("show describes the type and its versions", func(t *testing.T) {
		res := mustKext(t, "type", "show", fileName)
		for _, re := range []string{
			`(?m)^Name:\s+` + regexp.QuoteMeta(fileName) + `$`,
			`(?m)^Repository:\s+file://`,
			`(?m)^Cluster scope:\s+supported, default release namespace \S+, multiple instances allowed$`,
			`(?m)^Namespace scope:\s+supported$`,
			`(?m)^Release trains:\s+Stable, Fast \(with prereleases\)$`,
			`(?m)^Upgrade policy:\s+Minor$`,
			`(?m)^Synced:\s+\S+ ago, 6 versions$`,
			`(?m)^  VERSION\s+KUBE-VERSION\s+APP-VERSION\s+TRAINS$`,
			`(?m)^  1\.5\.0-rc\.1\s+>=1\.25\.0-0\s+6\.5\.0-rc\.1\s+Fast$`,
		} {
			if !regexp.MustCompile(re).MatchString(res.Stdout) {
				t.Errorf("show lacks %s:\n%s", re, res.Stdout)
			}
		}
		res = mustKext(t, "type", "show", httpName, "-o", "yaml")
		et := &v1alpha1.ExtensionType{}
		if err := yaml.Unmarshal([]byte(res.Stdout), et); err != nil || et.Kind != "ExtensionType" || et.Name != httpName || len(et.Status.Versions) != 6 {
			t.Errorf("-o yaml (%v):\n%s", err, res.Stdout)
		}
	})
}

// TestTypeSyncErrors: a type whose repository is unreachable fails its sync with a
// message naming the URL, the others still sync, and the command exits 1.
func TestTypeSyncErrors(t *testing.T) {
	requireEnv(t)
	good := httpType(t, chartsourcetest.Podinfo())
	bad := recordType(t, v1alpha1.ChartSource{Repository: unreachableRepo, Name: "podinfo"})

	res := kext(t, "type", "sync", bad, good)
	wantExit1(t, res, "1 of 2 extension types could not be synced")
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per type:\n%s", res.Stdout)
	}
	if !strings.HasPrefix(lines[0], bad+": failed: ") || !strings.Contains(lines[0], unreachableRepo) {
		t.Errorf("the failure line does not name the type and the URL: %s", lines[0])
	}
	if !strings.HasPrefix(lines[1], good+": 6 versions") {
		t.Errorf("the good type's line: %s", lines[1])
	}
	et := getType(t, bad)
	if c := meta.FindStatusCondition(et.Status.Conditions, "Synced"); c == nil || c.Status != "False" || !strings.Contains(c.Message, unreachableRepo) {
		t.Errorf("the failure is not recorded: %+v", et.Status.Conditions)
	}
	if len(getType(t, good).Status.Versions) != 6 {
		t.Errorf("the good type was not synced")
	}

	t.Run("list and show report the failed sync", func(t *testing.T) {
		res := mustKext(t, "type", "list")
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(bad) + `\s.*\s0\s+-\s+failed$`).MatchString(res.Stdout) {
			t.Errorf("list:\n%s", res.Stdout)
		}
		res = mustKext(t, "type", "show", bad)
		if !regexp.MustCompile(`(?m)^Sync error:\s+.*` + regexp.QuoteMeta(unreachableRepo)).MatchString(res.Stdout) {
			t.Errorf("show:\n%s", res.Stdout)
		}
	})

	t.Run("--all syncs every type and fails because one failed", func(t *testing.T) {
		res := kext(t, "type", "sync", "--all")
		if res.ExitCode != 1 || !strings.Contains(res.Stderr, "extension types could not be synced") {
			t.Errorf("exit %d: %s", res.ExitCode, res.Stderr)
		}
		if !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(good)+`: 6 versions`).MatchString(res.Stdout) ||
			!regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(bad)+`: failed: .*`+regexp.QuoteMeta(unreachableRepo)).MatchString(res.Stdout) {
			t.Errorf("stdout:\n%s", res.Stdout)
		}
	})

	t.Run("versions of a never-synced type with an unreachable repository fail naming the URL", func(t *testing.T) {
		other := recordType(t, v1alpha1.ChartSource{Repository: unreachableRepo, Name: "podinfo"})
		res := kext(t, "type", "versions", other)
		wantExit1(t, res, unreachableRepo)
	})

	t.Run("a type that does not exist is a failed line and exit 1", func(t *testing.T) {
		res := kext(t, "type", "sync", "no.such.type", good)
		wantExit1(t, res, "1 of 2 extension types could not be synced")
		if !strings.Contains(res.Stdout, `no.such.type: failed: extension type "no.such.type" does not exist`) {
			t.Errorf("stdout:\n%s", res.Stdout)
		}
	})

	t.Run("add --sync of an unreachable repository keeps the type and says how to retry", func(t *testing.T) {
		name := uniq("test.unreachable")
		res := kext(t, "type", "add", name, "--chart-repository", unreachableHTTPS, "--chart", "podinfo", "--sync")
		wantExit1(t, res, "was added, but its versions could not be read; run `kubectl ext type sync "+name+"`")
		if !strings.Contains(res.Stderr, unreachableHTTPS) || !strings.Contains(res.Stdout, name+" created") {
			t.Errorf("stdout %q stderr %q", res.Stdout, res.Stderr)
		}
		getType(t, name)
	})
}

// TestTypeInvalidFlags: every bad flag or combination exits 1 with a clear message,
// before anything is written.
func TestTypeInvalidFlags(t *testing.T) {
	requireEnv(t)
	typ := recordType(t, v1alpha1.ChartSource{Repository: unreachableRepo, Name: "podinfo"})
	repo := []string{"--chart-repository", "https://charts.example.org", "--chart", "podinfo"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "add without a repository", args: []string{"type", "add", "test.x", "--chart", "podinfo"}, want: "--chart-repository is required"},
		{name: "add without a chart", args: []string{"type", "add", "test.x", "--chart-repository", "https://charts.example.org"}, want: "--chart is required"},
		{name: "add with an ftp repository", args: []string{"type", "add", "test.x", "--chart-repository", "ftp://charts", "--chart", "podinfo"}, want: "must be an https://, http://, oci:// or file:// URL"},
		{name: "add without a name", args: []string{"type", "add"}, want: "takes exactly one NAME"},
		{name: "add with an invalid name", args: append([]string{"type", "add", "Test_X"}, repo...), want: "is not a valid extension type name"},
		{name: "add with --sync and --dry-run", args: append([]string{"type", "add", "test.x", "--sync", "--dry-run=client"}, repo...), want: "cannot be combined with --dry-run"},
		{name: "add with no scope", args: append([]string{"type", "add", "test.x", "--cluster-scope=false"}, repo...), want: "the type must support a scope"},
		{name: "add with a default scope it does not support", args: append([]string{"type", "add", "test.x", "--cluster-scope=false", "--namespace-scope=true", "--default-scope", "cluster"}, repo...), want: "--default-scope cluster needs cluster scope"},
		{name: "add with a default release namespace but no cluster scope", args: append([]string{"type", "add", "test.x", "--cluster-scope=false", "--namespace-scope", "--default-release-namespace", "x"}, repo...), want: "--default-release-namespace is for cluster scope"},
		{name: "add with an unknown upgrade policy", args: append([]string{"type", "add", "test.x", "--upgrade-policy", "Major"}, repo...), want: `--upgrade-policy must be KubernetesMinor or Minor, not "Major"`},
		{name: "add with a bad train option", args: append([]string{"type", "add", "test.x", "--release-train", "Fast:beta"}, repo...), want: "the only option after ':' is prerelease"},
		{name: "add with a bad output format", args: append([]string{"type", "add", "test.x", "-o", "toml"}, repo...), want: "toml"},
		{name: "sync without types or --all", args: []string{"type", "sync"}, want: "name the extension types to sync, or give --all"},
		{name: "sync with types and --all", args: []string{"type", "sync", typ, "--all"}, want: "give either TYPE names or --all, not both"},
		{name: "versions with --show-latest and --all", args: []string{"type", "versions", typ, "--show-latest", "--all"}, want: "give one of them"},
		{name: "versions with a major version that is no number", args: []string{"type", "versions", typ, "--major-version", "one"}, want: `--major-version must be a whole number such as 1 (for 1.x), not "one"`},
		{name: "versions -o wide", args: []string{"type", "versions", typ, "-o", "wide"}, want: `--output must be json or yaml, not "wide"`},
		{name: "versions of a train the type lacks", args: []string{"type", "versions", typ, "--release-train", "Nightly"}, want: `has no release train "Nightly" (its trains: Stable, Preview)`},
		{name: "versions of a type that does not exist", args: []string{"type", "versions", "no.such.type"}, want: `extension type "no.such.type" does not exist (known types: `},
		{name: "show without a type", args: []string{"type", "show"}, want: "takes exactly one TYPE"},
		{name: "show of a type that does not exist", args: []string{"type", "show", "no.such.type"}, want: `extension type "no.such.type" does not exist`},
		{name: "an unknown subcommand", args: []string{"type", "frobnicate"}, want: `unknown command "frobnicate" for "kubectl ext type"`},
		{name: "list with a bad output format", args: []string{"type", "list", "-o", "toml"}, want: "toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := kext(t, tt.args...)
			wantExit1(t, res, tt.want)
			if res.Stdout != "" {
				t.Errorf("stdout is not empty: %q", res.Stdout)
			}
		})
	}
	if err := env.Client.Get(testCtx(t), nameKey("test.x"), &v1alpha1.ExtensionType{}); !apierrors.IsNotFound(err) {
		t.Errorf("an invalid command created test.x: %v", err)
	}
}

// TestTypeHelp: every command has help with examples that say `kubectl ext`.
func TestTypeHelp(t *testing.T) {
	requireEnv(t)
	res := mustKext(t, "types", "--help")
	for _, sub := range []string{"add", "list", "show", "sync", "versions"} {
		if !regexp.MustCompile(`(?m)^  ` + sub + `\s`).MatchString(res.Stdout) {
			t.Errorf("type --help does not list %s:\n%s", sub, res.Stdout)
		}
		res := mustKext(t, "type", sub, "--help")
		if !strings.Contains(res.Stdout, "Examples:") || !strings.Contains(res.Stdout, "  kubectl ext type "+sub+" ") ||
			regexp.MustCompile(`(?m)^\s+kubectl-ext `).MatchString(res.Stdout) {
			t.Errorf("type %s --help:\n%s", sub, res.Stdout)
		}
	}
}
