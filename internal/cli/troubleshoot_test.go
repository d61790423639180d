package cli_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/testenv"
	"github.com/kubeext/kubectl-ext/internal/troubleshoot"
)

// readArchive returns the files of a troubleshoot archive by their path under its one
// top directory.
func readArchive(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzipped: %v", path, err)
	}
	tr := tar.NewReader(gz)
	files := map[string]string{}
	top := ""
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		dir, name, _ := strings.Cut(h.Name, "/")
		if top == "" {
			top = dir
		}
		if dir != top || !strings.HasPrefix(dir, "kubectl-ext-troubleshoot-") {
			t.Errorf("%s is not under the archive's one top directory %s", h.Name, top)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(data)
	}
}

// releasePod creates a Pod of the release directly, labelled as the chart labels its
// pods: the test cluster runs no controllers, so the chart's Deployment makes none.
// With running, its status is then written as a kubelet would for a started, ready
// pod; otherwise it stays Pending, as no scheduler places it.
func releasePod(t *testing.T, ns, release string, running bool) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: release + "-" + rand.String(5),
			Labels: map[string]string{"app.kubernetes.io/instance": release}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "podinfo", Image: "registry.k8s.io/pause:3.10"}}},
	}
	if running {
		p.Spec.NodeName = "node-that-is-not-there"
	}
	if err := env.Client.Create(testCtx(t), p); err != nil {
		t.Fatal(err)
	}
	if running {
		now := metav1.Now()
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &now,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "podinfo", Ready: true, Image: "registry.k8s.io/pause:3.10", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}}
		if err := env.Client.Status().Update(testCtx(t), p); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// rolledOut writes the status the deployment controller writes once a Deployment's
// replicas are all available, which no controller of the test cluster does.
func rolledOut(t *testing.T, ns, name string) {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := env.Client.Get(testCtx(t), client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
		t.Fatal(err)
	}
	n := *d.Spec.Replicas
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"}}}
	if err := env.Client.Status().Update(testCtx(t), d); err != nil {
		t.Fatal(err)
	}
}

// scanForSecret fails the test for each file of the archive that holds value.
func scanForSecret(t *testing.T, files map[string]string, value string) {
	t.Helper()
	for name, data := range files {
		if strings.Contains(data, value) {
			t.Errorf("the archive's %s holds the protected value", name)
		}
	}
}

func wantIn(t *testing.T, files map[string]string, file string, wants ...string) {
	t.Helper()
	data, ok := files[file]
	if !ok {
		t.Errorf("the archive has no %s", file)
		return
	}
	for _, w := range wants {
		if !strings.Contains(data, w) {
			t.Errorf("%s lacks %q:\n%s", file, w, data)
		}
	}
}

// TestTroubleshootFailedExtension: the archive of an extension whose upgrade failed,
// through the real kubectl: every part is there, the webhook's denial of a write to
// it was recorded and is found, the summary names each problem with a next step, and
// the protected value, which sits in the release's values, its ConfigMap and an
// Event, is in no file.
func TestTroubleshootFailedExtension(t *testing.T) {
	requireEnv(t)
	ctx := testCtx(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	name, ns := uniq("ts-failed"), uniq("ts")
	value := "troubleshoot-" + rand.String(12)
	mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait", "--config-protected", "password="+value)
	// The API server rejects negative replicas: the upgrade fails and is rolled back.
	if res := kext(t, "update", name, "--config", "replicaCount=-1", "--no-wait"); res.ExitCode == 0 {
		t.Fatalf("the upgrade to replicaCount=-1 succeeded: %s", res.Stdout)
	}
	pod := releasePod(t, ns, name, false)
	// An Event that quotes the protected value, as an application's error might.
	leak := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pod.Name + ".leak"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod.Name, APIVersion: "v1"},
		Type:           corev1.EventTypeWarning, Reason: "BackOff", Message: "login refused for password " + value,
		FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(), Count: 1, Source: corev1.EventSource{Component: "kubelet"}}
	if err := env.Client.Create(ctx, leak); err != nil {
		t.Fatal(err)
	}
	// A write the webhook denies (the scope is immutable), as a GitOps tool might make.
	e := getExt(t, name)
	e.Spec.Scope.Cluster.ReleaseNamespace = "elsewhere"
	if err := env.Client.Update(ctx, e); err == nil || !strings.Contains(err.Error(), "EXT-SCOPE") {
		t.Fatalf("the webhook did not deny moving the release namespace: %v", err)
	}
	// The webhook records it asynchronously.
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		l := &corev1.EventList{}
		sel := fields.Set{"involvedObject.name": name, "reason": troubleshoot.DenialReason}.AsSelector()
		if err := env.Client.List(ctx, l, client.InNamespace("default"), client.MatchingFieldsSelector{Selector: sel}); err != nil {
			return false, err
		}
		return len(l.Items) > 0, nil
	})
	if err != nil {
		t.Fatalf("the webhook recorded no Event of its denial: %v\nwebhook log:\n%s", err, hook.Log.String())
	}

	archive := filepath.Join(t.TempDir(), "failed.tar.gz")
	res := mustKext(t, "troubleshoot", name, "--output-file", archive, "--tail", "20")
	for _, w := range []string{
		"Archive: " + archive,
		"Error: extension " + name + ": provisioning state Failed",
		"Warning: Deployment " + ns + "/" + name + ": not ready (kstatus InProgress)",
		"Warning: pod " + ns + "/" + pod.Name + ": Pending: it is not scheduled on a node",
		"Warning: webhook: denied a write to Extension " + name,
		"[EXT-SCOPE-",
		"Next: ",
	} {
		if !strings.Contains(res.Stdout, w) {
			t.Errorf("the summary lacks %q:\n%s", w, res.Stdout)
		}
	}
	files := readArchive(t, archive)
	for _, f := range []string{"extension.yaml", "extensiontype.yaml", "status.yaml", "events.yaml", "helm-history.yaml", "objects.yaml",
		"pods.yaml", "logs/" + pod.Name + "/podinfo.log", "denials.yaml", "verdict.yaml", "init-check.txt", "summary.yaml"} {
		if _, ok := files[f]; !ok {
			var have []string
			for k := range files {
				have = append(have, k)
			}
			t.Errorf("the archive lacks %s; it has %v", f, have)
		}
	}
	wantIn(t, files, "extension.yaml", "kind: Extension", "name: "+name, "extensionType: "+typ)
	wantIn(t, files, "extensiontype.yaml", "kind: ExtensionType", "name: "+typ)
	wantIn(t, files, "status.yaml", "provisioningState: Failed", "rolled back")
	wantIn(t, files, "helm-history.yaml", "status: failed", "status: deployed", "- password", "- replicaCount", "chart: podinfo-")
	wantIn(t, files, "objects.yaml", "kind: ConfigMap", "kind: Deployment", "status: Current", "status: InProgress")
	wantIn(t, files, "pods.yaml", "name: "+pod.Name, "phase: Pending")
	// No kubelet: the log of a pod that never started cannot be read, and the file says so.
	wantIn(t, files, "logs/"+pod.Name+"/podinfo.log", "notCollected:", "is not scheduled on a node")
	wantIn(t, files, "events.yaml", "login refused for password [redacted]", "Installed version", "UpdateFailed")
	wantIn(t, files, "denials.yaml", "reason: AdmissionDenied", "EXT-SCOPE-", "from: kubeext-webhook")
	wantIn(t, files, "verdict.yaml", "allowed: true")
	wantIn(t, files, "init-check.txt", "COMPONENT", "webhook answers")
	scanForSecret(t, files, value)

	// -o json: the summary as data, with the archive's path.
	jsonArchive := filepath.Join(t.TempDir(), "failed.json.tar.gz")
	res = mustKext(t, "troubleshoot", name, "--output-file", jsonArchive, "-o", "json")
	var report troubleshoot.Report
	if err := json.Unmarshal([]byte(res.Stdout), &report); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, res.Stdout)
	}
	if report.Archive != jsonArchive || report.Extension != name || len(report.Findings) == 0 {
		t.Errorf("-o json: %+v", report)
	}
	scanForSecret(t, map[string]string{"stdout": res.Stdout, "stderr": res.Stderr}, value)
}

