package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/kubeext/kubectl-ext/policies"
)

// The policies follow one convention, which the engine checks when it loads them:
// every package under kubeext.rules defines its findings as partial sets
//
//	violation contains {"id": "EXT-VERSION-001", "msg": msg} if { ... }
//	warning contains {"id": "EXT-WARN-001", "msg": msg} if { ... }
//
// with the id written as a literal, so the rule ids can be read from the modules.
//
// The rules that judge writes of ExtensionTypes follow the same convention in packages
// under kubeext.types.rules, and have an entry point of their own (policies/types.rego).
var (
	rulesPackage     = ast.MustParseRef("data.kubeext.rules")
	typeRulesPackage = ast.MustParseRef("data.kubeext.types.rules")
	ruleIDFormat     = regexp.MustCompile(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$`)
)

const (
	violationRule = "violation"
	warningRule   = "warning"
)

// moduleSet is a set of parsed policy modules (tests excluded) and the ids they define.
type moduleSet struct {
	modules    map[string]*ast.Module
	ruleIDs    []string        // ids of violation rules, sorted
	warningIDs []string        // ids of warnings, sorted
	rules      map[string]Rule // every id's METADATA
}

// Rule is what a rule's METADATA block says about it.
type Rule struct {
	ID          string
	Title       string
	Description string
	// Enforcement is the rule's default: deny, warn or dryrun for a violation (the
	// configuration may change it), warn for a warning (always shown).
	Enforcement Mode
	// Warning is true for a warning, false for a violation rule.
	Warning bool
	// Module is the file that defines the rule, e.g. policies/upgrade.rego.
	Module string
}

// ProcessAnnotation keeps the METADATA blocks, which carry each rule's id, title and
// default enforcement.
var parserOptions = ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true}

// embeddedModules parses the embedded policies once.
var embeddedModules = sync.OnceValues(func() (*moduleSet, error) {
	set := &moduleSet{modules: map[string]*ast.Module{}}
	if err := set.addFS(policies.FS, "policies"); err != nil {
		return nil, err
	}
	if err := set.index(); err != nil {
		return nil, err
	}
	return set, nil
})

// RuleIDs lists the ids of the rules of the embedded policies, sorted. These are the
// ids the configuration's enforcement may name.
func RuleIDs() []string {
	set, err := embeddedModules()
	if err != nil {
		return nil
	}
	return slices.Clone(set.ruleIDs)
}

// Rules describes the rules and warnings of the embedded policies, sorted by id, as
// their METADATA blocks do.
func Rules() []Rule {
	set, err := embeddedModules()
	if err != nil {
		return nil
	}
	out := make([]Rule, 0, len(set.rules))
	for _, id := range sortedKeys(set.rules) {
		out = append(out, set.rules[id])
	}
	return out
}

// WarningIDs lists the ids of the warnings of the embedded policies, sorted; warnings
// are always shown and cannot be enforced.
func WarningIDs() []string {
	set, err := embeddedModules()
	if err != nil {
		return nil
	}
	return slices.Clone(set.warningIDs)
}

// loadModules returns the embedded policies plus the .rego files of extraDir (tests
// excluded), which must put their rules in packages under kubeext.rules.
func loadModules(extraDir string) (*moduleSet, error) {
	embedded, err := embeddedModules()
	if err != nil {
		return nil, err
	}
	if extraDir == "" {
		return embedded, nil
	}
	set := &moduleSet{modules: make(map[string]*ast.Module, len(embedded.modules))}
	for name, m := range embedded.modules {
		set.modules[name] = m
	}
	before := len(set.modules)
	if err := set.addFS(os.DirFS(extraDir), extraDir); err != nil {
		return nil, err
	}
	if len(set.modules) == before {
		return nil, fmt.Errorf("extra policy directory %s holds no .rego module", extraDir)
	}
	for name, m := range set.modules {
		if _, ok := embedded.modules[name]; ok {
			continue
		}
		// Exactly one level under kubeext.rules: the decision collects
		// data.kubeext.rules[_].violation, and a deeper package would never be judged.
		if !m.Package.Path.HasPrefix(rulesPackage) || len(m.Package.Path) != len(rulesPackage)+1 {
			return nil, fmt.Errorf("%s: package %s: extra policies must live in a package directly under kubeext.rules (kubeext.rules.NAME)", name, m.Package.Path)
		}
		if err := noRemovedInput(name, m); err != nil {
			return nil, err
		}
	}
	if err := set.index(); err != nil {
		return nil, err
	}
	return set, nil
}

// addFS parses the .rego files at the top of fsys, skipping tests.
func (s *moduleSet) addFS(fsys fs.FS, prefix string) error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return fmt.Errorf("read policies: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".rego") || strings.HasSuffix(name, "_test.rego") {
			continue
		}
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("read policy %s: %w", name, err)
		}
		file := path.Join(prefix, name)
		m, err := ast.ParseModuleWithOpts(file, string(src), parserOptions)
		if err != nil {
			return fmt.Errorf("parse policy: %w", err)
		}
		s.modules[file] = m
	}
	return nil
}

// index checks the convention of every rule module and records the ids it defines:
// every violation and warning has a literal id, and each id exactly one METADATA
// block (on one of its definitions) with a title, a description, custom.id naming
// that id and custom.enforcement its default.
func (s *moduleSet) index() error {
	rules, warnings := map[string]bool{}, map[string]bool{}
	meta := map[string]Rule{}
	var errs []error
	for _, name := range sortedKeys(s.modules) {
		m := s.modules[name]
		if !m.Package.Path.HasPrefix(rulesPackage) && !m.Package.Path.HasPrefix(typeRulesPackage) {
			continue
		}
		for _, r := range m.Rules {
			ref := r.Head.Ref()
			kind := ref[0].Value.String()
			if kind != violationRule && kind != warningRule {
				continue
			}
			id, err := findingID(r)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", r.Location, err))
				continue
			}
			if kind == violationRule {
				rules[id] = true
			} else {
				warnings[id] = true
			}
			for _, a := range r.Annotations {
				info, err := ruleMetadata(a, id, kind == warningRule)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", r.Location, err))
					continue
				}
				if prev, dup := meta[id]; dup {
					errs = append(errs, fmt.Errorf("%s: %s has a second METADATA block (the first is in %s): keep one", r.Location, id, prev.Module))
					continue
				}
				info.Module = name
				meta[id] = info
			}
		}
	}
	for id := range rules {
		if warnings[id] {
			errs = append(errs, fmt.Errorf("id %s names both a rule and a warning", id))
		}
	}
	for _, id := range sortedKeys(rules) {
		if _, ok := meta[id]; !ok {
			errs = append(errs, fmt.Errorf("rule %s has no METADATA block: %s", id, metadataHint))
		}
	}
	for _, id := range sortedKeys(warnings) {
		if _, ok := meta[id]; !ok {
			errs = append(errs, fmt.Errorf("warning %s has no METADATA block: %s", id, metadataHint))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("policies: %w", err)
	}
	s.ruleIDs, s.warningIDs, s.rules = sortedKeys(rules), sortedKeys(warnings), meta
	return nil
}

const metadataHint = "put `# METADATA`, `# title: ...`, `# description: ...`, `# custom:`, `#   id: ...` and `#   enforcement: deny` above one of its definitions"

// ruleMetadata reads a rule's METADATA block, which must name the id the rule's head
// does and a default enforcement fit for its kind.
func ruleMetadata(a *ast.Annotations, id string, warning bool) (Rule, error) {
	info := Rule{ID: id, Title: a.Title, Description: strings.TrimSpace(a.Description), Warning: warning}
	got, _ := a.Custom["id"].(string)
	if got != id {
		return Rule{}, fmt.Errorf("the METADATA of %s names custom.id %q: make it %s", id, got, id)
	}
	if info.Title == "" || info.Description == "" {
		return Rule{}, fmt.Errorf("the METADATA of %s needs a title and a description", id)
	}
	mode, _ := a.Custom["enforcement"].(string)
	info.Enforcement = Mode(mode)
	switch {
	case warning && info.Enforcement != ModeWarn:
		return Rule{}, fmt.Errorf("the METADATA of warning %s says enforcement %q: a warning is always shown, write warn", id, mode)
	case !warning && info.Enforcement != ModeDeny && info.Enforcement != ModeWarn && info.Enforcement != ModeDryRun:
		return Rule{}, fmt.Errorf("the METADATA of %s says enforcement %q: write deny, warn or dryrun", id, mode)
	}
	return info, nil
}

// findingID reads the literal id of a violation or warning rule.
func findingID(r *ast.Rule) (string, error) {
	name := r.Head.Ref()[0].Value.String()
	if len(r.Head.Ref()) != 1 || r.Head.RuleKind() != ast.MultiValue || r.Head.Key == nil {
		return "", fmt.Errorf("%s must be a partial set: %s contains {\"id\": \"EXT-...\", \"msg\": msg} if { ... }", name, name)
	}
	obj, ok := r.Head.Key.Value.(ast.Object)
	if !ok {
		return "", fmt.Errorf("%s must contain an object literal {\"id\": \"EXT-...\", \"msg\": msg}", name)
	}
	idTerm := obj.Get(ast.StringTerm("id"))
	if idTerm == nil {
		return "", fmt.Errorf("%s has no \"id\"", name)
	}
	id, ok := idTerm.Value.(ast.String)
	if !ok || !ruleIDFormat.MatchString(string(id)) {
		return "", fmt.Errorf("%s id %v must be a string literal like \"EXT-SCOPE-001\"", name, idTerm)
	}
	if obj.Get(ast.StringTerm("msg")) == nil {
		return "", fmt.Errorf("%s %s has no \"msg\"", name, id)
	}
	return string(id), nil
}

// removedInput are the input documents the engine no longer hands the policies: the
// cluster's types and extensions are data.inventory. A rule that reads them would
// never fire (or, negated, always), so a module that does is refused.
var removedInput = map[string]string{
	"extensions":    "data.inventory.instances and data.inventory.releases",
	"extensionType": "data.kubeext.lib.ext_type (data.inventory.types)",
}

func noRemovedInput(name string, m *ast.Module) error {
	var err error
	ast.WalkRefs(m, func(r ast.Ref) bool {
		if err != nil || len(r) < 2 || !r[0].Equal(ast.InputRootDocument) {
			return false
		}
		key, ok := r[1].Value.(ast.String)
		if !ok {
			return false
		}
		if instead, removed := removedInput[string(key)]; removed {
			err = fmt.Errorf("%s:%d: input.%s is not in the input any more: read %s (docs/policies.md, The input document)",
				name, r[0].Location.Row, string(key), instead)
		}
		return false
	})
	return err
}
