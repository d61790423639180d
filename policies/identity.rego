# METADATA
# title: Install identity
# description: |
#   Writing an Extension decides what Helm applies as the extension's install
#   identity the next time anyone (a cluster admin's command, the extension manager)
#   acts on it: its chart, settings, release namespace and, in the status, the release
#   record the next command trusts. So a writer must be able to act as that identity
#   itself, as RBAC lets nobody grant rights they do not hold: impersonate its install
#   ServiceAccount or, for an extension Helm installs as whoever runs the command, do
#   everything. The webhook asks the API server (a SubjectAccessReview per writer and
#   identity, cached briefly); the plugin's own pre-check cannot and leaves it to the
#   webhook.
package kubeext.rules.identity

import data.kubeext.lib

# METADATA
# title: The writer may act as the install identity
# description: |
#   A create or update of an Extension, or of its status, by a writer who may not
#   impersonate the extension's install ServiceAccount (spec.serviceAccountName, the
#   namespace-scope kubeext-NAME, or the type's spec.install.serviceAccount) or, when
#   Helm installs as the caller, may not do everything; and the delete of an Extension
#   that carries the extension manager's finalizer (kubeext.dev/uninstall) by such a
#   user, since the manager then uninstalls the release as that identity.
# custom:
#   id: EXT-IDENTITY-001
#   enforcement: deny
violation contains {"id": "EXT-IDENTITY-001", "msg": msg} if {
	w := input.writer
	w.mayActAsInstallIdentity == false
	msg := _message(w.installIdentity)
}

delete_violation contains {"id": "EXT-IDENTITY-001", "msg": msg} if {
	lib.manager_uninstalls
	w := input.writer
	w.mayActAsInstallIdentity == false
	msg := _delete_message(w.installIdentity)
}

# ---- helpers ----

_message(identity) := msg if {
	identity == "the caller"
	msg := concat(" ", [
		"this extension is installed as whoever runs the next command on it (its type names no install",
		"ServiceAccount and the extension sets no spec.serviceAccountName), so writing it takes the rights of a",
		"cluster admin: name a ServiceAccount you may impersonate in spec.serviceAccountName, or ask a cluster",
		"admin to give the type an install ServiceAccount",
	])
}

_message(identity) := msg if {
	identity != "the caller"
	msg := sprintf(
		concat(" ", [
			"this extension is installed as %s, which you may not impersonate:",
			"writing it would have the next command act with that identity's rights; ask for",
			"`impersonate` on that ServiceAccount, or name one you may impersonate in spec.serviceAccountName",
		]),
		[identity],
	)
}

_delete_message(identity) := sprintf(
	concat(" ", [
		"the extension manager uninstalls this extension's release when it is deleted (finalizer kubeext.dev/uninstall),",
		"acting as %s, which you may not act as: ask for `impersonate` on it",
		"(or, for an extension installed as the caller, a cluster admin's rights)",
	]),
	[identity],
)
