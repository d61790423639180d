package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// The tests run the real policies against controller-runtime's fake client, with a
// fake Helm behind lifecycle.Helm and a cluster on Kubernetes 1.37.

const typeName = "example.podinfo"

var clock = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// fakeHelm records what the manager asked of Helm and keeps which releases are
// deployed.
type fakeHelm struct {
	mu sync.Mutex
	// calls are "install ns/name 1.5.0", "upgrade ...", "uninstall ns/name",
	// "recover ns/name".
	calls    []string
	requests []release.Request
	deployed map[string]bool
	revision int

	installErr, upgradeErr, uninstallErr error
	// recovered is what RecoverPending says it did.
	recovered string
}

func (h *fakeHelm) record(call string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, call)
}

func (h *fakeHelm) step(verb string, req release.Request, err error) (int, error) {
	h.record(fmt.Sprintf("%s %s/%s %s", verb, req.Namespace, req.Name, req.Chart.Metadata.Version))
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, req)
	if err != nil {
		return 0, err
	}
	h.deployed[req.Namespace+"/"+req.Name] = true
	h.revision++
	return h.revision, nil
}

func (h *fakeHelm) Install(_ context.Context, req release.Request) (int, error) {
	return h.step("install", req, h.installErr)
}

func (h *fakeHelm) Upgrade(_ context.Context, req release.Request) (int, error) {
	return h.step("upgrade", req, h.upgradeErr)
}

func (h *fakeHelm) Uninstall(name, namespace string, _ bool, _ time.Duration) error {
	h.record("uninstall " + namespace + "/" + name)
	if h.uninstallErr != nil {
		return h.uninstallErr
	}
	delete(h.deployed, namespace+"/"+name)
	return nil
}

func (h *fakeHelm) RecoverPending(name, namespace string, _ time.Duration) (string, error) {
	if h.recovered != "" {
		h.record("recover " + namespace + "/" + name)
	}
	return h.recovered, nil
}

func (h *fakeHelm) Deployed(name, namespace string) (bool, error) {
	return h.deployed[namespace+"/"+name], nil
}

// helmSetup is how the fake Helm starts and which of its calls fail.
type helmSetup struct {
	// deployed: release podinfo/podinfo has a deployed revision.
	deployed                             bool
	installErr, upgradeErr, uninstallErr error
	recovered                            string
}

// source serves the podinfo versions and builds a minimal chart for each.
type source struct{ versions []chartsource.ChartVersion }

func (s source) Versions(context.Context) ([]chartsource.ChartVersion, error) { return s.versions, nil }

func (s source) Load(_ context.Context, version string) (*chart.Chart, error) {
	for _, v := range s.versions {
		if v.Version == version {
			return &chart.Chart{Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "podinfo", Version: version}}, nil
		}
	}
	return nil, errors.New("no chart version " + version)
}

var podinfoVersions = []chartsource.ChartVersion{
	{Version: "1.4.0", KubeVersion: ">=1.25.0-0"},
	{Version: "1.4.1", KubeVersion: ">=1.25.0-0"},
	{Version: "1.5.0"},
	{Version: "1.6.0", KubeVersion: ">=1.99.0-0"},
}

// cluster is a fake ClusterVersioner.
type cluster struct{ info policy.ClusterInfo }

func (c cluster) ClusterInfo(context.Context) (policy.ClusterInfo, error) { return c.info, nil }

var engine struct {
	once sync.Once
	e    *policy.Engine
	err  error
}

// policies returns the embedded policies, compiled once for the package.
func policies(t *testing.T) *policy.Engine {
	t.Helper()
	engine.once.Do(func() { engine.e, engine.err = policy.New(context.Background(), policy.Options{}) })
	if engine.err != nil {
		t.Fatal(engine.err)
	}
	return engine.e
}

