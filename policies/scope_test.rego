package kubeext.rules.scope_test

import data.kubeext.fixtures as fx
import data.kubeext.rules.scope

found(inp) := fx.ids(vs) if {
	vs := scope.violation with input as inp with data.inventory as fx.inventory(inp)
}

messages(inp, id) := {v.msg | some v in vs; v.id == id} if {
	vs := scope.violation with input as inp with data.inventory as fx.inventory(inp)
}

with_scope(obj, s) := object.union(object.remove(obj, ["spec"]), {"spec": object.union(object.remove(obj.spec, ["scope"]), {"scope": s})})

in_namespace(obj, ns) := with_scope(obj, {"namespace": {"targetNamespace": ns}})

named(obj, name) := object.union(obj, {"metadata": {"name": name}})

team_a := named(in_namespace(fx.podinfo, "team-a"), "podinfo-team-a")

with_others(inp, others) := object.union(inp, {"extensions": others})

test_every_finding_is_well_formed if {
	fx.well_formed(scope.violation) with input as fx.create(with_scope(named(fx.podinfo, "Bad_Name"), {})) with data.inventory as fx.inventory(fx.create(with_scope(named(fx.podinfo, "Bad_Name"), {})))
}

test_a_valid_cluster_scoped_create_passes if {
	count(found(fx.create(fx.podinfo))) == 0
}

test_a_valid_namespace_scoped_create_passes if {
	count(found(fx.create(team_a))) == 0
}

# ---- EXT-TYPE-001 ----

test_ext_type_001_denies_an_unknown_type_and_names_it if {
	inp := fx.with_type(fx.create(object.union(fx.podinfo, {"spec": {"extensionType": "example.nope"}})), null)
	messages(inp, "EXT-TYPE-001") == {"extension type \"example.nope\" does not exist: check spec.extensionType (`kubectl ext type list` shows the catalog)"}
}

test_ext_type_001_denies_a_new_target_version_of_a_type_gone_from_the_catalog if {
	"EXT-TYPE-001" in found(fx.with_type(fx.target_update("1.4.2"), null))
}

test_ext_type_001_allows_a_known_type if {
	not "EXT-TYPE-001" in found(fx.create(fx.podinfo))
}

test_ext_type_001_allows_status_progress_of_a_type_gone_from_the_catalog if {
	new := object.union(fx.installed, {"status": {"provisioningState": "Deleting"}})
	not "EXT-TYPE-001" in found(fx.with_type(fx.status_update(fx.installed, new), null))
}

# ---- EXT-NAME-001 ----

test_ext_name_001_denies_uppercase_and_underscores if {
	inp := fx.create(named(fx.podinfo, "Pod_Info"))
	messages(inp, "EXT-NAME-001") == {`name "Pod_Info" cannot be a Helm release name: use at most 53 lowercase letters, digits and '-', starting and ending with a letter or digit`}
}

test_ext_name_001_denies_a_name_longer_than_53 if {
	"EXT-NAME-001" in found(fx.create(named(fx.podinfo, concat("", ["a" | some _ in numbers.range(1, 54)]))))
}

test_ext_name_001_denies_a_trailing_dash if {
	"EXT-NAME-001" in found(fx.create(named(fx.podinfo, "podinfo-")))
}

test_ext_name_001_denies_an_empty_name if {
	"EXT-NAME-001" in found(fx.create(object.remove(fx.podinfo, ["metadata"])))
}

test_ext_name_001_allows_a_53_character_name if {
	not "EXT-NAME-001" in found(fx.create(named(fx.podinfo, concat("", ["a" | some _ in numbers.range(1, 53)]))))
}

test_ext_name_001_allows_lowercase_digits_and_dashes if {
	not "EXT-NAME-001" in found(fx.create(named(fx.podinfo, "podinfo-2")))
}

# ---- EXT-SCOPE-001 ----

