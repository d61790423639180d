package troubleshoot_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"path"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	helmrelease "helm.sh/helm/v3/pkg/release"
	helmtime "helm.sh/helm/v3/pkg/time"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/yaml"

	"github.com/kubeext/kubectl-ext/internal/admission"
	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/install"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/release"
	"github.com/kubeext/kubectl-ext/internal/troubleshoot"
)

const secret = "s3cr3t-VALUE-4d1f"

var at = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

// fakeExtensions serves one extension, its Events and a verdict.
type fakeExtensions struct {
	ext     *v1alpha1.Extension
	events  []corev1.Event
	verdict policy.Decision
}

func (f *fakeExtensions) Get(_ context.Context, name string) (*v1alpha1.Extension, error) {
	if f.ext == nil || f.ext.Name != name {
		return nil, lifecycle.ErrNotFound
	}
	return f.ext.DeepCopy(), nil
}

func (f *fakeExtensions) Events(context.Context, *v1alpha1.Extension) ([]corev1.Event, error) {
	return f.events, nil
}

func (f *fakeExtensions) Verdict(context.Context, *v1alpha1.Extension) (policy.Decision, error) {
	return f.verdict, nil
}

type fakeReleases []*helmrelease.Release

func (f fakeReleases) History(string, string) ([]*helmrelease.Release, error) {
	if len(f) == 0 {
		return nil, release.ErrNotFound
	}
	return f, nil
}

const manifest = `---
# Source: podinfo/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: podinfo
data:
  values.json: "{\"password\":\"` + secret + `\"}"
---
# Source: podinfo/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
spec:
  replicas: 1
`

func revision(v int, st helmrelease.Status, hooks ...*helmrelease.Hook) *helmrelease.Release {
	return &helmrelease.Release{Name: "podinfo", Namespace: "podinfo", Version: v, Manifest: manifest, Hooks: hooks,
		Config: map[string]any{"replicaCount": 1, "auth": map[string]any{"password": secret}},
		Chart:  &chart.Chart{Metadata: &chart.Metadata{Name: "podinfo", Version: "1.4.0", AppVersion: "6.4.0"}},
		Info: &helmrelease.Info{Status: st, Description: "Upgrade complete", FirstDeployed: helmtime.Time{Time: at},
			LastDeployed: helmtime.Time{Time: at}}}
}

func extension(state v1alpha1.ProvisioningState) *v1alpha1.Extension {
	return &v1alpha1.Extension{
		ObjectMeta: metav1.ObjectMeta{Name: "podinfo", UID: "uid-podinfo", Generation: 1},
		Spec: v1alpha1.ExtensionSpec{ExtensionType: "example.podinfo",
			Scope:                          v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "podinfo"}},
			ConfigurationSettings:          map[string]string{"replicaCount": "1"},
			ConfigurationProtectedSettings: &v1alpha1.ProtectedSettingsRef{SecretName: "podinfo-protected-settings"}},
		Status: v1alpha1.ExtensionStatus{ProvisioningState: state, CurrentVersion: "1.4.0",
			Release:   v1alpha1.ReleaseRef{Name: "podinfo", Namespace: "podinfo", Revision: 1},
			ErrorInfo: &v1alpha1.ErrorInfo{Code: "HelmFailed", Message: "upgrade failed"}},
	}
}

func protectedSecret() *corev1.Secret {
	data, _ := lifecycle.EncodeProtected(map[string]string{"auth.password": secret})
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "podinfo", Name: "podinfo-protected-settings"},
		Data: map[string][]byte{lifecycle.ProtectedSettingsKey: data}}
}

// readyDeployment is the Deployment as its controller reports it once rolled out.
func readyDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "podinfo", Name: "podinfo", UID: "uid-deploy", Generation: 1},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1)},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"}}}}
}

func pod(name string, phase corev1.PodPhase, owner types) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "podinfo", Name: name, Labels: map[string]string{}},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "podinfo", Image: "pause"}}},
		Status: corev1.PodStatus{Phase: phase}}
	if owner.uid != "" {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "podinfo-abc", UID: owner.uid}}
	} else {
		p.Labels["app.kubernetes.io/instance"] = "podinfo"
	}
	if phase == corev1.PodRunning {
		p.Spec.NodeName = "node-1"
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "podinfo", Ready: true}}
	}
	return p
}

