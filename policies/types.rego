# METADATA
# title: Decision on extension types
# description: |
#   The entry point for writes of ExtensionTypes (and their status): collects the
#   violations and warnings of every rule module under kubeext.types.rules and sorts
#   each violation into deny, warn or dryrun as data.kubeext.decision does for
#   Extensions. A type decides what may be installed, so its chart source and its
#   catalog are reviewed like the extensions that use them.
package kubeext.types

# METADATA
# title: The verdict on one write of an extension type
# description: |
#   {"deny": [...], "warn": [...], "dryrun": [...]}, each a list of
#   {"id": "EXT-...", "msg": "..."}.
# entrypoint: true
decision := {
	"deny": [v | some v in _violations; _enforcement(v.id) == "deny"],
	"warn": array.concat(
		[v | some v in _violations; _enforcement(v.id) == "warn"],
		[w | some w in _warnings],
	),
	"dryrun": [v | some v in _violations; _enforcement(v.id) == "dryrun"],
}

# ---- helpers ----

_reviewed if input.request.operation in {"CREATE", "UPDATE"}

_violations contains v if {
	_reviewed
	some rules in data.kubeext.types.rules
	some v in rules.violation
}

_warnings contains w if {
	_reviewed
	some rules in data.kubeext.types.rules
	some w in rules.warning
}

_enforcement(id) := mode if {
	mode := input.config.enforcement[id]
	mode in {"warn", "dryrun"}
} else := "deny"
