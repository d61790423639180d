# METADATA
# title: Decision
# description: |
#   The entry point: collects the violations and warnings of every rule module
#   (every package under kubeext.rules) and sorts each violation into deny, warn or
#   dryrun by the enforcement in force for its rule: the configuration's, else the
#   default of the rule's METADATA, which the engine puts in input.config.
package kubeext

import data.kubeext.lib

# METADATA
# title: The verdict on one write
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

# Only creates and updates are judged, and a metadata-only write of an object being
# deleted passes whatever the rules say, so a finalizer can always be removed. Every
# other write of an object being deleted is judged (kubeext.rules.deletion among the
# rules).
_judged if {
	lib.reviewed
	not lib.finishing_deletion
}

# Each package's findings are referenced by name (rules[_].violation), never by
# iterating over the packages' documents: that would evaluate every helper rule of
# every package on each review, needed or not.
_violations contains v if {
	_judged
	some v in data.kubeext.rules[_].violation
}

# A DELETE is judged by the rules that say what a deletion does (delete_violation):
# none of the write rules apply to it.
_violations contains v if {
	lib.is_delete
	some v in data.kubeext.rules[_].delete_violation
}

_warnings contains w if {
	lib.reviewed
	some w in data.kubeext.rules[_].warning
}

_enforcement(id) := mode if {
	mode := input.config.enforcement[id]
	mode in {"warn", "dryrun"}
} else := "deny"