type types struct{ uid k8stypes.UID }

// event is an Event in ns about an object of kind; those about the cluster-scoped
// kinds are in "default" and name no namespace.
func event(ns, kind, name, reason, msg string) *corev1.Event {
	objNS := ns
	if kind == "Extension" || kind == "ExtensionType" {
		objNS = ""
	}
	return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "." + strings.ToLower(reason)},
		InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name, Namespace: objNS},
		Type:           corev1.EventTypeWarning, Reason: reason, Message: msg, Count: 1,
		FirstTimestamp: metav1.NewTime(at), LastTimestamp: metav1.NewTime(at)}
}

// world is what one case's cluster holds.
type world struct {
	ext      *v1alpha1.Extension
	objs     []client.Object
	history  fakeReleases
	verdict  policy.Decision
	rows     []install.CheckRow
	forbid   string // a resource the reader may not list or get
	extEvent []corev1.Event
}

func run(t *testing.T, w world) (troubleshoot.Report, map[string]string) {
	t.Helper()
	s := lifecycle.Scheme()
	index := func(field string, get func(*corev1.Event) string) (client.Object, string, client.IndexerFunc) {
		return &corev1.Event{}, field, func(o client.Object) []string { return []string{get(o.(*corev1.Event))} }
	}
	// The kinds of the test manifest, mapped as a cluster would map them.
	mapper := meta.NewDefaultRESTMapper(nil)
	for _, gvk := range []schema.GroupVersionKind{
		{Version: "v1", Kind: "ConfigMap"}, {Version: "v1", Kind: "Pod"}, {Version: "v1", Kind: "Secret"}, {Version: "v1", Kind: "Event"},
		{Group: "apps", Version: "v1", Kind: "Deployment"}, {Group: "apps", Version: "v1", Kind: "ReplicaSet"},
	} {
		mapper.Add(gvk, meta.RESTScopeNamespace)
	}
	for _, kind := range []string{"Extension", "ExtensionType"} {
		mapper.Add(v1alpha1.GroupVersion.WithKind(kind), meta.RESTScopeRoot)
	}
	b := fake.NewClientBuilder().WithScheme(s).WithRESTMapper(mapper).WithObjects(w.objs...).
		WithStatusSubresource(&appsv1.Deployment{}).
		WithIndex(index("involvedObject.kind", func(e *corev1.Event) string { return e.InvolvedObject.Kind })).
		WithIndex(index("involvedObject.name", func(e *corev1.Event) string { return e.InvolvedObject.Name })).
		WithIndex(index("reason", func(e *corev1.Event) string { return e.Reason }))
	if w.forbid != "" {
		forbidden := func(obj runtime.Object) error {
			gvk, _, _ := s.ObjectKinds(obj)
			for _, k := range gvk {
				if strings.EqualFold(k.Kind, w.forbid) || strings.EqualFold(strings.TrimSuffix(k.Kind, "List"), w.forbid) {
					return apierrors.NewForbidden(schema.GroupResource{Resource: strings.ToLower(w.forbid) + "s"}, "", errors.New("RBAC"))
				}
			}
			return nil
		}
		b = b.WithInterceptorFuncs(interceptor.Funcs{
			Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
				if err := forbidden(obj); err != nil {
					return err
				}
				return c.Get(ctx, key, obj, opts...)
			},
			List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
				if err := forbidden(list); err != nil {
					return err
				}
				return c.List(ctx, list, opts...)
			}})
	}
	kube := kubefake.NewClientset()
	kube.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		return true, &runtime.Unknown{Raw: []byte("starting\nconnecting with password " + secret + "\n")}, nil
	})
	rows := w.rows
	if rows == nil {
		rows = []install.CheckRow{{Component: "webhook answers", Status: "Yes", Detail: "denied an invalid Extension"}}
	}
	src := troubleshoot.Sources{
		Extensions: &fakeExtensions{ext: w.ext, events: w.extEvent, verdict: w.verdict},
		Client:     b.Build(), Kube: kube, Releases: w.history,
		Check: func(context.Context) ([]install.CheckRow, error) { return rows, nil },
		Now:   func() time.Time { return at },
	}
	var buf bytes.Buffer
	r, err := troubleshoot.Run(context.Background(), src, troubleshoot.Options{Name: "podinfo", Tail: 10}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	return r, untar(t, &buf)
}

