// Command opa is `opa` (github.com/open-policy-agent/opa, at the version the product
// embeds) with the one built-in the policies need beyond OPA's own,
// kubeext.semver_satisfies, registered: `make bench` runs it as `opa run --server`, the
// peer the policy engine is compared with. It is a module of its own so that OPA's
// command-line dependencies (REPL, storage, terminal) stay out of the product's go.mod.
package main

import (
	"os"

	"github.com/Masterminds/semver/v3"
	"github.com/open-policy-agent/opa/cmd"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/types"
)

func main() {
	// The same declaration and meaning as internal/policy's: Masterminds/semver, as Helm
	// reads a chart's kubeVersion; false when either side does not parse.
	rego.RegisterBuiltin2(&rego.Function{
		Name:    "kubeext.semver_satisfies",
		Decl:    types.NewFunction(types.Args(types.S, types.S), types.B),
		Memoize: true,
	}, func(_ rego.BuiltinContext, version, constraint *ast.Term) (*ast.Term, error) {
		v, ok1 := version.Value.(ast.String)
		c, ok2 := constraint.Value.(ast.String)
		if !ok1 || !ok2 {
			return ast.BooleanTerm(false), nil
		}
		return ast.BooleanTerm(satisfies(string(v), string(c))), nil
	})
	if err := cmd.RootCommand.Execute(); err != nil {
		os.Exit(1)
	}
}

func satisfies(version, constraint string) bool {
	v, err := semver.NewVersion(version)
	if err != nil {
		return false
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return false
	}
	return c.Check(v)
}
