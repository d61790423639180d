package cli_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/release"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the can-i tables of docs/security.md")

// canIRule is one row of `kubectl auth can-i --list`.
type canIRule struct {
	Resource, NonResourceURLs, ResourceNames, Verbs string
}

// canIList runs the real `kubectl auth can-i --list --as USER -n NAMESPACE` and
// returns its table and its rows.
func canIList(t *testing.T, user, namespace string) (string, []canIRule) {
	t.Helper()
	res, err := env.Kubectl(testCtx(t), binDir, "auth", "can-i", "--list", "--as", user, "-n", namespace)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("kubectl auth can-i --list --as %s -n %s: %v %s", user, namespace, err, res.Stderr)
	}
	lines := strings.Split(strings.TrimRight(res.Stdout, "\n"), "\n")
	header := lines[0]
	cols := []int{0, strings.Index(header, "Non-Resource URLs"), strings.Index(header, "Resource Names"), strings.Index(header, "Verbs")}
	if cols[1] < 0 || cols[2] < 0 || cols[3] < 0 {
		t.Fatalf("unexpected can-i header %q", header)
	}
	cell := func(line string, i int) string {
		end := len(line)
		if i+1 < len(cols) && cols[i+1] < end {
			end = cols[i+1]
		}
		if cols[i] >= len(line) {
			return ""
		}
		return strings.TrimSpace(line[cols[i]:end])
	}
	var rows []canIRule
	for _, l := range lines[1:] {
		rows = append(rows, canIRule{cell(l, 0), cell(l, 1), cell(l, 2), cell(l, 3)})
	}
	// The API server resolves rules from its RBAC caches in no fixed order; sorted,
	// the table is the same on every run.
	body := slices.Clone(lines[1:])
	sort.Strings(body)
	return header + "\n" + strings.Join(body, "\n") + "\n", rows
}

func verbs(r canIRule) []string { return strings.Fields(strings.Trim(r.Verbs, "[]")) }

// dangerous lists what the rows grant of the dangerous kind: any wildcard,
// pods/exec and its kin, serviceaccounts/token, nodes and nodes/proxy, escalate,
// bind, and impersonate beyond the allowed ServiceAccount names.
func dangerous(rows []canIRule, impersonable ...string) []string {
	var found []string
	for _, r := range rows {
		base := strings.SplitN(r.Resource, ".", 2)[0]
		if strings.HasPrefix(r.Resource, "*") || strings.Contains(r.NonResourceURLs, "*]") && strings.Contains(r.Verbs, "*") {
			found = append(found, "wildcard "+r.Resource+r.NonResourceURLs)
		}
		switch r.Resource {
		case "pods/exec", "pods/attach", "pods/portforward", "pods/proxy", "services/proxy", "serviceaccounts/token", "nodes", "nodes/proxy":
			found = append(found, r.Resource)
		}
		for _, v := range verbs(r) {
			switch {
			case v == "*":
				found = append(found, "verb * on "+r.Resource)
			case v == "escalate" || v == "bind":
				found = append(found, v+" on "+r.Resource)
			case v == "impersonate":
				allowed := base == "serviceaccounts" && r.ResourceNames != "[]"
				for _, n := range strings.Fields(strings.Trim(r.ResourceNames, "[]")) {
					if !contains(impersonable, n) {
						allowed = false
					}
				}
				if !allowed {
					found = append(found, "impersonate on "+r.Resource+" "+r.ResourceNames)
				}
			}
		}
	}
	return found
}

