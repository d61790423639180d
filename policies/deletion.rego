# METADATA
# title: Deletion
# description: |
#   An extension being deleted (metadata.deletionTimestamp set, a finalizer holding
#   it) is on its way out: it may still lose its finalizers and record progress, but
#   it may not take a new version, scope or namespace on the way. The entry point
#   lets a metadata-only write of it pass whatever the other rules say, so a finalizer
#   can always be removed; every other write of it is judged as usual, and by these
#   rules too.
package kubeext.rules.deletion

import data.kubeext.lib

# METADATA
# title: An extension being deleted keeps its spec
# description: |
#   While metadata.deletionTimestamp is set, a write of the extension may change its
#   metadata only (finalizers, labels, annotations), never its spec.
# custom:
#   id: EXT-DELETE-001
#   enforcement: deny
violation contains {"id": "EXT-DELETE-001", "msg": msg} if {
	lib.being_deleted
	lib.is_update
	lib.is_spec_write
	changed := _changed(lib.old_spec, lib.spec)
	count(changed) > 0
	msg := sprintf(
		concat(" ", [
			"extension %q is being deleted: only its metadata (finalizers, labels, annotations) may change,",
			"not %s; let the deletion finish, then create it anew",
		]),
		[lib.name, concat(", ", [sprintf("spec.%s", [k]) | some k in changed])],
	)
}

# METADATA
# title: An extension being deleted keeps its version baseline
# description: |
#   While metadata.deletionTimestamp is set, a status write may record progress
#   (provisioningState, conditions, errors) and clear status.targetVersion, but not
#   change currentVersion, kubernetesVersion or release, nor name a new targetVersion.
# custom:
#   id: EXT-DELETE-002
#   enforcement: deny
violation contains {"id": "EXT-DELETE-002", "msg": msg} if {
	lib.being_deleted
	lib.is_update
	lib.is_status_write
	changed := [sprintf("status.%s", [k]) |
		some k in _baseline
		_baseline_changed(k)
	]
	count(changed) > 0
	msg := sprintf(
		concat(" ", [
			"extension %q is being deleted: a status write may record progress and clear status.targetVersion,",
			"not change %s",
		]),
		[lib.name, concat(", ", changed)],
	)
}

# ---- helpers ----

_baseline := ["currentVersion", "kubernetesVersion", "release", "targetVersion"]

# Clearing targetVersion only narrows what currentVersion may become
# (EXT-BASELINE-001), so a manager that stops may do it.
_baseline_changed(k) if {
	k != "targetVersion"
	object.get(lib.old_status, k, null) != object.get(lib.status, k, null)
}

_baseline_changed("targetVersion") if {
	object.get(lib.old_status, "targetVersion", "") != object.get(lib.status, "targetVersion", "")
	object.get(lib.status, "targetVersion", "") != ""
}

# The spec keys whose values differ, sorted.
_changed(old, new) := sort({k |
	some k in object.keys(object.union(old, new))
	object.get(old, k, null) != object.get(new, k, null)
})
