package kubeext.rules.deletion_test

import data.kubeext.fixtures as fx
import data.kubeext.rules.deletion

found(inp) := fx.ids(vs) if {
	vs := deletion.violation with input as inp with data.inventory as fx.inventory(inp)
}

messages(inp, id) := {v.msg | some v in vs; v.id == id} if {
	vs := deletion.violation with input as inp with data.inventory as fx.inventory(inp)
}

# The installed extension once deleted, held by a finalizer.
gone := object.union(fx.installed, {"metadata": {
	"deletionTimestamp": "2026-11-22T10:00:00Z",
	"finalizers": ["example.org/cleanup"],
}})

# A spec write of the extension being deleted with patch merged in.
edit(patch) := fx.update(gone, object.union(gone, patch))

# A status write of the extension being deleted with status merged in.
record(status) := fx.status_update(gone, object.union(gone, {"status": status}))

test_every_finding_is_well_formed if {
	fx.well_formed(deletion.violation) with input as edit({"spec": {"version": "9.9.9"}}) with data.inventory as fx.inventory(edit({"spec": {"version": "9.9.9"}}))
	fx.well_formed(deletion.violation) with input as record({"currentVersion": "2.0.0"}) with data.inventory as fx.inventory(record({"currentVersion": "2.0.0"}))
}

# ---- EXT-DELETE-001 ----

test_ext_delete_001_denies_a_version_change if {
	messages(edit({"spec": {"version": "9.9.9"}}), "EXT-DELETE-001") == {concat(" ", [
		`extension "podinfo" is being deleted: only its metadata (finalizers, labels, annotations) may change,`,
		`not spec.version; let the deletion finish, then create it anew`,
	])}
}

test_ext_delete_001_denies_removing_a_spec_field if {
	"EXT-DELETE-001" in found(fx.update(gone, fx.without_spec(gone, "releaseTrain")))
}

test_ext_delete_001_allows_a_metadata_change if {
	not "EXT-DELETE-001" in found(edit({"metadata": {"labels": {"team": "a"}}}))
}

test_ext_delete_001_allows_an_edit_of_an_object_not_being_deleted if {
	not "EXT-DELETE-001" in found(fx.pin_update("1.4.2"))
}

# ---- EXT-DELETE-002 ----

test_ext_delete_002_denies_a_baseline_change if {
	messages(record({"currentVersion": "1.4.2", "kubernetesVersion": "1.37"}), "EXT-DELETE-002") == {concat(" ", [
		`extension "podinfo" is being deleted: a status write may record progress and clear status.targetVersion,`,
		`not change status.currentVersion, status.kubernetesVersion`,
	])}
}

test_ext_delete_002_denies_a_new_target_or_release if {
	"EXT-DELETE-002" in found(record({"targetVersion": "1.4.2"}))
	"EXT-DELETE-002" in found(record({"release": {"namespace": "kube-system"}}))
}

test_ext_delete_002_allows_progress_and_clearing_the_target if {
	old := object.union(gone, {"status": {"targetVersion": "1.4.2"}})
	inp := fx.status_update(old, object.union(gone, {"status": {
		"provisioningState": "Deleting",
		"targetVersion": "",
		"errorInfo": {"code": "UninstallFailed", "message": "timed out"},
	}}))
	not "EXT-DELETE-002" in found(inp)
}
