package policy

import (
	"bytes"
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// docExamples are the writes whose findings docs/policies.md shows, one per id.
var docExamples = []struct {
	id     string
	config Config
	input  func() scenario
	// typeInput, set instead of input, is a write of an ExtensionType.
	typeInput func() TypeInput
}{
	{id: "EXT-BASELINE-001", input: func() scenario {
		return statusInput(newExtension(installedAt("1.4.1")), newExtension(installedAt("2.0.0")))
	}},
	{id: "EXT-BASELINE-002", input: func() scenario {
		return statusInput(newExtension(installedAt("1.4.1")), newExtension(installedAt("1.4.1"), func(e *v1alpha1.Extension) {
			e.Status.KubernetesVersion = ""
		}))
	}},
	{id: "EXT-BASELINE-003", input: func() scenario {
		old := newExtension(installedAt("garbage"))
		return updateInput(old, newExtension(installedAt("garbage"), version("2.0.0")))
	}},
	{id: "EXT-BASELINE-004", input: func() scenario {
		old := newExtension(installedAt("1.4.2"))
		forged := newExtension(installedAt("1.4.2"))
		forged.Status.Release.Namespace = "cert-manager"
		return statusInput(old, forged)
	}},
	{id: "EXT-DELETE-001", input: func() scenario {
		old := newExtension(installedAt("1.4.2"), deleting)
		return updateInput(old, newExtension(installedAt("1.4.2"), deleting, releaseNamespace("kube-system")))
	}},
	{id: "EXT-DELETE-002", input: func() scenario {
		old := newExtension(installedAt("1.4.2"), deleting)
		return statusInput(old, newExtension(installedAt("1.4.2"), deleting, targeting("2.0.0")))
	}},
	{id: "EXT-IDENTITY-001", input: func() scenario {
		in := updateInput(newExtension(installedAt("1.4.2")), newExtension(installedAt("1.4.2")))
		in.Writer = &Writer{InstallIdentity: "ServiceAccount kubeext-system/kubeext-installer (extension type example.podinfo's spec.install.serviceAccount)"}
		return in
	}},
	{id: "EXT-SETTINGS-001", input: func() scenario {
		old := newExtension(installedAt("1.4.2"), protectedSecret("podinfo-protected-settings"))
		return updateInput(old, newExtension(installedAt("1.4.2"), protectedSecret("kubeext-webhook-cert")))
	}},
	{id: "EXT-TYPEDEF-001", typeInput: func() TypeInput {
		return typeCreate(typeRepository(podinfoType(), "http://charts.example.org"))
	}},
	{id: "EXT-TYPEDEF-002", typeInput: func() TypeInput {
		t := podinfoType()
		t.Status.Versions = append(t.Status.Versions, v1alpha1.TypeVersion{Version: "v1.2.0", ReleaseTrains: []string{"Stable"}})
		return typeStatus(t)
	}},
	{id: "EXT-TYPEDEF-003", typeInput: func() TypeInput {
		t := podinfoType()
		t.Status.Versions[0].ReleaseTrains = []string{"Nightly"}
		return typeStatus(t)
	}},
	{id: "EXT-TYPEDEF-004", typeInput: func() TypeInput {
		t := podinfoType()
		t.Spec.ReleaseTrains = append(t.Spec.ReleaseTrains, v1alpha1.ReleaseTrain{Name: "stable"})
		return typeCreate(t)
	}},
	{id: "EXT-WARN-004", typeInput: func() TypeInput {
		t := typeRepository(podinfoType(), "http://charts.mirror.internal")
		t.Annotations = map[string]string{"kubeext.dev/allow-insecure-repository": "air-gapped mirror, no TLS inside the site"}
		return typeCreate(t)
	}},
	{id: "EXT-VERSION-001", input: func() scenario {
		return createInput(newExtension(func(e *v1alpha1.Extension) { e.Spec.AutoUpgradeMinorVersion = ptr(true) }))
	}},
	{id: "EXT-VERSION-002", input: func() scenario { return createInput(newExtension(version(""))) }},
	{id: "EXT-VERSION-003", input: func() scenario {
		return createInput(newExtension(autoUpgrade(true), func(e *v1alpha1.Extension) { e.Spec.ReleaseTrain = "Nightly" }))
	}},
	{id: "EXT-VERSION-004", input: func() scenario { return createInput(newExtension(version("v1.4.2"))) }},
	{id: "EXT-VERSION-005", input: func() scenario { return createInput(newExtension(version("1.9.9"))) }},
	{
		id:     "EXT-VERSION-006",
		config: Config{VersionConstraints: map[string]VersionConstraint{"example.podinfo": {RequirePinned: true}}},
		input:  func() scenario { return createInput(newExtension(autoUpgrade(true))) },
	},
	{
		id:     "EXT-VERSION-007",
		config: Config{VersionConstraints: map[string]VersionConstraint{"example.podinfo": {Constraint: "~1.4"}}},
		input:  func() scenario { return createInput(newExtension(version("1.5.0"))) },
	},
	{id: "EXT-TYPE-001", input: func() scenario {
		in := createInput(newExtension(func(e *v1alpha1.Extension) { e.Spec.ExtensionType = "example.podinfp" }))
		in.ExtensionType = nil
		return in
	}},
	{id: "EXT-NAME-001", input: func() scenario { return createInput(newExtension(named("Pod_Info"))) }},
	{id: "EXT-SCOPE-001", input: func() scenario {
		return createInput(newExtension(func(e *v1alpha1.Extension) { e.Spec.Scope = v1alpha1.Scope{} }))
	}},
	{id: "EXT-SCOPE-002", input: func() scenario { return createInput(newExtension(releaseNamespace(""))) }},
	{id: "EXT-SCOPE-003", input: func() scenario { return createInput(newExtension(targetNamespace(""))) }},
	{id: "EXT-SCOPE-004", input: func() scenario {
		in := createInput(newExtension(targetNamespace("team-a")))
		in.ExtensionType.Spec.Scopes.Namespace = nil
		return in
	}},
	{id: "EXT-SCOPE-005", input: func() scenario {
		old := newExtension(installedAt("1.4.2"))
		return updateInput(old, newExtension(installedAt("1.4.2"), func(e *v1alpha1.Extension) { e.Spec.ExtensionType = "example.other" }))
	}},
	{id: "EXT-SCOPE-006", input: func() scenario {
		old := newExtension(installedAt("1.4.2"))
		return updateInput(old, newExtension(installedAt("1.4.2"), targetNamespace("team-a")))
	}},
	{id: "EXT-SCOPE-007", input: func() scenario { return createInput(newExtension(releaseNamespace("kube-system"))) }},
	{id: "EXT-SCOPE-008", input: func() scenario {
		in := createInput(newExtension(named("podinfo-2"), releaseNamespace("podinfo-2")))
		in.Extensions = []v1alpha1.Extension{*newExtension(installedAt("1.4.2"))}
		return in
	}},
	{id: "EXT-SCOPE-009", input: func() scenario {
		in := createInput(newExtension())
		legacy := newExtension(named("legacy"), installedAt("1.4.2"))
		legacy.Status.Release.Name = "podinfo"
		in.Extensions = []v1alpha1.Extension{*legacy}
		in.ExtensionType.Spec.Scopes.Cluster.AllowMultipleInstances = true
		return in
	}},
	{id: "EXT-UPGRADE-001", input: func() scenario {
		return updateInput(newExtension(version("1.4.1"), installedAt("1.4.1")), newExtension(version("1.5.0"), installedAt("1.4.1")))
	}},
	{id: "EXT-UPGRADE-002", input: func() scenario {
		return updateInput(newExtension(installedAt("1.4.2")), newExtension(version("1.4.1"), installedAt("1.4.2")))
	}},
	{id: "EXT-UPGRADE-003", input: func() scenario { return createInput(newExtension(version("1.3.0"))) }},
	{id: "EXT-WARN-001", input: func() scenario {
		return updateInput(newExtension(version("1.4.1"), installedAt("1.4.1")),
			newExtension(version("1.5.0"), installedAt("1.4.1"), annotated(v1alpha1.AnnotationUpgradeException, "CVE-2026-1234 fixed only in 1.5")))
	}},
	{id: "EXT-WARN-002", input: func() scenario {
		return updateInput(newExtension(installedAt("1.4.2")),
			newExtension(version("1.4.1"), installedAt("1.4.2"), annotated(v1alpha1.AnnotationAllowDowngrade, "1.4.2 breaks the ingress")))
	}},
	{id: "EXT-WARN-003", input: func() scenario {
		in := updateInput(newExtension(version("1.4.1"), installedAt("1.4.1")), newExtension(version("1.5.0"), installedAt("1.4.1")))
		in.Cluster = ClusterInfo{KubernetesVersion: "1.36.0-rc.0", Minor: "1.36", Prerelease: true}
		return in
	}},
}

// TestDocsShowRealFindings checks that docs/policies.md quotes, for every rule and
// warning, a finding exactly as the engine produces it.
func TestDocsShowRealFindings(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "policies.md"))
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, ex := range docExamples {
		covered[ex.id] = true
		t.Run(ex.id, func(t *testing.T) {
			e := newEngine(t, Options{Config: ex.config})
			var d Decision
			var err error
			if ex.typeInput != nil {
				d, err = e.EvaluateType(context.Background(), ex.typeInput())
			} else {
				d, err = evaluate(e, context.Background(), ex.input())
			}
			if err != nil {
				t.Fatal(err)
			}
			var line string
			for _, r := range append(d.Deny, d.Warn...) {
				if r.ID == ex.id {
					line = r.String()
					break
				}
			}
			if line == "" {
				t.Fatalf("the example produced no %s: %+v", ex.id, d)
			}
			if !strings.Contains(string(docs), line) {
				t.Errorf("docs/policies.md does not quote the finding as produced:\n%s", line)
			}
		})
	}
	for _, id := range append(RuleIDs(), WarningIDs()...) {
		if !covered[id] {
			t.Errorf("no documentation example for %s", id)
		}
	}
}

