# METADATA
# title: Type, name, scope and namespaces
# description: |
#   The type exists, the name can be a Helm release name, exactly one supported
#   scope names its namespace, type and scope never change, protected namespaces
#   stay free, and no two extensions collide. These rules judge spec writes only
#   (a status write cannot change any of it), except EXT-TYPE-001.
package kubeext.rules.scope

import data.kubeext.lib

# METADATA
# title: The extension type exists
# description: |
#   The ExtensionType named by spec.extensionType exists. Judged on spec writes, and
#   on status writes that name a new target version.
# custom:
#   id: EXT-TYPE-001
#   enforcement: deny
violation contains {"id": "EXT-TYPE-001", "msg": msg} if {
	_judged_for_type
	not lib.type_known
	msg := sprintf(
		"extension type %q does not exist: check spec.extensionType (`kubectl ext type list` shows the catalog)",
		[lib.extension_type_name],
	)
}

# METADATA
# title: The name can be a Helm release name
# description: |
#   The extension's name is its Helm release name: at most 53 lowercase letters,
#   digits and '-', starting and ending with a letter or digit. Names are immutable,
#   so only a create is judged.
# custom:
#   id: EXT-NAME-001
#   enforcement: deny
violation contains {"id": "EXT-NAME-001", "msg": msg} if {
	lib.is_create
	not _valid_release_name(lib.name)
	msg := sprintf(
		concat(" ", [
			"name %q cannot be a Helm release name: use at most 53 lowercase letters, digits and '-',",
			"starting and ending with a letter or digit",
		]),
		[lib.name],
	)
}

# METADATA
# title: Exactly one scope
# description: |
#   Exactly one of spec.scope.cluster and spec.scope.namespace.
# custom:
#   id: EXT-SCOPE-001
#   enforcement: deny
violation contains {"id": "EXT-SCOPE-001", "msg": msg} if {
	lib.is_spec_write
	not _has_cluster
	not _has_namespace
	msg := concat(" ", [
		"spec.scope names no scope: set either spec.scope.cluster.releaseNamespace or",
		"spec.scope.namespace.targetNamespace",
	])
}

violation contains {"id": "EXT-SCOPE-001", "msg": msg} if {
	lib.is_spec_write
	_has_cluster
	_has_namespace
	msg := concat(" ", [
		"spec.scope names both cluster and namespace scope: keep exactly one of spec.scope.cluster and",
		"spec.scope.namespace",
	])
}

# METADATA
# title: Cluster scope names its release namespace
# description: |
#   Cluster scope needs releaseNamespace and allows no targetNamespace.
# custom:
#   id: EXT-SCOPE-002
#   enforcement: deny
violation contains {"id": "EXT-SCOPE-002", "msg": msg} if {
	lib.is_spec_write
	_cluster_scope
	_field(_scope, "cluster", "releaseNamespace") == ""
	msg := sprintf(
		"spec.scope.cluster.releaseNamespace is required with cluster scope: name the namespace for the Helm release%s",
		[_default_namespace_hint],
	)
}

violation contains {"id": "EXT-SCOPE-002", "msg": msg} if {
	lib.is_spec_write
	_cluster_scope
	_field(_scope, "cluster", "targetNamespace") != ""
	msg := concat(" ", [
		"spec.scope.cluster.targetNamespace is not allowed with cluster scope: remove it, and use",
		"spec.scope.cluster.releaseNamespace (or namespace scope to install into one namespace)",
	])
}

# METADATA
# title: Namespace scope names its target namespace
# description: |
#   Namespace scope needs targetNamespace and allows no releaseNamespace.
# custom:
#   id: EXT-SCOPE-003
#   enforcement: deny
violation contains {"id": "EXT-SCOPE-003", "msg": msg} if {
	lib.is_spec_write
	_namespace_scope
	_field(_scope, "namespace", "targetNamespace") == ""
	msg := "spec.scope.namespace.targetNamespace is required with namespace scope: name the namespace to install into"
}

violation contains {"id": "EXT-SCOPE-003", "msg": msg} if {
	lib.is_spec_write
	_namespace_scope
	_field(_scope, "namespace", "releaseNamespace") != ""
	msg := concat(" ", [
		"spec.scope.namespace.releaseNamespace is not allowed with namespace scope: remove it; the release",
		"lives in spec.scope.namespace.targetNamespace",
	])
}

# METADATA
# title: The type supports the scope
# description: |
#   The type lists the scope in spec.scopes; a type that lists neither supports only
#   its default scope.
# custom:
#   id: EXT-SCOPE-004
#   enforcement: deny
violation contains {"id": "EXT-SCOPE-004", "msg": msg} if {
	lib.is_spec_write
	lib.type_known
	_scope_kind
	not _scope_kind in _supported_scopes
	msg := sprintf(
		"extension type %q does not support %s scope: use %s scope",
		[lib.extension_type_name, _scope_kind, concat(" or ", sort(_supported_scopes))],
	)
}

# METADATA
# title: The extension type is immutable
# description: |
#   An update keeps spec.extensionType.
# custom:
#   id: EXT-SCOPE-005
#   enforcement: deny
violation contains {"id": "EXT-SCOPE-005", "msg": msg} if {
	lib.is_spec_write
	lib.is_update
	lib.has_old
	old_type := object.get(lib.old_spec, "extensionType", "")
	old_type != lib.extension_type_name
	msg := sprintf(
		"spec.extensionType is immutable (was %q, now %q): put it back, or delete the extension and create a new one",
		[old_type, lib.extension_type_name],
	)
}

