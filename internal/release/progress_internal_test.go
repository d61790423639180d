package release

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

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