// untar returns the archive's files by their path under its top directory, which it
// checks.
func untar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	gz, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string]string{}
	top := troubleshoot.BaseName("podinfo", at)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		dir, name, _ := strings.Cut(h.Name, "/")
		if dir != top {
			t.Errorf("%s is not under %s", h.Name, top)
		}
		data, _ := io.ReadAll(tr)
		files[path.Clean(name)] = string(data)
	}
}

func subjects(fs []troubleshoot.Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Severity+" "+f.Subject+": "+f.Problem)
	}
	return strings.Join(out, "\n")
}

// TestRun: which parts each cluster yields, what the summary finds, and that no file
// carries the protected value, which sits in the release's values, its manifest, a
// ConfigMap, a pod's log and an Event.
func TestRun(t *testing.T) {
	failedHook := &helmrelease.Hook{Name: "podinfo-migrate", Kind: "Job", Events: []helmrelease.HookEvent{helmrelease.HookPreUpgrade},
		LastRun: helmrelease.HookExecution{Phase: helmrelease.HookPhaseFailed}}
	configMap := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "podinfo", Name: "podinfo"}, Data: map[string]string{"values.json": secret}}
	leak := event("podinfo", "Pod", "podinfo-abc-1", "BackOff", "container exited: bad password "+secret)
	denial := event(lifecycle.EventNamespace, "Extension", "podinfo", troubleshoot.DenialReason, "UPDATE of extensions by bob denied:\n[EXT-SCOPE-004] the scope is immutable")
	healthy := func() world {
		e := extension(v1alpha1.ProvisioningSucceeded)
		e.Status.ErrorInfo = nil
		return world{ext: e, history: fakeReleases{revision(1, helmrelease.StatusDeployed)},
			objs: []client.Object{protectedSecret(), configMap, readyDeployment(), pod("podinfo-abc-1", corev1.PodRunning, types{})}}
	}
	for _, tc := range []struct {
		name  string
		world world
		// wantFindings are substrings of the findings, one each; none when empty.
		wantFindings []string
		wantFiles    []string
		// wantIn: file -> substrings it holds.
		wantIn         map[string][]string
		wantNotCollect []string
	}{
		{name: "a healthy extension: every part, nothing wrong", world: healthy(),
			wantFiles: []string{"extension.yaml", "extensiontype.yaml", "status.yaml", "events.yaml", "helm-history.yaml", "objects.yaml",
				"pods.yaml", "logs/podinfo-abc-1/podinfo.log", "denials.yaml", "verdict.yaml", "init-check.txt", "summary.yaml"},
			wantIn: map[string][]string{
				"objects.yaml":       {"kind: Deployment", "status: Current", "kind: ConfigMap"},
				"helm-history.yaml":  {"auth.password", "replicaCount", "chart: podinfo-1.4.0"},
				"pods.yaml":          {"name: podinfo-abc-1", "phase: Running"},
				"init-check.txt":     {"webhook answers"},
				"verdict.yaml":       {"allowed: true"},
				"extensiontype.yaml": {"notCollected:"},
			},
			wantNotCollect: []string{"extensiontype.yaml"},
			wantFindings:   []string{"extension type example.podinfo: it does not exist"}},
		{name: "a failed extension: the state, the failed release and hook, a Deployment not ready, a pending pod", world: func() world {
			w := healthy()
			w.ext = extension(v1alpha1.ProvisioningFailed)
			w.history = fakeReleases{revision(1, helmrelease.StatusSuperseded), revision(2, helmrelease.StatusFailed, failedHook)}
			d := readyDeployment()
			d.Status = appsv1.DeploymentStatus{}
			w.objs = []client.Object{protectedSecret(), configMap, d, &v1alpha1.ExtensionType{ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo"}},
				pod("podinfo-abc-1", corev1.PodPending, types{uid: "uid-rs"}),
				&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "podinfo", Name: "podinfo-abc", UID: "uid-rs",
					OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "podinfo", UID: "uid-deploy"}}}},
				leak, denial}
			return w
		}(),
			wantFindings: []string{
				"Error extension podinfo: provisioning state Failed: HelmFailed: upgrade failed",
				"Error release podinfo/podinfo revision 2: it failed",
				"Error hook Job podinfo/podinfo-migrate: it failed in revision 2 (pre-upgrade)",
				"Warning Deployment podinfo/podinfo: not ready (kstatus InProgress)",
				"Warning pod podinfo/podinfo-abc-1: Pending: it is not scheduled on a node",
				"Warning webhook: denied a write to Extension podinfo (at 2026-11-30T08:00:00Z): UPDATE of extensions by bob denied:\n[EXT-SCOPE-004]",
			},
			wantIn: map[string][]string{
				"events.yaml":       {"BackOff", "container exited: bad password [redacted]"},
				"denials.yaml":      {"EXT-SCOPE-004", "bob"},
				"helm-history.yaml": {"status: failed", "phase: Failed"},
				"status.yaml":       {"provisioningState: Failed"},
				// No node: the log file says so rather than being empty.
				"logs/podinfo-abc-1/podinfo.log": {"is not scheduled on a node"},
			},
			wantNotCollect: []string{"logs/podinfo-abc-1/podinfo.log"}},
		{name: "a pending release and a spec the policies now refuse", world: func() world {
			w := healthy()
			w.history = append(w.history, revision(2, helmrelease.StatusPendingUpgrade))
			w.verdict = policy.Decision{Deny: []policy.Result{{ID: "EXT-VERSION-005", Msg: "version 1.3.0 is not in the catalog"}}}
			w.objs = append(w.objs, &v1alpha1.ExtensionType{ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo"}})
			return w
		}(),
			wantFindings: []string{
				"Error release podinfo/podinfo revision 2: it is pending-upgrade",
				"Error extension podinfo: the policies refuse its current spec, so every write of it (an update, an upgrade) is refused:\n[EXT-VERSION-005]",
			},
			wantIn: map[string][]string{"verdict.yaml": {"allowed: false", "EXT-VERSION-005"}}},
		{name: "an object deleted by hand, no pods, no webhook", world: func() world {
			w := healthy()
			w.objs = []client.Object{protectedSecret(), readyDeployment(), &v1alpha1.ExtensionType{ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo"}}}
			w.rows = []install.CheckRow{{Component: "webhook answers", Status: "No", Detail: "an invalid Extension was accepted"}}
			return w
		}(),
			wantFindings: []string{
				"Error ConfigMap podinfo/podinfo: it is in the release's manifest but not on the cluster",
				"Warning webhook: it does not review writes",
			},
			wantIn: map[string][]string{"pods.yaml": {"no pods of release podinfo exist in namespace podinfo"}, "objects.yaml": {"status: NotFound"}}},
		{name: "a reader who may not list pods gets the rest, and a note", world: func() world {
			w := healthy()
			w.objs = append(w.objs, &v1alpha1.ExtensionType{ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo"}})
			w.forbid = "Pod"
			return w
		}(),
			wantNotCollect: []string{"pods.yaml"},
			wantIn:         map[string][]string{"pods.yaml": {"notCollected:", "forbidden"}, "objects.yaml": {"status: Current"}}},
		{name: "a reader who may not read the protected settings is warned the archive is not scrubbed", world: func() world {
			w := healthy()
			w.objs = []client.Object{protectedSecret(), readyDeployment(), configMap, &v1alpha1.ExtensionType{ObjectMeta: metav1.ObjectMeta{Name: "example.podinfo"}}}
			w.forbid = "Secret"
			return w
		}(),
			wantFindings: []string{"Warning archive: the protected settings (secret podinfo/podinfo-protected-settings) could not be read to scrub"}},
		{name: "an extension that does not exist: its denials and the check, and why the rest is missing", world: world{
			objs: []client.Object{event(lifecycle.EventNamespace, "Extension", "podinfo", troubleshoot.DenialReason, "CREATE of extensions by bob denied:\n[EXT-TYPE-001] no such type")}},
			wantFiles:      []string{"extension.yaml", "denials.yaml", "init-check.txt", "summary.yaml"},
			wantNotCollect: []string{"extension.yaml"},
			wantFindings: []string{"Error extension podinfo: it does not exist",
				"Warning webhook: denied a write to Extension podinfo (at 2026-11-30T08:00:00Z): CREATE of extensions by bob denied:\n[EXT-TYPE-001]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, files := run(t, tc.world)
			// The secret scan: a case whose reader may read the Secret leaks nothing.
			if tc.world.forbid != "Secret" {
				for name, data := range files {
					if strings.Contains(data, secret) {
						t.Errorf("%s holds the protected value:\n%s", name, data)
					}
				}
			}
			for _, f := range tc.wantFiles {
				if _, ok := files[f]; !ok {
					t.Errorf("the archive lacks %s (it has %v)", f, r.Files)
				}
			}
			if tc.wantFiles != nil && len(files) != len(tc.wantFiles) {
				t.Errorf("the archive has %v, want %v", r.Files, tc.wantFiles)
			}
			if len(r.Files) != len(files) {
				t.Errorf("the report lists %d files, the archive has %d", len(r.Files), len(files))
			}
			for f, wants := range tc.wantIn {
				for _, w := range wants {
					if !strings.Contains(files[f], w) {
						t.Errorf("%s lacks %q:\n%s", f, w, files[f])
					}
				}
			}
			got := subjects(r.Findings)
			for _, w := range tc.wantFindings {
				if !strings.Contains(got, w) {
					t.Errorf("no finding %q among:\n%s", w, got)
				}
			}
			if n := len(r.Findings); n != len(tc.wantFindings) {
				t.Errorf("%d findings, want %d:\n%s", n, len(tc.wantFindings), got)
			}
			var notCollected []string
			for _, n := range r.NotCollected {
				notCollected = append(notCollected, n.File)
			}
			if strings.Join(notCollected, ",") != strings.Join(tc.wantNotCollect, ",") {
				t.Errorf("not collected %v, want %v", r.NotCollected, tc.wantNotCollect)
			}
			var summary troubleshoot.Report
			if err := yaml.Unmarshal([]byte(files["summary.yaml"]), &summary); err != nil || len(summary.Findings) != len(r.Findings) {
				t.Errorf("summary.yaml does not hold the report (%v):\n%s", err, files["summary.yaml"])
			}
		})
	}
}

// TestDenialReasonIsTheWebhooks: troubleshoot looks for the Events the webhook writes.
func TestDenialReasonIsTheWebhooks(t *testing.T) {
	if troubleshoot.DenialReason != admission.DenialReason {
		t.Errorf("troubleshoot reads reason %q, the webhook writes %q", troubleshoot.DenialReason, admission.DenialReason)
	}
}

// TestWriteSummary: findings are numbered, each with its next step; a clean run says so.
func TestWriteSummary(t *testing.T) {
	for _, tc := range []struct {
		name   string
		report troubleshoot.Report
		want   []string
	}{
		{name: "nothing wrong", report: troubleshoot.Report{Archive: "a.tar.gz", Files: []string{"x"}},
			want: []string{"Archive: a.tar.gz (1 files)", "Nothing looks wrong."}},
		{name: "findings and parts not collected", report: troubleshoot.Report{Archive: "a.tar.gz",
			Findings:     []troubleshoot.Finding{{Severity: "Error", Subject: "pod p/x", Problem: "line one\nline two", Next: "describe it"}},
			NotCollected: []troubleshoot.NotCollected{{File: "pods.yaml", Reason: "forbidden"}}},
			want: []string{"What looks wrong (1):", "1. Error: pod p/x: line one\n   line two\n   Next: describe it", "Not collected:\n  pods.yaml: forbidden"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := troubleshoot.WriteSummary(&b, tc.report); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("summary lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}
