// Package policy evaluates the Rego policies of kubectl-ext (policies/*.rego) for one
// write of an Extension (Evaluate) or of an ExtensionType (EvaluateType).
//
// The plugin (before it writes) and the admission webhook (on every write) build an
// Input and ask an Engine for a Decision. The engine compiles the policies once, with
// no access to the network, and evaluates them from many goroutines at once; the
// policy configuration (enforcement modes, protected namespaces, per-type version
// constraints) can be swapped while it runs.
//
// This package imports no Kubernetes client, no HTTP and no Helm.
package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// DefaultEvalTimeout bounds one evaluation; it stays well below the webhook's 5s
// admission timeout.
const DefaultEvalTimeout = 2 * time.Second

// decisionQuery is the entry point of the policies on Extensions (policies/main.rego),
// typeDecisionQuery the one on ExtensionTypes (policies/types.rego).
const (
	decisionQuery     = "data.kubeext.decision"
	typeDecisionQuery = "data.kubeext.types.decision"
)

// Options configure an Engine.
type Options struct {
	// ExtraDir, when set, names a directory whose .rego files (tests excluded) are
	// compiled with the embedded policies. Their packages must be under kubeext.rules
	// and follow the same convention: violation and warning partial sets of
	// {"id": "...", "msg": "..."} objects with literal ids.
	ExtraDir string
	// Config is the initial policy configuration.
	Config Config
	// EvalTimeout bounds one evaluation; DefaultEvalTimeout when zero.
	EvalTimeout time.Duration
	// OwnNamespace is the namespace the webhook runs in (DefaultOwnNamespace when
	// empty). It and kube-system are protected whatever the configuration says: an
	// extension installed there could replace the webhook or the cluster's own parts.
	OwnNamespace string
}

// Engine evaluates the policies. It is safe for concurrent use.
type Engine struct {
	query     rego.PreparedEvalQuery
	typeQuery rego.PreparedEvalQuery
	modules   *moduleSet
	timeout   time.Duration
	// alwaysProtected are protected whatever the configuration says.
	alwaysProtected []string
	config          atomic.Pointer[configState]
}

// configState is a configuration and its form as input.config, converted once.
type configState struct {
	cfg  Config
	term *ast.Term
}

// New compiles the embedded policies (and those of opts.ExtraDir) in strict mode,
// without the built-ins that reach the network, and prepares them for evaluation.
func New(ctx context.Context, opts Options) (*Engine, error) {
	set, err := loadModules(opts.ExtraDir)
	if err != nil {
		return nil, err
	}
	e := &Engine{modules: set, timeout: opts.EvalTimeout, alwaysProtected: AlwaysProtectedNamespaces(opts.OwnNamespace)}
	if e.timeout <= 0 {
		e.timeout = DefaultEvalTimeout
	}
	if err := e.SetConfig(opts.Config); err != nil {
		return nil, err
	}

	if e.query, err = prepare(ctx, set, decisionQuery); err != nil {
		return nil, err
	}
	if e.typeQuery, err = prepare(ctx, set, typeDecisionQuery); err != nil {
		return nil, err
	}
	return e, nil
}

// prepare compiles the modules for one entry point.
func prepare(ctx context.Context, set *moduleSet, query string) (rego.PreparedEvalQuery, error) {
	regoOpts := []func(*rego.Rego){
		rego.Query(query),
		rego.Capabilities(Capabilities()),
		rego.Strict(true),
		rego.SetRegoVersion(ast.RegoV1),
	}
	for _, b := range CustomBuiltins() {
		regoOpts = append(regoOpts, b.Func)
	}
	for _, name := range sortedKeys(set.modules) {
		regoOpts = append(regoOpts, rego.ParsedModule(set.modules[name]))
	}
	q, err := rego.New(regoOpts...).PrepareForEval(ctx)
	if err != nil {
		return rego.PreparedEvalQuery{}, fmt.Errorf("compile policies: %w", err)
	}
	return q, nil
}

// RuleIDs lists the ids of the engine's rules (embedded and extra), sorted.
func (e *Engine) RuleIDs() []string { return slices.Clone(e.modules.ruleIDs) }

// Config returns the configuration in force.
func (e *Engine) Config() Config { return e.config.Load().cfg.clone() }

// SetConfig validates cfg against the engine's rules and puts it in force at once;
// evaluations already running finish with the previous configuration. An invalid
// configuration is refused and the previous one stays.
func (e *Engine) SetConfig(cfg Config) error {
	if err := cfg.validate(e.modules); err != nil {
		return fmt.Errorf("policy configuration: %w", err)
	}
	cfg = cfg.clone()
	doc := cfg.document(e.alwaysProtected)
	// A rule's METADATA may default it to warn or dryrun; the configuration overrides.
	enforcement := doc["enforcement"].(map[string]any)
	for _, id := range e.modules.ruleIDs {
		if _, set := cfg.Enforcement[id]; !set && e.modules.rules[id].Enforcement != ModeDeny {
			enforcement[id] = string(e.modules.rules[id].Enforcement)
		}
	}
	v, err := ast.InterfaceToValue(doc)
	if err != nil {
		return fmt.Errorf("policy configuration: %w", err)
	}
	e.config.Store(&configState{cfg: cfg, term: ast.NewTerm(v)})
	return nil
}

