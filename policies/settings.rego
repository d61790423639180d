# METADATA
# title: Protected settings
# description: |
#   The protected settings Secret is the extension's own: the extension manager
#   writes its values into it, feeds them to Helm and deletes it with the extension.
#   Its name is chosen at create and never changes, so an update cannot point the
#   extension at another Secret of the release namespace.
package kubeext.rules.settings

import data.kubeext.lib

# METADATA
# title: The protected settings Secret keeps its name
# description: |
#   spec.configurationProtectedSettings.secretName is any valid name at create, may be
#   set on an update that finds it unset (protected settings added later), and never
#   changes or goes once set.
# custom:
#   id: EXT-SETTINGS-001
#   enforcement: deny
violation contains {"id": "EXT-SETTINGS-001", "msg": msg} if {
	lib.is_update
	lib.is_spec_write
	before := _secret_name(lib.old_spec)
	before != ""
	after := _secret_name(lib.spec)
	after != before
	msg := sprintf(
		concat(" ", [
			"spec.configurationProtectedSettings.secretName is immutable (was %q, now %q): put it back;",
			"change the protected values with `kubectl ext update --configuration-protected-settings`",
		]),
		[before, after],
	)
}

# ---- helpers ----

default _secret_name(_) := ""

_secret_name(spec) := n if {
	n := spec.configurationProtectedSettings.secretName
	is_string(n)
}
