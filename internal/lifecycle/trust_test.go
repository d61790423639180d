package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// The tests of issue 11: what a namespace admin can write in the release namespace
// (Helm's release records, the protected settings Secret) is never trusted, no
// protected value leaves the Secret, and an Extension being deleted is only deleted.

// forgedDeployed is a "deployed" revision a namespace admin stored over the recorded
// one: Helm run by a cluster admin would create its ClusterRoleBinding.
var forgedDeployed = &helmrelease.Release{Name: "podinfo", Namespace: "podinfo", Version: 2,
	Manifest: "kind: ClusterRoleBinding\nmetadata: {name: ns-admin-is-cluster-admin}\n", Info: &helmrelease.Info{Status: helmrelease.StatusDeployed}}

// withProtected is installed() with protected settings in the Secret secretName.
func withProtected(state v1alpha1.ProvisioningState, secretName string) *v1alpha1.Extension {
	e := installed("podinfo", "1.4.0", state, false)
	e.Spec.ConfigurationProtectedSettings = &v1alpha1.ProtectedSettingsRef{SecretName: secretName}
	return e
}

// beingDeletedExt is an installed extension whose deletion was requested while a
// finalizer (someone else's) holds it.
func beingDeletedExt() *v1alpha1.Extension {
	e := installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)
	e.Finalizers = []string{"example.org/hold"}
	e.DeletionTimestamp = &metav1.Time{Time: clock}
	return e
}

// foreignSecret is a Secret of the release namespace the extension does not own.
func foreignSecret(name string, labelled bool) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "podinfo", Name: name},
		Data: map[string][]byte{lifecycle.ProtectedSettingsKey: []byte(`{"dbPassword":"someone-elses"}`)}}
	if labelled {
		// Labels alone (no ownerReference to the Extension's UID) are not ownership.
		s.Labels = map[string]string{lifecycle.LabelManagedBy: lifecycle.ManagedBy, lifecycle.LabelExtension: "podinfo"}
	}
	return s
}

func wantStored(version int) func(*testing.T, *harness) {
	return func(t *testing.T, h *harness) {
		t.Helper()
		if got := h.helm.stored["podinfo/podinfo"]; got == nil || got.Version != version {
			t.Errorf("stored release %v, want revision %d left as it was", got, version)
		}
	}
}

func wantSecretData(name, want string) func(*testing.T, *harness) {
	return func(t *testing.T, h *harness) {
		t.Helper()
		s := &corev1.Secret{}
		if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: "podinfo", Name: name}, s); err != nil {
			t.Fatalf("secret %s: %v", name, err)
		}
		if got := string(s.Data[lifecycle.ProtectedSettingsKey]); got != want {
			t.Errorf("secret %s holds %s, want %s untouched", name, got, want)
		}
	}
}

