# METADATA
# title: Upgrades
# description: |
#   When an extension moves from its installed version to another, a change of
#   major or minor waits for the cluster's next Kubernetes minor (policy
#   KubernetesMinor) or for an exception, a downgrade needs its own annotation,
#   and the chart must support the cluster's Kubernetes version.
#
#   An extension moves on a spec UPDATE whose pinned spec.version differs from
#   status.currentVersion, and on a status write whose new status.targetVersion
#   differs from it. A create installs rather than moves.
package kubeext.rules.upgrade

import data.kubeext.lib

# METADATA
# title: Major and minor changes follow the upgrade policy
# description: |
#   Under KubernetesMinor a change of major or minor waits until the cluster's
#   Kubernetes minor is past the one the installed minor was adopted at, unless the
#   new version or the cluster is a prerelease or kubeext.dev/upgrade-exception is
#   set; under Minor only a major change needs the annotation.
# custom:
#   id: EXT-UPGRADE-001
#   enforcement: deny
violation contains {"id": "EXT-UPGRADE-001", "msg": msg} if {
	_needs_exception
	_policy == "KubernetesMinor"
	not lib.has_annotation(_exception_annotation)
	msg := sprintf(
		concat(" ", [
			"moving from %s to %s changes the %s version, which upgrade policy KubernetesMinor of extension type %q",
			"allows only once the cluster moves past Kubernetes %s (it runs %s): stay on %s.x, upgrade the cluster first,",
			"or set the annotation %s to the reason (e.g. a CVE fix)",
		]),
		[
			_move.from, _move.to, _change_kind, lib.extension_type_name, _adopted_text, _cluster_minor,
			_line(_move.from), _exception_annotation,
		],
	)
}

violation contains {"id": "EXT-UPGRADE-001", "msg": msg} if {
	_needs_exception
	_policy == "Minor"
	not lib.has_annotation(_exception_annotation)
	msg := sprintf(
		concat(" ", [
			"moving from %s to %s changes the major version, which upgrade policy Minor of extension type %q",
			"never allows on its own: stay on %d.x, or set the annotation %s to the reason",
		]),
		[_move.from, _move.to, lib.extension_type_name, lib.major(_move.from), _exception_annotation],
	)
}

# METADATA
# title: A downgrade needs its annotation
# description: A version lower than status.currentVersion needs kubeext.dev/allow-downgrade.
# custom:
#   id: EXT-UPGRADE-002
#   enforcement: deny
violation contains {"id": "EXT-UPGRADE-002", "msg": msg} if {
	_downgrade
	not lib.has_annotation(_downgrade_annotation)
	msg := sprintf(
		concat(" ", [
			"%s %s is lower than the installed version %s: choose %s or later,",
			"or set the annotation %s to the reason for the downgrade",
		]),
		[lib.requested_version_field, _move.to, _move.from, _move.from, _downgrade_annotation],
	)
}

# METADATA
# title: The chart supports the cluster
# description: |
#   The kubeVersion of the requested version's chart, from the type's catalog,
#   includes the cluster's Kubernetes version, read as Helm reads it.
# custom:
#   id: EXT-UPGRADE-003
#   enforcement: deny
violation contains {"id": "EXT-UPGRADE-003", "msg": msg} if {
	v := lib.requested_version
	lib.valid_semver(v)
	k := input.cluster.kubernetesVersion
	lib.valid_semver(k)
	kube_version := _chart_kube_version(v)
	not kubeext.semver_satisfies(k, kube_version)
	msg := sprintf(
		concat(" ", [
			"the chart of version %s of extension type %q requires Kubernetes %q and the cluster runs %s:",
			"choose another version (%s)",
		]),
		[v, lib.extension_type_name, kube_version, k, _compatible_hint(k)],
	)
}

# ---- warnings: every annotation is echoed, with what it did ----

# METADATA
# title: The upgrade-exception annotation is echoed
# description: kubeext.dev/upgrade-exception is set; when it allows a change, the warning says which.
# custom:
#   id: EXT-WARN-001
#   enforcement: warn
warning contains {"id": "EXT-WARN-001", "msg": msg} if {
	lib.has_annotation(_exception_annotation)
	_needs_exception
	msg := sprintf(
		"annotation %s allows moving from %s to %s against upgrade policy %s (%s)",
		[_exception_annotation, _move.from, _move.to, _policy, lib.annotation_reason(_exception_annotation)],
	)
}

warning contains {"id": "EXT-WARN-001", "msg": msg} if {
	lib.has_annotation(_exception_annotation)
	not _needs_exception
	msg := sprintf(
		concat(" ", [
			"annotation %s is set (%s); it allows one major or minor change within a Kubernetes minor:",
			"remove it once that change is done",
		]),
		[_exception_annotation, lib.annotation_reason(_exception_annotation)],
	)
}

