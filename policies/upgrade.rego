# Upgrades: when an extension moves from its installed version to another, a
# change of major or minor waits for the cluster's next Kubernetes minor (policy
# KubernetesMinor) or for an exception, a downgrade needs its own annotation, and
# the chart must support the cluster's Kubernetes version.
#
# An extension moves on a spec UPDATE whose pinned spec.version differs from
# status.currentVersion, and on a status write whose new status.targetVersion
# differs from it. A create installs rather than moves.
package kubeext.rules.upgrade

import data.kubeext.lib

exception_annotation := "kubeext.dev/upgrade-exception"

downgrade_annotation := "kubeext.dev/allow-downgrade"

# The move under review, if any: {"from": installed, "to": requested}.
move := {"from": from, "to": to} if {
	lib.is_update
	from := lib.current_version
	to := lib.requested_version
	lib.valid_semver(from)
	lib.valid_semver(to)
	semver.compare(from, to) != 0
}

major_change if lib.major(move.to) != lib.major(move.from)

minor_change if {
	not major_change
	lib.minor(move.to) != lib.minor(move.from)
}

change_kind := "major" if major_change

change_kind := "minor" if minor_change

# The type's upgrade policy; anything but Minor is judged as KubernetesMinor, the default.
policy := "Minor" if {
	lib.ext_type.spec.upgradePolicy == "Minor"
} else := "KubernetesMinor"

# The Kubernetes minor at which the installed major.minor was adopted ("" = no restriction).
adopted_minor := k if {
	k := lib.prior_status.kubernetesVersion
	is_string(k)
} else := ""

cluster_minor := m if {
	m := input.cluster.minor
	is_string(m)
	m != ""
} else := "unknown"

cluster_moved_on if adopted_minor == ""

cluster_moved_on if lib.minor_tuple(input.cluster.minor) > lib.minor_tuple(adopted_minor)

prerelease_reason := sprintf("the new version %s is a prerelease", [move.to]) if {
	lib.is_prerelease(move.to)
} else := sprintf("the cluster runs a prerelease of Kubernetes (%v)", [input.cluster.kubernetesVersion]) if {
	input.cluster.prerelease == true
}

# A change the upgrade policy refuses unless an exception allows it.
needs_exception if {
	policy == "KubernetesMinor"
	change_kind
	not cluster_moved_on
	not prerelease_reason
}

needs_exception if {
	policy == "Minor"
	major_change
}

# EXT-UPGRADE-001: a change of major or minor version follows the upgrade policy.
violation contains {"id": "EXT-UPGRADE-001", "msg": msg} if {
	needs_exception
	policy == "KubernetesMinor"
	not lib.has_annotation(exception_annotation)
	msg := sprintf(
		"moving from %s to %s changes the %s version, which upgrade policy KubernetesMinor of extension type %q allows only once the cluster moves past Kubernetes %s (it runs %s): stay on %s.x, upgrade the cluster first, or set the annotation %s to the reason (e.g. a CVE fix)",
		[move.from, move.to, change_kind, lib.type_name, adopted_minor, cluster_minor, line(move.from), exception_annotation],
	)
}

violation contains {"id": "EXT-UPGRADE-001", "msg": msg} if {
	needs_exception
	policy == "Minor"
	not lib.has_annotation(exception_annotation)
	msg := sprintf(
		"moving from %s to %s changes the major version, which upgrade policy Minor of extension type %q never allows on its own: stay on %d.x, or set the annotation %s to the reason",
		[move.from, move.to, lib.type_name, lib.major(move.from), exception_annotation],
	)
}

line(v) := sprintf("%d.%d", [lib.major(v), lib.minor(v)])

# EXT-UPGRADE-002: a downgrade needs the allow-downgrade annotation.
violation contains {"id": "EXT-UPGRADE-002", "msg": msg} if {
	downgrade
	not lib.has_annotation(downgrade_annotation)
	msg := sprintf(
		"%s %s is lower than the installed version %s: choose %s or later, or set the annotation %s to the reason for the downgrade",
		[lib.requested_version_field, move.to, move.from, move.from, downgrade_annotation],
	)
}

downgrade if semver.compare(move.to, move.from) < 0

# EXT-UPGRADE-003: the chart of the requested version supports the cluster's Kubernetes version.
violation contains {"id": "EXT-UPGRADE-003", "msg": msg} if {
	v := lib.requested_version
	lib.valid_semver(v)
	k := input.cluster.kubernetesVersion
	lib.valid_semver(k)
	kube_version := chart_kube_version(v)
	not kubeext.semver_satisfies(k, kube_version)
	msg := sprintf(
		"the chart of version %s of extension type %q requires Kubernetes %q and the cluster runs %s: choose another version (%s)",
		[v, lib.type_name, kube_version, k, compatible_hint(k)],
	)
}

chart_kube_version(v) := kv if {
	kv := lib.catalog_entry(v).kubeVersion
	is_string(kv)
	kv != ""
}

compatible_hint(k) := sprintf("the %s train offers %s for it", [lib.release_train, lib.few(vs)]) if {
	vs := [v |
		some v in lib.offered_versions
		compatible(v, k)
	]
	count(vs) > 0
} else := sprintf("no version of the %s train supports it", [lib.release_train])

compatible(v, _) if not chart_kube_version(v)

compatible(v, k) if kubeext.semver_satisfies(k, chart_kube_version(v))

# ---- warnings: every annotation is echoed, with what it did ----

# EXT-WARN-001: the upgrade-exception annotation.
warning contains {"id": "EXT-WARN-001", "msg": msg} if {
	lib.has_annotation(exception_annotation)
	needs_exception
	msg := sprintf(
		"annotation %s allows moving from %s to %s against upgrade policy %s (%s)",
		[exception_annotation, move.from, move.to, policy, lib.annotation_reason(exception_annotation)],
	)
}

warning contains {"id": "EXT-WARN-001", "msg": msg} if {
	lib.has_annotation(exception_annotation)
	not needs_exception
	msg := sprintf(
		"annotation %s is set (%s); it allows one major or minor change within a Kubernetes minor: remove it once that change is done",
		[exception_annotation, lib.annotation_reason(exception_annotation)],
	)
}

# EXT-WARN-002: the allow-downgrade annotation.
warning contains {"id": "EXT-WARN-002", "msg": msg} if {
	lib.has_annotation(downgrade_annotation)
	downgrade
	msg := sprintf(
		"annotation %s allows the downgrade from %s to %s (%s)",
		[downgrade_annotation, move.from, move.to, lib.annotation_reason(downgrade_annotation)],
	)
}

warning contains {"id": "EXT-WARN-002", "msg": msg} if {
	lib.has_annotation(downgrade_annotation)
	not downgrade
	msg := sprintf(
		"annotation %s is set (%s): remove it once the downgrade is done",
		[downgrade_annotation, lib.annotation_reason(downgrade_annotation)],
	)
}

# EXT-WARN-003: a major or minor change allowed only because of a prerelease.
warning contains {"id": "EXT-WARN-003", "msg": msg} if {
	policy == "KubernetesMinor"
	change_kind
	not cluster_moved_on
	reason := prerelease_reason
	msg := sprintf(
		"moving from %s to %s changes the %s version within Kubernetes %s, allowed because %s",
		[move.from, move.to, change_kind, adopted_minor, reason],
	)
}