func TestReleaseIntegrity(t *testing.T) {
	tampered := *podinfoRelease
	tampered.Config = map[string]any{"replicaCount": int64(1), "rbac": map[string]any{"clusterAdmin": true}}
	runOps(t, []opCase{
		{
			name:      "update refuses a forged deployed revision and records the drift",
			objs:      []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)},
			helm:      helmSetup{deployed: true, stored: forgedDeployed},
			run:       update(lifecycle.UpdateRequest{Name: "podinfo", Settings: map[string]string{"message": "x"}}),
			wantIs:    release.ErrDrift,
			wantErr:   "the newest revision is 2 (deployed), but the recorded one is 1",
			wantCalls: []string{"upgrade podinfo/podinfo 1.4.0"},
			check:     both(wantStored(2), wantState("podinfo", v1alpha1.ProvisioningFailed, "1.4.0", "ReleaseDrift")),
		},
		{
			name:    "update refuses a forged pending-upgrade of an extension no command left in progress",
			objs:    []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)},
			helm:    helmSetup{deployed: true, stored: pendingRevision(2, helmrelease.StatusPendingUpgrade)},
			run:     update(lifecycle.UpdateRequest{Name: "podinfo", Settings: map[string]string{"message": "x"}}),
			wantIs:  release.ErrDrift,
			wantErr: "no kubectl ext command on it was interrupted",
			// Refused at recovery: no upgrade, no status write.
			wantCalls: []string{"recover podinfo/podinfo"},
			check:     both(wantStored(2), wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0", "")),
		},
		{
			name:      "recovery refuses to keep a recorded revision whose values were changed",
			objs:      []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningUpdating, false)},
			helm:      helmSetup{deployed: true, tamperedRecorded: &tampered, stored: pendingRevision(2, helmrelease.StatusPendingUpgrade)},
			run:       update(lifecycle.UpdateRequest{Name: "podinfo", Settings: map[string]string{"message": "x"}}),
			wantIs:    release.ErrDrift,
			wantErr:   "the values of revision 1 differ from the recorded ones",
			wantCalls: []string{"recover podinfo/podinfo"},
			check:     wantStored(2),
		},
		{
			name:      "upgrade refuses changed values in the recorded revision",
			objs:      []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)},
			helm:      helmSetup{deployed: true, stored: &tampered},
			run:       upgrade(lifecycle.UpgradeRequest{}, map[string]string{"podinfo": lifecycle.ActionFailed + " 1.4.1"}),
			wantCalls: []string{"upgrade podinfo/podinfo 1.4.1"},
			check:     both(wantStored(1), wantState("podinfo", v1alpha1.ProvisioningFailed, "1.4.0", "ReleaseDrift")),
		},
		{
			name:      "delete refuses to uninstall a forged revision and keeps the record and the Secret",
			objs:      []client.Object{podinfoType(false), withProtected(v1alpha1.ProvisioningSucceeded, lifecycle.ProtectedSecretName("podinfo")), protectedSecret(t, "podinfo", map[string]string{"k": "v"})},
			helm:      helmSetup{deployed: true, stored: forgedDeployed},
			run:       del(lifecycle.DeleteRequest{Name: "podinfo"}),
			wantIs:    release.ErrDrift,
			wantCalls: []string{"uninstall podinfo/podinfo"},
			check: both(wantStored(2), wantState("podinfo", v1alpha1.ProvisioningFailed, "1.4.0", "ReleaseDrift"), func(t *testing.T, h *harness) {
				if h.protected(t, "podinfo") == nil {
					t.Error("the protected Secret was deleted")
				}
			}),
		},
		{
			name:      "adopt replaces the forged release with the extension's chart and values and records it",
			objs:      []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)},
			helm:      helmSetup{deployed: true, stored: forgedDeployed},
			run:       update(lifecycle.UpdateRequest{Name: "podinfo", AdoptRelease: true}),
			wantCalls: []string{"adopt podinfo/podinfo 1.4.0"},
			check: both(wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0", ""), func(t *testing.T, h *harness) {
				stored := h.helm.stored["podinfo/podinfo"]
				if want := release.RecordOf(stored); want.Revision != 1 || recordIn(h.extension(t, "podinfo")) != want {
					t.Errorf("recorded %+v, stored %+v", recordIn(h.extension(t, "podinfo")), want)
				}
				if v := h.helm.requests[0].Values; v["replicaCount"] != int64(1) || len(v) != 1 {
					t.Errorf("adopted with values %v, want the extension's own", v)
				}
			}),
		},
		{
			name: "a cleared protected setting is gone from the release's values",
			objs: []client.Object{podinfoType(false), withProtected(v1alpha1.ProvisioningSucceeded, lifecycle.ProtectedSecretName("podinfo")),
				protectedSecret(t, "podinfo", map[string]string{"apiKey": "old"})},
			helm:      helmSetup{deployed: true},
			run:       update(lifecycle.UpdateRequest{Name: "podinfo", Protected: map[string]string{}}),
			wantCalls: []string{"upgrade podinfo/podinfo 1.4.0"},
			check: func(t *testing.T, h *harness) {
				if v := h.helm.stored["podinfo/podinfo"].Config; v["apiKey"] != nil {
					t.Errorf("release values %v still hold apiKey", v)
				}
			},
		},
	})
}

