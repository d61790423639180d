package policy

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
)

// The test objects come from the shared builders (v1alpha1test); these tests read
// them under short names, and pin the fixture they all start from: the podinfo type
// with its catalog, and an extension of it pinned to 1.4.2 on Stable.

func podinfoType() *v1alpha1.ExtensionType {
	return v1alpha1test.Type("example.podinfo",
		v1alpha1test.ReleaseTrains(v1alpha1.DefaultReleaseTrains()...),
		v1alpha1test.UpgradePolicy(v1alpha1.UpgradePolicyKubernetesMinor),
		v1alpha1test.Versions(
			v1alpha1.TypeVersion{Version: "2.0.0", KubeVersion: ">=1.37.0-0", ReleaseTrains: []string{"Stable", "Preview"}},
			v1alpha1.TypeVersion{Version: "1.6.0-rc.1", KubeVersion: ">=1.30.0-0", ReleaseTrains: []string{"Preview"}},
			v1alpha1.TypeVersion{Version: "1.5.0", KubeVersion: ">=1.30.0-0", ReleaseTrains: []string{"Stable", "Preview"}},
			v1alpha1.TypeVersion{Version: "1.4.2", KubeVersion: ">=1.30.0-0", ReleaseTrains: []string{"Stable", "Preview"}},
			v1alpha1.TypeVersion{Version: "1.4.1", KubeVersion: ">=1.30.0-0", ReleaseTrains: []string{"Stable", "Preview"}},
			v1alpha1.TypeVersion{Version: "1.3.0", KubeVersion: ">=1.28.0-0 <1.36.0-0", ReleaseTrains: []string{"Stable", "Preview"}},
		))
}

type extOption = v1alpha1test.ExtensionOption

// newExtension is "podinfo", cluster-scoped in namespace podinfo, pinned to 1.4.2 on Stable.
func newExtension(opts ...extOption) *v1alpha1.Extension {
	base := []extOption{v1alpha1test.Pinned("1.4.2"), v1alpha1test.Train(v1alpha1.ReleaseTrainStable)}
	return v1alpha1test.Extension("podinfo", "example.podinfo", append(base, opts...)...)
}

func ptr[T any](v T) *T { return &v }

var (
	named            = v1alpha1test.Named
	version          = v1alpha1test.Version
	autoUpgrade      = v1alpha1test.AutoUpgrade
	releaseNamespace = v1alpha1test.ReleaseNamespace
	targetNamespace  = v1alpha1test.TargetNamespace
	annotated        = v1alpha1test.Annotation
	targeting        = v1alpha1test.Targeting
)

// installedAt records the extension as installed at v on Kubernetes 1.36.
func installedAt(v string) extOption { return v1alpha1test.Installed(v, "1.36") }

// deleting marks the extension as being deleted, held by a finalizer.
func deleting(e *v1alpha1.Extension) {
	now := metav1.NewTime(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	e.DeletionTimestamp = &now
	e.Finalizers = []string{"example.org/cleanup"}
}

// protectedSecret names the extension's protected settings Secret.
func protectedSecret(name string) extOption {
	return func(e *v1alpha1.Extension) {
		e.Spec.ConfigurationProtectedSettings = &v1alpha1.ProtectedSettingsRef{SecretName: name}
	}
}

func typeRepository(t *v1alpha1.ExtensionType, url string) *v1alpha1.ExtensionType {
	t.Spec.Chart.Repository = url
	return t
}

// typeCreate is the create of an extension type; typeStatus the write of its catalog.
func typeCreate(t *v1alpha1.ExtensionType) TypeInput {
	return TypeInput{Request: TypeRequest{
		Operation: OperationCreate,
		UserInfo:  UserInfo{Username: "alice", Groups: []string{"system:authenticated"}},
		Object:    t,
	}}
}

func typeStatus(t *v1alpha1.ExtensionType) TypeInput {
	in := typeCreate(t)
	in.Request.Operation, in.Request.SubResource, in.Request.OldObject = OperationUpdate, SubResourceStatus, podinfoType()
	return in
}

func cluster136() ClusterInfo {
	return ClusterInfo{KubernetesVersion: "1.36.2", Minor: "1.36"}
}

// scenario is a write and the cluster around it: the type and the other extensions
// that evaluate loads into the engine's inventory.
type scenario struct {
	Input
	ExtensionType *v1alpha1.ExtensionType
	Extensions    []v1alpha1.Extension
}

// evaluate makes s's type and other extensions the inventory of e and judges s's
// write. Tests running in parallel each use an engine of their own.
func evaluate(e *Engine, ctx context.Context, s scenario) (Decision, error) {
	var types []v1alpha1.ExtensionType
	if s.ExtensionType != nil {
		types = append(types, *s.ExtensionType)
	}
	if err := e.ReplaceInventory(s.Extensions, types); err != nil {
		return Decision{}, err
	}
	return e.Evaluate(ctx, s.Input)
}

func createInput(obj *v1alpha1.Extension) scenario {
	return scenario{
		Input: Input{
			Request: Request{
				Operation: OperationCreate,
				UserInfo:  UserInfo{Username: "alice", Groups: []string{"system:authenticated"}},
				Object:    obj,
			},
			Cluster: cluster136(),
		},
		ExtensionType: podinfoType(),
	}
}

func updateInput(old, obj *v1alpha1.Extension) scenario {
	in := createInput(obj)
	in.Request.Operation = OperationUpdate
	in.Request.OldObject = old
	return in
}

func statusInput(old, obj *v1alpha1.Extension) scenario {
	in := updateInput(old, obj)
	in.Request.SubResource = SubResourceStatus
	return in
}

// newEngine compiles a fresh engine, for tests that change its configuration.
func newEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	e, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// engine is an engine of the test's own: each evaluate replaces its inventory. The
// policies are compiled once per process, so this costs a preparation only.
func engine(t testing.TB) *Engine {
	t.Helper()
	return newEngine(t, Options{})
}

func ids(results []Result) []string {
	out := []string{}
	for _, r := range results {
		out = append(out, r.ID)
	}
	return out
}
