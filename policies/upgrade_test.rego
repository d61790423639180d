package kubeext.rules.upgrade_test

import data.kubeext.fixtures as fx
import data.kubeext.rules.upgrade

found(inp) := fx.ids(vs) if {
	vs := upgrade.violation with input as inp with data.inventory as fx.inventory(inp)
}

messages(inp, id) := {v.msg | some v in vs; v.id == id} if {
	vs := upgrade.violation with input as inp with data.inventory as fx.inventory(inp)
}

warnings(inp, id) := {w.msg | some w in ws; w.id == id} if {
	ws := upgrade.warning with input as inp with data.inventory as fx.inventory(inp)
}

cluster_137 := {"kubernetesVersion": "1.37.0", "minor": "1.37", "prerelease": false}

cluster_137_alpha := {"kubernetesVersion": "1.37.0-alpha.1", "minor": "1.37", "prerelease": true}

minor_policy := object.union(fx.podinfo_type, {"spec": {"upgradePolicy": "Minor"}})

# Installed at 1.4.2 (pinned), moving to version.
from_142(version) := fx.update(old, object.union(old, {"spec": {"version": version}})) if {
	old := object.union(fx.installed, {"spec": {"version": "1.4.2"}, "status": {"currentVersion": "1.4.2"}})
}

exception := {"kubeext.dev/upgrade-exception": "CVE-2026-1234"}

downgrade := {"kubeext.dev/allow-downgrade": "1.4.2 breaks the ingress"}

test_every_finding_is_well_formed if {
	fx.well_formed(upgrade.violation) with input as fx.pin_update("2.0.0") with data.inventory as fx.inventory(fx.pin_update("2.0.0"))
	fx.well_formed(upgrade.warning) with input as fx.with_annotations(fx.pin_update("1.5.0"), object.union(exception, downgrade)) with data.inventory as fx.inventory(fx.with_annotations(fx.pin_update("1.5.0"), object.union(exception, downgrade)))
}

test_a_patch_upgrade_passes if {
	count(found(fx.pin_update("1.4.2"))) == 0
}

test_an_unchanged_version_passes if {
	count(found(fx.update(fx.installed, fx.installed))) == 0
}

# ---- EXT-UPGRADE-001 ----

test_ext_upgrade_001_denies_a_minor_upgrade_within_one_kubernetes_minor if {
	messages(fx.pin_update("1.5.0"), "EXT-UPGRADE-001") == {`moving from 1.4.1 to 1.5.0 changes the minor version, which upgrade policy KubernetesMinor of extension type "example.podinfo" allows only once the cluster moves past Kubernetes 1.36 (it runs 1.36): stay on 1.4.x, upgrade the cluster first, or set the annotation kubeext.dev/upgrade-exception to the reason (e.g. a CVE fix)`}
}

test_ext_upgrade_001_denies_a_major_upgrade_within_one_kubernetes_minor if {
	some msg in messages(fx.pin_update("2.0.0"), "EXT-UPGRADE-001")
	startswith(msg, "moving from 1.4.1 to 2.0.0 changes the major version")
}

test_ext_upgrade_001_denies_a_new_minor_target_version_on_a_status_write if {
	"EXT-UPGRADE-001" in found(fx.target_update("1.5.0"))
}

test_ext_upgrade_001_denies_a_minor_downgrade_within_one_kubernetes_minor if {
	"EXT-UPGRADE-001" in found(fx.with_annotations(fx.pin_update("1.3.0"), downgrade))
}

test_ext_upgrade_001_denies_under_an_unknown_policy_as_under_kubernetes_minor if {
	t := object.union(fx.podinfo_type, {"spec": {"upgradePolicy": "Whenever"}})
	"EXT-UPGRADE-001" in found(fx.with_type(fx.pin_update("1.5.0"), t))
}

test_ext_upgrade_001_denies_when_the_adopted_kubernetes_minor_is_unreadable if {
	old := object.union(fx.installed, {"status": {"kubernetesVersion": "latest"}})
	"EXT-UPGRADE-001" in found(fx.update(old, object.union(old, {"spec": {"version": "1.5.0"}})))
}