// recordIn is the release record an extension's status holds.
func recordIn(e *v1alpha1.Extension) release.Record {
	r := e.Status.Release
	return release.Record{Revision: r.Revision, ManifestDigest: r.ManifestDigest, ValuesDigest: r.ValuesDigest}
}

func TestOwnedSecrets(t *testing.T) {
	const theirs = `{"dbPassword":"someone-elses"}`
	runOps(t, []opCase{
		{
			name:    "new protected settings are never written to a Secret the extension does not own",
			objs:    []client.Object{podinfoType(false), withProtected(v1alpha1.ProvisioningSucceeded, "db-credentials"), foreignSecret("db-credentials", true)},
			helm:    helmSetup{deployed: true},
			run:     update(lifecycle.UpdateRequest{Name: "podinfo", Protected: map[string]string{"apiKey": "new"}}),
			wantIs:  lifecycle.ErrNotOwned,
			wantErr: "kubectl ext does not overwrite it",
			// A replacement of the whole set reads nothing, so the refusal comes at the write.
			check: both(wantSecretData("db-credentials", theirs), wantState("podinfo", v1alpha1.ProvisioningFailed, "1.4.0", "ProtectedSettingsFailed")),
		},
		{
			name:    "a Secret the extension does not own is never read into the values",
			objs:    []client.Object{podinfoType(false), withProtected(v1alpha1.ProvisioningSucceeded, "db-credentials"), foreignSecret("db-credentials", false)},
			helm:    helmSetup{deployed: true},
			run:     update(lifecycle.UpdateRequest{Name: "podinfo", Settings: map[string]string{"message": "x"}}),
			wantIs:  lifecycle.ErrNotOwned,
			wantErr: "kubectl ext does not read it",
			check:   both(wantSecretData("db-credentials", theirs), wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0", "")),
		},
		{
			name:      "delete leaves a Secret the extension does not own",
			objs:      []client.Object{podinfoType(false), withProtected(v1alpha1.ProvisioningSucceeded, "db-credentials"), foreignSecret("db-credentials", true)},
			helm:      helmSetup{deployed: true},
			run:       del(lifecycle.DeleteRequest{Name: "podinfo"}),
			wantCalls: []string{"uninstall podinfo/podinfo"},
			check: both(wantNoExtension("podinfo"), wantSecretData("db-credentials", theirs), func(t *testing.T, h *harness) {
				if !strings.Contains(h.progress.String(), "Leaving secret podinfo/db-credentials in place") {
					t.Errorf("progress does not say the Secret stays:\n%s", h.progress)
				}
			}),
		},
		{
			name: "create never takes over a Secret of the same name it did not make",
			objs: []client.Object{podinfoType(false), foreignSecret(lifecycle.ProtectedSecretName("podinfo"), false)},
			run: create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName,
				Protected: map[string]string{"apiKey": "mine"}}),
			wantIs: lifecycle.ErrNotOwned,
			check:  wantSecretData(lifecycle.ProtectedSecretName("podinfo"), theirs),
		},
		{
			name: "an owned Secret whose values a namespace admin changed is not fed into the release",
			objs: []client.Object{podinfoType(false), func() client.Object {
				e := withProtected(v1alpha1.ProvisioningSucceeded, lifecycle.ProtectedSecretName("podinfo"))
				e.Status.ProtectedSettingsDigest = lifecycle.ProtectedDigest(map[string]string{"apiKey": "written-by-kubectl-ext"})
				return e
			}(), protectedSecret(t, "podinfo", map[string]string{"apiKey": "written-by-ns-admin", "rbac.clusterAdmin": "true"})},
			helm:    helmSetup{deployed: true},
			run:     update(lifecycle.UpdateRequest{Name: "podinfo", Settings: map[string]string{"message": "x"}}),
			wantIs:  lifecycle.ErrProtectedChanged,
			wantErr: "give the protected settings again with `kubectl ext update podinfo --config-protected",
			check:   wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0", ""),
		},
		{
			name: "a deleted protected Secret is not read as no protected settings",
			objs: []client.Object{podinfoType(false), func() client.Object {
				e := withProtected(v1alpha1.ProvisioningSucceeded, lifecycle.ProtectedSecretName("podinfo"))
				e.Status.ProtectedSettingsDigest = lifecycle.ProtectedDigest(map[string]string{"apiKey": "written-by-kubectl-ext"})
				return e
			}()},
			helm:    helmSetup{deployed: true},
			run:     update(lifecycle.UpdateRequest{Name: "podinfo", Settings: map[string]string{"message": "x"}}),
			wantIs:  lifecycle.ErrProtectedChanged,
			wantErr: "was deleted",
			check:   wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0", ""),
		},
		{
			name: "protected settings given again replace a changed Secret and are recorded",
			objs: []client.Object{podinfoType(false), func() client.Object {
				e := withProtected(v1alpha1.ProvisioningSucceeded, lifecycle.ProtectedSecretName("podinfo"))
				e.Status.ProtectedSettingsDigest = lifecycle.ProtectedDigest(map[string]string{"apiKey": "old"})
				return e
			}(), protectedSecret(t, "podinfo", map[string]string{"apiKey": "forged"})},
			helm:      helmSetup{deployed: true},
			run:       update(lifecycle.UpdateRequest{Name: "podinfo", Protected: map[string]string{"apiKey": "new"}}),
			wantCalls: []string{"upgrade podinfo/podinfo 1.4.0"},
			check: func(t *testing.T, h *harness) {
				if got, want := h.extension(t, "podinfo").Status.ProtectedSettingsDigest, lifecycle.ProtectedDigest(map[string]string{"apiKey": "new"}); got != want {
					t.Errorf("recorded digest %s, want %s", got, want)
				}
			},
		},
		{
			name:      "the extension's own Secret is deleted with it",
			objs:      []client.Object{podinfoType(false), withProtected(v1alpha1.ProvisioningSucceeded, lifecycle.ProtectedSecretName("podinfo")), protectedSecret(t, "podinfo", map[string]string{"k": "v"})},
			helm:      helmSetup{deployed: true},
			run:       del(lifecycle.DeleteRequest{Name: "podinfo"}),
			wantCalls: []string{"uninstall podinfo/podinfo"},
			check: both(wantNoExtension("podinfo"), func(t *testing.T, h *harness) {
				if p := h.protected(t, "podinfo"); p != nil {
					t.Errorf("the protected Secret is still there: %v", p)
				}
			}),
		},
	})
}

