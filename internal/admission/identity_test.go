package admission_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// TestWriterMustActAsInstallIdentity: EXT-IDENTITY-001 against the real API server,
// which answers the webhook's SubjectAccessReviews. A plugin user who may impersonate
// only the ServiceAccounts named installer writes Extensions: what installs as
// installer passes; what installs as the type's installer ServiceAccount, another
// ServiceAccount or the caller (a cluster admin's next command) is refused, and so is
// forging the release record of a cluster admin's extension, which the next command
// would trust. Before this rule every one of these writes went through.
func TestWriterMustActAsInstallIdentity(t *testing.T) {
	kc := pluginUser(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	user, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	typ := newType(t, multipleInstances)
	withInstaller := newType(t, multipleInstances, func(et *v1alpha1.ExtensionType) {
		et.Spec.Install.ServiceAccount = &v1alpha1.ServiceAccountReference{Namespace: "kubeext-system", Name: "kubeext-installer"}
	})

	creates := []struct {
		name string
		ext  *v1alpha1.Extension
		deny bool
	}{
		{name: "installing as installer, which the user may impersonate, passes", ext: extension(typ, pinned("1.4.0"), installAs)},
		{name: "installing as the caller (the next command's runner) is refused", ext: extension(typ, pinned("1.4.0")), deny: true},
		{name: "installing as another ServiceAccount is refused", ext: extension(typ, pinned("1.4.0"), func(e *v1alpha1.Extension) { e.Spec.ServiceAccountName = "default" }), deny: true},
		{name: "installing as the type's install ServiceAccount is refused", ext: extension(withInstaller, pinned("1.4.0")), deny: true},
		{name: "naming installer overrides the type's, and passes", ext: extension(withInstaller, pinned("1.4.0"), installAs)},
	}
	for _, tt := range creates {
		t.Run(tt.name, func(t *testing.T) {
			err := user.Create(ctx, tt.ext)
			if tt.deny {
				wantDenied(t, err, "EXT-IDENTITY-001")
				return
			}
			if err != nil {
				t.Fatalf("create: %v", err)
			}
		})
	}

	t.Run("forging the release record of a cluster admin's extension is refused", func(t *testing.T) {
		ext := extension(typ, pinned("1.4.0"))
		if err := env.Client.Create(ctx, ext); err != nil {
			t.Fatal(err)
		}
		installedAt(t, ext, "1.4.0", "1.36")
		forged := `{"status":{"release":{"revision":7,"manifestDigest":"sha256:` + strings.Repeat("a", 64) + `"}}}`
		err := user.Status().Patch(ctx, &v1alpha1.Extension{ObjectMeta: ext.ObjectMeta}, client.RawPatch(types.MergePatchType, []byte(forged)))
		wantDenied(t, err, "EXT-IDENTITY-001")
		// The cluster admin's own writes of it pass.
		if err := env.Client.Patch(ctx, &v1alpha1.Extension{ObjectMeta: ext.ObjectMeta},
			client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"team":"platform"}}}`))); err != nil {
			t.Errorf("the cluster admin's write: %v", err)
		}
	})
}
