# METADATA
# title: Extension types
# description: |
#   Writing an ExtensionType decides what may be installed: its chart repository is
#   fetched by every install, and its catalog (status.versions, written by `kubectl
#   ext type sync`) is what the version rules check extensions against. So the chart
#   comes over an authenticated transport unless an annotation says why not, and the
#   catalog holds semver versions on trains the type has.
package kubeext.types.rules.typedef

# METADATA
# title: The chart repository is https, oci or file
# description: |
#   spec.chart.repository is an https://, oci:// or file:// URL. http:// needs the
#   annotation kubeext.dev/allow-insecure-repository, whose value says why. Judged on
#   writes of the spec (a status write cannot change it).
# custom:
#   id: EXT-TYPEDEF-001
#   enforcement: deny
violation contains {"id": "EXT-TYPEDEF-001", "msg": msg} if {
	_spec_write
	_scheme == "http"
	not _insecure_allowed
	msg := sprintf(
		concat(" ", [
			"spec.chart.repository %q is plain http, which anyone on the path can change: use https:// or oci://,",
			"or set the annotation %s to the reason",
		]),
		[_repository, _insecure_annotation],
	)
}

violation contains {"id": "EXT-TYPEDEF-001", "msg": msg} if {
	_spec_write
	not _scheme in {"http", "https", "oci", "file"}
	msg := sprintf("spec.chart.repository %q is not an https://, oci:// or file:// URL", [_repository])
}

# METADATA
# title: Catalog versions are semver
# description: |
#   Every status.versions[].version is MAJOR.MINOR.PATCH[-prerelease][+build], without
#   a leading v, as the version rules compare them.
# custom:
#   id: EXT-TYPEDEF-002
#   enforcement: deny
violation contains {"id": "EXT-TYPEDEF-002", "msg": msg} if {
	some i, e in _versions
	not _valid_semver(e.version)
	msg := sprintf(
		"status.versions[%d].version %s is not semver: write MAJOR.MINOR.PATCH[-prerelease][+build], without a leading v",
		[i, _quoted(e.version)],
	)
}

# METADATA
# title: Catalog versions name trains the type has
# description: |
#   Every train a status.versions entry lists is one of spec.releaseTrains (Stable and
#   Preview when it names none), compared case-insensitively as the version rules do.
# custom:
#   id: EXT-TYPEDEF-003
#   enforcement: deny
violation contains {"id": "EXT-TYPEDEF-003", "msg": msg} if {
	some i, e in _versions
	some t in object.get(e, "releaseTrains", [])
	not _train_exists(t)
	msg := sprintf(
		"status.versions[%d] (%s) names release train %s, which the type does not have: use one of %s",
		[i, _quoted(e.version), _quoted(t), concat(", ", _train_names)],
	)
}

# METADATA
# title: Release train names are unique
# description: |
#   No two spec.releaseTrains share a name, compared case-insensitively: extensions
#   name their train in any case, so two trains differing only in case would be one.
# custom:
#   id: EXT-TYPEDEF-004
#   enforcement: deny
violation contains {"id": "EXT-TYPEDEF-004", "msg": msg} if {
	some name in {lower(n) | some n in _train_names}
	same := [n | some n in _train_names; lower(n) == name]
	count(same) > 1
	msg := sprintf(
		"spec.releaseTrains names one train %d times (%s): train names compare case-insensitively, keep one",
		[count(same), concat(", ", same)],
	)
}

# METADATA
# title: The allow-insecure-repository annotation is echoed
# description: kubeext.dev/allow-insecure-repository is set; the warning says what it allows and why.
# custom:
#   id: EXT-WARN-004
#   enforcement: warn
warning contains {"id": "EXT-WARN-004", "msg": msg} if {
	_insecure_allowed
	_scheme == "http"
	msg := sprintf(
		"annotation %s allows the plain http chart repository %q (%s)",
		[_insecure_annotation, _repository, _reason],
	)
}

# ---- helpers ----

_insecure_annotation := "kubeext.dev/allow-insecure-repository"

_spec_write if input.request.subResource != "status"

default _type := {}

_type := t if {
	t := input.request.object
	is_object(t)
}

_repository := object.get(_type, ["spec", "chart", "repository"], "")

default _scheme := ""

_scheme := lower(s) if {
	is_string(_repository)
	[s, rest] := split(_repository, "://")
	rest != ""
}

default _annotations := {}

_annotations := a if {
	a := _type.metadata.annotations
	is_object(a)
}

_insecure_allowed if is_string(_annotations[_insecure_annotation])

default _reason := "no reason given; put the reason in the annotation's value"

_reason := sprintf("reason: %q", [_annotations[_insecure_annotation]]) if {
	_annotations[_insecure_annotation] != ""
}

default _versions := []

_versions := vs if {
	vs := _type.status.versions
	is_array(vs)
}

# The engine spells out the default trains when spec.releaseTrains names none.
_train_names := [t.name |
	some t in object.get(_type, ["spec", "releaseTrains"], [])
	is_string(t.name)
]

_train_exists(t) if {
	is_string(t)
	some n in _train_names
	lower(n) == lower(t)
}

_valid_semver(v) if {
	is_string(v)
	not startswith(v, "v")
	semver.is_valid(v)
}

_quoted(v) := sprintf("%q", [v]) if is_string(v)

_quoted(v) := sprintf("%v", [v]) if not is_string(v)
