# METADATA
# title: Version pinning
# description: |
#   A version is pinned with autoUpgradeMinorVersion false, comes from a release
#   train of the type, is semver, exists in the type's catalog, and meets the
#   per-type constraints of the policy configuration.
package kubeext.rules.version

import data.kubeext.lib

# METADATA
# title: A pinned version turns auto-upgrade off
# description: |
#   spec.version set needs autoUpgradeMinorVersion false (it defaults to true).
# custom:
#   id: EXT-VERSION-001
#   enforcement: deny
violation contains {"id": "EXT-VERSION-001", "msg": msg} if {
	lib.is_spec_write
	lib.spec_version != ""
	lib.auto_upgrade == true
	msg := sprintf(
		concat(" ", [
			"spec.version is %q but autoUpgradeMinorVersion is true: set autoUpgradeMinorVersion to false to",
			"pin %s, or clear spec.version to follow the %s release train",
		]),
		[lib.spec_version, lib.spec_version, lib.release_train],
	)
}

# METADATA
# title: Auto-upgrade off needs a version
# description: |
#   autoUpgradeMinorVersion false needs spec.version.
# custom:
#   id: EXT-VERSION-002
#   enforcement: deny
violation contains {"id": "EXT-VERSION-002", "msg": msg} if {
	lib.is_spec_write
	lib.auto_upgrade == false
	lib.spec_version == ""
	msg := sprintf(
		concat(" ", [
			"autoUpgradeMinorVersion is false but spec.version is empty: set spec.version to the version to",
			"pin (%s), or set autoUpgradeMinorVersion to true",
		]),
		[lib.offered_hint],
	)
}

# METADATA
# title: The release train is one of the type's
# description: |
#   spec.releaseTrain, compared case-insensitively, is one of the type's release
#   trains.
# custom:
#   id: EXT-VERSION-003
#   enforcement: deny
violation contains {"id": "EXT-VERSION-003", "msg": msg} if {
	lib.is_spec_write
	lib.type_known
	not lib.train_known
	msg := sprintf(
		"spec.releaseTrain %q is not a release train of extension type %q: use one of %s",
		[lib.release_train, lib.extension_type_name, concat(", ", lib.train_names)],
	)
}

# METADATA
# title: Versions are semver
# description: |
#   The version a write asks for (spec.version, or a new status.targetVersion) is
#   MAJOR.MINOR.PATCH[-prerelease][+build], without a leading v.
# custom:
#   id: EXT-VERSION-004
#   enforcement: deny
violation contains {"id": "EXT-VERSION-004", "msg": msg} if {
	v := lib.requested_version
	not lib.valid_semver(v)
	msg := _semver_problem(lib.requested_version_field, v)
}

# METADATA
# title: The version is in the catalog and on the train
# description: |
#   The version a write asks for is in the type's catalog (status.versions) and
#   offered by the extension's release train.
# custom:
#   id: EXT-VERSION-005
#   enforcement: deny
violation contains {"id": "EXT-VERSION-005", "msg": msg} if {
	v := lib.requested_version
	lib.valid_semver(v)
	lib.type_known
	count(lib.type_versions) == 0
	msg := sprintf(
		concat(" ", [
			"extension type %q has no versions in its catalog, so %s %s cannot be checked: run `kubectl ext",
			"type sync %s`, then retry",
		]),
		[lib.extension_type_name, lib.requested_version_field, v, lib.extension_type_name],
	)
}

violation contains {"id": "EXT-VERSION-005", "msg": msg} if {
	v := lib.requested_version
	lib.valid_semver(v)
	count(lib.type_versions) > 0
	not lib.in_catalog(v)
	msg := sprintf(
		concat(" ", [
			"version %s is not in the catalog of extension type %q: choose a listed version (%s), or run",
			"`kubectl ext type sync %s` if it was published since the last sync",
		]),
		[v, lib.extension_type_name, lib.offered_hint, lib.extension_type_name],
	)
}

violation contains {"id": "EXT-VERSION-005", "msg": msg} if {
	v := lib.requested_version
	lib.valid_semver(v)
	lib.in_catalog(v)
	not lib.offered_version(v)
	msg := sprintf(
		concat(" ", [
			"version %s of extension type %q is not offered by the %s release train (it is in: %s): choose a",
			"version of the train (%s), or change spec.releaseTrain",
		]),
		[v, lib.extension_type_name, lib.release_train, _trains_text(v), lib.offered_hint],
	)
}

# METADATA
# title: A type configured as pinned is pinned
# description: |
#   With versionConstraints.TYPE.requirePinned in the policy configuration, every
#   extension of the type is pinned.
# custom:
#   id: EXT-VERSION-006
#   enforcement: deny
violation contains {"id": "EXT-VERSION-006", "msg": msg} if {
	lib.is_spec_write
	_constraints.requirePinned == true
	not lib.pinned
	msg := sprintf(
		concat(" ", [
			"extension type %q must be pinned in this cluster (policy configuration, versionConstraints):",
			"set autoUpgradeMinorVersion to false and spec.version to a version (%s)",
		]),
		[lib.extension_type_name, lib.offered_hint],
	)
}

# METADATA
# title: The version meets the configured constraint
# description: |
#   With versionConstraints.TYPE.constraint in the policy configuration, the version
#   a write asks for satisfies it.
# custom:
#   id: EXT-VERSION-007
#   enforcement: deny
violation contains {"id": "EXT-VERSION-007", "msg": msg} if {
	v := lib.requested_version
	lib.valid_semver(v)
	c := _constraints.constraint
	is_string(c)
	c != ""
	not kubeext.semver_satisfies(v, c)
	msg := sprintf(
		concat(" ", [
			"version %s of extension type %q does not satisfy the constraint %q of the policy configuration:",
			"choose a version matching it (%s)",
		]),
		[v, lib.extension_type_name, c, _matching_hint(c)],
	)
}

# ---- helpers ----

_semver_problem(field, v) := sprintf(
	"%s %q is not valid semver: drop the leading \"v\" and write %q",
	[field, v, substring(v, 1, -1)],
) if {
	is_string(v)
	startswith(v, "v")
	lib.valid_semver(substring(v, 1, -1))
} else := sprintf(
	"%s %v is not valid semver: write MAJOR.MINOR.PATCH without a leading \"v\", e.g. \"1.4.2\" or \"1.5.0-rc.1\"",
	[field, _quoted(v)],
)

_quoted(v) := sprintf("%q", [v]) if {
	is_string(v)
} else := sprintf("%v", [v])

_trains_text(v) := concat(", ", lib.trains_of(v)) if {
	count(lib.trains_of(v)) > 0
} else := "no train"

# Per-type constraints of the policy configuration.
default _constraints := {}

_constraints := c if {
	c := input.config.versionConstraints[lib.extension_type_name]
	is_object(c)
}

_matching_hint(c) := sprintf("the %s train offers %s", [lib.release_train, lib.few(vs)]) if {
	vs := [v | some v in lib.offered_versions; lib.valid_semver(v); kubeext.semver_satisfies(v, c)]
	count(vs) > 0
} else := sprintf("no version of the %s train matches it", [lib.release_train])