var update = flag.Bool("update", false, "rewrite the generated rule table of docs/policies.md")

const (
	tableBegin = "<!-- rule table: generated from the METADATA of policies/*.rego; `go test ./internal/policy -run TestDocsRuleTable -update` rewrites it -->"
	tableEnd   = "<!-- end of rule table -->"
)

// TestDocsRuleTable fails when the rule table of docs/policies.md is not the one the
// rules' METADATA blocks give; -update rewrites it.
func TestDocsRuleTable(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "policies.md")
	docs, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := bytes.Index(docs, []byte(tableBegin)), bytes.Index(docs, []byte(tableEnd))
	if begin < 0 || end < begin {
		t.Fatalf("docs/policies.md lacks the markers of the rule table:\n%s\n%s", tableBegin, tableEnd)
	}
	want := ruleTable(Rules())
	got := string(docs[begin+len(tableBegin) : end])
	if got == want {
		return
	}
	if !*update {
		t.Fatalf("the rule table of docs/policies.md is stale: run `go test ./internal/policy -run TestDocsRuleTable -update`\nwant:%s", want)
	}
	out := slices.Concat(docs[:begin+len(tableBegin)], []byte(want), docs[end:])
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log("docs/policies.md: rule table rewritten")
}

// ruleTable renders the rules, by module then id, as a Markdown table linking each id
// to its section.
func ruleTable(rules []Rule) string {
	rules = slices.Clone(rules)
	slices.SortFunc(rules, func(a, b Rule) int { return cmp.Or(cmp.Compare(a.Module, b.Module), cmp.Compare(a.ID, b.ID)) })
	var b strings.Builder
	b.WriteString("\n| Rule | Checks | Module | Default |\n| --- | --- | --- | --- |\n")
	for _, r := range rules {
		mode := string(r.Enforcement)
		if r.Warning {
			mode = "warning"
		}
		fmt.Fprintf(&b, "| [%s](#%s) | %s | `%s` | %s |\n", r.ID, strings.ToLower(r.ID), r.Title, r.Module, mode)
	}
	return b.String()
}
