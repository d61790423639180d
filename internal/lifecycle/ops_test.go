package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	helmrelease "helm.sh/helm/v3/pkg/release"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// opCase is one operation on a cluster in a given state, and what it must leave.
type opCase struct {
	name string
	objs []client.Object
	helm helmSetup
	run  func(context.Context, *lifecycle.Manager) error
	// wantErr is a substring of the error; wantIs an error it wraps.
	wantErr string
	wantIs  error
	// wantCalls are the Helm calls made, in order; none when empty.
	wantCalls []string
	// check inspects the cluster afterwards.
	check func(*testing.T, *harness)
}

func runOps(t *testing.T, tests []opCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.helm, tt.objs...)
			err := tt.run(context.Background(), h.m)
			switch {
			case tt.wantErr == "" && tt.wantIs == nil && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			case tt.wantIs != nil && !errors.Is(err, tt.wantIs):
				t.Fatalf("error = %v, want one wrapping %v", err, tt.wantIs)
			}
			if strings.Join(h.helm.calls, "; ") != strings.Join(tt.wantCalls, "; ") {
				t.Errorf("Helm calls = %q, want %q", h.helm.calls, tt.wantCalls)
			}
			if tt.check != nil {
				tt.check(t, h)
			}
		})
	}
}

func create(req lifecycle.CreateRequest) func(context.Context, *lifecycle.Manager) error {
	return func(ctx context.Context, m *lifecycle.Manager) error {
		_, err := m.Create(ctx, req)
		return err
	}
}

func update(req lifecycle.UpdateRequest) func(context.Context, *lifecycle.Manager) error {
	return func(ctx context.Context, m *lifecycle.Manager) error {
		_, err := m.Update(ctx, req)
		return err
	}
}

func del(req lifecycle.DeleteRequest) func(context.Context, *lifecycle.Manager) error {
	return func(ctx context.Context, m *lifecycle.Manager) error { return m.Delete(ctx, req) }
}

// wantState checks an extension's state, current version and error code.
func wantState(name string, state v1alpha1.ProvisioningState, current, code string) func(*testing.T, *harness) {
	return func(t *testing.T, h *harness) {
		t.Helper()
		e := h.extension(t, name)
		if e == nil {
			t.Fatalf("extension %s was not recorded", name)
		}
		gotCode := ""
		if e.Status.ErrorInfo != nil {
			gotCode = e.Status.ErrorInfo.Code
		}
		if e.Status.ProvisioningState != state || e.Status.CurrentVersion != current || gotCode != code {
			t.Errorf("status = %s at %q (error code %q), want %s at %q (error code %q)",
				e.Status.ProvisioningState, e.Status.CurrentVersion, gotCode, state, current, code)
		}
	}
}

func wantNoExtension(name string) func(*testing.T, *harness) {
	return func(t *testing.T, h *harness) {
		t.Helper()
		if e := h.extension(t, name); e != nil {
			t.Errorf("extension %s exists (%s), want none", name, e.Status.ProvisioningState)
		}
	}
}

func both(checks ...func(*testing.T, *harness)) func(*testing.T, *harness) {
	return func(t *testing.T, h *harness) {
		t.Helper()
		for _, c := range checks {
			c(t, h)
		}
	}
}

