package kubeext.rules.identity_test

import data.kubeext.fixtures as fx
import data.kubeext.rules.identity

found(inp) := fx.ids(vs) if {
	vs := identity.violation with input as inp with data.inventory as fx.inventory(inp)
}

messages(inp) := {v.msg | some v in vs} if {
	vs := identity.violation with input as inp with data.inventory as fx.inventory(inp)
}

writer(who, may) := {"writer": {"installIdentity": who, "mayActAsInstallIdentity": may}}

sa := "ServiceAccount podinfo/installer (the extension's spec.serviceAccountName)"

test_every_finding_is_well_formed if {
	fx.well_formed(identity.violation) with input as object.union(fx.update(fx.installed, fx.installed), writer(sa, false)) with data.inventory as fx.inventory(object.union(fx.update(fx.installed, fx.installed), writer(sa, false)))
}

test_ext_identity_001_denies_a_writer_who_may_not_act_as_the_identity if {
	every inp in [
		object.union(fx.create(fx.podinfo), writer(sa, false)),
		object.union(fx.update(fx.installed, fx.installed), writer("the caller", false)),
		object.union(fx.status_update(fx.installed, fx.installed), writer(sa, false)),
	] {
		found(inp) == {"EXT-IDENTITY-001"}
	}
}

test_ext_identity_001_allows_a_writer_who_may if {
	every inp in [
		object.union(fx.create(fx.podinfo), writer(sa, true)),
		object.union(fx.status_update(fx.installed, fx.installed), writer("the caller", true)),
		# Nobody asked the API server (the plugin's own pre-check): not judged.
		fx.create(fx.podinfo),
	] {
		found(inp) == set()
	}
}

test_ext_identity_001_names_the_service_account if {
	messages(object.union(fx.create(fx.podinfo), writer(sa, false))) == {concat(" ", [
		"this extension is installed as ServiceAccount podinfo/installer (the extension's spec.serviceAccountName),",
		"which you may not impersonate: writing it would have the next command act with that identity's rights;",
		"ask for `impersonate` on that ServiceAccount, or name one you may impersonate in spec.serviceAccountName",
	])}
}

test_ext_identity_001_says_why_the_caller_needs_everything if {
	some msg in messages(object.union(fx.create(fx.podinfo), writer("the caller", false)))
	contains(msg, "takes the rights of a cluster admin")
}

# A DELETE carries the stored object as both object and oldObject (admission).
delete(o) := {"request": {"operation": "DELETE", "object": o, "oldObject": o}}

managed := object.union(fx.installed, {"metadata": {"finalizers": ["kubeext.dev/uninstall"]}})

deletion_found(inp) := fx.ids(vs) if {
	vs := identity.delete_violation with input as inp with data.inventory as fx.inventory(inp)
}

test_ext_identity_001_denies_a_delete_the_manager_would_uninstall_for_someone_who_may_not_act_as_the_identity if {
	deletion_found(object.union(delete(managed), writer(sa, false))) == {"EXT-IDENTITY-001"}
}

test_ext_identity_001_allows_a_delete_without_the_manager_finalizer_or_by_someone_who_may if {
	every inp in [
		# Without the finalizer nothing is uninstalled: the record goes, the release stays.
		object.union(delete(fx.installed), writer(sa, false)),
		object.union(delete(managed), writer(sa, true)),
	] {
		deletion_found(inp) == set()
	}
}