test_ext_upgrade_001_allows_a_minor_upgrade_once_the_cluster_moved_on if {
	not "EXT-UPGRADE-001" in found(fx.with_cluster(fx.pin_update("1.5.0"), cluster_137))
}

# A missing baseline is the strictest case, never "the cluster moved on": otherwise
# clearing status.kubernetesVersion would open every minor and major.
test_ext_upgrade_001_denies_a_minor_upgrade_when_no_kubernetes_minor_was_recorded if {
	old := object.union(fx.installed, {"status": {"kubernetesVersion": ""}})
	messages(fx.update(old, object.union(old, {"spec": {"version": "1.5.0"}})), "EXT-UPGRADE-001") == {concat(" ", [
		`moving from 1.4.1 to 1.5.0 changes the minor version, which upgrade policy KubernetesMinor of extension type "example.podinfo"`,
		`allows only once the cluster moves past Kubernetes the minor status.kubernetesVersion should record (it holds "")`,
		`(it runs 1.36): stay on 1.4.x, upgrade the cluster first, or set the annotation kubeext.dev/upgrade-exception`,
		`to the reason (e.g. a CVE fix)`,
	])}
}

test_ext_upgrade_001_denies_a_major_upgrade_when_the_status_holds_no_kubernetes_minor if {
	old := object.union(fx.installed, {"status": {"kubernetesVersion": null}})
	"EXT-UPGRADE-001" in found(fx.update(old, object.union(old, {"spec": {"version": "2.0.0"}})))
}

test_ext_upgrade_001_denies_a_new_minor_target_when_the_kubernetes_minor_was_cleared if {
	old := object.union(fx.auto_installed, {"status": {"kubernetesVersion": ""}})
	"EXT-UPGRADE-001" in found(fx.status_update(old, object.union(old, {"status": {"targetVersion": "1.5.0"}})))
}

test_ext_upgrade_001_allows_a_minor_upgrade_from_an_unrecorded_minor_under_policy_minor if {
	old := object.union(fx.installed, {"status": {"kubernetesVersion": ""}})
	not "EXT-UPGRADE-001" in found(fx.with_type(fx.update(old, object.union(old, {"spec": {"version": "1.5.0"}})), minor_policy))
}

test_ext_upgrade_001_allows_a_minor_change_to_a_prerelease if {
	not "EXT-UPGRADE-001" in found(fx.pin_update("1.6.0-rc.1"))
}

test_ext_upgrade_001_allows_a_minor_upgrade_on_a_prerelease_cluster if {
	inp := fx.with_cluster(fx.pin_update("1.5.0"), {"kubernetesVersion": "1.36.0-rc.0", "minor": "1.36", "prerelease": true})
	not "EXT-UPGRADE-001" in found(inp)
}

test_ext_upgrade_001_allows_a_minor_upgrade_with_the_exception_annotation if {
	not "EXT-UPGRADE-001" in found(fx.with_annotations(fx.pin_update("1.5.0"), exception))
}

test_ext_upgrade_001_allows_a_minor_upgrade_under_policy_minor if {
	not "EXT-UPGRADE-001" in found(fx.with_type(fx.pin_update("1.5.0"), minor_policy))
}

test_ext_upgrade_001_denies_a_major_upgrade_under_policy_minor_even_on_a_newer_cluster if {
	inp := fx.with_cluster(fx.with_type(fx.pin_update("2.0.0"), minor_policy), cluster_137)
	some msg in messages(inp, "EXT-UPGRADE-001")
	contains(msg, "upgrade policy Minor of extension type \"example.podinfo\" never allows on its own: stay on 1.x")
}

test_ext_upgrade_001_allows_a_major_upgrade_under_policy_minor_with_the_exception if {
	inp := fx.with_annotations(fx.with_type(fx.pin_update("2.0.0"), minor_policy), exception)
	not "EXT-UPGRADE-001" in found(inp)
}

test_ext_upgrade_001_allows_any_version_on_create if {
	not "EXT-UPGRADE-001" in found(fx.create(object.union(fx.podinfo, {"spec": {"version": "2.0.0"}})))
}