func TestCreate(t *testing.T) {
	runOps(t, []opCase{
		{
			name:      "a new extension installs the newest Stable version the cluster can run and records Succeeded",
			objs:      []client.Object{podinfoType(false)},
			run:       create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName, Settings: map[string]string{"replicaCount": "2"}}),
			wantCalls: []string{"install podinfo/podinfo 1.5.0"},
			check: both(wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.5.0", ""), func(t *testing.T, h *harness) {
				e := h.extension(t, "podinfo")
				if e.Status.Release.Revision != 1 || e.Status.KubernetesVersion != "1.37" {
					t.Errorf("release revision %d, adopted at Kubernetes %q; want 1 and 1.37", e.Status.Release.Revision, e.Status.KubernetesVersion)
				}
				if got := h.helm.requests[0].Values["replicaCount"]; got != int64(2) && got != 2 && got != float64(2) {
					t.Errorf("Helm values replicaCount = %#v, want 2", got)
				}
				if got := h.helm.requests[0].Description; got != "kubectl ext install: version 1.5.0" {
					t.Errorf("release description = %q", got)
				}
			}),
		},
		{
			name:      "a type never synced is synced first, then installed",
			objs:      []client.Object{podinfoType(true)},
			run:       create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName}),
			wantCalls: []string{"install podinfo/podinfo 1.5.0"},
			check: both(wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.5.0", ""), func(t *testing.T, h *harness) {
				if !strings.Contains(h.progress.String(), "Reading the versions of extension type example.podinfo") {
					t.Errorf("progress does not say the versions were read:\n%s", h.progress)
				}
			}),
		},
		{
			name: "protected settings go to an owned Secret and into the values, never into the Extension",
			objs: []client.Object{podinfoType(false)},
			run: create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName,
				Settings: map[string]string{"message": "plain"}, Protected: map[string]string{"apiKey": "s3cret"}}),
			wantCalls: []string{"install podinfo/podinfo 1.5.0"},
			check: func(t *testing.T, h *harness) {
				if p := h.protected(t, "podinfo"); p["apiKey"] != "s3cret" {
					t.Errorf("protected Secret holds %v", p)
				}
				if v := h.helm.requests[0].Values; v["apiKey"] != "s3cret" || v["message"] != "plain" {
					t.Errorf("Helm values = %v, want apiKey and message", v)
				}
				e := h.extension(t, "podinfo")
				raw, err := json.Marshal(e)
				if err != nil {
					t.Fatal(err)
				}
				if e.Spec.ConfigurationProtectedSettings == nil || strings.Contains(string(raw), "s3cret") {
					t.Errorf("the Extension should refer to the Secret without the value: %s", raw)
				}
			},
		},
		{
			name:    "a pinned version outside the catalog is denied by the policies before anything is written",
			objs:    []client.Object{podinfoType(false)},
			run:     create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName, AutoUpgrade: ptr.To(false), Version: "9.9.9"}),
			wantIs:  lifecycle.ErrDenied,
			wantErr: "[EXT-VERSION-005]",
			check:   wantNoExtension("podinfo"),
		},
		{
			name:    "an unknown type is invalid and names the known types",
			objs:    []client.Object{podinfoType(false)},
			run:     create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: "example.nope"}),
			wantIs:  lifecycle.ErrInvalid,
			wantErr: `extension type "example.nope" does not exist (known types: example.podinfo)`,
			check:   wantNoExtension("podinfo"),
		},
		{
			name:      "a failed install leaves the extension Failed with Helm's error",
			objs:      []client.Object{podinfoType(false)},
			helm:      helmSetup{installErr: errors.New("helm install: pods are not ready")},
			run:       create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName}),
			wantErr:   "pods are not ready",
			wantCalls: []string{"install podinfo/podinfo 1.5.0"},
			check:     wantState("podinfo", v1alpha1.ProvisioningFailed, "", "HelmFailed"),
		},
		{
			name:      "creating an extension an interrupted create left pending-install recovers its release and installs it",
			objs:      []client.Object{podinfoType(false), installed("podinfo", "", v1alpha1.ProvisioningCreating, false)},
			helm:      helmSetup{stored: pendingRevision(1, helmrelease.StatusPendingInstall)},
			run:       create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName}),
			wantCalls: []string{"recover podinfo/podinfo", "install podinfo/podinfo 1.5.0"},
			check:     wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.5.0", ""),
		},
		{
			name:    "creating an extension that succeeded is refused, pointing at update",
			objs:    []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)},
			run:     create(lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName}),
			wantIs:  lifecycle.ErrAlreadyExists,
			wantErr: "change it with `kubectl ext update podinfo`",
			check:   wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0", ""),
		},
		{
			name: "a client dry run resolves the version and writes nothing",
			objs: []client.Object{podinfoType(false)},
			run: func(ctx context.Context, m *lifecycle.Manager) error {
				e, err := m.Create(ctx, lifecycle.CreateRequest{Name: "podinfo", ExtensionType: typeName, DryRun: lifecycle.DryRunClient})
				if err == nil && e.Status.TargetVersion != "1.5.0" {
					return errors.New("dry run target " + e.Status.TargetVersion + ", want 1.5.0")
				}
				return err
			},
			check: wantNoExtension("podinfo"),
		},
	})
}

