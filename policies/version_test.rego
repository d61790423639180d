package kubeext.rules.version_test

import data.kubeext.fixtures as fx
import data.kubeext.rules.version

found(inp) := fx.ids(vs) if {
	vs := version.violation with input as inp with data.inventory as fx.inventory(inp)
}

messages(inp, id) := {v.msg | some v in vs; v.id == id} if {
	vs := version.violation with input as inp with data.inventory as fx.inventory(inp)
}

auto := object.union(fx.podinfo, {"spec": {"autoUpgradeMinorVersion": true, "version": ""}})

test_every_finding_is_well_formed if {
	fx.well_formed(version.violation) with input as fx.create(object.union(fx.podinfo, {"spec": {"version": "v1.x", "releaseTrain": "Nightly"}})) with data.inventory as fx.inventory(fx.create(object.union(fx.podinfo, {"spec": {"version": "v1.x", "releaseTrain": "Nightly"}})))
}

test_a_valid_pinned_create_passes if {
	count(found(fx.create(fx.podinfo))) == 0
}

test_a_valid_auto_upgrading_create_passes if {
	count(found(fx.create(auto))) == 0
}

# ---- EXT-VERSION-001 ----

test_ext_version_001_denies_a_version_with_auto_upgrade_on if {
	inp := fx.create(object.union(fx.podinfo, {"spec": {"autoUpgradeMinorVersion": true}}))
	"EXT-VERSION-001" in found(inp)
	some msg in messages(inp, "EXT-VERSION-001")
	contains(msg, "set autoUpgradeMinorVersion to false")
}

test_ext_version_001_denies_a_version_when_auto_upgrade_is_left_to_its_default if {
	"EXT-VERSION-001" in found(fx.create(fx.without_spec(fx.podinfo, "autoUpgradeMinorVersion")))
}

test_ext_version_001_allows_a_version_with_auto_upgrade_off if {
	not "EXT-VERSION-001" in found(fx.create(fx.podinfo))
}

test_ext_version_001_allows_auto_upgrade_without_a_version if {
	not "EXT-VERSION-001" in found(fx.create(auto))
}

# ---- EXT-VERSION-002 ----

test_ext_version_002_denies_auto_upgrade_off_without_a_version if {
	inp := fx.create(object.union(fx.podinfo, {"spec": {"version": ""}}))
	"EXT-VERSION-002" in found(inp)
	messages(inp, "EXT-VERSION-002") == {"autoUpgradeMinorVersion is false but spec.version is empty: set spec.version to the version to pin (the Stable train offers 2.0.0, 1.5.0, 1.4.2, 1.4.1, 1.3.0), or set autoUpgradeMinorVersion to true"}
}

test_ext_version_002_allows_auto_upgrade_off_with_a_version if {
	not "EXT-VERSION-002" in found(fx.create(fx.podinfo))
}

test_ext_version_002_allows_a_status_write_of_a_spec_it_would_deny if {
	broken := object.union(fx.installed, {"spec": {"version": ""}})
	not "EXT-VERSION-002" in found(fx.status_update(broken, object.union(broken, {"status": {"provisioningState": "Failed"}})))
}

# ---- EXT-VERSION-003 ----

test_ext_version_003_denies_a_train_the_type_does_not_have if {
	inp := fx.create(object.union(auto, {"spec": {"releaseTrain": "Nightly"}}))
	"EXT-VERSION-003" in found(inp)
	messages(inp, "EXT-VERSION-003") == {`spec.releaseTrain "Nightly" is not a release train of extension type "example.podinfo": use one of Stable, Preview`}
}

test_ext_version_003_denies_the_default_stable_train_when_the_type_lacks_it if {
	t := object.union(fx.podinfo_type, {"spec": {"releaseTrains": [{"name": "Fast", "includePrerelease": true}]}})
	"EXT-VERSION-003" in found(fx.with_type(fx.create(fx.without_spec(auto, "releaseTrain")), t))
}

test_ext_version_003_allows_a_train_in_any_case if {
	not "EXT-VERSION-003" in found(fx.create(object.union(auto, {"spec": {"releaseTrain": "preview"}})))
}

test_ext_version_003_allows_a_train_with_a_pinned_version if {
	not "EXT-VERSION-003" in found(fx.create(fx.podinfo))
}

# ---- EXT-VERSION-004 ----

test_ext_version_004_denies_a_leading_v_and_says_so if {
	inp := fx.create(object.union(fx.podinfo, {"spec": {"version": "v1.4.2"}}))
	messages(inp, "EXT-VERSION-004") == {`spec.version "v1.4.2" is not valid semver: drop the leading "v" and write "1.4.2"`}
}

test_ext_version_004_denies_a_version_without_a_patch if {
	inp := fx.create(object.union(fx.podinfo, {"spec": {"version": "1.4"}}))
	messages(inp, "EXT-VERSION-004") == {`spec.version "1.4" is not valid semver: write MAJOR.MINOR.PATCH without a leading "v", e.g. "1.4.2" or "1.5.0-rc.1"`}
}

test_ext_version_004_denies_a_bad_target_version_on_a_status_write if {
	some msg in messages(fx.target_update("latest"), "EXT-VERSION-004")
	startswith(msg, `status.targetVersion "latest" is not valid semver`)
}

