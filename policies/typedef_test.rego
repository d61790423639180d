package kubeext.types_test

import data.kubeext.fixtures as fx
import data.kubeext.types
import data.kubeext.types.rules.typedef

found(inp) := fx.ids(vs) if {
	vs := typedef.violation with input as inp with data.inventory as fx.inventory(inp)
}

messages(inp, id) := {v.msg | some v in vs; v.id == id} if {
	vs := typedef.violation with input as inp with data.inventory as fx.inventory(inp)
}

warnings(inp, id) := {w.msg | some w in ws; w.id == id} if {
	ws := typedef.warning with input as inp with data.inventory as fx.inventory(inp)
}

decision(inp) := d if {
	d := types.decision with input as inp with data.inventory as fx.inventory(inp)
}

repository(url) := object.union(fx.podinfo_type, {"spec": {"chart": {"repository": url}}})

insecure := {"metadata": {"annotations": {"kubeext.dev/allow-insecure-repository": "air-gapped mirror"}}}

with_versions(vs) := object.union(fx.podinfo_type, {"status": {"versions": vs}})

test_the_fixture_type_passes if {
	decision(fx.type_write("CREATE", "", fx.podinfo_type)) == {"deny": [], "warn": [], "dryrun": []}
	decision(fx.type_write("UPDATE", "status", fx.podinfo_type)) == {"deny": [], "warn": [], "dryrun": []}
}

test_every_finding_is_well_formed if {
	broken := object.union(repository("http://charts.example.org"), {
		"spec": {"releaseTrains": [{"name": "Stable"}, {"name": "stable"}]},
		"status": {"versions": [{"version": "v1", "releaseTrains": ["Nightly"]}]},
	})
	fx.well_formed(typedef.violation) with input as fx.type_write("CREATE", "", broken) with data.inventory as fx.inventory(fx.type_write("CREATE", "", broken))
	fx.well_formed(typedef.warning) with input as fx.type_write("CREATE", "", object.union(repository("http://x"), insecure)) with data.inventory as fx.inventory(fx.type_write("CREATE", "", object.union(repository("http://x"), insecure)))
}

test_enforcement_moves_a_type_rule_to_warn if {
	inp := object.union(fx.type_write("CREATE", "", repository("http://charts.example.org")), {"config": {"enforcement": {"EXT-TYPEDEF-001": "warn"}}})
	d := decision(inp)
	d.deny == []
	fx.ids(d.warn) == {"EXT-TYPEDEF-001"}
}

test_deletes_are_not_judged if {
	decision(fx.type_write("DELETE", "", repository("http://charts.example.org"))) == {"deny": [], "warn": [], "dryrun": []}
}

# ---- EXT-TYPEDEF-001 ----

test_ext_typedef_001_denies_an_http_repository if {
	messages(fx.type_write("CREATE", "", repository("http://charts.example.org")), "EXT-TYPEDEF-001") == {concat(" ", [
		`spec.chart.repository "http://charts.example.org" is plain http, which anyone on the path can change:`,
		`use https:// or oci://, or set the annotation kubeext.dev/allow-insecure-repository to the reason`,
	])}
	"EXT-TYPEDEF-001" in fx.ids(decision(fx.type_write("UPDATE", "", repository("HTTP://charts.example.org"))).deny)
}

test_ext_typedef_001_denies_another_scheme if {
	messages(fx.type_write("CREATE", "", repository("ftp://charts")), "EXT-TYPEDEF-001") == {`spec.chart.repository "ftp://charts" is not an https://, oci:// or file:// URL`}
	"EXT-TYPEDEF-001" in found(fx.type_write("CREATE", "", repository("charts.example.org")))
}

test_ext_typedef_001_allows_https_oci_and_file if {
	every url in ["https://charts.example.org", "oci://ghcr.io/org/charts", "file:///charts/podinfo"] {
		not "EXT-TYPEDEF-001" in found(fx.type_write("CREATE", "", repository(url)))
	}
}

test_ext_typedef_001_allows_http_with_the_annotation if {
	not "EXT-TYPEDEF-001" in found(fx.type_write("CREATE", "", object.union(repository("http://mirror.local"), insecure)))
}

