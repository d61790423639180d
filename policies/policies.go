// Package policies embeds the Rego policies that guard every write of an Extension.
//
// The modules (and their _test.rego files) are compiled by internal/policy; the
// webhook and the plugin both evaluate them through that engine.
package policies

import "embed"

// FS holds every .rego file of this directory: the policy modules and their tests.
// Files ending in _test.rego are tests; the engine skips them.
//
//go:embed *.rego
var FS embed.FS
