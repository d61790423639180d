package cli_test

import (
	"context"
	"strings"
	"testing"
	"time"

	helmrelease "helm.sh/helm/v3/pkg/release"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/release"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return c
}

func uniq(prefix string) string { return prefix + "-" + rand.String(5) }

// kext runs `kubectl ext ARGS...` through the real kubectl.
func kext(t *testing.T, args ...string) testenv.Result {
	t.Helper()
	requireEnv(t)
	res, err := env.Kubectl(testCtx(t), binDir, append([]string{"ext"}, args...)...)
	if err != nil {
		t.Fatalf("kubectl ext %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// mustKext runs `kubectl ext ARGS...` and fails the test unless it exits 0.
func mustKext(t *testing.T, args ...string) testenv.Result {
	t.Helper()
	res := kext(t, args...)
	if res.ExitCode != 0 {
		t.Fatalf("kubectl ext %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), res.ExitCode, res.Stdout, res.Stderr)
	}
	return res
}

// httpType serves the podinfo test charts over a loopback HTTP chart repository and
// records an ExtensionType for them.
func httpType(t *testing.T, specs []chartsourcetest.Spec, mutate ...func(*v1alpha1.ExtensionType)) string {
	t.Helper()
	url := chartsourcetest.ServeHTTP(t, chartsourcetest.Charts(t, specs))
	return recordType(t, v1alpha1.ChartSource{Repository: url, Name: "podinfo"}, mutate...)
}

func recordType(t *testing.T, src v1alpha1.ChartSource, mutate ...func(*v1alpha1.ExtensionType)) string {
	t.Helper()
	requireEnv(t)
	et := v1alpha1test.Type(uniq("test.podinfo"),
		v1alpha1test.Description("podinfo for tests"),
		v1alpha1test.Chart(src),
		v1alpha1test.DefaultReleaseNamespace(uniq("podinfo")),
		v1alpha1test.MultipleInstances)
	for _, m := range mutate {
		m(et)
	}
	allowLoopbackHTTP(et)
	if err := env.Client.Create(testCtx(t), et); err != nil {
		t.Fatalf("recording the extension type: %v", err)
	}
	return et.Name
}

// allowLoopbackHTTP gives a type whose chart repository is plain http (the tests'
// loopback chart servers) the annotation with which the webhook admits it
// (EXT-TYPEDEF-001), as an admin who accepts plain http would: the webhook reviews
// every ExtensionType write in these tests.
func allowLoopbackHTTP(et *v1alpha1.ExtensionType) {
	if !strings.HasPrefix(et.Spec.Chart.Repository, "http://") {
		return
	}
	if et.Annotations == nil {
		et.Annotations = map[string]string{}
	}
	et.Annotations["kubeext.dev/allow-insecure-repository"] = "the tests' chart repository, on loopback"
}

// helmClient reads releases with the Helm SDK, as the plugin writes them.
func helmClient() *release.Client {
	return &release.Client{Getter: &genericclioptions.ConfigFlags{KubeConfig: &env.Kubeconfig}}
}

// history returns the release's revisions with their statuses.
func history(t *testing.T, name, ns string) []*helmrelease.Release {
	t.Helper()
	requireEnv(t)
	h, err := helmClient().History(name, ns)
	if err != nil {
		t.Fatalf("helm history %s/%s: %v", ns, name, err)
	}
	return h
}

func getExt(t *testing.T, name string) *v1alpha1.Extension {
	t.Helper()
	requireEnv(t)
	e := &v1alpha1.Extension{}
	if err := env.Client.Get(testCtx(t), nameKey(name), e); err != nil {
		t.Fatalf("reading extension %s: %v", name, err)
	}
	return e
}