// ReloadConfig reads the configuration file at path, validates it against the
// engine's rules and puts it in force; on error the previous configuration stays.
func (e *Engine) ReloadConfig(path string) error {
	data, err := readFile(path)
	if err != nil {
		return err
	}
	cfg, err := parseConfig(data, e.modules)
	if err != nil {
		return fmt.Errorf("policy configuration %s: %w", path, err)
	}
	return e.SetConfig(cfg)
}

// Evaluate judges one write. Its error reports a failed evaluation (a timeout, a
// cancelled ctx), never a refused write: that is a Decision with Deny results.
func (e *Engine) Evaluate(ctx context.Context, in Input) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, fmt.Errorf("evaluate policies: %w", err)
	}
	input, err := e.inputValue(in)
	if err != nil {
		return Decision{}, err
	}
	return e.eval(ctx, e.query, input)
}

// EvaluateType judges one write of an ExtensionType (or its status), as Evaluate
// judges one of an Extension.
func (e *Engine) EvaluateType(ctx context.Context, in TypeInput) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, fmt.Errorf("evaluate policies: %w", err)
	}
	input, err := e.typeInputValue(in)
	if err != nil {
		return Decision{}, err
	}
	return e.eval(ctx, e.typeQuery, input)
}

func (e *Engine) eval(ctx context.Context, query rego.PreparedEvalQuery, input ast.Value) (Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	rs, err := query.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return Decision{}, fmt.Errorf("evaluate policies: %w (%w)", ctxErr, err)
		}
		return Decision{}, fmt.Errorf("evaluate policies: %w", err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return Decision{}, errors.New("evaluate policies: no decision (is policies/main.rego compiled?)")
	}
	return decodeDecision(rs[0].Expressions[0].Value)
}

// inputValue converts in to the policies' input, with the configuration in force
// at input.config. The extension type's trains are spelled out (ResolveTrains), so the
// policies read the train rule of internal/api/v1alpha1 instead of restating it.
func (e *Engine) inputValue(in Input) (ast.Value, error) {
	in.ExtensionType = in.ExtensionType.ResolveTrains()
	in.Request.Object = withoutManagedFields(in.Request.Object)
	in.Request.OldObject = withoutManagedFields(in.Request.OldObject)
	others := make([]v1alpha1.Extension, len(in.Extensions))
	for i := range in.Extensions {
		others[i] = in.Extensions[i]
		others[i].ManagedFields = nil
	}
	in.Extensions = others

	return e.withConfig(in)
}

// typeInputValue converts in to the type rules' input. The default trains are spelled
// out (ExtensionType.Trains), so the rules read the API's train rule; the entries'
// own train lists stay as written, since they are what is judged.
func (e *Engine) typeInputValue(in TypeInput) (ast.Value, error) {
	for _, t := range []**v1alpha1.ExtensionType{&in.Request.Object, &in.Request.OldObject} {
		if *t == nil {
			continue
		}
		c := (*t).DeepCopy()
		c.ManagedFields = nil
		c.Spec.ReleaseTrains = c.Trains()
		*t = c
	}
	return e.withConfig(in)
}

// withConfig encodes in as the policies' input, with the configuration in force at
// input.config.
func (e *Engine) withConfig(in any) (ast.Value, error) {
	data, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode policy input: %w", err)
	}
	v, err := ast.ValueFromReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("encode policy input: %w", err)
	}
	obj, ok := v.(ast.Object)
	if !ok {
		return nil, errors.New("encode policy input: not an object")
	}
	obj.Insert(ast.StringTerm("config"), e.config.Load().term)
	return obj, nil
}

// withoutManagedFields drops what the policies never read and can be large.
func withoutManagedFields(ext *v1alpha1.Extension) *v1alpha1.Extension {
	if ext == nil || ext.ManagedFields == nil {
		return ext
	}
	out := *ext
	out.ManagedFields = nil
	return &out
}

func decodeDecision(v any) (Decision, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Decision{}, fmt.Errorf("evaluate policies: decision is %T, not an object", v)
	}
	var d Decision
	var err error
	if d.Deny, err = decodeResults(m, "deny"); err != nil {
		return Decision{}, err
	}
	if d.Warn, err = decodeResults(m, "warn"); err != nil {
		return Decision{}, err
	}
	if d.DryRun, err = decodeResults(m, "dryrun"); err != nil {
		return Decision{}, err
	}
	return d, nil
}

func decodeResults(m map[string]any, key string) ([]Result, error) {
	list, ok := m[key].([]any)
	if !ok {
		return nil, fmt.Errorf("evaluate policies: decision.%s is %T, not a list", key, m[key])
	}
	if len(list) == 0 {
		return nil, nil
	}
	out := make([]Result, 0, len(list))
	for _, item := range list {
		obj, _ := item.(map[string]any)
		id, ok1 := obj["id"].(string)
		msg, ok2 := obj["msg"].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("evaluate policies: decision.%s holds %v, not {id, msg}", key, item)
		}
		out = append(out, Result{ID: id, Msg: msg})
	}
	sortResults(out)
	out = slices.Compact(out)
	return out, nil
}