test_ext_upgrade_001_allows_the_first_target_version_of_a_new_extension if {
	fresh := object.remove(fx.auto_installed, ["status"])
	not "EXT-UPGRADE-001" in found(fx.status_update(fresh, object.union(fresh, {"status": {"targetVersion": "2.0.0"}})))
}

test_ext_upgrade_001_allows_a_status_write_that_keeps_the_target_version if {
	old := object.union(fx.auto_installed, {"status": {"targetVersion": "1.5.0"}})
	not "EXT-UPGRADE-001" in found(fx.status_update(old, object.union(old, {"status": {"provisioningState": "Failed"}})))
}

test_ext_upgrade_001_judges_against_the_stored_current_version if {
	# A status write cannot move its own baseline by rewriting currentVersion.
	new := object.union(fx.auto_installed, {"status": {"currentVersion": "1.5.0", "targetVersion": "1.5.0"}})
	"EXT-UPGRADE-001" in found(fx.status_update(fx.auto_installed, new))
}

# ---- EXT-UPGRADE-002 ----

test_ext_upgrade_002_denies_a_downgrade if {
	messages(from_142("1.4.1"), "EXT-UPGRADE-002") == {`spec.version 1.4.1 is lower than the installed version 1.4.2: choose 1.4.2 or later, or set the annotation kubeext.dev/allow-downgrade to the reason for the downgrade`}
}

test_ext_upgrade_002_denies_a_downgrade_of_the_target_version if {
	old := object.union(fx.auto_installed, {"status": {"currentVersion": "1.4.2"}})
	"EXT-UPGRADE-002" in found(fx.status_update(old, object.union(old, {"status": {"targetVersion": "1.4.1"}})))
}

test_ext_upgrade_002_allows_a_downgrade_with_the_annotation if {
	not "EXT-UPGRADE-002" in found(fx.with_annotations(from_142("1.4.1"), downgrade))
}

test_ext_upgrade_002_allows_an_upgrade if {
	not "EXT-UPGRADE-002" in found(fx.pin_update("1.4.2"))
}

# ---- EXT-UPGRADE-003 ----

test_ext_upgrade_003_denies_a_chart_that_requires_a_newer_kubernetes if {
	inp := fx.with_annotations(fx.pin_update("2.0.0"), exception)
	messages(inp, "EXT-UPGRADE-003") == {`the chart of version 2.0.0 of extension type "example.podinfo" requires Kubernetes ">=1.37.0-0" and the cluster runs 1.36.2: choose another version (the Stable train offers 1.5.0, 1.4.2, 1.4.1 for it)`}
}

test_ext_upgrade_003_denies_a_chart_that_stopped_before_the_cluster_version_on_create if {
	"EXT-UPGRADE-003" in found(fx.create(object.union(fx.podinfo, {"spec": {"version": "1.3.0"}})))
}

test_ext_upgrade_003_denies_a_chart_without_a_prerelease_range_on_a_prerelease_cluster if {
	t := object.union(fx.podinfo_type, {"status": {"versions": [{"version": "1.4.2", "kubeVersion": ">=1.30.0", "releaseTrains": ["Stable"]}]}})
	"EXT-UPGRADE-003" in found(fx.with_type(fx.with_cluster(fx.pin_update("1.4.2"), cluster_137_alpha), t))
}

test_ext_upgrade_003_denies_a_chart_kube_version_that_does_not_parse if {
	t := object.union(fx.podinfo_type, {"status": {"versions": [{"version": "1.4.2", "kubeVersion": "not a range", "releaseTrains": ["Stable"]}]}})
	"EXT-UPGRADE-003" in found(fx.with_type(fx.pin_update("1.4.2"), t))
}

test_ext_upgrade_003_denies_a_target_version_whose_chart_excludes_the_cluster if {
	"EXT-UPGRADE-003" in found(fx.target_update("2.0.0"))
}