test_ext_scope_001_denies_no_scope if {
	some msg in messages(fx.create(with_scope(fx.podinfo, {})), "EXT-SCOPE-001")
	startswith(msg, "spec.scope names no scope")
}

test_ext_scope_001_denies_both_scopes if {
	both := {"cluster": {"releaseNamespace": "podinfo"}, "namespace": {"targetNamespace": "team-a"}}
	some msg in messages(fx.create(with_scope(fx.podinfo, both)), "EXT-SCOPE-001")
	startswith(msg, "spec.scope names both cluster and namespace scope")
}

test_ext_scope_001_allows_exactly_one_scope if {
	not "EXT-SCOPE-001" in found(fx.create(fx.podinfo))
	not "EXT-SCOPE-001" in found(fx.create(team_a))
}

# ---- EXT-SCOPE-002 ----

test_ext_scope_002_denies_cluster_scope_without_release_namespace if {
	inp := fx.create(with_scope(fx.podinfo, {"cluster": {}}))
	messages(inp, "EXT-SCOPE-002") == {`spec.scope.cluster.releaseNamespace is required with cluster scope: name the namespace for the Helm release (extension type "example.podinfo" suggests "podinfo")`}
}

test_ext_scope_002_denies_cluster_scope_with_target_namespace if {
	inp := fx.create(with_scope(fx.podinfo, {"cluster": {"releaseNamespace": "podinfo", "targetNamespace": "team-a"}}))
	some msg in messages(inp, "EXT-SCOPE-002")
	startswith(msg, "spec.scope.cluster.targetNamespace is not allowed with cluster scope")
}

test_ext_scope_002_allows_cluster_scope_with_release_namespace if {
	not "EXT-SCOPE-002" in found(fx.create(fx.podinfo))
}

# ---- EXT-SCOPE-003 ----

test_ext_scope_003_denies_namespace_scope_without_target_namespace if {
	some msg in messages(fx.create(with_scope(fx.podinfo, {"namespace": {}})), "EXT-SCOPE-003")
	startswith(msg, "spec.scope.namespace.targetNamespace is required with namespace scope")
}

test_ext_scope_003_denies_namespace_scope_with_release_namespace if {
	inp := fx.create(with_scope(fx.podinfo, {"namespace": {"targetNamespace": "team-a", "releaseNamespace": "podinfo"}}))
	some msg in messages(inp, "EXT-SCOPE-003")
	startswith(msg, "spec.scope.namespace.releaseNamespace is not allowed with namespace scope")
}

test_ext_scope_003_allows_namespace_scope_with_target_namespace if {
	not "EXT-SCOPE-003" in found(fx.create(team_a))
}

# ---- EXT-SCOPE-004 ----

cluster_only := object.union(object.remove(fx.podinfo_type, ["spec"]), {"spec": object.union(
	object.remove(fx.podinfo_type.spec, ["scopes"]),
	{"scopes": {"default": "cluster", "cluster": {}}},
)})

no_scopes(default_scope) := object.union(object.remove(fx.podinfo_type, ["spec"]), {"spec": object.union(
	object.remove(fx.podinfo_type.spec, ["scopes"]),
	{"scopes": {"default": default_scope}},
)})

test_ext_scope_004_denies_namespace_scope_for_a_cluster_only_type if {
	inp := fx.with_type(fx.create(team_a), cluster_only)
	messages(inp, "EXT-SCOPE-004") == {`extension type "example.podinfo" does not support namespace scope: use cluster scope`}
}

test_ext_scope_004_denies_cluster_scope_for_a_type_listing_none_whose_default_is_namespace if {
	"EXT-SCOPE-004" in found(fx.with_type(fx.create(fx.podinfo), no_scopes("namespace")))
}

test_ext_scope_004_allows_a_supported_scope if {
	not "EXT-SCOPE-004" in found(fx.with_type(fx.create(fx.podinfo), cluster_only))
	not "EXT-SCOPE-004" in found(fx.create(team_a))
}