// podinfoType is the type with its versions synced, unless neverSynced.
func podinfoType(neverSynced bool) *v1alpha1.ExtensionType {
	t := &v1alpha1.ExtensionType{
		ObjectMeta: metav1.ObjectMeta{Name: typeName},
		Spec: v1alpha1.ExtensionTypeSpec{
			Chart:  v1alpha1.ChartSource{Repository: "https://charts.example.org", Name: "podinfo"},
			Scopes: v1alpha1.Scopes{Default: v1alpha1.ScopeCluster, Cluster: &v1alpha1.ClusterScopeOptions{DefaultReleaseNamespace: "podinfo"}},
		},
	}
	if !neverSynced {
		t.Status.Versions = catalog.Versions(t, podinfoVersions)
		t.Status.SyncedAt = ptr.To(metav1.NewTime(clock.Add(-time.Hour)))
	}
	return t
}

// installed is an extension recorded at version in state, with the given settings.
func installed(name, version string, state v1alpha1.ProvisioningState, pinned bool) *v1alpha1.Extension {
	e := &v1alpha1.Extension{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.ExtensionSpec{
			ExtensionType:           typeName,
			AutoUpgradeMinorVersion: ptr.To(!pinned),
			ReleaseTrain:            v1alpha1.ReleaseTrainStable,
			Scope:                   v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "podinfo"}},
			ConfigurationSettings:   map[string]string{"replicaCount": "1"},
		},
		Status: v1alpha1.ExtensionStatus{
			ProvisioningState: state,
			CurrentVersion:    version,
			KubernetesVersion: "1.37",
			Release:           v1alpha1.ReleaseRef{Name: name, Namespace: "podinfo", Revision: 1},
		},
	}
	if pinned {
		e.Spec.Version = version
	}
	return e
}

// harness is one manager with everything it talks to.
type harness struct {
	m        *lifecycle.Manager
	c        client.Client
	helm     *fakeHelm
	progress *bytes.Buffer
}

func newHarness(t *testing.T, setup helmSetup, objs ...client.Object) *harness {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(s).
		WithStatusSubresource(&v1alpha1.Extension{}, &v1alpha1.ExtensionType{}).
		WithObjects(objs...).Build()
	h := &fakeHelm{deployed: map[string]bool{"podinfo/podinfo": setup.deployed}, installErr: setup.installErr,
		upgradeErr: setup.upgradeErr, uninstallErr: setup.uninstallErr, recovered: setup.recovered}
	info, err := policy.ClusterFromVersion("v1.37.1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	m := lifecycle.New(lifecycle.Config{
		Client:   c,
		Helm:     h,
		Policy:   policies(t),
		Cluster:  cluster{info},
		Charts:   func(v1alpha1.ChartSource) (chartsource.Source, error) { return source{podinfoVersions}, nil },
		Progress: &progress,
		Holder:   "test@lifecycle/0-test",
		Now:      func() time.Time { return clock },
	})
	return &harness{m: m, c: c, helm: h, progress: &progress}
}

// extension reads an extension back; nil when it does not exist.
func (h *harness) extension(t *testing.T, name string) *v1alpha1.Extension {
	t.Helper()
	e := &v1alpha1.Extension{}
	if err := h.c.Get(context.Background(), client.ObjectKey{Name: name}, e); err != nil {
		return nil
	}
	return e
}

// protected reads the protected settings Secret of an extension; nil when absent.
func (h *harness) protected(t *testing.T, name string) map[string]string {
	t.Helper()
	s := &corev1.Secret{}
	if err := h.c.Get(context.Background(), client.ObjectKey{Namespace: "podinfo", Name: lifecycle.ProtectedSecretName(name)}, s); err != nil {
		return nil
	}
	p, err := lifecycle.DecodeProtected(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// protectedSecret is an extension's protected settings as stored.
func protectedSecret(t *testing.T, name string, p map[string]string) *corev1.Secret {
	t.Helper()
	data, err := lifecycle.EncodeProtected(p)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "podinfo", Name: lifecycle.ProtectedSecretName(name)},
		Data:       map[string][]byte{lifecycle.ProtectedSettingsKey: data},
	}
}