# METADATA
# title: The scope is immutable
# description: |
#   An update keeps the scope kind and its namespace.
# custom:
#   id: EXT-SCOPE-006
#   enforcement: deny
violation contains {"id": "EXT-SCOPE-006", "msg": msg} if {
	lib.is_spec_write
	lib.is_update
	lib.has_old
	before := _describe(object.get(lib.old_spec, "scope", {}))
	after := _describe(_scope)
	before != after
	msg := sprintf(
		"spec.scope is immutable (was %s, now %s): put it back, or delete the extension and create a new one",
		[before, after],
	)
}

# METADATA
# title: Protected namespaces hold no extension
# description: |
#   No release or target namespace is one of the configuration's protected
#   namespaces (kube-system, kube-public, kube-node-lease and kubeext-system by
#   default).
# custom:
#   id: EXT-SCOPE-007
#   enforcement: deny
violation contains {"id": "EXT-SCOPE-007", "msg": msg} if {
	lib.is_spec_write
	some kind in ["cluster", "namespace"]
	some key in ["releaseNamespace", "targetNamespace"]
	ns := _field(_scope, kind, key)
	ns in _protected_namespaces
	msg := sprintf(
		"namespace %q is protected and cannot hold extensions: choose another spec.scope.%s.%s",
		[ns, kind, key],
	)
}

# METADATA
# title: One instance unless the type allows more
# description: |
#   Unless the type sets allowMultipleInstances: one cluster-scoped extension of the
#   type per cluster, one namespace-scoped extension of it per target namespace.
#   Judged on create.
# custom:
#   id: EXT-SCOPE-008
#   enforcement: deny
violation contains {"id": "EXT-SCOPE-008", "msg": msg} if {
	lib.is_create
	lib.type_known
	_cluster_scope
	not _allow_multiple
	some other in lib.instances.cluster
	other != lib.name
	msg := sprintf(
		concat(" ", [
			"extension type %q allows one cluster-scoped instance per cluster and extension %q is already",
			"one: update %q instead, or delete it first",
		]),
		[lib.extension_type_name, other, other],
	)
}

violation contains {"id": "EXT-SCOPE-008", "msg": msg} if {
	lib.is_create
	lib.type_known
	_namespace_scope
	not _allow_multiple
	some other in lib.instances.namespaces[_scope_namespace]
	other != lib.name
	msg := sprintf(
		concat(" ", [
			"extension type %q allows one instance per namespace and extension %q is already in namespace",
			"%q: update %q instead, or choose another spec.scope.namespace.targetNamespace",
		]),
		[lib.extension_type_name, other, _scope_namespace, other],
	)
}

# METADATA
# title: Helm releases never collide
# description: |
#   Two extensions never share a Helm release name and namespace. Judged on create.
# custom:
#   id: EXT-SCOPE-009
#   enforcement: deny
violation contains {"id": "EXT-SCOPE-009", "msg": msg} if {
	lib.is_create
	_scope_namespace != ""
	some other in data.inventory.releases[_scope_namespace][lib.name]
	other != lib.name
	msg := sprintf(
		"Helm release %q in namespace %q already belongs to extension %q: choose another name or namespace",
		[lib.name, _scope_namespace, other],
	)
}

# ---- helpers ----

_judged_for_type if lib.is_spec_write

_judged_for_type if lib.requested_version

_valid_release_name(n) if {
	is_string(n)
	count(n) <= 53
	regex.match(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`, n)
}

default _scope := {}

_scope := s if {
	s := lib.spec.scope
	is_object(s)
}

_has_cluster if is_object(_scope.cluster)

_has_namespace if is_object(_scope.namespace)

_cluster_scope if {
	_has_cluster
	not _has_namespace
}

_namespace_scope if {
	_has_namespace
	not _has_cluster
}

_field(s, kind, key) := v if {
	v := s[kind][key]
	is_string(v)
} else := ""

default _default_namespace_hint := ""

_default_namespace_hint := sprintf(" (extension type %q suggests %q)", [lib.extension_type_name, ns]) if {
	ns := lib.ext_type.spec.scopes.cluster.defaultReleaseNamespace
	is_string(ns)
	ns != ""
}

_scope_kind := "cluster" if _cluster_scope

_scope_kind := "namespace" if _namespace_scope

default _type_scopes := {}

_type_scopes := s if {
	s := lib.ext_type.spec.scopes
	is_object(s)
}

_supported_scopes contains "cluster" if is_object(_type_scopes.cluster)

_supported_scopes contains "namespace" if is_object(_type_scopes.namespace)

# A type that lists neither scope supports only its default scope.
_supported_scopes contains _default_scope if {
	not lib.object_at(_type_scopes, "cluster")
	not lib.object_at(_type_scopes, "namespace")
}

default _default_scope := "cluster"

_default_scope := "namespace" if {
	_type_scopes["default"] == "namespace"
}

_describe(s) := sprintf("%s scope in namespace %q", [kind, ns]) if {
	is_object(s)
	kinds := [k | some k in ["cluster", "namespace"]; is_object(s[k])]
	count(kinds) == 1
	kind := kinds[0]
	ns := concat("", [_field(s, kind, "releaseNamespace"), _field(s, kind, "targetNamespace")])
} else := sprintf("%v", [s])

default _protected_namespaces := {"kube-system", "kube-public", "kube-node-lease", "kubeext-system"}

_protected_namespaces := {ns | some ns in p} if {
	p := input.config.protectedNamespaces
	is_array(p)
}

_scope_namespace := _field(_scope, "cluster", "releaseNamespace") if _cluster_scope

_scope_namespace := _field(_scope, "namespace", "targetNamespace") if _namespace_scope

_allow_multiple if _type_scopes.cluster.allowMultipleInstances == true
