# The entry point: collects the violations and warnings of every rule module
# (every package under kubeext.rules) and sorts each violation into deny, warn or
# dryrun by the enforcement the configuration sets for its rule (deny by default).
#
# Query: data.kubeext.decision = {"deny": [...], "warn": [...], "dryrun": [...]},
# each a list of {"id": "EXT-...", "msg": "..."}.
package kubeext

import data.kubeext.lib

# Objects being deleted are left alone (a finalizer must always be removable),
# and only creates and updates are judged.
judged if {
	lib.reviewed
	not lib.being_deleted
}

violations contains v if {
	judged
	some v in data.kubeext.rules[_].violation
}

warnings contains w if {
	lib.reviewed
	some w in data.kubeext.rules[_].warning
}

enforcement(id) := mode if {
	mode := input.config.enforcement[id]
	mode in {"warn", "dryrun"}
} else := "deny"

decision := {
	"deny": [v | some v in violations; enforcement(v.id) == "deny"],
	"warn": array.concat(
		[v | some v in violations; enforcement(v.id) == "warn"],
		[w | some w in warnings],
	),
	"dryrun": [v | some v in violations; enforcement(v.id) == "dryrun"],
}
