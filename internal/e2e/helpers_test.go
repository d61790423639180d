//go:build e2e

package e2e

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	helmrelease "helm.sh/helm/v3/pkg/release"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1/v1alpha1test"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/release"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// cluster returns the package's Ready control plane and the directory of the built
// plugin, starting and building them on first use.
func cluster(t *testing.T) (*testenv.Env, string) {
	t.Helper()
	return shared.Env(t), bins.Dir(t)
}

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
	env, binDir := cluster(t)
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

// podinfoType serves one version (1.4.0) of the podinfo test chart over a loopback
// HTTP chart repository and records an ExtensionType for it, admitted by the webhook
// as an admin who accepts the plain-http loopback repository would.
func podinfoType(t *testing.T) string {
	t.Helper()
	env, _ := cluster(t)
	url := chartsourcetest.ServeHTTP(t, chartsourcetest.Charts(t, []chartsourcetest.Spec{{Version: "1.4.0", AppVersion: "6.4.0"}}))
	et := v1alpha1test.Type(uniq("test.podinfo"),
		v1alpha1test.Description("podinfo for the Ready cluster's tests"),
		v1alpha1test.Chart(v1alpha1.ChartSource{Repository: url, Name: "podinfo"}),
		v1alpha1test.DefaultReleaseNamespace(uniq("podinfo")),
		v1alpha1test.MultipleInstances)
	et.Annotations = map[string]string{"kubeext.dev/allow-insecure-repository": "the tests' chart repository, on loopback"}
	if err := env.Client.Create(testCtx(t), et); err != nil {
		t.Fatalf("recording the extension type: %v", err)
	}
	return et.Name
}

// history returns the release's revisions, oldest first; none when it does not exist.
func history(t *testing.T, name, ns string) []*helmrelease.Release {
	t.Helper()
	env, _ := cluster(t)
	h, err := (&release.Client{Getter: &genericclioptions.ConfigFlags{KubeConfig: &env.Kubeconfig}}).History(name, ns)
	if errors.Is(err, release.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("helm history %s/%s: %v", ns, name, err)
	}
	return h
}

// statuses is a release history as "revision:status" strings, for comparing and
// printing.
func statuses(h []*helmrelease.Release) []string {
	out := make([]string, 0, len(h))
	for _, r := range h {
		out = append(out, strconv.Itoa(r.Version)+":"+r.Info.Status.String())
	}
	return out
}

func getExt(t *testing.T, name string) *v1alpha1.Extension {
	t.Helper()
	env, _ := cluster(t)
	e := &v1alpha1.Extension{}
	if err := env.Client.Get(testCtx(t), client.ObjectKey{Name: name}, e); err != nil {
		t.Fatalf("reading extension %s: %v", name, err)
	}
	return e
}

// endState is what a row asserts of an extension once a command ended.
type endState struct {
	state v1alpha1.ProvisioningState
	// code and message (a substring) of errorInfo; code "" wants no errorInfo.
	code, message string
	// ready is the Ready condition's status.
	ready bool
	// revision is the release revision recorded in the status (0: none).
	revision int
	// settings must all be in the spec's configuration settings, with these values.
	settings map[string]string
}

func checkExt(t *testing.T, name string, want endState) {
	t.Helper()
	e := getExt(t, name)
	s := e.Status
	if s.ProvisioningState != want.state {
		t.Errorf("extension %s is %s, want %s; status %+v", name, s.ProvisioningState, want.state, s)
	}
	switch {
	case want.code == "" && s.ErrorInfo != nil:
		t.Errorf("extension %s has errorInfo %+v, want none", name, *s.ErrorInfo)
	case want.code != "" && (s.ErrorInfo == nil || s.ErrorInfo.Code != want.code || !strings.Contains(s.ErrorInfo.Message, want.message)):
		t.Errorf("extension %s has errorInfo %+v, want code %s saying %q", name, s.ErrorInfo, want.code, want.message)
	}
	if got := meta.IsStatusConditionTrue(s.Conditions, v1alpha1.ConditionReady); got != want.ready {
		t.Errorf("extension %s: Ready condition true = %v, want %v; conditions %+v", name, got, want.ready, s.Conditions)
	}
	if s.Release.Revision != want.revision {
		t.Errorf("extension %s records release revision %d, want %d", name, s.Release.Revision, want.revision)
	}
	for k, v := range want.settings {
		if got, ok := e.Spec.ConfigurationSettings[k]; !ok || got != v {
			t.Errorf("extension %s: setting %s = %q (set: %v), want %q", name, k, got, ok, v)
		}
	}
}

// checkHistory asserts the release's revisions and statuses, e.g. "1:superseded",
// "2:failed", "3:deployed"; none for a release that must not exist. No revision may
// be pending.
func checkHistory(t *testing.T, name, ns string, want ...string) []*helmrelease.Release {
	t.Helper()
	h := history(t, name, ns)
	got := statuses(h)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("release %s/%s history %v, want %v", ns, name, got, want)
	}
	return h
}

// waitRolledOut waits until the release's Deployment has all its replicas ready and
// updated: the pods really run on the simulated nodes.
func waitRolledOut(t *testing.T, name, ns string) {
	t.Helper()
	env, _ := cluster(t)
	d := &appsv1.Deployment{}
	err := wait.PollUntilContextTimeout(testCtx(t), 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
			return false, nil
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		return d.Status.ObservedGeneration == d.Generation && d.Status.ReadyReplicas == want &&
			d.Status.UpdatedReplicas == want && d.Status.Replicas == want, nil
	})
	if err != nil {
		t.Fatalf("deployment %s/%s did not roll out: %v; status %+v", ns, name, err, d.Status)
	}
}

// wantSays fails the test unless out holds each of wants.
func wantSays(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s does not say %q:\n%s", what, w, out)
		}
	}
}