test_ext_scope_004_allows_the_default_scope_of_a_type_listing_none if {
	not "EXT-SCOPE-004" in found(fx.with_type(fx.create(team_a), no_scopes("namespace")))
	not "EXT-SCOPE-004" in found(fx.with_type(fx.create(fx.podinfo), no_scopes("")))
}

# ---- EXT-SCOPE-005 ----

test_ext_scope_005_denies_a_change_of_type if {
	new := object.union(fx.installed, {"spec": {"extensionType": "example.other"}})
	messages(fx.update(fx.installed, new), "EXT-SCOPE-005") == {`spec.extensionType is immutable (was "example.podinfo", now "example.other"): put it back, or delete the extension and create a new one`}
}

test_ext_scope_005_allows_an_update_keeping_the_type if {
	new := object.union(fx.installed, {"spec": {"configurationSettings": {"replicaCount": "3"}}})
	not "EXT-SCOPE-005" in found(fx.update(fx.installed, new))
}

# ---- EXT-SCOPE-006 ----

test_ext_scope_006_denies_a_change_of_release_namespace if {
	new := with_scope(fx.installed, {"cluster": {"releaseNamespace": "elsewhere"}})
	messages(fx.update(fx.installed, new), "EXT-SCOPE-006") == {`spec.scope is immutable (was cluster scope in namespace "podinfo", now cluster scope in namespace "elsewhere"): put it back, or delete the extension and create a new one`}
}

test_ext_scope_006_denies_a_change_of_scope_kind if {
	new := in_namespace(fx.installed, "podinfo")
	some msg in messages(fx.update(fx.installed, new), "EXT-SCOPE-006")
	contains(msg, "now namespace scope in namespace \"podinfo\"")
}

test_ext_scope_006_allows_an_update_keeping_the_scope if {
	new := object.union(fx.installed, {"spec": {"version": "1.4.2"}})
	not "EXT-SCOPE-006" in found(fx.update(fx.installed, new))
}

test_ext_scope_006_allows_a_create if {
	not "EXT-SCOPE-006" in found(fx.create(fx.podinfo))
}

# ---- EXT-SCOPE-007 ----

test_ext_scope_007_denies_kube_system_as_release_namespace if {
	inp := fx.create(with_scope(fx.podinfo, {"cluster": {"releaseNamespace": "kube-system"}}))
	messages(inp, "EXT-SCOPE-007") == {`namespace "kube-system" is protected and cannot hold extensions: choose another spec.scope.cluster.releaseNamespace`}
}

test_ext_scope_007_denies_the_webhook_namespace_as_target_namespace if {
	"EXT-SCOPE-007" in found(fx.create(in_namespace(fx.podinfo, "kubeext-system")))
}

test_ext_scope_007_denies_a_namespace_the_configuration_protects if {
	inp := fx.with_config(fx.create(team_a), {"protectedNamespaces": ["team-a"]})
	"EXT-SCOPE-007" in found(inp)
}

test_ext_scope_007_denies_the_default_namespaces_when_the_configuration_names_none if {
	inp := fx.with_config(fx.create(in_namespace(fx.podinfo, "kube-public")), {"protectedNamespaces": null})
	"EXT-SCOPE-007" in found(inp)
}

test_ext_scope_007_allows_an_ordinary_namespace if {
	not "EXT-SCOPE-007" in found(fx.create(fx.podinfo))
}

test_ext_scope_007_allows_kube_system_when_the_configuration_protects_nothing if {
	inp := fx.with_config(fx.create(with_scope(fx.podinfo, {"cluster": {"releaseNamespace": "kube-system"}})), {"protectedNamespaces": []})
	not "EXT-SCOPE-007" in found(inp)
}

# ---- EXT-SCOPE-008 ----

