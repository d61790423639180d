package kubeext.rules.settings_test

import data.kubeext.fixtures as fx
import data.kubeext.rules.settings

found(inp) := fx.ids(vs) if {
	vs := settings.violation with input as inp with data.inventory as fx.inventory(inp)
}

messages(inp, id) := {v.msg | some v in vs; v.id == id} if {
	vs := settings.violation with input as inp with data.inventory as fx.inventory(inp)
}

protected(name) := {"spec": {"configurationProtectedSettings": {"secretName": name}}}

with_secret := object.union(fx.installed, protected("podinfo-protected-settings"))

test_every_finding_is_well_formed if {
	fx.well_formed(settings.violation) with input as fx.update(with_secret, fx.installed) with data.inventory as fx.inventory(fx.update(with_secret, fx.installed))
}

test_ext_settings_001_denies_a_changed_secret_name if {
	messages(fx.update(with_secret, object.union(with_secret, protected("kubeext-webhook-cert"))), "EXT-SETTINGS-001") == {concat(" ", [
		`spec.configurationProtectedSettings.secretName is immutable (was "podinfo-protected-settings", now`,
		`"kubeext-webhook-cert"): put it back; change the protected values with`,
		"`kubectl ext update --configuration-protected-settings`",
	])}
}

test_ext_settings_001_denies_removing_the_secret_name if {
	"EXT-SETTINGS-001" in found(fx.update(with_secret, fx.installed))
	"EXT-SETTINGS-001" in found(fx.update(with_secret, object.union(with_secret, protected(""))))
}

test_ext_settings_001_allows_any_name_at_create if {
	not "EXT-SETTINGS-001" in found(fx.create(object.union(fx.podinfo, protected("anything"))))
}

test_ext_settings_001_allows_setting_it_on_an_update_that_finds_it_unset if {
	not "EXT-SETTINGS-001" in found(fx.update(fx.installed, with_secret))
}

test_ext_settings_001_allows_an_unchanged_name if {
	not "EXT-SETTINGS-001" in found(fx.update(with_secret, object.union(with_secret, {"spec": {"version": "1.4.2"}})))
}

test_ext_settings_001_allows_status_writes if {
	not "EXT-SETTINGS-001" in found(fx.status_update(with_secret, fx.installed))
}
