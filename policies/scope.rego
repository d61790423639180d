# Type, name, scope and namespaces: the type exists, the name can be a Helm
# release name, exactly one supported scope names its namespace, type and scope
# never change, protected namespaces stay free, and no two extensions collide.
#
# These rules judge spec writes only: a status write cannot change any of it.
package kubeext.rules.scope

import data.kubeext.lib

# EXT-TYPE-001: the extension type exists. A status write is judged too when it
# moves the extension to a new version.
violation contains {"id": "EXT-TYPE-001", "msg": msg} if {
	judged_for_type
	not lib.type_known
	msg := sprintf(
		"extension type %q does not exist: check spec.extensionType (`kubectl ext type list` shows the catalog)",
		[lib.type_name],
	)
}

judged_for_type if lib.is_spec_write

judged_for_type if lib.requested_version

# EXT-NAME-001: the name is a valid Helm release name. Names are immutable, so
# only a create is judged.
violation contains {"id": "EXT-NAME-001", "msg": msg} if {
	lib.is_create
	not valid_release_name(lib.name)
	msg := sprintf(
		"name %q cannot be a Helm release name: use at most 53 lowercase letters, digits and '-', starting and ending with a letter or digit",
		[lib.name],
	)
}

valid_release_name(n) if {
	is_string(n)
	count(n) <= 53
	regex.match(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`, n)
}

# ---- scope ----

scope := s if {
	s := lib.spec.scope
	is_object(s)
} else := {}

has_cluster if is_object(scope.cluster)

has_namespace if is_object(scope.namespace)

cluster_scope if {
	has_cluster
	not has_namespace
}

namespace_scope if {
	has_namespace
	not has_cluster
}

field(s, kind, key) := v if {
	v := s[kind][key]
	is_string(v)
} else := ""

# EXT-SCOPE-001: exactly one of spec.scope.cluster and spec.scope.namespace.
violation contains {"id": "EXT-SCOPE-001", "msg": msg} if {
	lib.is_spec_write
	not has_cluster
	not has_namespace
	msg := "spec.scope names no scope: set either spec.scope.cluster.releaseNamespace or spec.scope.namespace.targetNamespace"
}

violation contains {"id": "EXT-SCOPE-001", "msg": msg} if {
	lib.is_spec_write
	has_cluster
	has_namespace
	msg := "spec.scope names both cluster and namespace scope: keep exactly one of spec.scope.cluster and spec.scope.namespace"
}

# EXT-SCOPE-002: cluster scope => releaseNamespace required, targetNamespace not allowed.
violation contains {"id": "EXT-SCOPE-002", "msg": msg} if {
	lib.is_spec_write
	cluster_scope
	field(scope, "cluster", "releaseNamespace") == ""
	msg := sprintf(
		"spec.scope.cluster.releaseNamespace is required with cluster scope: name the namespace for the Helm release%s",
		[default_namespace_hint],
	)
}

violation contains {"id": "EXT-SCOPE-002", "msg": msg} if {
	lib.is_spec_write
	cluster_scope
	field(scope, "cluster", "targetNamespace") != ""
	msg := "spec.scope.cluster.targetNamespace is not allowed with cluster scope: remove it, and use spec.scope.cluster.releaseNamespace (or namespace scope to install into one namespace)"
}

default_namespace_hint := sprintf(" (extension type %q suggests %q)", [lib.type_name, ns]) if {
	ns := lib.ext_type.spec.scopes.cluster.defaultReleaseNamespace
	is_string(ns)
	ns != ""
} else := ""

# EXT-SCOPE-003: namespace scope => targetNamespace required, releaseNamespace not allowed.
violation contains {"id": "EXT-SCOPE-003", "msg": msg} if {
	lib.is_spec_write
	namespace_scope
	field(scope, "namespace", "targetNamespace") == ""
	msg := "spec.scope.namespace.targetNamespace is required with namespace scope: name the namespace to install into"
}

violation contains {"id": "EXT-SCOPE-003", "msg": msg} if {
	lib.is_spec_write
	namespace_scope
	field(scope, "namespace", "releaseNamespace") != ""
	msg := "spec.scope.namespace.releaseNamespace is not allowed with namespace scope: remove it; the release lives in spec.scope.namespace.targetNamespace"
}

# EXT-SCOPE-004: the type supports the scope.
violation contains {"id": "EXT-SCOPE-004", "msg": msg} if {
	lib.is_spec_write
	lib.type_known
	kind := scope_kind
	not kind in supported_scopes
	msg := sprintf(
		"extension type %q does not support %s scope: use %s scope",
		[lib.type_name, kind, concat(" or ", sort(supported_scopes))],
	)
}

scope_kind := "cluster" if cluster_scope

scope_kind := "namespace" if namespace_scope

type_scopes := s if {
	s := lib.ext_type.spec.scopes
	is_object(s)
} else := {}

supported_scopes contains "cluster" if is_object(type_scopes.cluster)

supported_scopes contains "namespace" if is_object(type_scopes.namespace)

# A type that lists neither scope supports only its default scope.
supported_scopes contains default_scope if {
	not lib.object_at(type_scopes, "cluster")
	not lib.object_at(type_scopes, "namespace")
}

default_scope := "namespace" if {
	type_scopes["default"] == "namespace"
} else := "cluster"

# EXT-SCOPE-005: spec.extensionType is immutable.
violation contains {"id": "EXT-SCOPE-005", "msg": msg} if {
	lib.is_spec_write
	lib.is_update
	lib.has_old
	old_type := object.get(lib.old_spec, "extensionType", "")
	old_type != lib.type_name
	msg := sprintf(
		"spec.extensionType is immutable (was %q, now %q): put it back, or delete the extension and create a new one",
		[old_type, lib.type_name],
	)
}

# EXT-SCOPE-006: the scope and its namespace are immutable.
violation contains {"id": "EXT-SCOPE-006", "msg": msg} if {
	lib.is_spec_write
	lib.is_update
	lib.has_old
	before := describe(object.get(lib.old_spec, "scope", {}))
	after := describe(scope)
	before != after
	msg := sprintf(
		"spec.scope is immutable (was %s, now %s): put it back, or delete the extension and create a new one",
		[before, after],
	)
}

describe(s) := sprintf("%s scope in namespace %q", [kind, ns]) if {
	is_object(s)
	kinds := [k | some k in ["cluster", "namespace"]; is_object(s[k])]
	count(kinds) == 1
	kind := kinds[0]
	ns := concat("", [field(s, kind, "releaseNamespace"), field(s, kind, "targetNamespace")])
} else := sprintf("%v", [s])

# EXT-SCOPE-007: protected namespaces hold no extension.
violation contains {"id": "EXT-SCOPE-007", "msg": msg} if {
	lib.is_spec_write
	some kind in ["cluster", "namespace"]
	some key in ["releaseNamespace", "targetNamespace"]
	ns := field(scope, kind, key)
	ns in protected_namespaces
	msg := sprintf(
		"namespace %q is protected and cannot hold extensions: choose another spec.scope.%s.%s",
		[ns, kind, key],
	)
}

protected_namespaces := {ns | some ns in p} if {
	p := input.config.protectedNamespaces
	is_array(p)
} else := {"kube-system", "kube-public", "kube-node-lease", "kubeext-system"}

# ---- uniqueness; name and scope are immutable, so only a create is judged ----

others := [e |
	some e in input.extensions
	is_object(e)
	object.get(e, ["metadata", "name"], "") != lib.name
]

scope_namespace := field(scope, "cluster", "releaseNamespace") if cluster_scope

scope_namespace := field(scope, "namespace", "targetNamespace") if namespace_scope

other_scope(e) := "cluster" if {
	lib.object_at(e.spec.scope, "cluster")
	not lib.object_at(e.spec.scope, "namespace")
}

other_scope(e) := "namespace" if {
	lib.object_at(e.spec.scope, "namespace")
	not lib.object_at(e.spec.scope, "cluster")
}

other_name(e) := object.get(e, ["metadata", "name"], "")

allow_multiple if type_scopes.cluster.allowMultipleInstances == true

# EXT-SCOPE-008: one instance per cluster (or per namespace) unless the type allows more.
violation contains {"id": "EXT-SCOPE-008", "msg": msg} if {
	lib.is_create
	lib.type_known
	cluster_scope
	not allow_multiple
	some e in others
	e.spec.extensionType == lib.type_name
	other_scope(e) == "cluster"
	msg := sprintf(
		"extension type %q allows one cluster-scoped instance per cluster and extension %q is already one: update %q instead, or delete it first",
		[lib.type_name, other_name(e), other_name(e)],
	)
}

violation contains {"id": "EXT-SCOPE-008", "msg": msg} if {
	lib.is_create
	lib.type_known
	namespace_scope
	not allow_multiple
	some e in others
	e.spec.extensionType == lib.type_name
	other_scope(e) == "namespace"
	field(e.spec.scope, "namespace", "targetNamespace") == scope_namespace
	msg := sprintf(
		"extension type %q allows one instance per namespace and extension %q is already in namespace %q: update %q instead, or choose another spec.scope.namespace.targetNamespace",
		[lib.type_name, other_name(e), scope_namespace, other_name(e)],
	)
}

# EXT-SCOPE-009: two extensions never share a Helm release name and namespace.
violation contains {"id": "EXT-SCOPE-009", "msg": msg} if {
	lib.is_create
	ns := scope_namespace
	ns != ""
	some e in others
	release_name(e) == lib.name
	release_namespace(e) == ns
	msg := sprintf(
		"Helm release %q in namespace %q already belongs to extension %q: choose another name or namespace",
		[lib.name, ns, other_name(e)],
	)
}

release_name(e) := n if {
	n := e.status.release.name
	is_string(n)
	n != ""
} else := other_name(e)

release_namespace(e) := ns if {
	ns := e.status.release.namespace
	is_string(ns)
	ns != ""
} else := field(e.spec.scope, "cluster", "releaseNamespace") if {
	other_scope(e) == "cluster"
} else := field(e.spec.scope, "namespace", "targetNamespace") if {
	other_scope(e) == "namespace"
} else := ""