test_ext_typedef_001_allows_status_writes_of_an_older_http_type if {
	not "EXT-TYPEDEF-001" in found(fx.type_write("UPDATE", "status", repository("http://mirror.local")))
}

# ---- EXT-TYPEDEF-002 ----

test_ext_typedef_002_denies_a_version_that_is_not_semver if {
	inp := fx.type_write("UPDATE", "status", with_versions([
		{"version": "1.4.2", "releaseTrains": ["Stable"]},
		{"version": "v1.5.0", "releaseTrains": ["Stable"]},
		{"version": "latest"},
	]))
	messages(inp, "EXT-TYPEDEF-002") == {
		`status.versions[1].version "v1.5.0" is not semver: write MAJOR.MINOR.PATCH[-prerelease][+build], without a leading v`,
		`status.versions[2].version "latest" is not semver: write MAJOR.MINOR.PATCH[-prerelease][+build], without a leading v`,
	}
}

test_ext_typedef_002_denies_a_version_that_is_no_string if {
	"EXT-TYPEDEF-002" in found(fx.type_write("UPDATE", "status", with_versions([{"version": 1}])))
}

test_ext_typedef_002_allows_semver_with_prerelease_and_build if {
	inp := fx.type_write("UPDATE", "status", with_versions([{"version": "1.6.0-rc.1+g1234"}, {"version": "2.0.0"}]))
	not "EXT-TYPEDEF-002" in found(inp)
}

# ---- EXT-TYPEDEF-003 ----

test_ext_typedef_003_denies_a_train_the_type_lacks if {
	inp := fx.type_write("UPDATE", "status", with_versions([{"version": "1.4.2", "releaseTrains": ["Stable", "Nightly"]}]))
	messages(inp, "EXT-TYPEDEF-003") == {`status.versions[0] ("1.4.2") names release train "Nightly", which the type does not have: use one of Stable, Preview`}
}

test_ext_typedef_003_denies_a_spec_write_that_drops_a_train_versions_name if {
	t := object.union(fx.podinfo_type, {"spec": {"releaseTrains": [{"name": "Stable"}]}})
	"EXT-TYPEDEF-003" in found(fx.type_write("UPDATE", "", t))
}

test_ext_typedef_003_allows_trains_of_the_type_in_any_case if {
	inp := fx.type_write("UPDATE", "status", with_versions([{"version": "1.4.2", "releaseTrains": ["stable", "PREVIEW"]}]))
	not "EXT-TYPEDEF-003" in found(inp)
}

test_ext_typedef_003_allows_entries_that_list_no_train if {
	not "EXT-TYPEDEF-003" in found(fx.type_write("UPDATE", "status", with_versions([{"version": "1.4.2"}])))
}

# ---- EXT-TYPEDEF-004 ----

test_ext_typedef_004_denies_trains_differing_only_in_case if {
	t := object.union(fx.podinfo_type, {"spec": {"releaseTrains": [{"name": "Stable"}, {"name": "Preview"}, {"name": "stable"}]}})
	messages(fx.type_write("CREATE", "", t), "EXT-TYPEDEF-004") == {`spec.releaseTrains names one train 2 times (Stable, stable): train names compare case-insensitively, keep one`}
}

test_ext_typedef_004_allows_distinct_trains if {
	not "EXT-TYPEDEF-004" in found(fx.type_write("CREATE", "", fx.podinfo_type))
}

# ---- EXT-WARN-004 ----

test_ext_warn_004_warns_when_the_annotation_allows_http if {
	warnings(fx.type_write("CREATE", "", object.union(repository("http://mirror.local"), insecure)), "EXT-WARN-004") == {`annotation kubeext.dev/allow-insecure-repository allows the plain http chart repository "http://mirror.local" (reason: "air-gapped mirror")`}
}

test_ext_warn_004_quiet_for_https if {
	count(warnings(fx.type_write("CREATE", "", object.union(fx.podinfo_type, insecure)), "EXT-WARN-004")) == 0
}
