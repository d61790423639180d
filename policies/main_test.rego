package kubeext_test

import data.kubeext
import data.kubeext.fixtures as fx

decision(inp) := d if {
	d := kubeext.decision with input as inp
}

# A create breaking EXT-VERSION-001 and EXT-SCOPE-007, with an annotation set.
broken := fx.with_annotations(
	fx.create(object.union(fx.podinfo, {"spec": {
		"autoUpgradeMinorVersion": true,
		"scope": {"cluster": {"releaseNamespace": "kube-system"}},
	}})),
	{"kubeext.dev/upgrade-exception": "testing"},
)

test_a_valid_write_has_an_empty_decision if {
	decision(fx.create(fx.podinfo)) == {"deny": [], "warn": [], "dryrun": []}
}

test_violations_are_denied_by_default if {
	d := decision(broken)
	fx.ids(d.deny) == {"EXT-VERSION-001", "EXT-SCOPE-007"}
	fx.ids(d.warn) == {"EXT-WARN-001"}
	d.dryrun == []
}

test_enforcement_moves_a_rule_to_warn_or_dryrun if {
	d := decision(fx.with_config(broken, {"enforcement": {"EXT-VERSION-001": "warn", "EXT-SCOPE-007": "dryrun"}}))
	d.deny == []
	fx.ids(d.warn) == {"EXT-VERSION-001", "EXT-WARN-001"}
	fx.ids(d.dryrun) == {"EXT-SCOPE-007"}
}

test_an_unknown_enforcement_mode_denies if {
	d := decision(fx.with_config(broken, {"enforcement": {"EXT-VERSION-001": "off"}}))
	"EXT-VERSION-001" in fx.ids(d.deny)
}

test_warnings_are_never_denied if {
	d := decision(fx.with_config(broken, {"enforcement": {"EXT-WARN-001": "deny"}}))
	not "EXT-WARN-001" in fx.ids(d.deny)
}

test_findings_come_from_every_rule_module if {
	inp := fx.update(fx.installed, object.union(fx.installed, {"spec": {
		"extensionType": "example.other",
		"version": "2.0.0",
	}}))
	ids := fx.ids(decision(inp).deny)
	"EXT-SCOPE-005" in ids
	"EXT-UPGRADE-001" in ids
}

test_an_object_being_deleted_is_never_denied if {
	gone := object.union(fx.installed, {"metadata": {"deletionTimestamp": "2026-11-22T10:00:00Z"}, "spec": {"version": "v9"}})
	decision(fx.update(fx.installed, gone)).deny == []
}

test_operations_other_than_create_and_update_are_not_judged if {
	inp := object.union(fx.create(object.union(fx.podinfo, {"spec": {"version": "v9"}})), {"request": {"operation": "DELETE"}})
	decision(inp) == {"deny": [], "warn": [], "dryrun": []}
}

test_a_create_without_object_is_denied_not_an_error if {
	d := decision(fx.create(null))
	"EXT-SCOPE-001" in fx.ids(d.deny)
	"EXT-TYPE-001" in fx.ids(decision(fx.with_type(fx.create(null), null)).deny)
}

test_every_finding_is_well_formed if {
	d := decision(broken)
	fx.well_formed(d.deny)
	fx.well_formed(d.warn)
}
