package kubeext.lib_test

import data.kubeext.fixtures as fx
import data.kubeext.lib

test_valid_semver_refuses_a_leading_v if {
	lib.valid_semver("1.4.2")
	lib.valid_semver("1.5.0-rc.1+build.7")
	not lib.valid_semver("v1.4.2")
	not lib.valid_semver("1.4")
	not lib.valid_semver("01.4.2")
	not lib.valid_semver(142)
}

test_major_minor_and_prerelease_of_a_version if {
	lib.major("12.34.5-rc.1+x") == 12
	lib.minor("12.34.5-rc.1+x") == 34
	lib.is_prerelease("1.5.0-rc.1")
	not lib.is_prerelease("1.5.0+build-7")
}

test_minor_tuples_order_kubernetes_minors if {
	lib.minor_tuple("1.37") > lib.minor_tuple("1.36")
	lib.minor_tuple("1.100") > lib.minor_tuple("1.99")
	lib.minor_tuple("2.0") > lib.minor_tuple("1.99")
	not lib.minor_tuple("1.36.0")
}

test_few_lists_at_most_five_versions if {
	lib.few(["1", "2"]) == "1, 2"
	lib.few(["1", "2", "3", "4", "5", "6", "7"]) == "1, 2, 3, 4, 5 and 2 more"
}

test_the_requested_version_of_a_spec_write_is_spec_version if {
	lib.requested_version == "1.4.2" with input as fx.create(fx.podinfo) with data.inventory as fx.inventory(fx.create(fx.podinfo))
	lib.requested_version_field == "spec.version" with input as fx.create(fx.podinfo) with data.inventory as fx.inventory(fx.create(fx.podinfo))
}

test_the_requested_version_of_a_status_write_is_a_new_target_version if {
	lib.requested_version == "1.5.0" with input as fx.target_update("1.5.0") with data.inventory as fx.inventory(fx.target_update("1.5.0"))
	lib.requested_version_field == "status.targetVersion" with input as fx.target_update("1.5.0") with data.inventory as fx.inventory(fx.target_update("1.5.0"))
}

test_a_status_write_keeping_its_target_version_requests_none if {
	old := object.union(fx.auto_installed, {"status": {"targetVersion": "1.5.0"}})
	not lib.requested_version with input as fx.status_update(old, old) with data.inventory as fx.inventory(fx.status_update(old, old))
}

test_auto_upgrade_defaults_to_true if {
	lib.auto_upgrade with input as fx.create(fx.without_spec(fx.podinfo, "autoUpgradeMinorVersion")) with data.inventory as fx.inventory(fx.create(fx.without_spec(fx.podinfo, "autoUpgradeMinorVersion")))
	lib.auto_upgrade == false with input as fx.create(fx.podinfo) with data.inventory as fx.inventory(fx.create(fx.podinfo))
}

test_release_train_defaults_to_stable if {
	lib.release_train == "Stable" with input as fx.create(fx.without_spec(fx.podinfo, "releaseTrain")) with data.inventory as fx.inventory(fx.create(fx.without_spec(fx.podinfo, "releaseTrain")))
}

test_offered_versions_follow_the_train_newest_first if {
	lib.offered_versions == ["2.0.0", "1.5.0", "1.4.2", "1.4.1", "1.3.0"] with input as fx.create(fx.podinfo) with data.inventory as fx.inventory(fx.create(fx.podinfo))
	inp := fx.create(object.union(fx.podinfo, {"spec": {"releaseTrain": "preview"}}))
	lib.offered_versions == ["2.0.0", "1.6.0-rc.1", "1.5.0", "1.4.2", "1.4.1", "1.3.0"] with input as inp with data.inventory as fx.inventory(inp)
}

test_the_first_catalog_entry_wins if {
	t := object.union(fx.podinfo_type, {"status": {"versions": [{"version": "1.0.0", "kubeVersion": "a"}, {"version": "1.0.0", "kubeVersion": "b"}]}})
	lib.catalog_entry("1.0.0").kubeVersion == "a" with input as fx.with_type(fx.create(fx.podinfo), t) with data.inventory as fx.inventory(fx.with_type(fx.create(fx.podinfo), t))
}

test_annotations_need_string_values if {
	lib.has_annotation("a") with input as fx.with_annotations(fx.create(fx.podinfo), {"a": ""}) with data.inventory as fx.inventory(fx.with_annotations(fx.create(fx.podinfo), {"a": ""}))
	not lib.has_annotation("b") with input as fx.with_annotations(fx.create(fx.podinfo), {"a": ""}) with data.inventory as fx.inventory(fx.with_annotations(fx.create(fx.podinfo), {"a": ""}))
}

test_a_null_spec_and_status_read_as_empty if {
	inp := fx.create({"metadata": {"name": "x"}, "spec": null, "status": null})
	lib.spec == {} with input as inp with data.inventory as fx.inventory(inp)
	lib.extension_type_name == "" with input as inp with data.inventory as fx.inventory(inp)
	lib.current_version == "" with input as inp with data.inventory as fx.inventory(inp)
}
