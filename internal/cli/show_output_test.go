package cli_test

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
)

// TestShowOutputFormats: kubectl ext show takes every output format kubectl get takes
// for one object, and prints what kubectl get prints. The formats are kubectl's own
// list (from its error for an unknown one), so a format kubectl gains fails this test
// until show takes it.
func TestShowOutputFormats(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	name := uniq("formats")
	mustKext(t, "create", name, "--extension-type", typ, "--no-wait", "--config", "replicaCount=2")
	dir := t.TempDir()
	const columns = "NAME:.metadata.name,TYPE:.spec.extensionType,SETTING:.spec.configurationSettings.replicaCount"
	columnsFile := writeTestFile(t, dir, "columns.txt", "NAME TYPE\n.metadata.name .spec.extensionType\n")
	jsonpathFile := writeTestFile(t, dir, "jsonpath.txt", "{.metadata.name} {.spec.extensionType}")
	templateFile := writeTestFile(t, dir, "template.txt", "{{.metadata.name}} {{.spec.extensionType}}")

	// args is the -o of each format kubectl get lists, with what it needs. compare
	// says how show's output must match kubectl get's: "same" byte for byte, "object"
	// as the same object, "wide" as the listing's wide row (kubectl get's wide row
	// is the CRD's printer columns; show's is kubectl ext list -o wide's).
	formats := map[string]struct {
		args    []string
		compare string
	}{
		"json":                {[]string{"-o", "json"}, "object"},
		"yaml":                {[]string{"-o", "yaml"}, "object"},
		"kyaml":               {[]string{"-o", "kyaml"}, "object"},
		"name":                {[]string{"-o", "name"}, "same"},
		"wide":                {[]string{"-o", "wide"}, "wide"},
		"jsonpath":            {[]string{"-o", "jsonpath={.metadata.name} {.spec.configurationSettings}"}, "same"},
		"jsonpath-as-json":    {[]string{"-o", "jsonpath-as-json={.spec}"}, "same"},
		"jsonpath-file":       {[]string{"-o", "jsonpath-file=" + jsonpathFile}, "same"},
		"go-template":         {[]string{"-o", "go-template={{.metadata.name}} {{.spec.extensionType}}"}, "same"},
		"go-template-file":    {[]string{"-o", "go-template-file=" + templateFile}, "same"},
		"template":            {[]string{"-o", "template={{.spec.extensionType}}"}, "same"},
		"templatefile":        {[]string{"-o", "templatefile=" + templateFile}, "same"},
		"custom-columns":      {[]string{"-o", "custom-columns=" + columns}, "same"},
		"custom-columns-file": {[]string{"-o", "custom-columns-file=" + columnsFile}, "same"},
	}
	bad, err := env.Kubectl(testCtx(t), binDir, "get", "ext", name, "-o", "no-such-format")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`allowed formats are: ([a-z,-]+)`).FindStringSubmatch(bad.Stderr)
	if m == nil {
		t.Fatalf("kubectl get -o no-such-format did not list the formats: %s", bad.Stderr)
	}
	kubectlFormats := strings.Split(m[1], ",")
	for _, f := range kubectlFormats {
		t.Run(f, func(t *testing.T) {
			format, ok := formats[f]
			if !ok {
				t.Fatalf("kubectl get takes -o %s; this test does not know it yet", f)
			}
			show := mustKext(t, append([]string{"show", name, "--show-events=false"}, format.args...)...).Stdout
			switch format.compare {
			case "wide":
				list := mustKext(t, "list", "-o", "wide").Stdout
				lines := strings.Split(strings.TrimSpace(show), "\n")
				header := strings.SplitN(list, "\n", 2)[0]
				if len(lines) != 2 || !slices.Equal(strings.Fields(lines[0]), strings.Fields(header)) || strings.Fields(lines[1])[0] != name {
					t.Errorf("show -o wide:\n%s\nwant the header of list -o wide (%s) and the row of %s", show, header, name)
				}
			case "same", "object":
				get, err := env.Kubectl(testCtx(t), binDir, append([]string{"get", "ext", name}, format.args...)...)
				if err != nil || get.ExitCode != 0 {
					t.Fatalf("kubectl get ext %s: %v %s", strings.Join(format.args, " "), err, get.Stderr)
				}
				if format.compare == "same" {
					if show != get.Stdout {
						t.Errorf("show printed\n%q\nkubectl get printed\n%q", show, get.Stdout)
					}
					return
				}
				var fromShow, fromGet map[string]any
				if err := yaml.Unmarshal([]byte(show), &fromShow); err != nil {
					t.Fatalf("show's output: %v\n%s", err, show)
				}
				if err := yaml.Unmarshal([]byte(get.Stdout), &fromGet); err != nil {
					t.Fatalf("kubectl get's output: %v\n%s", err, get.Stdout)
				}
				if !reflect.DeepEqual(fromShow, fromGet) {
					t.Errorf("show printed\n%s\nkubectl get printed\n%s", show, get.Stdout)
				}
			}
		})
	}

	t.Run("--no-headers, as kubectl get's", func(t *testing.T) {
		show := mustKext(t, "show", name, "-o", "custom-columns="+columns, "--no-headers").Stdout
		get, err := env.Kubectl(testCtx(t), binDir, "get", "ext", name, "-o", "custom-columns="+columns, "--no-headers")
		if err != nil || get.ExitCode != 0 || show != get.Stdout || strings.Contains(show, "NAME") {
			t.Errorf("show printed %q, kubectl get %q (%v %s)", show, get.Stdout, err, get.Stderr)
		}
		wide := mustKext(t, "show", name, "-o", "wide", "--no-headers").Stdout
		if lines := strings.Split(strings.TrimSpace(wide), "\n"); len(lines) != 1 || strings.Fields(lines[0])[0] != name {
			t.Errorf("show -o wide --no-headers printed %q, want the row alone", wide)
		}
	})
	t.Run("a custom-columns spec kubectl refuses is refused before anything is read", func(t *testing.T) {
		res := kext(t, "show", "no-such-extension", "-o", "custom-columns=NAME")
		if res.ExitCode != 1 || !strings.Contains(res.Stderr, "unexpected custom-columns spec") {
			t.Errorf("exit %d, stderr %s", res.ExitCode, res.Stderr)
		}
	})
}