test_ext_version_004_allows_semver_with_prerelease_and_build if {
	not "EXT-VERSION-004" in found(fx.create(object.union(fx.podinfo, {"spec": {"version": "1.6.0-rc.1+build.5"}})))
}

test_ext_version_004_allows_an_unchanged_target_version if {
	old := object.union(fx.auto_installed, {"status": {"targetVersion": "garbage"}})
	not "EXT-VERSION-004" in found(fx.status_update(old, object.union(old, {"status": {"provisioningState": "Failed"}})))
}

# ---- EXT-VERSION-005 ----

test_ext_version_005_denies_a_version_missing_from_the_catalog if {
	inp := fx.create(object.union(fx.podinfo, {"spec": {"version": "1.9.9"}}))
	messages(inp, "EXT-VERSION-005") == {"version 1.9.9 is not in the catalog of extension type \"example.podinfo\": choose a listed version (the Stable train offers 2.0.0, 1.5.0, 1.4.2, 1.4.1, 1.3.0), or run `kubectl ext type sync example.podinfo` if it was published since the last sync"}
}

test_ext_version_005_denies_a_version_of_another_train if {
	inp := fx.create(object.union(fx.podinfo, {"spec": {"version": "1.6.0-rc.1"}}))
	some msg in messages(inp, "EXT-VERSION-005")
	contains(msg, "is not offered by the Stable release train (it is in: Preview)")
}

test_ext_version_005_denies_any_version_of_a_type_never_synced if {
	t := object.remove(fx.podinfo_type, ["status"])
	some msg in messages(fx.with_type(fx.create(fx.podinfo), t), "EXT-VERSION-005")
	contains(msg, "run `kubectl ext type sync example.podinfo`")
}

test_ext_version_005_denies_a_target_version_missing_from_the_catalog if {
	"EXT-VERSION-005" in found(fx.target_update("1.4.9"))
}

test_ext_version_005_allows_a_version_of_the_train if {
	not "EXT-VERSION-005" in found(fx.create(fx.podinfo))
}

test_ext_version_005_allows_a_prerelease_on_the_preview_train if {
	not "EXT-VERSION-005" in found(fx.create(object.union(fx.podinfo, {"spec": {"version": "1.6.0-rc.1", "releaseTrain": "Preview"}})))
}

# The policies read listed trains only: the engine spells out the trains of every
# entry before it evaluates (ExtensionType.ResolveTrains in internal/api/v1alpha1,
# tested in Go), so an entry reaching the policies with no list is offered nowhere.
test_ext_version_005_denies_an_entry_that_reaches_the_policies_listing_no_train if {
	t := object.union(fx.podinfo_type, {"status": {"versions": [{"version": "1.4.2"}]}})
	"EXT-VERSION-005" in found(fx.with_type(fx.create(fx.podinfo), t))
}

test_ext_version_005_allows_a_create_without_a_version if {
	not "EXT-VERSION-005" in found(fx.create(auto))
}

# ---- EXT-VERSION-006 ----

pinned_config := {"versionConstraints": {"example.podinfo": {"requirePinned": true, "constraint": ""}}}

test_ext_version_006_denies_an_auto_upgrading_extension_of_a_type_that_must_be_pinned if {
	inp := fx.with_config(fx.create(auto), pinned_config)
	some msg in messages(inp, "EXT-VERSION-006")
	startswith(msg, `extension type "example.podinfo" must be pinned in this cluster`)
}

test_ext_version_006_allows_a_pinned_extension_of_a_type_that_must_be_pinned if {
	not "EXT-VERSION-006" in found(fx.with_config(fx.create(fx.podinfo), pinned_config))
}

test_ext_version_006_allows_auto_upgrade_for_types_without_the_requirement if {
	not "EXT-VERSION-006" in found(fx.with_config(fx.create(auto), {"versionConstraints": {"other.type": {"requirePinned": true}}}))
}

# ---- EXT-VERSION-007 ----

tilde_config := {"versionConstraints": {"example.podinfo": {"requirePinned": false, "constraint": "~1.4"}}}

test_ext_version_007_denies_a_version_outside_the_constraint if {
	inp := fx.with_config(fx.create(object.union(fx.podinfo, {"spec": {"version": "1.5.0"}})), tilde_config)
	messages(inp, "EXT-VERSION-007") == {`version 1.5.0 of extension type "example.podinfo" does not satisfy the constraint "~1.4" of the policy configuration: choose a version matching it (the Stable train offers 1.4.2, 1.4.1)`}
}

test_ext_version_007_denies_a_target_version_outside_the_constraint if {
	"EXT-VERSION-007" in found(fx.with_config(fx.target_update("1.5.0"), tilde_config))
}

test_ext_version_007_allows_a_version_inside_the_constraint if {
	not "EXT-VERSION-007" in found(fx.with_config(fx.create(fx.podinfo), tilde_config))
}

test_ext_version_007_allows_any_version_without_a_constraint if {
	not "EXT-VERSION-007" in found(fx.create(object.union(fx.podinfo, {"spec": {"version": "1.5.0"}})))
}