func TestUpdate(t *testing.T) {
	deployed := helmSetup{deployed: true}
	runOps(t, []opCase{
		{
			name:      "a setting is merged into the others and the release upgraded at the installed version",
			objs:      []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)},
			helm:      deployed,
			run:       update(lifecycle.UpdateRequest{Name: "podinfo", Settings: map[string]string{"message": "hi"}}),
			wantCalls: []string{"upgrade podinfo/podinfo 1.4.0"},
			check: both(wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0", ""), func(t *testing.T, h *harness) {
				e := h.extension(t, "podinfo")
				if e.Spec.ConfigurationSettings["message"] != "hi" || e.Spec.ConfigurationSettings["replicaCount"] != "1" {
					t.Errorf("settings = %v, want message added and replicaCount kept", e.Spec.ConfigurationSettings)
				}
				if got := h.helm.requests[0].Description; got != "kubectl ext update: version 1.4.0" {
					t.Errorf("release description = %q", got)
				}
			}),
		},
		{
			name: "without new protected settings the Secret's are kept in the values",
			objs: []client.Object{podinfoType(false), func() client.Object {
				e := installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)
				e.Spec.ConfigurationProtectedSettings = &v1alpha1.ProtectedSettingsRef{SecretName: lifecycle.ProtectedSecretName("podinfo")}
				return e
			}(), protectedSecret(t, "podinfo", map[string]string{"apiKey": "old"})},
			helm:      deployed,
			run:       update(lifecycle.UpdateRequest{Name: "podinfo", Settings: map[string]string{"message": "hi"}}),
			wantCalls: []string{"upgrade podinfo/podinfo 1.4.0"},
			check: func(t *testing.T, h *harness) {
				if v := h.helm.requests[0].Values; v["apiKey"] != "old" {
					t.Errorf("Helm values = %v, want the stored apiKey", v)
				}
			},
		},
		{
			name:      "new protected settings replace the whole set",
			objs:      []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)},
			helm:      deployed,
			run:       update(lifecycle.UpdateRequest{Name: "podinfo", Protected: map[string]string{"token": "t"}}),
			wantCalls: []string{"upgrade podinfo/podinfo 1.4.0"},
			check: func(t *testing.T, h *harness) {
				if p := h.protected(t, "podinfo"); len(p) != 1 || p["token"] != "t" {
					t.Errorf("protected Secret holds %v, want token alone", p)
				}
			},
		},
		{
			name:      "a pinned extension moves to a patch version",
			objs:      []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, true)},
			helm:      deployed,
			run:       update(lifecycle.UpdateRequest{Name: "podinfo", Version: ptr.To("1.4.1")}),
			wantCalls: []string{"upgrade podinfo/podinfo 1.4.1"},
			check:     wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.1", ""),
		},
		{
			name:    "a new minor version before the cluster moves on is denied, and Helm is not called",
			objs:    []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, true)},
			helm:    deployed,
			run:     update(lifecycle.UpdateRequest{Name: "podinfo", Version: ptr.To("1.5.0")}),
			wantIs:  lifecycle.ErrDenied,
			wantErr: "[EXT-UPGRADE-001]",
			check: both(wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0", ""), func(t *testing.T, h *harness) {
				if v := h.extension(t, "podinfo").Spec.Version; v != "1.4.0" {
					t.Errorf("spec.version = %s, want it left at 1.4.0", v)
				}
			}),
		},
		{
			name:    "a version alone on an auto-upgrading extension is refused before anything changes",
			objs:    []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)},
			helm:    deployed,
			run:     update(lifecycle.UpdateRequest{Name: "podinfo", Version: ptr.To("1.4.1")}),
			wantErr: "--version pins the extension, so it needs --auto-upgrade-minor-version false",
			check:   wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0", ""),
		},
		{
			name:      "an extension an interrupted command left Updating is recovered, then updated",
			objs:      []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningUpdating, false)},
			helm:      helmSetup{deployed: true, stored: pendingRevision(2, helmrelease.StatusPendingUpgrade)},
			run:       update(lifecycle.UpdateRequest{Name: "podinfo", Settings: map[string]string{"message": "again"}}),
			wantCalls: []string{"recover podinfo/podinfo", "upgrade podinfo/podinfo 1.4.0"},
			check: both(wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0", ""), func(t *testing.T, h *harness) {
				if !strings.Contains(h.progress.String(), "Recovered: extension podinfo was left Updating") {
					t.Errorf("progress does not report the recovery:\n%s", h.progress)
				}
			}),
		},
		{
			name:      "a failed upgrade leaves the extension Failed at the version it had",
			objs:      []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)},
			helm:      helmSetup{deployed: true, rolledBack: true, upgradeErr: errors.New("helm upgrade: timed out (rolled back to revision 1)")},
			run:       update(lifecycle.UpdateRequest{Name: "podinfo", Settings: map[string]string{"message": "x"}}),
			wantErr:   "rolled back to revision 1",
			wantCalls: []string{"upgrade podinfo/podinfo 1.4.0"},
			check: both(wantState("podinfo", v1alpha1.ProvisioningFailed, "1.4.0", "HelmFailed"), func(t *testing.T, h *harness) {
				// The rollback stored revision 3; the next command must find it recorded.
				if r := h.extension(t, "podinfo").Status.Release; r.Revision != 3 || r.ManifestDigest != release.RecordOf(podinfoRelease).ManifestDigest {
					t.Errorf("recorded release %+v, want revision 3 with revision 1's digests", r)
				}
			}),
		},
		{
			name:    "updating an extension that does not exist is ErrNotFound",
			objs:    []client.Object{podinfoType(false)},
			run:     update(lifecycle.UpdateRequest{Name: "podinfo", Settings: map[string]string{"a": "1"}}),
			wantIs:  lifecycle.ErrNotFound,
			wantErr: "`kubectl ext list` shows the extensions",
		},
		{
			name: "a client dry run returns the merged extension and writes nothing",
			objs: []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)},
			helm: deployed,
			run: func(ctx context.Context, m *lifecycle.Manager) error {
				e, err := m.Update(ctx, lifecycle.UpdateRequest{Name: "podinfo", Settings: map[string]string{"message": "dry"}, DryRun: lifecycle.DryRunClient})
				if err == nil && e.Spec.ConfigurationSettings["message"] != "dry" {
					return errors.New("the dry run did not merge the setting")
				}
				return err
			},
			check: func(t *testing.T, h *harness) {
				if _, ok := h.extension(t, "podinfo").Spec.ConfigurationSettings["message"]; ok {
					t.Error("a dry run wrote the setting")
				}
			},
		},
	})
}