// TestTroubleshootHealthyExtension: an installed extension whose Deployment has rolled
// out and whose pod runs (both written as their controllers would, which the test
// cluster lacks) has nothing wrong, and its archive holds every part and no secret.
func TestTroubleshootHealthyExtension(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	name, ns := uniq("ts-healthy"), uniq("ts")
	value := "troubleshoot-" + rand.String(12)
	mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait", "--config-protected", "password="+value)
	rolledOut(t, ns, name)
	pod := releasePod(t, ns, name, true)

	dir := t.TempDir()
	res := kextIn(t, dir, "troubleshoot", name)
	if res.ExitCode != 0 {
		t.Fatalf("troubleshoot: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	if !strings.Contains(res.Stdout, "Nothing looks wrong.") {
		t.Errorf("a healthy extension has findings:\n%s", res.Stdout)
	}
	// The default name: the extension's and the time, in the working directory.
	matches, _ := filepath.Glob(filepath.Join(dir, "kubectl-ext-troubleshoot-"+name+"-*.tar.gz"))
	if len(matches) != 1 {
		t.Fatalf("archives in the working directory: %v\n%s", matches, res.Stdout)
	}
	files := readArchive(t, matches[0])
	wantIn(t, files, "status.yaml", "provisioningState: Succeeded")
	wantIn(t, files, "helm-history.yaml", "status: deployed", "- password")
	wantIn(t, files, "objects.yaml", "kind: Deployment", "kind: ConfigMap")
	if strings.Contains(files["objects.yaml"], "InProgress") || strings.Contains(files["objects.yaml"], "NotFound") {
		t.Errorf("objects not ready:\n%s", files["objects.yaml"])
	}
	wantIn(t, files, "pods.yaml", "name: "+pod.Name, "phase: Running")
	wantIn(t, files, "logs/"+pod.Name+"/podinfo.log")
	wantIn(t, files, "denials.yaml", "denials: []")
	wantIn(t, files, "verdict.yaml", "allowed: true")
	wantIn(t, files, "summary.yaml", "findings: []")
	scanForSecret(t, files, value)

	// One that does not exist: an archive all the same, saying so.
	res = kextIn(t, dir, "troubleshoot", "no-such-"+name, "--output-file", "missing.tar.gz")
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "it does not exist") {
		t.Fatalf("troubleshoot of a missing extension: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	wantIn(t, readArchive(t, filepath.Join(dir, "missing.tar.gz")), "extension.yaml", "notCollected:")
}

// kextIn runs `kubectl ext ARGS...` through the real kubectl in dir, where the
// archive's default name lands.
func kextIn(t *testing.T, dir string, args ...string) testenv.Result {
	t.Helper()
	requireEnv(t)
	kubectl, err := testenv.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testCtx(t), kubectl, append([]string{"ext"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	res := testenv.Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		res.ExitCode = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("kubectl ext %s: %v", strings.Join(args, " "), err)
	}
	return res
}
