package policy

import (
	"sync"

	"github.com/Masterminds/semver/v3"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/types"
)

// SemverSatisfiesName is the custom built-in the policies call to test a version
// against a constraint: kubeext.semver_satisfies(version, constraint) -> bool.
const SemverSatisfiesName = "kubeext.semver_satisfies"

// networkBuiltins reach outside the process (or read its environment); the policies
// judge only their input, so the compiler refuses these.
var networkBuiltins = []string{
	ast.HTTPSend.Name,
	ast.NetLookupIPAddr.Name,
	ast.OPARuntime.Name,
}

var semverSatisfiesFunc = &rego.Function{
	Name: SemverSatisfiesName,
	Description: "Reports whether version satisfies constraint (Masterminds/semver, as Helm reads a chart's kubeVersion: " +
		"a prerelease satisfies only a constraint that names a prerelease, such as \">=1.30.0-0\"). " +
		"False when either does not parse.",
	Decl: types.NewFunction(
		types.Args(types.Named("version", types.S), types.Named("constraint", types.S)),
		types.Named("result", types.B),
	),
	Memoize: true,
}

// CustomBuiltin is a built-in function the policies need beyond OPA's own: its
// declaration for the compiler and the option that registers it on a rego.Rego.
type CustomBuiltin struct {
	Decl *ast.Builtin
	Func func(*rego.Rego)
}

// CustomBuiltins lists the built-ins the policies need beyond OPA's own, for a test
// runner (OPA's tester) that compiles the policies outside the Engine.
func CustomBuiltins() []CustomBuiltin {
	return []CustomBuiltin{{
		Decl: &ast.Builtin{
			Name:        semverSatisfiesFunc.Name,
			Description: semverSatisfiesFunc.Description,
			Decl:        semverSatisfiesFunc.Decl,
		},
		Func: rego.Function2(semverSatisfiesFunc, semverSatisfiesBuiltin),
	}}
}

// Capabilities returns what the policies may use: OPA's built-ins without those that
// reach the network or the process environment, plus the custom built-ins.
func Capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	kept := caps.Builtins[:0]
	for _, b := range caps.Builtins {
		if !isNetworkBuiltin(b.Name) {
			kept = append(kept, b)
		}
	}
	caps.Builtins = kept
	for _, b := range CustomBuiltins() {
		caps.Builtins = append(caps.Builtins, b.Decl)
	}
	caps.AllowNet = []string{} // empty, not nil: no host is reachable
	return caps
}

func isNetworkBuiltin(name string) bool {
	for _, n := range networkBuiltins {
		if n == name {
			return true
		}
	}
	return false
}

func semverSatisfiesBuiltin(_ rego.BuiltinContext, version, constraint *ast.Term) (*ast.Term, error) {
	v, ok1 := version.Value.(ast.String)
	c, ok2 := constraint.Value.(ast.String)
	if !ok1 || !ok2 {
		return ast.BooleanTerm(false), nil
	}
	return ast.BooleanTerm(SemverSatisfies(string(v), string(c))), nil
}

// SemverSatisfies reports whether version satisfies constraint, the way Helm checks a
// chart's kubeVersion: Masterminds/semver constraints, where a prerelease version
// satisfies only a constraint that itself names a prerelease (">=1.30.0-0"). It is
// false when either does not parse.
func SemverSatisfies(version, constraint string) bool {
	v, err := semver.NewVersion(version)
	if err != nil {
		return false
	}
	c, err := parseConstraint(constraint)
	if err != nil {
		return false
	}
	return c.Check(v)
}

// The constraints the policies see are few (the configuration's and the charts'
// kubeVersions), so parsed constraints are kept, up to a bound.
const constraintCacheSize = 512

var constraintCache struct {
	sync.RWMutex
	m map[string]*semver.Constraints
}

func parseConstraint(s string) (*semver.Constraints, error) {
	constraintCache.RLock()
	c, ok := constraintCache.m[s]
	constraintCache.RUnlock()
	if ok {
		return c, nil
	}
	c, err := semver.NewConstraint(s)
	if err != nil {
		return nil, err
	}
	constraintCache.Lock()
	if constraintCache.m == nil || len(constraintCache.m) >= constraintCacheSize {
		constraintCache.m = make(map[string]*semver.Constraints)
	}
	constraintCache.m[s] = c
	constraintCache.Unlock()
	return c, nil
}
