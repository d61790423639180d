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
	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

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

// fakeHelm records what the manager asked of Helm and keeps the newest stored revision
// of each release, checking it against the manager's record with release.Verify and
// release.VerifyPending as release.Client does.
type fakeHelm struct {
	mu sync.Mutex
	// calls are "install ns/name 1.5.0", "upgrade ...", "adopt ...", "uninstall
	// ns/name", "recover ns/name".
	calls    []string
	requests []release.Request
	// stored is the newest revision of each release by "ns/name"; recorded the
	// revision before a pending one (what recovery keeps).
	stored, recorded map[string]*helmrelease.Release

	installErr, upgradeErr, uninstallErr error
	// rolledBack: a failed upgrade was rolled back, storing a new revision.
	rolledBack bool
	// during runs inside each install or upgrade (a test cancels the command there).
	during func()
}

func (h *fakeHelm) record(call string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, call)
}

// store keeps a new deployed revision of req, its manifest naming the chart version.
func (h *fakeHelm) store(req release.Request, version int) release.Record {
	rel := &helmrelease.Release{Name: req.Name, Namespace: req.Namespace, Version: version, Config: req.Values,
		Manifest: "# podinfo " + req.Chart.Metadata.Version + "\n", Info: &helmrelease.Info{Status: helmrelease.StatusDeployed}}
	h.stored[req.Namespace+"/"+req.Name] = rel
	return release.RecordOf(rel)
}

func (h *fakeHelm) step(_ context.Context, verb string, req release.Request) {
	h.record(fmt.Sprintf("%s %s/%s %s", verb, req.Namespace, req.Name, req.Chart.Metadata.Version))
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, req)
	if h.during != nil {
		h.during()
	}
}

func (h *fakeHelm) Install(ctx context.Context, req release.Request) (release.Record, error) {
	h.step(ctx, "install", req)
	if err := release.Verify(req.Name, req.Namespace, h.stored[req.Namespace+"/"+req.Name], release.Record{}); err != nil {
		return release.Record{}, err
	}
	if h.installErr != nil {
		return release.Record{}, h.installErr
	}
	return h.store(req, 1), nil
}

func (h *fakeHelm) Upgrade(ctx context.Context, req release.Request) (release.Record, error) {
	h.step(ctx, "upgrade", req)
	before := h.stored[req.Namespace+"/"+req.Name]
	if err := release.Verify(req.Name, req.Namespace, before, req.Expect); err != nil {
		return release.Record{}, err
	}
	if h.upgradeErr != nil {
		if !h.rolledBack {
			return release.Record{}, h.upgradeErr
		}
		back := *before
		back.Version += 2
		h.stored[req.Namespace+"/"+req.Name] = &back
		return release.RecordOf(&back), h.upgradeErr
	}
	return h.store(req, before.Version+1), nil
}

func (h *fakeHelm) Adopt(ctx context.Context, req release.Request) (release.Record, error) {
	h.step(ctx, "adopt", req)
	return h.store(req, 1), nil
}

func (h *fakeHelm) Uninstall(_ context.Context, name, namespace string, expect release.Record, _ bool, _ time.Duration) error {
	h.record("uninstall " + namespace + "/" + name)
	stored := h.stored[namespace+"/"+name]
	if stored == nil {
		return nil
	}
	if err := release.Verify(name, namespace, stored, expect); err != nil {
		return err
	}
	if h.uninstallErr != nil {
		return h.uninstallErr
	}
	delete(h.stored, namespace+"/"+name)
	return nil
}

// RecoverForUninstall: the fake holds no objects, so it recovers as RecoverPending.
func (h *fakeHelm) RecoverForUninstall(name, namespace string, expect release.Record, interrupted bool, by string) (string, error) {
	return h.RecoverPending(name, namespace, expect, interrupted, by)
}

func (h *fakeHelm) RecoverPending(name, namespace string, expect release.Record, interrupted bool, _ string) (string, error) {
	key := namespace + "/" + name
	pending := h.stored[key]
	if pending == nil || !pending.Info.Status.IsPending() {
		return "", nil
	}
	h.record("recover " + key)
	if err := release.VerifyPending(name, namespace, pending, h.recorded[key], expect, interrupted); err != nil {
		return "", err
	}
	h.stored[key] = h.recorded[key]
	if h.stored[key] == nil {
		delete(h.stored, key)
	}
	return fmt.Sprintf("release %s was left %s: removed its record", key, pending.Info.Status), nil
}

