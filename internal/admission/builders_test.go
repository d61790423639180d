package admission_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func uniq(prefix string) string { return prefix + "-" + rand.String(5) }

// catalog is the version list of every test type: a Preview-only release candidate,
// a major version, and a version whose chart excludes every cluster we run.
var catalog = []v1alpha1.TypeVersion{
	{Version: "2.0.0", ReleaseTrains: []string{"Stable", "Preview"}},
	{Version: "1.6.0", KubeVersion: ">=1.99.0-0", ReleaseTrains: []string{"Stable", "Preview"}},
	{Version: "1.5.0", ReleaseTrains: []string{"Stable", "Preview"}},
	{Version: "1.5.0-rc.1", ReleaseTrains: []string{"Preview"}},
	{Version: "1.4.9", ReleaseTrains: []string{"Stable", "Preview"}},
	{Version: "1.4.1", ReleaseTrains: []string{"Stable", "Preview"}},
	{Version: "1.4.0", ReleaseTrains: []string{"Stable", "Preview"}},
}

type typeOpt = v1alpha1test.TypeOption

var (
	clusterOnly       typeOpt = v1alpha1test.ClusterOnly
	multipleInstances typeOpt = v1alpha1test.MultipleInstances
	minorPolicy               = v1alpha1test.UpgradePolicy(v1alpha1.UpgradePolicyMinor)
)

// newType creates an ExtensionType with the test catalog in its status.
func newType(t *testing.T, opts ...typeOpt) string {
	t.Helper()
	requireEnv(t)
	ctx := testCtx(t)
	et := v1alpha1test.Type(uniq("test.app"), opts...)
	if err := env.Client.Create(ctx, et); err != nil {
		t.Fatalf("creating type: %v", err)
	}
	et.Status.Versions = catalog
	if err := env.Client.Status().Update(ctx, et); err != nil {
		t.Fatalf("writing the type's catalog: %v", err)
	}
	// The webhook reads types from its cache: wait until a dry-run write of a pinned
	// extension of the type is judged with the type and its catalog.
	eventually(t, "the webhook sees type "+et.Name, func() error {
		return env.Client.Create(ctx, extension(et.Name, pinned("1.4.0")), client.DryRunAll)
	})
	return et.Name
}

// eventually retries f until it returns nil, for state the webhook reads from its
// informer cache or refreshes in the background.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waiting until %s: %v", what, err)
}

type extOpt = v1alpha1test.ExtensionOption

var (
	pinned           = v1alpha1test.Pinned
	train            = v1alpha1test.Train
	namespaced       = v1alpha1test.TargetNamespace
	releaseNamespace = v1alpha1test.ReleaseNamespace
	annotate         = v1alpha1test.Annotation
	named            = v1alpha1test.Named
)

// extension is a cluster-scoped extension of the type, with a name and a release
// namespace of its own, so tests on the one shared cluster never collide.
func extension(typeName string, opts ...extOpt) *v1alpha1.Extension {
	base := []extOpt{releaseNamespace(uniq("ns"))}
	return v1alpha1test.Extension(uniq("ext"), typeName, append(base, opts...)...)
}

// warnings records the API server's warning headers.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

func (w *warnings) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.msgs, "\n")
}

// writer returns a client whose warnings are recorded.
func writer(t *testing.T) (client.Client, *warnings) {
	t.Helper()
	requireEnv(t)
	w := &warnings{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = w
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c, w
}

// installedAt records that ext runs version v, adopted at Kubernetes minor kube, in
// the two status writes the extension manager makes (EXT-BASELINE-001, -002): the
// target first, judged by the rules, then the installed version and the cluster's
// minor, which kube must be.
func installedAt(t *testing.T, ext *v1alpha1.Extension, v, kube string) {
	t.Helper()
	requireEnv(t)
	ctx := testCtx(t)
	if err := targetVersion(ctx, env.Client, ext, v); err != nil {
		t.Fatalf("recording the target version %s: %v", v, err)
	}
	v1alpha1test.Installed(v, kube)(ext)
	if err := env.Client.Status().Update(ctx, ext); err != nil {
		t.Fatalf("recording the installed version: %v", err)
	}
}

// wantDenied checks err is a webhook denial naming rule id.
func wantDenied(t *testing.T, err error, id string) {
	t.Helper()
	if err == nil {
		t.Fatalf("the write was allowed; want a denial by [%s]", id)
	}
	if !strings.Contains(err.Error(), "denied the request") || !strings.Contains(err.Error(), "["+id+"]") {
		t.Fatalf("want a webhook denial naming [%s], got: %v", id, err)
	}
}
