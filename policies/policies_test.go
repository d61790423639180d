package policies_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/policies"
)

var writeFormatted = flag.Bool("fmt", false, "rewrite the .rego files of this directory as opa fmt would")

// regoFiles reads every .rego file embedded in the package, tests included.
func regoFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := fs.WalkDir(policies.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := fs.ReadFile(policies.FS, name)
		files[name] = src
		return err
	})
	if err != nil {
		t.Fatalf("read embedded policies: %v", err)
	}
	if len(files) == 0 {
		t.Fatal("no .rego file is embedded")
	}
	return files
}

// TestRegoPolicies runs every test_ rule of the _test.rego files through OPA's tester,
// compiled as the engine compiles the policies: strict, Rego v1, the engine's
// capabilities and custom built-ins, built-in errors raised.
func TestRegoPolicies(t *testing.T) {
	modules := map[string]*ast.Module{}
	for name, src := range regoFiles(t) {
		m, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		modules[name] = m
	}

	var builtins []*tester.Builtin
	for _, b := range policy.CustomBuiltins() {
		builtins = append(builtins, &tester.Builtin{Decl: b.Decl, Func: b.Func})
	}
	compiler := ast.NewCompiler().
		WithCapabilities(policy.Capabilities()).
		WithStrict(true).
		WithEnablePrintStatements(true).
		WithDefaultRegoVersion(ast.RegoV1)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ch, err := tester.NewRunner().
		SetCompiler(compiler).
		AddCustomBuiltins(builtins).
		RaiseBuiltinErrors(true).
		SetTimeout(30*time.Second).
		SetModules(modules).
		RunTests(ctx, nil)
	if err != nil {
		t.Fatalf("compile policies and tests: %v", err)
	}
	var results []*tester.Result
	for r := range ch {
		results = append(results, r)
	}
	if len(results) == 0 {
		t.Fatal("no Rego test ran")
	}
	slices.SortFunc(results, func(a, b *tester.Result) int {
		return strings.Compare(a.Package+"."+a.Name, b.Package+"."+b.Name)
	})

	passed := map[string]bool{}
	for _, r := range results {
		name := strings.TrimPrefix(r.Package, "data.") + "." + r.Name
		t.Run(name, func(t *testing.T) {
			switch {
			case r.Error != nil:
				t.Errorf("%s errored at %s: %v\n%s", r.Name, r.Location, r.Error, r.Output)
			case r.Fail:
				t.Errorf("%s failed at %s\n%s", r.Name, r.Location, r.Output)
			case r.Skip:
				t.Errorf("%s is a todo_ test: finish it or remove it", r.Name)
			default:
				passed[r.Name] = true
			}
		})
	}

	// Every rule has a test that it denies and one that it allows; every warning a
	// test that it warns and one that it stays quiet.
	want := func(id string, outcomes ...string) {
		prefix := "test_" + strings.ToLower(strings.ReplaceAll(id, "-", "_")) + "_"
		for _, outcome := range outcomes {
			found := false
			for name := range passed {
				if strings.HasPrefix(name, prefix+outcome) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s has no passing Rego test named %s%s_...", id, prefix, outcome)
			}
		}
	}
	ids := policy.RuleIDs()
	if len(ids) == 0 {
		t.Fatal("the embedded policies define no rule")
	}
	for _, id := range ids {
		want(id, "denies", "allows")
	}
	for _, id := range policy.WarningIDs() {
		want(id, "warns", "quiet")
	}
}

// TestRegoFormatted fails when a .rego file is not as opa fmt writes it. Run
// `go test ./policies -run TestRegoFormatted -fmt` to rewrite them.
func TestRegoFormatted(t *testing.T) {
	for name, src := range regoFiles(t) {
		formatted, err := format.SourceWithOpts(name, src, format.Opts{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Errorf("format %s: %v", name, err)
			continue
		}
		if bytes.Equal(src, formatted) {
			continue
		}
		if *writeFormatted {
			if err := os.WriteFile(name, formatted, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s rewritten as opa fmt writes it", name)
			continue
		}
		t.Errorf("%s is not opa fmt clean: run `opa fmt -w policies/` (or go test ./policies -run TestRegoFormatted -fmt)\n%s",
			name, firstDifference(src, formatted))
	}
}

func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n  have: %s\n  want: %s", i+1, gl, wl)
		}
	}
	return ""
}