test_ext_upgrade_003_allows_a_chart_that_supports_the_cluster if {
	not "EXT-UPGRADE-003" in found(fx.pin_update("1.4.2"))
}

test_ext_upgrade_003_allows_a_prerelease_cluster_with_a_prerelease_range if {
	not "EXT-UPGRADE-003" in found(fx.with_cluster(fx.with_annotations(fx.pin_update("2.0.0"), exception), cluster_137_alpha))
}

test_ext_upgrade_003_allows_a_chart_without_kube_version if {
	t := object.union(fx.podinfo_type, {"status": {"versions": [{"version": "1.4.2", "releaseTrains": ["Stable"]}]}})
	not "EXT-UPGRADE-003" in found(fx.with_type(fx.pin_update("1.4.2"), t))
}

# ---- EXT-WARN-001 ----

test_ext_warn_001_warns_when_the_exception_allows_a_change_and_echoes_the_reason if {
	warnings(fx.with_annotations(fx.pin_update("1.5.0"), exception), "EXT-WARN-001") == {`annotation kubeext.dev/upgrade-exception allows moving from 1.4.1 to 1.5.0 against upgrade policy KubernetesMinor (reason: "CVE-2026-1234")`}
}

test_ext_warn_001_warns_on_every_write_while_the_annotation_is_set if {
	inp := fx.with_annotations(fx.update(fx.installed, fx.installed), exception)
	warnings(inp, "EXT-WARN-001") == {`annotation kubeext.dev/upgrade-exception is set (reason: "CVE-2026-1234"); it allows one major or minor change within a Kubernetes minor: remove it once that change is done`}
}

test_ext_warn_001_warns_about_a_missing_reason if {
	some msg in warnings(fx.with_annotations(fx.pin_update("1.5.0"), {"kubeext.dev/upgrade-exception": ""}), "EXT-WARN-001")
	contains(msg, "no reason given")
}

test_ext_warn_001_quiet_without_the_annotation if {
	count(warnings(fx.pin_update("1.5.0"), "EXT-WARN-001")) == 0
}

# ---- EXT-WARN-002 ----

test_ext_warn_002_warns_when_the_annotation_allows_a_downgrade if {
	warnings(fx.with_annotations(from_142("1.4.1"), downgrade), "EXT-WARN-002") == {`annotation kubeext.dev/allow-downgrade allows the downgrade from 1.4.2 to 1.4.1 (reason: "1.4.2 breaks the ingress")`}
}

test_ext_warn_002_warns_on_every_write_while_the_annotation_is_set if {
	some msg in warnings(fx.with_annotations(fx.create(fx.podinfo), downgrade), "EXT-WARN-002")
	startswith(msg, "annotation kubeext.dev/allow-downgrade is set")
}

test_ext_warn_002_quiet_without_the_annotation if {
	count(warnings(from_142("1.4.1"), "EXT-WARN-002")) == 0
}

# ---- EXT-WARN-003 ----

test_ext_warn_003_warns_when_a_prerelease_version_allows_a_minor_change if {
	warnings(fx.pin_update("1.6.0-rc.1"), "EXT-WARN-003") == {"moving from 1.4.1 to 1.6.0-rc.1 changes the minor version within Kubernetes 1.36, allowed because the new version 1.6.0-rc.1 is a prerelease"}
}

test_ext_warn_003_warns_when_a_prerelease_cluster_allows_a_minor_change if {
	inp := fx.with_cluster(fx.pin_update("1.5.0"), {"kubernetesVersion": "1.36.0-rc.0", "minor": "1.36", "prerelease": true})
	some msg in warnings(inp, "EXT-WARN-003")
	endswith(msg, "allowed because the cluster runs a prerelease of Kubernetes (1.36.0-rc.0)")
}

test_ext_warn_003_quiet_for_a_patch_upgrade if {
	count(warnings(fx.pin_update("1.4.2"), "EXT-WARN-003")) == 0
}

test_ext_warn_003_quiet_once_the_cluster_moved_on if {
	count(warnings(fx.with_cluster(fx.pin_update("1.6.0-rc.1"), cluster_137), "EXT-WARN-003")) == 0
}
