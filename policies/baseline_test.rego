package kubeext.rules.baseline_test

import data.kubeext.fixtures as fx
import data.kubeext.rules.baseline

found(inp) := fx.ids(vs) if {
	vs := baseline.violation with input as inp with data.inventory as fx.inventory(inp)
}

messages(inp, id) := {v.msg | some v in vs; v.id == id} if {
	vs := baseline.violation with input as inp with data.inventory as fx.inventory(inp)
}

# The stored extension with status fields replaced.
stored(status) := object.union(fx.auto_installed, {"status": status})

# A status write from the stored status old to new.
status_write(old, new) := fx.status_update(stored(old), stored(new))

test_every_finding_is_well_formed if {
	fx.well_formed(baseline.violation) with input as status_write({}, {"currentVersion": "9.9.9", "kubernetesVersion": ""}) with data.inventory as fx.inventory(status_write({}, {"currentVersion": "9.9.9", "kubernetesVersion": ""}))
}

# ---- EXT-BASELINE-001: status.currentVersion ----

test_ext_baseline_001_denies_a_later_current_version_without_a_stored_target if {
	messages(status_write({}, {"currentVersion": "2.0.0"}), "EXT-BASELINE-001") == {concat(" ", [
		`status.currentVersion may change only to the stored status.targetVersion (none is stored), not from "1.4.1"`,
		`to "2.0.0": write status.targetVersion first (the upgrade rules judge it), then record it as installed`,
	])}
}

test_ext_baseline_001_denies_a_current_version_other_than_the_stored_target if {
	"EXT-BASELINE-001" in found(status_write({"targetVersion": "1.4.2"}, {"currentVersion": "1.5.0"}))
}

test_ext_baseline_001_denies_a_current_version_that_is_garbage if {
	"EXT-BASELINE-001" in found(status_write({}, {"currentVersion": "garbage"}))
}

test_ext_baseline_001_denies_clearing_the_current_version if {
	"EXT-BASELINE-001" in found(status_write({}, {"currentVersion": ""}))
	"EXT-BASELINE-001" in found(fx.status_update(stored({}), object.remove(stored({}), ["status"])))
}

# The target the write itself names is not judged yet: only the stored one counts.
test_ext_baseline_001_denies_a_target_and_current_version_in_one_write if {
	"EXT-BASELINE-001" in found(status_write({}, {"targetVersion": "2.0.0", "currentVersion": "2.0.0"}))
}

test_ext_baseline_001_allows_the_current_version_to_become_the_stored_target if {
	not "EXT-BASELINE-001" in found(status_write({"targetVersion": "1.4.2"}, {"currentVersion": "1.4.2", "targetVersion": ""}))
}

test_ext_baseline_001_allows_an_unchanged_current_version if {
	not "EXT-BASELINE-001" in found(status_write({}, {"provisioningState": "Failed"}))
}

test_ext_baseline_001_allows_spec_writes if {
	count(found(fx.pin_update("1.4.2"))) == 0
}

# ---- EXT-BASELINE-002: status.kubernetesVersion ----

test_ext_baseline_002_denies_clearing_the_kubernetes_minor if {
	messages(status_write({}, {"kubernetesVersion": ""}), "EXT-BASELINE-002") == {concat(" ", [
		`status.kubernetesVersion may change only to the cluster's Kubernetes minor (1.36), not from "1.36" to "":`,
		`it records the minor at which the installed version was adopted`,
	])}
}

test_ext_baseline_002_denies_an_older_or_other_minor if {
	"EXT-BASELINE-002" in found(status_write({}, {"kubernetesVersion": "1.30"}))
	"EXT-BASELINE-002" in found(status_write({}, {"kubernetesVersion": "1.37"}))
	"EXT-BASELINE-002" in found(status_write({}, {"kubernetesVersion": "latest"}))
}

test_ext_baseline_002_denies_any_change_when_the_cluster_minor_is_unknown if {
	inp := fx.with_cluster(status_write({"kubernetesVersion": "1.35"}, {"kubernetesVersion": ""}), {"minor": ""})
	"EXT-BASELINE-002" in found(inp)
	inp2 := fx.with_cluster(status_write({"kubernetesVersion": ""}, {"kubernetesVersion": ""}), {"minor": ""})
	not "EXT-BASELINE-002" in found(inp2)
}

test_ext_baseline_002_allows_the_clusters_own_minor if {
	not "EXT-BASELINE-002" in found(status_write({"kubernetesVersion": "1.35"}, {"kubernetesVersion": "1.36"}))
	not "EXT-BASELINE-002" in found(status_write({"kubernetesVersion": ""}, {"kubernetesVersion": "1.36"}))
}

test_ext_baseline_002_allows_an_unchanged_minor if {
	not "EXT-BASELINE-002" in found(status_write({}, {"provisioningState": "Updating"}))
}

# ---- EXT-BASELINE-003: a malformed stored currentVersion ----

test_ext_baseline_003_denies_a_move_from_a_malformed_installed_version if {
	old := stored({"currentVersion": "garbage"})
	inp := fx.status_update(old, object.union(old, {"status": {"targetVersion": "2.0.0"}}))
	messages(inp, "EXT-BASELINE-003") == {concat(" ", [
		`the installed version status.currentVersion "garbage" is not semver, so the move to status.targetVersion 2.0.0`,
		`cannot be judged: set the annotation kubeext.dev/upgrade-exception to the reason to allow it`,
	])}
}

test_ext_baseline_003_denies_a_pinned_version_from_a_malformed_installed_version if {
	old := object.union(fx.installed, {"status": {"currentVersion": "v1.4"}})
	"EXT-BASELINE-003" in found(fx.update(old, object.union(old, {"spec": {"version": "2.0.0"}})))
}

test_ext_baseline_003_allows_the_move_with_the_exception if {
	old := stored({"currentVersion": "garbage"})
	inp := fx.status_update(old, object.union(old, {"status": {"targetVersion": "2.0.0"}}))
	not "EXT-BASELINE-003" in found(fx.with_annotations(inp, {"kubeext.dev/upgrade-exception": "repair"}))
}

test_ext_baseline_003_allows_a_first_install if {
	inp := fx.status_update(fx.podinfo, object.union(fx.podinfo, {"status": {"targetVersion": "2.0.0"}}))
	not "EXT-BASELINE-003" in found(inp)
}

# ---- EXT-BASELINE-004: status.release names the extension's own release ----

test_ext_baseline_004_denies_a_record_naming_another_release if {
	every rel in [
		{"name": "cert-manager", "namespace": "podinfo"},
		{"name": "podinfo", "namespace": "cert-manager"},
	] {
		found(status_write({}, {"release": rel})) == {"EXT-BASELINE-004"}
	}
	messages(status_write({}, {"release": {"name": "podinfo", "namespace": "cert-manager"}}), "EXT-BASELINE-004") == {
		`status.release.namespace is "cert-manager", but this extension's release is podinfo/podinfo: the record names only its own release`,
	}
}

test_ext_baseline_004_allows_its_own_release_or_none if {
	every rel in [
		{"name": "podinfo", "namespace": "podinfo", "revision": 3},
		{"revision": 2},
		{},
	] {
		not "EXT-BASELINE-004" in found(status_write({}, {"release": rel}))
	}
}
