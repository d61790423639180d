# METADATA
# title: Upgrade baseline
# description: |
#   status.currentVersion and status.kubernetesVersion are the baseline the upgrade
#   rules judge every move against: the installed version and the Kubernetes minor it
#   was adopted at. A status write may move them only the way the extension manager
#   does after a judged change, so nobody with extensions/status rights can rewrite
#   the baseline in one write and move to a new minor or major in the next.
package kubeext.rules.baseline

import data.kubeext.lib

# METADATA
# title: The installed version changes only to the judged target
# description: |
#   On a status write, status.currentVersion stays as it is or becomes the stored
#   status.targetVersion, which the upgrade rules judged when it was written. It is
#   never cleared.
# custom:
#   id: EXT-BASELINE-001
#   enforcement: deny
violation contains {"id": "EXT-BASELINE-001", "msg": msg} if {
	_status_update
	_new_current != lib.current_version
	not _to_stored_target
	msg := sprintf(
		concat(" ", [
			"status.currentVersion may change only to the stored status.targetVersion (%s), not from %q to %q:",
			"write status.targetVersion first (the upgrade rules judge it), then record it as installed",
		]),
		[_stored_target_text, lib.current_version, _new_current],
	)
}

# METADATA
# title: The adopted Kubernetes minor changes only to the cluster's
# description: |
#   On a status write, status.kubernetesVersion stays as it is or becomes the
#   cluster's own Kubernetes minor as the webhook reads it. It is never cleared.
# custom:
#   id: EXT-BASELINE-002
#   enforcement: deny
violation contains {"id": "EXT-BASELINE-002", "msg": msg} if {
	_status_update
	_new_kubernetes != _old_kubernetes
	not _to_cluster_minor
	msg := sprintf(
		concat(" ", [
			"status.kubernetesVersion may change only to the cluster's Kubernetes minor (%s), not from %q to %q:",
			"it records the minor at which the installed version was adopted",
		]),
		[_cluster_minor_text, _old_kubernetes, _new_kubernetes],
	)
}

# METADATA
# title: A malformed installed version blocks version changes
# description: |
#   When the stored status.currentVersion is set but not semver, nothing tells how far
#   a new version moves: a version change is judged as the strictest case and needs
#   kubeext.dev/upgrade-exception.
# custom:
#   id: EXT-BASELINE-003
#   enforcement: deny
violation contains {"id": "EXT-BASELINE-003", "msg": msg} if {
	lib.is_update
	from := lib.current_version
	from != ""
	not lib.valid_semver(from)
	to := lib.requested_version
	to != from
	not lib.has_annotation(_exception_annotation)
	msg := sprintf(
		concat(" ", [
			"the installed version status.currentVersion %q is not semver, so the move to %s %s cannot be judged:",
			"set the annotation %s to the reason to allow it",
		]),
		[from, lib.requested_version_field, to, _exception_annotation],
	)
}

# METADATA
# title: The release record names the extension's own release
# description: |
#   On a status write, status.release.name and status.release.namespace, when set,
#   are the extension's name and release namespace: the only release its commands
#   make. EXT-SCOPE-009 reads them to tell which releases are taken, so a record
#   pointed elsewhere could block another extension's create, or hide this one's.
# custom:
#   id: EXT-BASELINE-004
#   enforcement: deny
violation contains {"id": "EXT-BASELINE-004", "msg": msg} if {
	_status_update
	some field, want in {"name": lib.name, "namespace": _release_namespace}
	got := object.get(lib.status, ["release", field], "")
	got != ""
	got != want
	msg := sprintf(
		"status.release.%s is %q, but this extension's release is %s/%s: the record names only its own release",
		[field, got, _release_namespace, lib.name],
	)
}

# ---- helpers ----

_exception_annotation := "kubeext.dev/upgrade-exception"

_status_update if {
	lib.is_update
	lib.is_status_write
}

default _new_current := ""

_new_current := v if {
	v := lib.status.currentVersion
	is_string(v)
}

default _stored_target := ""

_stored_target := v if {
	v := lib.old_status.targetVersion
	is_string(v)
}

_to_stored_target if {
	_stored_target != ""
	_new_current == _stored_target
}

default _stored_target_text := "none is stored"

_stored_target_text := _stored_target if _stored_target != ""

default _old_kubernetes := ""

_old_kubernetes := v if {
	v := lib.old_status.kubernetesVersion
	is_string(v)
}

default _new_kubernetes := ""

_new_kubernetes := v if {
	v := lib.status.kubernetesVersion
	is_string(v)
}

_to_cluster_minor if {
	m := input.cluster.minor
	is_string(m)
	lib.minor_tuple(m)
	_new_kubernetes == m
}

default _cluster_minor_text := "unknown"

_cluster_minor_text := m if {
	m := input.cluster.minor
	is_string(m)
	m != ""
}

default _release_namespace := ""

_release_namespace := ns if {
	lib.object_at(lib.spec.scope, "cluster")
	ns := object.get(lib.spec.scope.cluster, "releaseNamespace", "")
} else := ns if {
	lib.object_at(lib.spec.scope, "namespace")
	ns := object.get(lib.spec.scope.namespace, "targetNamespace", "")
}
