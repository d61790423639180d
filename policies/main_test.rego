package kubeext_test

import data.kubeext
import data.kubeext.fixtures as fx

decision(inp) := d if {
	d := kubeext.decision with input as inp with data.inventory as fx.inventory(inp)
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

test_a_metadata_only_write_of_an_object_being_deleted_is_never_denied if {
	gone := object.union(fx.installed, {"metadata": {"deletionTimestamp": "2026-11-22T10:00:00Z"}, "spec": {"version": "v9"}})
	decision(fx.update(gone, object.union(gone, {"metadata": {"finalizers": []}}))).deny == []
}

test_any_other_write_of_an_object_being_deleted_is_judged if {
	gone := object.union(fx.installed, {"metadata": {"deletionTimestamp": "2026-11-22T10:00:00Z"}})
	ids := fx.ids(decision(fx.update(gone, object.union(gone, {"spec": {"version": "v9"}}))).deny)
	ids == {"EXT-DELETE-001", "EXT-VERSION-004"}
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

# ---- the baseline: the extension manager's own writes pass (internal/lifecycle/status.go) ----

# The stored auto-upgrading extension with status fields replaced.
baseline_stored(status) := object.union(fx.auto_installed, {"status": status})

# A status write from the stored status old to new.
baseline_write(old, new) := fx.status_update(baseline_stored(old), baseline_stored(new))

test_the_managers_writes_pass_every_rule if {
	writes := [
		# begin: a target on the train of the installed minor
		baseline_write({}, {"provisioningState": "Updating", "targetVersion": "1.4.2"}),
		# succeed: the target becomes the installed version, the adopted minor stays
		baseline_write({"targetVersion": "1.4.2"}, {"currentVersion": "1.4.2", "targetVersion": ""}),
		# fail and recover: the target is cleared
		baseline_write({"targetVersion": "1.4.2"}, {"provisioningState": "Failed", "targetVersion": ""}),
		# the first succeed after create records the cluster's minor
		fx.status_update(
			object.union(fx.podinfo, {"status": {"targetVersion": "1.4.2"}}),
			object.union(fx.podinfo, {"status": {"currentVersion": "1.4.2", "kubernetesVersion": "1.36"}}),
		),
	]
	every w in writes {
		decision(w).deny == []
	}
}

# ---- deletion: the usual rules still judge, a finalizer stays removable ----

# The installed extension once deleted, held by a finalizer.
being_deleted := object.union(fx.installed, {"metadata": {
	"deletionTimestamp": "2026-11-22T10:00:00Z",
	"finalizers": ["example.org/cleanup"],
}})

# A spec write of the extension being deleted with patch merged in.
edit_deleted(patch) := fx.update(being_deleted, object.union(being_deleted, patch))

test_a_status_write_recording_the_deletions_progress_passes if {
	old := object.union(being_deleted, {"status": {"targetVersion": "1.4.2"}})
	inp := fx.status_update(old, object.union(being_deleted, {"status": {
		"provisioningState": "Deleting",
		"targetVersion": "",
		"errorInfo": {"code": "UninstallFailed", "message": "timed out"},
	}}))
	decision(inp).deny == []
}

test_ext_delete_001_denies_a_move_to_kube_system_and_the_scope_rule_judges_it_too if {
	d := decision(edit_deleted({"spec": {"scope": {"cluster": {"releaseNamespace": "kube-system"}}}}))
	{"EXT-DELETE-001", "EXT-SCOPE-006", "EXT-SCOPE-007"} == fx.ids(d.deny) & {"EXT-DELETE-001", "EXT-SCOPE-006", "EXT-SCOPE-007"}
}

test_ext_delete_001_denies_a_version_the_catalog_lacks_with_the_usual_rules if {
	d := decision(edit_deleted({"spec": {"version": "9.9.9"}}))
	"EXT-DELETE-001" in fx.ids(d.deny)
	"EXT-VERSION-005" in fx.ids(d.deny)
}

# A finalizer is always removable, even when the stored object breaks other rules
# (here its type is gone and its namespace became protected).
test_a_metadata_only_write_of_an_object_being_deleted_passes_whatever_else_fails if {
	broken := object.union(being_deleted, {"spec": {"scope": {"cluster": {"releaseNamespace": "kube-system"}}}})
	inp := fx.with_type(fx.update(broken, object.union(broken, {"metadata": {"finalizers": []}})), null)
	decision(inp).deny == []
}