func TestBeingDeleted(t *testing.T) {
	runOps(t, []opCase{
		{
			name:    "update is refused",
			objs:    []client.Object{podinfoType(false), beingDeletedExt()},
			helm:    helmSetup{deployed: true},
			run:     update(lifecycle.UpdateRequest{Name: "podinfo", Settings: map[string]string{"message": "x"}}),
			wantIs:  lifecycle.ErrBeingDeleted,
			wantErr: "only finishes its deletion, with `kubectl ext delete podinfo`",
		},
		{
			name:    "create of the same name is refused",
			objs:    []client.Object{podinfoType(false), beingDeletedExt()},
			helm:    helmSetup{deployed: true},
			run:     create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName}),
			wantIs:  lifecycle.ErrBeingDeleted,
			wantErr: "is being deleted",
		},
		{
			name: "upgrade leaves it out",
			objs: []client.Object{podinfoType(false), beingDeletedExt()},
			helm: helmSetup{deployed: true},
			run:  upgrade(lifecycle.UpgradeRequest{}, map[string]string{"podinfo": lifecycle.ActionBlocked + " "}),
		},
		{
			name:      "delete uninstalls and deletes without writing the status",
			objs:      []client.Object{podinfoType(false), beingDeletedExt()},
			helm:      helmSetup{deployed: true},
			run:       del(lifecycle.DeleteRequest{Name: "podinfo"}),
			wantCalls: []string{"uninstall podinfo/podinfo"},
			check: func(t *testing.T, h *harness) {
				// The finalizer keeps the record; its status is untouched.
				if e := h.extension(t, "podinfo"); e != nil && e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded {
					t.Errorf("status written while being deleted: %s", e.Status.ProvisioningState)
				}
				if h.helm.stored["podinfo/podinfo"] != nil {
					t.Error("the release was not uninstalled")
				}
			},
		},
	})
}