func TestDelete(t *testing.T) {
	withSecret := func() client.Object {
		e := installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)
		e.Spec.ConfigurationProtectedSettings = &v1alpha1.ProtectedSettingsRef{SecretName: lifecycle.ProtectedSecretName("podinfo")}
		return e
	}
	runOps(t, []opCase{
		{
			name:      "delete uninstalls the release and removes the Secret and the record",
			objs:      []client.Object{podinfoType(false), withSecret(), protectedSecret(t, "podinfo", map[string]string{"k": "v"})},
			run:       del(lifecycle.DeleteRequest{Name: "podinfo"}),
			wantCalls: []string{"uninstall podinfo/podinfo"},
			check: both(wantNoExtension("podinfo"), func(t *testing.T, h *harness) {
				if p := h.protected(t, "podinfo"); p != nil {
					t.Errorf("the protected Secret is still there: %v", p)
				}
			}),
		},
		{
			name:      "a failed uninstall keeps the record, Failed with the error",
			objs:      []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)},
			helm:      helmSetup{deployed: true, uninstallErr: errors.New("helm uninstall: timed out")},
			run:       del(lifecycle.DeleteRequest{Name: "podinfo"}),
			wantErr:   "timed out",
			wantCalls: []string{"uninstall podinfo/podinfo"},
			check:     wantState("podinfo", v1alpha1.ProvisioningFailed, "1.4.0", "UninstallFailed"),
		},
		{
			name:  "force removes only the record and leaves the release",
			objs:  []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)},
			run:   del(lifecycle.DeleteRequest{Name: "podinfo", Force: true}),
			check: wantNoExtension("podinfo"),
		},
		{
			name:   "deleting an extension that does not exist is ErrNotFound",
			objs:   []client.Object{podinfoType(false)},
			run:    del(lifecycle.DeleteRequest{Name: "podinfo"}),
			wantIs: lifecycle.ErrNotFound,
		},
	})
}

// upgrade runs Manager.Upgrade and checks the action planned for each extension.
func upgrade(req lifecycle.UpgradeRequest, want map[string]string) func(context.Context, *lifecycle.Manager) error {
	return func(ctx context.Context, m *lifecycle.Manager) error {
		plans, err := m.Upgrade(ctx, req)
		if err != nil {
			return err
		}
		got := map[string]string{}
		for _, p := range plans {
			got[p.Name] = p.Action + " " + p.Target
		}
		for name, w := range want {
			if got[name] != w {
				return errors.New("plan of " + name + " is " + got[name] + ", want " + w)
			}
		}
		return nil
	}
}

func TestUpgrade(t *testing.T) {
	runOps(t, []opCase{
		{
			name:      "an auto-upgrading extension moves to the newest patch and is recorded there",
			objs:      []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)},
			helm:      helmSetup{deployed: true},
			run:       upgrade(lifecycle.UpgradeRequest{}, map[string]string{"podinfo": lifecycle.ActionUpgraded + " 1.4.1"}),
			wantCalls: []string{"upgrade podinfo/podinfo 1.4.1"},
			check:     wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.1", ""),
		},
		{
			name:  "a dry run plans the move and calls no Helm",
			objs:  []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, false)},
			helm:  helmSetup{deployed: true},
			run:   upgrade(lifecycle.UpgradeRequest{DryRun: true}, map[string]string{"podinfo": lifecycle.ActionUpgrade + " 1.4.1"}),
			check: wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0", ""),
		},
		{
			name:  "a pinned extension is left alone",
			objs:  []client.Object{podinfoType(false), installed("podinfo", "1.4.0", v1alpha1.ProvisioningSucceeded, true)},
			helm:  helmSetup{deployed: true},
			run:   upgrade(lifecycle.UpgradeRequest{}, map[string]string{"podinfo": lifecycle.ActionPinned + " 1.4.0"}),
			check: wantState("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0", ""),
		},
	})
}
