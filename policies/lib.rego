# Helpers shared by the rule modules: the object under review, the kind of
# write, the version the write asks for, the extension type's catalog, and
# semver helpers. Nothing here denies anything.
package kubeext.lib

# Operations the policies review; anything else passes untouched.
reviewed if input.request.operation in {"CREATE", "UPDATE"}

is_create if input.request.operation == "CREATE"

is_update if input.request.operation == "UPDATE"

# A DELETE, judged only by the rules that define delete_violation.
is_delete if input.request.operation == "DELETE"

# The extension manager's finalizer is on the object: deleting it uninstalls the release.
manager_uninstalls if "kubeext.dev/uninstall" in object.get(obj, ["metadata", "finalizers"], [])

# A write through the status subresource (the extension manager recording progress).
is_status_write if input.request.subResource == "status"

# A write of the main resource: a create, or an update of spec or metadata.
is_spec_write if not is_status_write

# The object under review, and the stored object an UPDATE replaces ({} when absent).
default obj := {}

obj := o if {
	o := input.request.object
	is_object(o)
}

default old := {}

old := o if {
	o := input.request.oldObject
	is_object(o)
}

has_old if is_object(input.request.oldObject)

# spec, status, old_spec and old_status are rules, not calls of a function on the
# object: a function's arguments are hashed on every call, and the object is large.
default spec := {}

spec := s if {
	s := obj.spec
	is_object(s)
}

default status := {}

status := s if {
	s := obj.status
	is_object(s)
}

default old_spec := {}

old_spec := s if {
	s := old.spec
	is_object(s)
}

default old_status := {}

old_status := s if {
	s := old.status
	is_object(s)
}

# The status before this write: an UPDATE is judged against what was stored, so a
# status write cannot move its own baseline.
prior_status := old_status if {
	has_old
} else := status

name := object.get(obj, ["metadata", "name"], "")

default annotations := {}

annotations := a if {
	a := obj.metadata.annotations
	is_object(a)
}

has_annotation(key) if is_string(annotations[key])

annotation_reason(key) := sprintf("reason: %q", [annotations[key]]) if {
	annotations[key] != ""
} else := "no reason given; put the reason in the annotation's value"

# The object is being deleted: the API server set metadata.deletionTimestamp (on the
# stored object; an update carries it over) and a finalizer holds the object.
being_deleted if obj.metadata.deletionTimestamp

being_deleted if old.metadata.deletionTimestamp

# A write of an object being deleted that changes its metadata only: the spec is as
# stored, and a spec write cannot change status.
finishing_deletion if {
	being_deleted
	is_update
	is_spec_write
	spec == old_spec
}

# x[key] is an object. Write `not object_at(x, key)`, never `not is_object(x.key)`:
# the argument of a call is evaluated outside the negation, so when x.key is
# undefined the whole expression fails instead of succeeding.
object_at(x, key) if is_object(x[key])

# ---- extension type ----

extension_type_name := object.get(spec, "extensionType", "")

# The cluster's types, extensions' releases and instances are the engine's inventory
# (data.inventory, kept current by the webhook's informers and loaded by the plugin),
# not part of each input; internal/policy/inventory.go describes its documents.
type_known if is_object(data.inventory.types[extension_type_name])

ext_type := data.inventory.types[extension_type_name]

# The other extensions of the object's type: {"cluster": [NAME, ...], "namespaces":
# {NAMESPACE: [NAME, ...]}} (the object itself may be among them).
default instances := {"cluster": [], "namespaces": {}}

instances := data.inventory.instances[extension_type_name]

default type_versions := []

type_versions := vs if {
	vs := ext_type.status.versions
	is_array(vs)
}

# The engine hands the policies the type with its trains spelled out: its
# spec.releaseTrains (the defaults when it names none) and, on every catalog entry,
# the trains that offer it. What an entry that lists no train means is decided once,
# in Go (ExtensionType.OfferingTrains in internal/api/v1alpha1); the policies only
# read the lists.
default type_trains := []

type_trains := ts if {
	ts := ext_type.spec.releaseTrains
	is_array(ts)
}

train_names := [t.name | some t in type_trains; is_string(t.name)]

# ---- versions ----

# autoUpgradeMinorVersion defaults to true, as the CRD does.
default auto_upgrade := true

auto_upgrade := false if spec.autoUpgradeMinorVersion == false

default spec_version := ""

spec_version := v if {
	v := spec.version
	is_string(v)
}

pinned if {
	auto_upgrade == false
	spec_version != ""
}

# The CRD defaults releaseTrain to Stable.
default release_train := "Stable"

release_train := t if {
	t := spec.releaseTrain
	is_string(t)
	t != ""
}

same_train(a, b) if lower(a) == lower(b)

train_known if {
	some t in type_trains
	is_string(t.name)
	same_train(t.name, release_train)
}

# The version this write asks for: spec.version on a spec write, or a new
# status.targetVersion on a status write. Undefined when the write names none.
requested_version := spec_version if {
	is_spec_write
	spec_version != ""
}

requested_version := t if {
	is_status_write
	t := status.targetVersion
	t != ""
	t != object.get(old_status, "targetVersion", "")
}

default requested_version_field := "status.targetVersion"

requested_version_field := "spec.version" if {
	is_spec_write
}

# The version installed before this write.
default current_version := ""

current_version := v if {
	v := prior_status.currentVersion
	is_string(v)
}

# A catalog entry is offered by the release train when it lists the train.
offered(entry) if {
	some t in entry.releaseTrains
	is_string(t)
	same_train(t, release_train)
}

in_catalog(v) if {
	some e in type_versions
	e.version == v
}

offered_version(v) if {
	some e in type_versions
	e.version == v
	offered(e)
}

# The first catalog entry for a version (a catalog should hold one).
catalog_entry(v) := type_versions[i] if {
	i := min({j | some j, e in type_versions; e.version == v})
}

trains_of(v) := sort({t |
	some e in type_versions
	e.version == v
	some t in e.releaseTrains
	is_string(t)
})

offered_versions := [e.version |
	some e in type_versions
	offered(e)
	is_string(e.version)
]

# A few versions, for messages: "1.4.2, 1.4.1, 1.3.0".
few(vs) := concat(", ", vs) if count(vs) <= 5

few(vs) := sprintf("%s and %d more", [concat(", ", array.slice(vs, 0, 5)), count(vs) - 5]) if count(vs) > 5

offered_hint := sprintf("the %s train offers %s", [release_train, few(offered_versions)]) if {
	count(offered_versions) > 0
} else := sprintf("the %s train offers no version yet", [release_train])

# ---- semver ----

# Valid semver, without the leading "v" semver.is_valid tolerates.
valid_semver(v) if {
	is_string(v)
	not startswith(v, "v")
	semver.is_valid(v)
}

# major and minor of a valid semver, as numbers.
version_core(v) := split(split(v, "+")[0], "-")[0]

major(v) := to_number(split(version_core(v), ".")[0])

minor(v) := to_number(split(version_core(v), ".")[1])

is_prerelease(v) if {
	is_string(v)
	contains(split(v, "+")[0], "-")
}

# "1.36" as [1, 36], for ordering Kubernetes minor versions.
minor_tuple(s) := [to_number(p[0]), to_number(p[1])] if {
	is_string(s)
	regex.match(`^[0-9]+\.[0-9]+$`, s)
	p := split(s, ".")
}
