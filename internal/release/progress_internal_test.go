package release

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/kube"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

// recorder is a ReadyProgress that keeps what it was told.
// first is closed on the first report.
type recorder struct {
	mu       sync.Mutex
	ready    [][2]int
	ended    int
	notReady []string
	first    chan struct{}
}

func (r *recorder) Ready(ready, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ready) == 0 && r.first != nil {
		close(r.first)
	}
	r.ready = append(r.ready, [2]int{ready, total})
}

func (r *recorder) WaitEnded(notReady []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended++
	r.notReady = notReady
}

var (
	configMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

func obj(apiVersion, kind, name string, fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": "team-a", "generation": int64(1)}}}
	for k, v := range fields {
		u.Object[k] = v
	}
	return u
}

// readyDeployment is a Deployment its controller has rolled out.
func readyDeployment(name string) *unstructured.Unstructured {
	return obj("apps/v1", "Deployment", name, map[string]any{
		"spec": map[string]any{"replicas": int64(1)},
		"status": map[string]any{"observedGeneration": int64(1), "replicas": int64(1), "updatedReplicas": int64(1),
			"readyReplicas": int64(1), "availableReplicas": int64(1),
			"conditions": []any{map[string]any{"type": "Available", "status": "True"}, map[string]any{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}}},
	})
}

// TestWatch: while Helm waits, the release's objects are read and counted ready by
// kstatus; when the wait ends they are read once more and the ones still not ready
// (or missing) are named, sorted.
func TestWatch(t *testing.T) {
	refs := []objectRef{
		{gvr: deployments, kind: "Deployment", namespace: "team-a", name: "web"},
		{gvr: configMaps, kind: "ConfigMap", namespace: "team-a", name: "web"},
		{gvr: deployments, kind: "Deployment", namespace: "team-a", name: "api"},
	}
	tests := []struct {
		name string
		// objs exist from the start; rollout makes these Deployments ready while
		// the wait runs.
		objs         []runtime.Object
		rollout      []string
		wantFirst    [2]int
		wantLast     [2]int
		wantNotReady []string
	}{{
		name: "rolled out while waiting",
		objs: []runtime.Object{obj("apps/v1", "Deployment", "web", map[string]any{"spec": map[string]any{"replicas": int64(1)}}),
			obj("v1", "ConfigMap", "web", nil), obj("apps/v1", "Deployment", "api", map[string]any{"spec": map[string]any{"replicas": int64(1)}})},
		rollout:   []string{"web", "api"},
		wantFirst: [2]int{1, 3},
		wantLast:  [2]int{3, 3},
	}, {
		name:         "never ready, and one missing",
		objs:         []runtime.Object{obj("apps/v1", "Deployment", "web", map[string]any{"spec": map[string]any{"replicas": int64(1)}}), obj("v1", "ConfigMap", "web", nil)},
		wantFirst:    [2]int{1, 3},
		wantLast:     [2]int{1, 3},
		wantNotReady: []string{"Deployment/team-a/api", "Deployment/team-a/web"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
				map[schema.GroupVersionResource]string{configMaps: "ConfigMapList", deployments: "DeploymentList"}, tt.objs...)
			rec := recorder{first: make(chan struct{})}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				watch(context.Background(), dyn, refs, &rec, time.Millisecond, stop)
				close(done)
			}()
			<-rec.first // the rollout comes after the first poll, however late it runs
			for _, name := range tt.rollout {
				if _, err := dyn.Resource(deployments).Namespace("team-a").Update(context.Background(), readyDeployment(name), metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			close(stop)
			<-done
			if len(rec.ready) < 2 || rec.ready[0] != tt.wantFirst || rec.ready[len(rec.ready)-1] != tt.wantLast {
				t.Errorf("reports %v, want %v first and %v last", rec.ready, tt.wantFirst, tt.wantLast)
			}
			if rec.ended != 1 || !slices.Equal(rec.notReady, tt.wantNotReady) {
				t.Errorf("ended %d times, not ready %v; want once, %v", rec.ended, rec.notReady, tt.wantNotReady)
			}
		})
	}
}

// TestFailedWaitNamesNotReady: a wait that fails, with or without a progress drawn,
// names each object that is not ready with kstatus's word on it, so the error says
// what to look at; a wait that fails with every object ready after all (Helm's
// readiness is not kstatus's) keeps Helm's error as it is, and a wait that succeeds
// returns nil.
func TestFailedWaitNamesNotReady(t *testing.T) {
	pending := obj("apps/v1", "Deployment", "web", map[string]any{
		"spec":   map[string]any{"replicas": int64(1)},
		"status": map[string]any{"observedGeneration": int64(1), "replicas": int64(1), "updatedReplicas": int64(1)},
	})
	resources := kube.ResourceList{
		{Name: "web", Namespace: "team-a", Mapping: &meta.RESTMapping{Resource: deployments, GroupVersionKind: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}}},
		{Name: "web", Namespace: "team-a", Mapping: &meta.RESTMapping{Resource: configMaps, GroupVersionKind: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}}},
		{Name: "api", Namespace: "team-a", Mapping: &meta.RESTMapping{Resource: deployments, GroupVersionKind: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}}},
	}
	helmErr := context.DeadlineExceeded
	tests := []struct {
		name     string
		objs     []runtime.Object
		waitErr  error
		progress bool
		// wantNotReady nil: the error must be waitErr itself.
		wantNotReady []string
	}{
		{name: "timed out, no progress drawn", objs: []runtime.Object{pending, obj("v1", "ConfigMap", "web", nil)}, waitErr: helmErr,
			wantNotReady: []string{"Deployment team-a/api (missing)", "Deployment team-a/web (InProgress: Available: 0/1)"}},
		{name: "timed out, progress drawn", objs: []runtime.Object{pending, obj("v1", "ConfigMap", "web", nil)}, waitErr: helmErr, progress: true,
			wantNotReady: []string{"Deployment team-a/api (missing)", "Deployment team-a/web (InProgress: Available: 0/1)"}},
		{name: "timed out, the pods say why", objs: []runtime.Object{withSelector(pending), obj("v1", "ConfigMap", "web", nil),
			podOf("web-1", "Running", map[string]any{"type": "Ready", "status": "True"}),
			podOf("web-2", "Pending", map[string]any{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."}),
			podOf("web-3", "Pending", map[string]any{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/2 nodes are available."}),
			podOf("other-1", "Pending", map[string]any{"type": "PodScheduled", "status": "False", "message": "not web's"})}, waitErr: helmErr,
			wantNotReady: []string{"Deployment team-a/api (missing)",
				"Deployment team-a/web (InProgress: Available: 0/1; pod web-2 unschedulable: 0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.; 1 more pods not ready)"}},
		{name: "failed with everything ready", objs: []runtime.Object{readyDeployment("web"), readyDeployment("api"), obj("v1", "ConfigMap", "web", nil)}, waitErr: helmErr},
		{name: "succeeded", objs: []runtime.Object{pending}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
				map[schema.GroupVersionResource]string{configMaps: "ConfigMapList", deployments: "DeploymentList", pods: "PodList"}, tt.objs...)
			w := &watchingKube{ctx: context.Background(), dyn: dyn}
			rec := &recorder{}
			if tt.progress {
				w.progress = rec
			}
			err := w.watched(resources, 20*time.Second, func() error { return tt.waitErr })
			if tt.progress && rec.ended != 1 {
				t.Errorf("the progress was told the wait ended %d times, want once", rec.ended)
			}
			var we *WaitError
			if tt.wantNotReady == nil {
				if err != tt.waitErr { //nolint:errorlint // the very error Helm returned, unwrapped
					t.Fatalf("got %v, want Helm's error as it is (%v)", err, tt.waitErr)
				}
				return
			}
			if !errors.As(err, &we) || !errors.Is(err, helmErr) {
				t.Fatalf("got %T %v, want a *WaitError wrapping Helm's", err, err)
			}
			if !slices.Equal(we.NotReady, tt.wantNotReady) {
				t.Errorf("not ready %q, want %q", we.NotReady, tt.wantNotReady)
			}
			want := "waiting for the release's objects to be ready: context deadline exceeded; not ready after 20s: " + strings.Join(tt.wantNotReady, ", ")
			if err.Error() != want {
				t.Errorf("error %q,\nwant  %q", err, want)
			}
		})
	}
}

// TestHookErrorOneLine: a hook's failure, which Helm prints as a multi-line list when
// it comes from WatchUntilReady, is one line, and names the hook Job's failed pods
// with how their containers ended; pods that did not fail, or belong to another Job,
// are left out.
func TestHookErrorOneLine(t *testing.T) {
	pod := func(name, job, phase string, exit int64) *unstructured.Unstructured {
		u := obj("v1", "Pod", name, map[string]any{"status": map[string]any{"phase": phase,
			"containerStatuses": []any{map[string]any{"name": "hook", "state": map[string]any{"terminated": map[string]any{"exitCode": exit, "reason": "Error"}}}}}})
		u.SetLabels(map[string]string{"batch.kubernetes.io/job-name": job})
		return u
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{pods: "PodList"},
		pod("web-hook-b", "web-hook", "Failed", 1), pod("web-hook-a", "web-hook", "Failed", 2),
		pod("web-hook-c", "web-hook", "Running", 0), pod("api-hook-a", "api-hook", "Failed", 1))
	got := failedPods(context.Background(), dyn, "team-a", "web-hook")
	want := []string{"pod web-hook-a: container hook exited 2 (Error)", "pod web-hook-b: container hook exited 1 (Error)"}
	if !slices.Equal(got, want) {
		t.Errorf("failed pods %q, want %q", got, want)
	}
	he := &hookError{errs: []error{errors.New("job web-hook failed: BackoffLimitExceeded"), errors.New("job api-hook failed: DeadlineExceeded")}, pods: want}
	if msg := he.Error(); msg != "job web-hook failed: BackoffLimitExceeded; job api-hook failed: DeadlineExceeded (pod web-hook-a: container hook exited 2 (Error); pod web-hook-b: container hook exited 1 (Error))" {
		t.Errorf("hook error %q", msg)
	}
}

// withSelector gives a Deployment the selector app=<its name>.
func withSelector(d *unstructured.Unstructured) *unstructured.Unstructured {
	d = d.DeepCopy()
	_ = unstructured.SetNestedMap(d.Object, map[string]any{"matchLabels": map[string]any{"app": d.GetName()}}, "spec", "selector")
	return d
}

// podOf is a pod labelled app=<its name up to the dash>, in phase with one condition.
func podOf(name, phase string, cond map[string]any) *unstructured.Unstructured {
	u := obj("v1", "Pod", name, map[string]any{"status": map[string]any{"phase": phase, "conditions": []any{cond}}})
	app, _, _ := strings.Cut(name, "-")
	u.SetLabels(map[string]string{"app": app})
	return u
}