// The release podinfo/podinfo as installed() records it: revision 1 of version 1.4.0
// with replicaCount 1.
var podinfoRelease = &helmrelease.Release{Name: "podinfo", Namespace: "podinfo", Version: 1, Config: map[string]any{"replicaCount": int64(1)},
	Manifest: "# podinfo 1.4.0\n", Info: &helmrelease.Info{Status: helmrelease.StatusDeployed}}

// helmSetup is how the fake Helm starts and which of its calls fail.
type helmSetup struct {
	// deployed: release podinfo/podinfo is stored as installed() records it.
	deployed bool
	// stored replaces the newest stored revision (deployed keeps podinfoRelease as the
	// one before it): a namespace admin's forgery, or an interrupted command's pending one.
	stored *helmrelease.Release
	// tamperedRecorded replaces the recorded revision kept under a pending one.
	tamperedRecorded                     *helmrelease.Release
	installErr, upgradeErr, uninstallErr error
	rolledBack                           bool
	// charts is the chart source; nil serves podinfoVersions as bare charts (source).
	charts chartsource.Source
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

// policies returns an engine of the test's own: each Manager loads its cluster into
// the engine's inventory. The policies are compiled once per process.
func policies(t *testing.T) *policy.Engine {
	t.Helper()
	e, err := policy.New(context.Background(), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e
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
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)},
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
			Release:           v1alpha1.ReleaseRef{Name: name, Namespace: "podinfo"},
		},
	}
	if version != "" {
		rec := release.RecordOf(podinfoRelease)
		e.Status.Release.Revision, e.Status.Release.ManifestDigest, e.Status.Release.ValuesDigest = rec.Revision, rec.ManifestDigest, rec.ValuesDigest
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
	// The fake client gives created objects no UID; ownership needs one.
	c := fake.NewClientBuilder().WithScheme(s).
		WithStatusSubresource(&v1alpha1.Extension{}, &v1alpha1.ExtensionType{}).
		WithInterceptorFuncs(interceptor.Funcs{Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if obj.GetUID() == "" {
				obj.SetUID(types.UID("uid-" + obj.GetName()))
			}
			return c.Create(ctx, obj, opts...)
		},
			// The fake ignores cancellation; a real client's request fails with it.
			SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				return c.SubResource(sub).Update(ctx, obj, opts...)
			}}).
		WithObjects(objs...).Build()
	h := &fakeHelm{stored: map[string]*helmrelease.Release{}, recorded: map[string]*helmrelease.Release{},
		installErr: setup.installErr, upgradeErr: setup.upgradeErr, uninstallErr: setup.uninstallErr, rolledBack: setup.rolledBack}
	if setup.deployed {
		h.stored["podinfo/podinfo"] = podinfoRelease
		h.recorded["podinfo/podinfo"] = podinfoRelease
	}
	if setup.stored != nil {
		h.stored["podinfo/podinfo"] = setup.stored
	}
	if setup.tamperedRecorded != nil {
		h.recorded["podinfo/podinfo"] = setup.tamperedRecorded
	}
	info, err := policy.ClusterFromVersion("v1.37.1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	var charts chartsource.Source = source{podinfoVersions}
	if setup.charts != nil {
		charts = setup.charts
	}
	m := lifecycle.New(lifecycle.Config{
		Client:   c,
		Helm:     h,
		Policy:   policies(t),
		Cluster:  cluster{info},
		Charts:   func(v1alpha1.ChartSource) (chartsource.Source, error) { return charts, nil },
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
		ObjectMeta: metav1.ObjectMeta{Namespace: "podinfo", Name: lifecycle.ProtectedSecretName(name),
			Labels: map[string]string{lifecycle.LabelManagedBy: lifecycle.ManagedBy, lifecycle.LabelExtension: name},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Extension", Name: name,
				UID: types.UID("uid-" + name)}}},
		Data: map[string][]byte{lifecycle.ProtectedSettingsKey: data},
	}
}

// pendingRevision is a revision of podinfo/podinfo an interrupted command (or a
// forger) left pending.
func pendingRevision(version int, status helmrelease.Status) *helmrelease.Release {
	return &helmrelease.Release{Name: "podinfo", Namespace: "podinfo", Version: version, Manifest: "# half applied\n",
		Info: &helmrelease.Info{Status: status}}
}