// leaks fails when the secret appears in any status message of the extension.
func leaks(t *testing.T, h *harness, secret string) {
	t.Helper()
	e := h.extension(t, "podinfo")
	raw, err := json.Marshal(e.Status)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret) {
		t.Errorf("status holds the protected value: %s", raw)
	}
	if strings.Contains(h.progress.String(), secret) {
		t.Errorf("progress holds the protected value:\n%s", h.progress)
	}
}

func TestRedaction(t *testing.T) {
	const secret = "hunter2-topsecret"
	quoting := errors.New(`helm upgrade: execution error at (podinfo/templates/configmap.yaml:3): apiKey "` + secret + `" is not a valid key`)
	runOps(t, []opCase{
		{
			name: "Helm's error quoting a protected value of the request is redacted in the error and the status",
			objs: []client.Object{podinfoType(false)},
			helm: helmSetup{installErr: errors.New(strings.Replace(quoting.Error(), "upgrade", "install", 1))},
			run: create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName,
				Protected: map[string]string{"apiKey": secret}}),
			wantErr:   `apiKey "[redacted]" is not a valid key`,
			wantCalls: []string{"install podinfo/podinfo 1.5.0"},
			check: both(wantState("podinfo", v1alpha1.ProvisioningFailed, "", "HelmFailed"), func(t *testing.T, h *harness) {
				leaks(t, h, secret)
			}),
		},
		{
			name: "a protected value read from the Secret is redacted too",
			objs: []client.Object{podinfoType(false), withProtected(v1alpha1.ProvisioningSucceeded, lifecycle.ProtectedSecretName("podinfo")),
				protectedSecret(t, "podinfo", map[string]string{"apiKey": secret})},
			helm:      helmSetup{deployed: true, upgradeErr: quoting},
			run:       update(lifecycle.UpdateRequest{Name: "podinfo", Settings: map[string]string{"message": "x"}}),
			wantErr:   "[redacted]",
			wantCalls: []string{"upgrade podinfo/podinfo 1.4.0"},
			check: both(wantState("podinfo", v1alpha1.ProvisioningFailed, "1.4.0", "HelmFailed"), func(t *testing.T, h *harness) {
				leaks(t, h, secret)
			}),
		},
		{
			name:      "a long error is truncated to the schema's limit in every status message",
			objs:      []client.Object{podinfoType(false)},
			helm:      helmSetup{installErr: errors.New("helm install: " + strings.Repeat("x", 40000))},
			run:       create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName}),
			wantErr:   "xxxx",
			wantCalls: []string{"install podinfo/podinfo 1.5.0"},
			check: func(t *testing.T, h *harness) {
				s := h.extension(t, "podinfo").Status
				msgs := []string{s.ErrorInfo.Message, s.Statuses[0].Message}
				for _, c := range s.Conditions {
					msgs = append(msgs, c.Message)
				}
				for _, m := range msgs {
					if len(m) > 32768 || (len(m) > 100 && !strings.HasSuffix(m, "[truncated]")) {
						t.Errorf("status message of %d bytes (%q...)", len(m), m[:min(len(m), 40)])
					}
				}
			},
		},
	})
}

// TestFailureRecordedAfterCancel: a command interrupted (SIGINT cancels its context)
// while Helm runs still records the failure, on a detached context, as Interrupted.
func TestFailureRecordedAfterCancel(t *testing.T) {
	h := newHarness(t, helmSetup{installErr: context.Canceled}, podinfoType(false))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.helm.during = cancel
	_, err := h.m.Create(ctx, lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName, Timeout: time.Second})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want the cancellation", err)
	}
	if strings.Contains(err.Error(), "recording the failure") {
		t.Errorf("the failure was not recorded: %v", err)
	}
	wantState("podinfo", v1alpha1.ProvisioningFailed, "", "Interrupted")(t, h)
}