# METADATA
# title: The allow-downgrade annotation is echoed
# description: kubeext.dev/allow-downgrade is set; when it allows a downgrade, the warning says which.
# custom:
#   id: EXT-WARN-002
#   enforcement: warn
warning contains {"id": "EXT-WARN-002", "msg": msg} if {
	lib.has_annotation(_downgrade_annotation)
	_downgrade
	msg := sprintf(
		"annotation %s allows the downgrade from %s to %s (%s)",
		[_downgrade_annotation, _move.from, _move.to, lib.annotation_reason(_downgrade_annotation)],
	)
}

warning contains {"id": "EXT-WARN-002", "msg": msg} if {
	lib.has_annotation(_downgrade_annotation)
	not _downgrade
	msg := sprintf(
		"annotation %s is set (%s): remove it once the downgrade is done",
		[_downgrade_annotation, lib.annotation_reason(_downgrade_annotation)],
	)
}

# METADATA
# title: A change allowed by a prerelease is pointed out
# description: |
#   A change of major or minor allowed under KubernetesMinor only because the new
#   version or the cluster is a prerelease.
# custom:
#   id: EXT-WARN-003
#   enforcement: warn
warning contains {"id": "EXT-WARN-003", "msg": msg} if {
	_policy == "KubernetesMinor"
	_change_kind
	not _cluster_moved_on
	msg := sprintf(
		"moving from %s to %s changes the %s version within Kubernetes %s, allowed because %s",
		[_move.from, _move.to, _change_kind, _adopted_text, _prerelease_reason],
	)
}

# ---- helpers ----

_exception_annotation := "kubeext.dev/upgrade-exception"

_downgrade_annotation := "kubeext.dev/allow-downgrade"

# The move under review, if any: {"from": installed, "to": requested}.
_move := {"from": from, "to": to} if {
	lib.is_update
	from := lib.current_version
	to := lib.requested_version
	lib.valid_semver(from)
	lib.valid_semver(to)
	semver.compare(from, to) != 0
}

_major_change if lib.major(_move.to) != lib.major(_move.from)

_minor_change if {
	not _major_change
	lib.minor(_move.to) != lib.minor(_move.from)
}

_change_kind := "major" if _major_change

_change_kind := "minor" if _minor_change

_downgrade if semver.compare(_move.to, _move.from) < 0

# The type's upgrade policy; anything but Minor is judged as KubernetesMinor, the default.
default _policy := "KubernetesMinor"

_policy := "Minor" if lib.ext_type.spec.upgradePolicy == "Minor"

# The Kubernetes minor at which the installed major.minor was adopted. Missing or
# malformed, the cluster never counts as having moved past it: a baseline that cannot
# be read is judged as the strictest case, never as "the cluster moved on".
default _adopted_minor := ""

_adopted_minor := k if {
	k := lib.prior_status.kubernetesVersion
	is_string(k)
}

# The adopted minor for messages, saying when it cannot be read.
_adopted_text := _adopted_minor if {
	lib.minor_tuple(_adopted_minor)
} else := sprintf("the minor status.kubernetesVersion should record (it holds %q)", [_adopted_minor])

default _cluster_minor := "unknown"

_cluster_minor := m if {
	m := input.cluster.minor
	is_string(m)
	m != ""
}

_cluster_moved_on if lib.minor_tuple(input.cluster.minor) > lib.minor_tuple(_adopted_minor)

_prerelease_reason := sprintf("the new version %s is a prerelease", [_move.to]) if {
	lib.is_prerelease(_move.to)
} else := sprintf("the cluster runs a prerelease of Kubernetes (%v)", [input.cluster.kubernetesVersion]) if {
	input.cluster.prerelease == true
}

# A change the upgrade policy refuses unless an exception allows it.
_needs_exception if {
	_policy == "KubernetesMinor"
	_change_kind
	not _cluster_moved_on
	not _prerelease_reason
}

_needs_exception if {
	_policy == "Minor"
	_major_change
}

_line(v) := sprintf("%d.%d", [lib.major(v), lib.minor(v)])

_chart_kube_version(v) := kv if {
	kv := lib.catalog_entry(v).kubeVersion
	is_string(kv)
	kv != ""
}

_compatible_hint(k) := sprintf("the %s train offers %s for it", [lib.release_train, lib.few(vs)]) if {
	vs := [v |
		some v in lib.offered_versions
		_compatible(v, k)
	]
	count(vs) > 0
} else := sprintf("no version of the %s train supports it", [lib.release_train])

_compatible(v, _) if not _chart_kube_version(v)

_compatible(v, k) if kubeext.semver_satisfies(k, _chart_kube_version(v))
