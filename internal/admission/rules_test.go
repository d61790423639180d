package admission_test

import (
	"strings"
	"testing"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// TestCreateRules: for every rule judged on create, a write it denies (its id in the
// message) and the matching write it allows, sent by client-go to the real API server.
func TestCreateRules(t *testing.T) {
	requireEnv(t)
	typ := newType(t)
	clusterOnlyType := newType(t, clusterOnly)

	tests := []struct {
		name string
		// deny is refused with rule id; allow is the corrected write.
		deny, allow *v1alpha1.Extension
		id          string
	}{
		{
			name:  "a version with auto-upgrade on is refused; turning auto-upgrade off allows it",
			deny:  extension(typ, func(e *v1alpha1.Extension) { e.Spec.Version = "1.4.0" }),
			allow: extension(typ, pinned("1.4.0")),
			id:    "EXT-VERSION-001",
		},
		{
			name:  "auto-upgrade off without a version is refused; naming the version allows it",
			deny:  extension(typ, func(e *v1alpha1.Extension) { e.Spec.AutoUpgradeMinorVersion = ptr.To(false) }),
			allow: extension(typ, pinned("1.4.1")),
			id:    "EXT-VERSION-002",
		},
		{
			name:  "a release train the type lacks is refused; one of its trains is allowed",
			deny:  extension(typ, train("Nightly")),
			allow: extension(typ, train("Preview")),
			id:    "EXT-VERSION-003",
		},
		{
			name:  "a version that is not semver is refused; the same version without the v is allowed",
			deny:  extension(typ, pinned("v1.4.0")),
			allow: extension(typ, pinned("1.4.0")),
			id:    "EXT-VERSION-004",
		},
		{
			name:  "a version missing from the catalog is refused; a listed one is allowed",
			deny:  extension(typ, pinned("3.0.0")),
			allow: extension(typ, pinned("2.0.0")),
			id:    "EXT-VERSION-005",
		},
		{
			name:  "a release candidate on the Stable train is refused; on Preview it is allowed",
			deny:  extension(typ, pinned("1.5.0-rc.1")),
			allow: extension(typ, pinned("1.5.0-rc.1"), train("Preview")),
			id:    "EXT-VERSION-005",
		},
		{
			name:  "an unknown extension type is refused; a known one is allowed",
			deny:  extension("no.such.type"),
			allow: extension(typ),
			id:    "EXT-TYPE-001",
		},
		{
			name:  "a name too long for a Helm release is refused; a short one is allowed",
			deny:  extension(typ, named(strings.Repeat("a", 54))),
			allow: extension(typ, named(strings.Repeat("a", 53))),
			id:    "EXT-NAME-001",
		},
		{
			name: "both scopes at once are refused; one scope is allowed",
			deny: extension(typ, func(e *v1alpha1.Extension) {
				e.Spec.Scope.Namespace = &v1alpha1.NamespaceScope{TargetNamespace: uniq("team")}
			}),
			allow: extension(typ, namespaced(uniq("team"))),
			id:    "EXT-SCOPE-001",
		},
		{
			name: "cluster scope without a release namespace is refused; with one it is allowed",
			deny: extension(typ, func(e *v1alpha1.Extension) {
				e.Spec.Scope.Cluster.ReleaseNamespace = ""
			}),
			allow: extension(typ, releaseNamespace(uniq("rel"))),
			id:    "EXT-SCOPE-002",
		},
		{
			name: "cluster scope with a target namespace is refused",
			deny: extension(typ, func(e *v1alpha1.Extension) {
				e.Spec.Scope.Cluster.TargetNamespace = "team-a"
			}),
			allow: extension(typ),
			id:    "EXT-SCOPE-002",
		},
		{
			name: "namespace scope without a target namespace is refused; with one it is allowed",
			deny: extension(typ, func(e *v1alpha1.Extension) {
				e.Spec.Scope = v1alpha1.Scope{Namespace: &v1alpha1.NamespaceScope{}}
			}),
			allow: extension(typ, namespaced(uniq("team"))),
			id:    "EXT-SCOPE-003",
		},
		{
			name:  "namespace scope for a type that supports only cluster scope is refused",
			deny:  extension(clusterOnlyType, namespaced(uniq("team"))),
			allow: extension(clusterOnlyType),
			id:    "EXT-SCOPE-004",
		},
		{
			name:  "a protected release namespace is refused; an ordinary one is allowed",
			deny:  extension(typ, releaseNamespace("kube-system")),
			allow: extension(typ, releaseNamespace(uniq("apps"))),
			id:    "EXT-SCOPE-007",
		},
		{
			name:  "the webhook's own namespace is protected as a target namespace too",
			deny:  extension(typ, namespaced("kubeext-system")),
			allow: extension(typ, namespaced(uniq("apps"))),
			id:    "EXT-SCOPE-007",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			c, _ := writer(t)
			err := c.Create(ctx, tt.deny)
			wantDenied(t, err, tt.id)
			if err := c.Create(ctx, tt.allow); err != nil {
				t.Fatalf("the corrected write was refused: %v", err)
			}
			// Each allowed extension is removed again, so that the single-instance
			// rules of later cases start from a clean slate.
			if err := c.Delete(ctx, tt.allow); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUpdateRules(t *testing.T) {
	requireEnv(t)
	tests := []struct {
		name   string
		mutate func(*v1alpha1.Extension)
		id     string
	}{
		{
			name:   "the extension type cannot change",
			mutate: func(e *v1alpha1.Extension) { e.Spec.ExtensionType = "other.type" },
			id:     "EXT-SCOPE-005",
		},
		{
			name:   "the release namespace cannot change",
			mutate: func(e *v1alpha1.Extension) { e.Spec.Scope.Cluster.ReleaseNamespace = "elsewhere" },
			id:     "EXT-SCOPE-006",
		},
		{
			name: "the scope cannot change from cluster to namespace",
			mutate: func(e *v1alpha1.Extension) {
				e.Spec.Scope = v1alpha1.Scope{Namespace: &v1alpha1.NamespaceScope{TargetNamespace: "team-a"}}
			},
			id: "EXT-SCOPE-006",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			typ := newType(t)
			ext := extension(typ)
			if err := env.Client.Create(ctx, ext); err != nil {
				t.Fatal(err)
			}
			changed := ext.DeepCopy()
			tt.mutate(changed)
			wantDenied(t, env.Client.Update(ctx, changed), tt.id)

			// The allowed counterpart: a settings change on the same object.
			ext.Spec.ConfigurationSettings = map[string]string{"replicaCount": "3"}
			if err := env.Client.Update(ctx, ext); err != nil {
				t.Fatalf("a settings change was refused: %v", err)
			}
		})
	}
}

func TestInstanceRules(t *testing.T) {
	requireEnv(t)
	t.Run("a second cluster-scoped instance of a single-instance type is refused; a multi-instance type allows it", func(t *testing.T) {
		ctx := testCtx(t)
		single := newType(t)
		if err := env.Client.Create(ctx, extension(single)); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the webhook refuses a second instance", func() error {
			err := env.Client.Create(ctx, extension(single), client.DryRunAll)
			if err == nil || !strings.Contains(err.Error(), "[EXT-SCOPE-008]") {
				return errNotYet(err)
			}
			return nil
		})
		wantDenied(t, env.Client.Create(ctx, extension(single)), "EXT-SCOPE-008")

		multi := newType(t, multipleInstances)
		for range 2 {
			if err := env.Client.Create(ctx, extension(multi)); err != nil {
				t.Fatalf("a multi-instance type refused another instance: %v", err)
			}
		}
	})

	t.Run("an extension whose release would collide with another extension's release is refused", func(t *testing.T) {
		ctx := testCtx(t)
		typ := newType(t, multipleInstances)
		ns := uniq("shared")
		taken := uniq("taken")
		first := extension(typ, releaseNamespace(ns))
		if err := env.Client.Create(ctx, first); err != nil {
			t.Fatal(err)
		}
		// The first extension's release carries the name the second one wants: a record
		// from before EXT-BASELINE-004, which now refuses to write one (so it is made to
		// warn while the record is planted).
		first.Status.Release = v1alpha1.ReleaseRef{Name: taken, Namespace: ns, Revision: 1}
		setPolicy(t, "enforcement:\n  EXT-BASELINE-004: warn\n", func() error {
			return env.Client.Status().Update(ctx, first.DeepCopy(), client.DryRunAll)
		})
		if err := env.Client.Status().Update(ctx, first); err != nil {
			t.Fatal(err)
		}
		setPolicy(t, "{}\n", func() error {
			err := env.Client.Status().Update(ctx, first.DeepCopy(), client.DryRunAll)
			if err == nil || !strings.Contains(err.Error(), "[EXT-BASELINE-004]") {
				return errNotYet(err)
			}
			return nil
		})
		second := extension(typ, named(taken), releaseNamespace(ns))
		eventually(t, "the webhook sees the first release", func() error {
			err := env.Client.Create(ctx, second.DeepCopy(), client.DryRunAll)
			if err == nil || !strings.Contains(err.Error(), "[EXT-SCOPE-009]") {
				return errNotYet(err)
			}
			return nil
		})
		wantDenied(t, env.Client.Create(ctx, second.DeepCopy()), "EXT-SCOPE-009")
		if err := env.Client.Create(ctx, extension(typ, named(taken), releaseNamespace(uniq("other")))); err != nil {
			t.Fatalf("the same name in another namespace was refused: %v", err)
		}
	})
}

type notYet struct{ err error }

func (n notYet) Error() string {
	if n.err == nil {
		return "the write was allowed"
	}
	return n.err.Error()
}

func errNotYet(err error) error { return notYet{err} }
