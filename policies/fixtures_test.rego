# Test fixtures shared by the _test.rego files: a catalog type, extensions, a
# cluster, and inputs for each kind of write.
package kubeext.fixtures

podinfo_type := {
	"metadata": {"name": "example.podinfo"},
	"spec": {
		"chart": {"repository": "https://charts.example.org", "name": "podinfo"},
		"scopes": {
			"default": "cluster",
			"cluster": {"defaultReleaseNamespace": "podinfo", "allowMultipleInstances": false},
			"namespace": {},
		},
		"releaseTrains": [
			{"name": "Stable", "includePrerelease": false},
			{"name": "Preview", "includePrerelease": true},
		],
		"upgradePolicy": "KubernetesMinor",
	},
	"status": {"versions": [
		{"version": "2.0.0", "kubeVersion": ">=1.37.0-0", "releaseTrains": ["Stable", "Preview"]},
		{"version": "1.6.0-rc.1", "kubeVersion": ">=1.30.0-0", "releaseTrains": ["Preview"]},
		{"version": "1.5.0", "kubeVersion": ">=1.30.0-0", "releaseTrains": ["Stable", "Preview"]},
		{"version": "1.4.2", "kubeVersion": ">=1.30.0-0", "releaseTrains": ["Stable", "Preview"]},
		{"version": "1.4.1", "kubeVersion": ">=1.30.0-0", "releaseTrains": ["Stable", "Preview"]},
		{"version": "1.3.0", "kubeVersion": ">=1.28.0-0 <1.36.0-0", "releaseTrains": ["Stable", "Preview"]},
	]},
}

# A pinned, cluster-scoped extension as a user creates it.
podinfo := {
	"metadata": {"name": "podinfo"},
	"spec": {
		"extensionType": "example.podinfo",
		"scope": {"cluster": {"releaseNamespace": "podinfo"}},
		"autoUpgradeMinorVersion": false,
		"releaseTrain": "Stable",
		"version": "1.4.2",
	},
}

# The same extension once installed at 1.4.1 on Kubernetes 1.36.
installed := object.union(podinfo, {
	"spec": {"version": "1.4.1"},
	"status": {
		"provisioningState": "Succeeded",
		"currentVersion": "1.4.1",
		"kubernetesVersion": "1.36",
		"release": {"name": "podinfo", "namespace": "podinfo", "revision": 1},
	},
})

# An auto-upgrading extension installed at 1.4.1 on Kubernetes 1.36.
auto_installed := object.union(object.remove(installed, ["spec"]), {"spec": {
	"extensionType": "example.podinfo",
	"scope": {"cluster": {"releaseNamespace": "podinfo"}},
	"autoUpgradeMinorVersion": true,
	"releaseTrain": "Stable",
}})

cluster := {"kubernetesVersion": "1.36.2", "minor": "1.36", "prerelease": false}

config := {
	"enforcement": {},
	"protectedNamespaces": ["kube-system", "kube-public", "kube-node-lease", "kubeext-system"],
	"versionConstraints": {},
}

user := {"username": "alice", "groups": ["system:authenticated"]}

request(operation, sub, old, new) := {
	"request": {
		"operation": operation,
		"subResource": sub,
		"userInfo": user,
		"object": new,
		"oldObject": old,
	},
	"cluster": cluster,
	"extensionType": podinfo_type,
	"extensions": [],
	"config": config,
}

create(obj) := request("CREATE", "", null, obj)

update(old, new) := request("UPDATE", "", old, new)

status_update(old, new) := request("UPDATE", "status", old, new)

# A pinned extension moving from 1.4.1 to version on a spec update.
pin_update(version) := update(installed, object.union(installed, {"spec": {"version": version}}))

# The extension manager naming version as status.targetVersion of an auto-upgrading
# extension.
target_update(version) := status_update(auto_installed, object.union(auto_installed, {"status": {"targetVersion": version}}))

with_annotations(inp, annotations) := object.union(inp, {"request": {"object": {"metadata": {"annotations": annotations}}}})

with_cluster(inp, c) := object.union(inp, {"cluster": c})

with_type(inp, t) := object.union(object.remove(inp, ["extensionType"]), {"extensionType": t})

with_config(inp, c) := object.union(inp, {"config": c})

without_spec(obj, key) := object.union(object.remove(obj, ["spec"]), {"spec": object.remove(obj.spec, [key])})

# A write of an extension type: CREATE or UPDATE of the spec, or UPDATE of the status.
type_write(operation, sub, t) := {
	"request": {
		"operation": operation,
		"subResource": sub,
		"userInfo": user,
		"object": t,
		"oldObject": podinfo_type,
	},
	"config": config,
}

ids(results) := {r.id | some r in results}

# Every finding is an {id, msg} object with a non-empty message.
well_formed(results) if {
	every r in results {
		is_string(r.id)
		is_string(r.msg)
		r.msg != ""
		count(object.keys(r)) == 2
	}
}

# The engine's inventory (data.inventory) for a test input that names, the old way,
# the type in "extensionType" and the other extensions in "extensions": what
# internal/policy/inventory.go indexes of them.
inventory(inp) := {
	"types": {inp.extensionType.metadata.name: inp.extensionType | is_object(inp.extensionType)},
	"releases": {ns: {rn: sort([e.metadata.name |
		some e in _extensions(inp)
		_release_namespace(e) == ns
		_release_name(e) == rn
	]) |
		some rn in {_release_name(e) | some e in _extensions(inp); _release_namespace(e) == ns}
	} |
		some ns in {_release_namespace(e) | some e in _extensions(inp)}
		ns != ""
	},
	"instances": {typ: {
		"cluster": sort([e.metadata.name | some e in _extensions(inp); e.spec.extensionType == typ; _scope_kind(e) == "cluster"]),
		"namespaces": {ns: sort([e.metadata.name |
			some e in _extensions(inp)
			e.spec.extensionType == typ
			_scope_kind(e) == "namespace"
			e.spec.scope.namespace.targetNamespace == ns
		]) |
			some ns in {e.spec.scope.namespace.targetNamespace |
				some e in _extensions(inp)
				e.spec.extensionType == typ
				_scope_kind(e) == "namespace"
			}
		},
	} |
		some typ in {e.spec.extensionType | some e in _extensions(inp)}
	},
}

_extensions(inp) := [e | some e in object.get(inp, "extensions", [])]

_scope_kind(e) := "cluster" if {
	is_object(object.get(e, ["spec", "scope", "cluster"], null))
	not is_object(object.get(e, ["spec", "scope", "namespace"], null))
} else := "namespace" if {
	is_object(object.get(e, ["spec", "scope", "namespace"], null))
	not is_object(object.get(e, ["spec", "scope", "cluster"], null))
}

_scope_namespace(e) := object.get(e.spec.scope, ["cluster", "releaseNamespace"], "") if {
	_scope_kind(e) == "cluster"
} else := object.get(e.spec.scope, ["namespace", "targetNamespace"], "") if {
	_scope_kind(e) == "namespace"
} else := ""

_release_name(e) := n if {
	n := e.status.release.name
	n != ""
} else := e.metadata.name

_release_namespace(e) := ns if {
	ns := e.status.release.namespace
	ns != ""
} else := _scope_namespace(e)
