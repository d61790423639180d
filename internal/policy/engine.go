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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"

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
	// inv is what the policies know of the cluster (data.inventory).
	inv *inventory
}

// configState is a configuration and its form as input.config, converted once.
type configState struct {
	cfg  Config
	term *ast.Term
}

// New compiles the embedded policies (and those of opts.ExtraDir) in strict mode,
// without the built-ins that reach the network, and prepares them for evaluation
// against an empty inventory of its own. The embedded policies are compiled once per
// process: a second engine (another cluster of a fleet) only prepares its queries.
func New(ctx context.Context, opts Options) (*Engine, error) {
	c, err := compile(ctx, opts.ExtraDir)
	if err != nil {
		return nil, err
	}
	e := &Engine{modules: c.set, timeout: opts.EvalTimeout, alwaysProtected: AlwaysProtectedNamespaces(opts.OwnNamespace), inv: newInventory()}
	if e.timeout <= 0 {
		e.timeout = DefaultEvalTimeout
	}
	if err := e.SetConfig(opts.Config); err != nil {
		return nil, err
	}
	if e.query, err = prepare(ctx, c, e.inv.store, decisionQuery); err != nil {
		return nil, err
	}
	if e.typeQuery, err = prepare(ctx, c, e.inv.store, typeDecisionQuery); err != nil {
		return nil, err
	}
	return e, nil
}

// compiled is a module set and the compiler that compiled it.
type compiled struct {
	set      *moduleSet
	compiler *ast.Compiler
}

// embeddedCompiled is the embedded policies, compiled once per process.
var embeddedCompiled = sync.OnceValues(func() (*compiled, error) {
	set, err := loadModules("")
	if err != nil {
		return nil, err
	}
	return compileSet(context.Background(), set)
})

// compile returns the compiled policies: the embedded ones from the process's cache,
// with extraDir's compiled afresh (the directory may have changed).
func compile(ctx context.Context, extraDir string) (*compiled, error) {
	if extraDir == "" {
		return embeddedCompiled()
	}
	set, err := loadModules(extraDir)
	if err != nil {
		return nil, err
	}
	return compileSet(ctx, set)
}

// compileSet compiles set, capturing the compiler Rego builds with the engine's
// options so that later queries are prepared against it without compiling again.
func compileSet(ctx context.Context, set *moduleSet) (*compiled, error) {
	c := &compiled{set: set}
	opts := append(regoOptions(decisionQuery), rego.CompilerHook(func(ac *ast.Compiler) { c.compiler = ac }))
	for _, name := range sortedKeys(set.modules) {
		opts = append(opts, rego.ParsedModule(set.modules[name]))
	}
	if _, err := rego.New(opts...).PrepareForEval(ctx); err != nil {
		return nil, fmt.Errorf("compile policies: %w", err)
	}
	if c.compiler == nil {
		return nil, errors.New("compile policies: no compiler")
	}
	return c, nil
}

// regoOptions are the options every query of the engine is prepared with.
func regoOptions(query string) []func(*rego.Rego) {
	opts := []func(*rego.Rego){
		rego.Query(query),
		rego.Capabilities(Capabilities()),
		rego.Strict(true),
		rego.SetRegoVersion(ast.RegoV1),
	}
	for _, b := range CustomBuiltins() {
		opts = append(opts, b.Func)
	}
	return opts
}

// prepare prepares one entry point of the compiled policies, reading data from store.
func prepare(ctx context.Context, c *compiled, store storage.Store, query string) (rego.PreparedEvalQuery, error) {
	opts := append(regoOptions(query), rego.Compiler(c.compiler), rego.Store(store))
	q, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return rego.PreparedEvalQuery{}, fmt.Errorf("prepare policies: %w", err)
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

// EvaluateWithType judges in as Evaluate does, with t (nil: none) as the type called
// name instead of the inventory's copy, in a transaction that is never committed: the
// inventory is left as its feeder keeps it. The webhook uses it to judge a refusal
// again against the API server's copy of the type.
func (e *Engine) EvaluateWithType(ctx context.Context, in Input, name string, t *v1alpha1.ExtensionType) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, fmt.Errorf("evaluate policies: %w", err)
	}
	input, err := e.inputValue(in)
	if err != nil {
		return Decision{}, err
	}
	var v ast.Value
	if t != nil {
		if v, err = typeValue(t); err != nil {
			return Decision{}, err
		}
	}
	store := e.inv.store
	txn, err := store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return Decision{}, fmt.Errorf("evaluate policies: %w", err)
	}
	defer store.Abort(ctx, txn)
	if err := e.inv.put(ctx, txn, storage.Path{"inventory", "types", name}, v); err != nil {
		return Decision{}, fmt.Errorf("evaluate policies: %w", err)
	}
	return e.eval(ctx, e.query, input, rego.EvalTransaction(txn))
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

func (e *Engine) eval(ctx context.Context, query rego.PreparedEvalQuery, input ast.Value, opts ...rego.EvalOption) (Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	rs, err := query.Eval(ctx, append([]rego.EvalOption{rego.EvalParsedInput(input)}, opts...)...)
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
// at input.config.
func (e *Engine) inputValue(in Input) (ast.Value, error) {
	in.Request.Object = withoutManagedFields(in.Request.Object)
	in.Request.OldObject = withoutManagedFields(in.Request.OldObject)
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
	v, err := toValue(in)
	if err != nil {
		return nil, err
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

// SetExtension puts e in the inventory, or replaces the one of its name.
func (e *Engine) SetExtension(ext *v1alpha1.Extension) error {
	return e.inv.setExtension(ext.Name, ext)
}

// DeleteExtension takes the extension called name out of the inventory.
func (e *Engine) DeleteExtension(name string) error { return e.inv.setExtension(name, nil) }

// SetExtensionType puts t in the inventory, or replaces the one of its name.
func (e *Engine) SetExtensionType(t *v1alpha1.ExtensionType) error {
	return e.inv.setType(t.Name, t)
}

// DeleteExtensionType takes the type called name out of the inventory.
func (e *Engine) DeleteExtensionType(name string) error { return e.inv.setType(name, nil) }

// ReplaceInventory makes exts and types the whole inventory, in one write.
func (e *Engine) ReplaceInventory(exts []v1alpha1.Extension, types []v1alpha1.ExtensionType) error {
	return e.inv.replace(exts, types)
}

// InputDocument is in as JSON, exactly the input document the policies evaluate
// (input.config included): what an OPA server is handed to judge the same write.
func (e *Engine) InputDocument(in Input) ([]byte, error) {
	v, err := e.inputValue(in)
	if err != nil {
		return nil, err
	}
	doc, err := ast.JSON(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

// DataDocument is data.inventory as JSON.
func (e *Engine) DataDocument(ctx context.Context) ([]byte, error) { return e.inv.document(ctx) }