func containsRule(rows []canIRule, r canIRule) bool {
	for _, x := range rows {
		if x == r {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// grants reports whether a row gives verb on resource (any resource names).
func grants(rows []canIRule, resource, verb string) bool {
	for _, r := range rows {
		if r.Resource == resource && (contains(verbs(r), verb) || contains(verbs(r), "*")) {
			return true
		}
	}
	return false
}

// TestCanIMatrices applies the shipped RBAC of the webhook and the extension
// manager, installs a namespace-scoped extension, and asks the real API server, with
// the real kubectl, what each ServiceAccount may do: in its own namespace and in
// another. The dangerous rights are absent, and docs/security.md shows these very
// tables (`go test ./internal/cli -run TestCanIMatrices -update-docs` rewrites them).
func TestCanIMatrices(t *testing.T) {
	requireEnv(t)
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"apply"}
	for _, f := range []string{"webhook/namespace.yaml", "webhook/serviceaccount.yaml", "webhook/rbac.yaml",
		"extension-manager/serviceaccount.yaml", "extension-manager/rbac.yaml", "extension-manager/installer.yaml"} {
		args = append(args, "-f", filepath.Join(root, "manifests", f))
	}
	if res, err := env.Kubectl(testCtx(t), binDir, args...); err != nil || res.ExitCode != 0 {
		t.Fatalf("kubectl apply: %v\n%s", err, res.Stderr)
	}

	typ := httpType(t, chartsourcetest.Podinfo(), namespaceScoped)
	name, ns := uniq("podinfo"), uniq("team")
	mustKext(t, "create", name, "--extension-type", typ, "--target-namespace", ns, "--no-wait")
	t.Cleanup(func() { kext(t, "delete", name, "--yes") })
	installSA := release.ServiceAccountUser(ns, lifecycle.InstallAccountName(name))

	for _, tc := range []struct {
		doc, user, own string
		// impersonable: ServiceAccount names it may impersonate in its own namespace.
		impersonable []string
		// secretsAtHome: it reads Secrets in its own namespace (never in another).
		secretsAtHome bool
	}{
		{doc: "webhook", user: "system:serviceaccount:kubeext-system:kubeext-webhook", own: "kubeext-system", secretsAtHome: true},
		{doc: "extension-manager", user: "system:serviceaccount:kubeext-system:kubeext-extension-manager", own: "kubeext-system",
			impersonable: []string{"kubeext-installer"}},
		{doc: "namespace-install", user: installSA, own: ns, secretsAtHome: true},
	} {
		t.Run(tc.doc, func(t *testing.T) {
			home, homeRows := canIList(t, tc.user, tc.own)
			away, awayRows := canIList(t, tc.user, "default")
			if d := dangerous(homeRows, tc.impersonable...); len(d) > 0 {
				t.Errorf("in its namespace %s, %s may: %v", tc.own, tc.user, d)
			}
			if d := dangerous(awayRows); len(d) > 0 {
				t.Errorf("in another namespace, %s may: %v", tc.user, d)
			}
			if grants(awayRows, "secrets", "get") || grants(awayRows, "secrets", "list") {
				t.Errorf("%s reads Secrets outside its namespace (cluster-wide)", tc.user)
			}
			if got := grants(homeRows, "secrets", "get"); got != tc.secretsAtHome {
				t.Errorf("%s reads Secrets in %s: %v, want %v", tc.user, tc.own, got, tc.secretsAtHome)
			}
			if tc.doc == "namespace-install" {
				// Nothing outside its namespace beyond what any ServiceAccount has.
				_, baseline := canIList(t, release.ServiceAccountUser(uniq("elsewhere"), "nobody"), "default")
				for _, r := range awayRows {
					if !containsRule(baseline, r) {
						t.Errorf("the namespace-scope install ServiceAccount may %s %s%s outside %s", r.Verbs, r.Resource, r.NonResourceURLs, ns)
					}
				}
				if !grants(homeRows, "deployments.apps", "create") {
					t.Errorf("the namespace-scope install ServiceAccount may not create deployments in %s", ns)
				}
			}
			// The docs name the test's generated namespace and extension as a user would.
			generic := strings.NewReplacer(lifecycle.InstallAccountName(name), "kubeext-NAME", ns, "NAMESPACE")
			checkDoc(t, tc.doc, fmt.Sprintf("As %s, in its namespace (%s):\n\n```\n%s```\n\nIn any other namespace:\n\n```\n%s```\n",
				generic.Replace(tc.user), generic.Replace(tc.own), home, away))
		})
	}
}

// checkDoc compares a generated block of docs/security.md, between
// <!-- can-i:NAME --> and <!-- /can-i:NAME -->, with want, or rewrites it with -update.
func checkDoc(t *testing.T, name, want string) {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "docs", "security.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?s)(<!-- can-i:` + regexp.QuoteMeta(name) + ` -->\n).*?(<!-- /can-i:` + regexp.QuoteMeta(name) + ` -->)`)
	m := re.FindSubmatch(data)
	if m == nil {
		t.Fatalf("docs/security.md has no <!-- can-i:%s --> block", name)
	}
	block := string(m[0][len(m[1]) : len(m[0])-len(m[2])])
	if block == want {
		return
	}
	if *updateDocs {
		out := re.ReplaceAllLiteral(data, []byte(string(m[1])+want+string(m[2])))
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/security.md's can-i:%s block is stale (go test ./internal/cli -run TestCanIMatrices -update-docs):\n%s", name, want)
}