test_ext_scope_008_denies_a_second_cluster_scoped_instance if {
	inp := with_others(fx.create(named(with_scope(fx.podinfo, {"cluster": {"releaseNamespace": "podinfo-2"}}), "podinfo-2")), [fx.installed])
	messages(inp, "EXT-SCOPE-008") == {`extension type "example.podinfo" allows one cluster-scoped instance per cluster and extension "podinfo" is already one: update "podinfo" instead, or delete it first`}
}

test_ext_scope_008_denies_a_second_instance_in_one_namespace if {
	other := named(team_a, "podinfo-other")
	inp := with_others(fx.create(team_a), [other])
	some msg in messages(inp, "EXT-SCOPE-008")
	contains(msg, `allows one instance per namespace and extension "podinfo-other" is already in namespace "team-a"`)
}

test_ext_scope_008_allows_a_second_instance_when_the_type_allows_many if {
	many := object.union(fx.podinfo_type, {"spec": {"scopes": {"cluster": {"allowMultipleInstances": true}}}})
	inp := with_others(fx.create(named(with_scope(fx.podinfo, {"cluster": {"releaseNamespace": "podinfo-2"}}), "podinfo-2")), [fx.installed])
	not "EXT-SCOPE-008" in found(fx.with_type(inp, many))
}

test_ext_scope_008_allows_instances_in_other_namespaces_and_of_other_types if {
	other_type := object.union(fx.installed, {"spec": {"extensionType": "example.other"}})
	inp := with_others(fx.create(team_a), [named(in_namespace(fx.podinfo, "team-b"), "podinfo-team-b"), fx.installed, other_type])
	not "EXT-SCOPE-008" in found(inp)
}

test_ext_scope_008_allows_an_update_of_the_one_instance if {
	new := object.union(fx.installed, {"spec": {"configurationSettings": {"a": "b"}}})
	not "EXT-SCOPE-008" in found(with_others(fx.update(fx.installed, new), [named(fx.installed, "twin")]))
}

# ---- EXT-SCOPE-009 ----

many_type := object.union(fx.podinfo_type, {"spec": {"scopes": {"cluster": {"allowMultipleInstances": true}}}})

test_ext_scope_009_denies_a_release_name_and_namespace_in_use if {
	# "legacy" installed its release as "podinfo" in namespace podinfo.
	legacy := object.union(named(fx.installed, "legacy"), {"status": {"release": {"name": "podinfo", "namespace": "podinfo"}}})
	inp := fx.with_type(with_others(fx.create(fx.podinfo), [legacy]), many_type)
	messages(inp, "EXT-SCOPE-009") == {`Helm release "podinfo" in namespace "podinfo" already belongs to extension "legacy": choose another name or namespace`}
}

test_ext_scope_009_denies_a_release_whose_namespace_comes_from_the_scope if {
	# "legacy" recorded only its release name; its namespace is its scope's.
	legacy := object.union(named(fx.installed, "legacy"), {"status": {"release": {"name": "podinfo", "namespace": ""}}})
	"EXT-SCOPE-009" in found(fx.with_type(with_others(fx.create(fx.podinfo), [legacy]), many_type))
}

test_ext_scope_009_allows_the_same_name_in_another_namespace if {
	legacy := object.union(named(fx.installed, "legacy"), {"status": {"release": {"name": "podinfo", "namespace": "elsewhere"}}})
	not "EXT-SCOPE-009" in found(fx.with_type(with_others(fx.create(fx.podinfo), [legacy]), many_type))
}

test_ext_scope_009_allows_unrelated_extensions if {
	not "EXT-SCOPE-009" in found(with_others(fx.create(team_a), [fx.installed]))
}

# ---- status writes judge none of the scope rules ----

test_a_status_write_is_not_judged_for_scope if {
	broken := with_scope(named(fx.installed, "Bad"), {})
	new := object.union(broken, {"status": {"provisioningState": "Failed"}})
	count(found(fx.status_update(broken, new))) == 0
}
