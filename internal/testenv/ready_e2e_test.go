//go:build e2e

package testenv

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestReadyCluster starts a Ready cluster from the real binaries (make cluster-assets)
// and checks that it runs workloads as a cluster with kubelets does: a Deployment
// rolls out on the simulated nodes, a Job completes, and a pod that fits no node stays
// Pending, so readiness is earned, not granted to everything. Stop ends every process.
func TestReadyCluster(t *testing.T) {
	RequireIntegration(t)
	began := time.Now()
	env, err := Start(Options{Ready: true, Nodes: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Ready cluster with 2 nodes started in %s", time.Since(began).Round(time.Millisecond))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = env.Stop()
		}
	})
	if got := env.Nodes(); !slices.Equal(got, []string{"kwok-node-0", "kwok-node-1"}) {
		t.Fatalf("Nodes() = %v, want kwok-node-0 and kwok-node-1", got)
	}

	labels := map[string]string{"app": "web"}
	podSpec := corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}}
	unschedulable := *podSpec.DeepCopy()
	unschedulable.NodeSelector = map[string]string{"kubernetes.io/os": "plan9"}

	tests := []struct {
		name string
		obj  client.Object
		// done reports whether the workload reached its end state, read fresh.
		done func(client.Object) bool
		// pods selects the workload's pods; wantPhase is the phase each must have.
		pods      map[string]string
		wantPhase corev1.PodPhase
		wantCount int
		// unscheduled: the pods must carry PodScheduled=False, reason Unschedulable.
		unscheduled bool
	}{
		{
			name: "a Deployment rolls out: readyReplicas == replicas",
			obj: &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
				Spec: appsv1.DeploymentSpec{
					Replicas: ptr.To[int32](3),
					Selector: &metav1.LabelSelector{MatchLabels: labels},
					Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec},
				},
			},
			done: func(o client.Object) bool {
				d := o.(*appsv1.Deployment)
				return d.Status.ObservedGeneration == d.Generation && d.Status.ReadyReplicas == *d.Spec.Replicas &&
					d.Status.UpdatedReplicas == *d.Spec.Replicas && d.Status.AvailableReplicas == *d.Spec.Replicas
			},
			pods:      labels,
			wantPhase: corev1.PodRunning,
			wantCount: 3,
		},
		{
			name: "a Job completes",
			obj: &batchv1.Job{
				ObjectMeta: metav1.ObjectMeta{Name: "once", Namespace: "default"},
				Spec: batchv1.JobSpec{
					Completions: ptr.To[int32](2),
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "once"}},
						Spec:       withRestartNever(podSpec),
					},
				},
			},
			done: func(o client.Object) bool {
				j := o.(*batchv1.Job)
				for _, c := range j.Status.Conditions {
					if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
						return j.Status.Succeeded == 2
					}
				}
				return false
			},
			pods:      map[string]string{"app": "once"},
			wantPhase: corev1.PodSucceeded,
			wantCount: 2,
		},
		{
			name: "a Deployment whose pods fit no node never becomes ready",
			obj: &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: "nowhere", Namespace: "default"},
				Spec: appsv1.DeploymentSpec{
					Replicas: ptr.To[int32](1),
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "nowhere"}},
					Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nowhere"}}, Spec: unschedulable},
				},
			},
			done: func(o client.Object) bool {
				// Its end state is a pod the scheduler has given up on for now.
				d := o.(*appsv1.Deployment)
				return d.Status.ObservedGeneration == d.Generation && d.Status.Replicas == 1
			},
			pods:        map[string]string{"app": "nowhere"},
			wantPhase:   corev1.PodPending,
			wantCount:   1,
			unscheduled: true,
		},
	}
	podRange := netip.MustParsePrefix(podCIDR)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := env.Client.Create(ctx, tt.obj); err != nil {
				t.Fatal(err)
			}
			key := client.ObjectKeyFromObject(tt.obj)
			err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
				if err := env.Client.Get(ctx, key, tt.obj); err != nil {
					return false, err
				}
				return tt.done(tt.obj), nil
			})
			if err != nil {
				t.Fatalf("%s/%s did not reach its end state: %v; status: %+v", key.Namespace, key.Name, err, tt.obj)
			}

			var pods []corev1.Pod
			err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
				list := &corev1.PodList{}
				if err := env.Client.List(ctx, list, client.InNamespace("default"), client.MatchingLabels(tt.pods)); err != nil {
					return false, err
				}
				pods = list.Items
				if len(pods) != tt.wantCount {
					return false, nil
				}
				for _, p := range pods {
					if p.Status.Phase != tt.wantPhase || (tt.unscheduled && !unschedulableCond(&p)) {
						return false, nil
					}
				}
				return true, nil
			})
			if err != nil {
				t.Fatalf("want %d pods in phase %s (unschedulable: %v): %v; pods: %s", tt.wantCount, tt.wantPhase, tt.unscheduled, err, podSummary(pods))
			}
			for _, p := range pods {
				if tt.unscheduled {
					if p.Spec.NodeName != "" {
						t.Errorf("pod %s was bound to %s; no node has kubernetes.io/os=plan9", p.Name, p.Spec.NodeName)
					}
					continue
				}
				if !slices.Contains(env.Nodes(), p.Spec.NodeName) {
					t.Errorf("pod %s runs on %q, not on a kwok node %v", p.Name, p.Spec.NodeName, env.Nodes())
				}
				if ip, err := netip.ParseAddr(p.Status.PodIP); err != nil || !podRange.Contains(ip) {
					t.Errorf("pod %s has IP %q, want one in kwok's %s", p.Name, p.Status.PodIP, podCIDR)
				}
				// The ServiceAccount admission plugin is on: the pod got the token volume.
				if p.Spec.ServiceAccountName != "default" || !hasTokenVolume(&p) {
					t.Errorf("pod %s: serviceAccountName %q, token volume %v; want default and a projected token",
						p.Name, p.Spec.ServiceAccountName, hasTokenVolume(&p))
				}
			}
		})
	}

	// The failure matrix restarts the API server under a running operation: the
	// controllers, the scheduler and kwok must reconnect and go on.
	t.Run("after an API server restart the Deployment scales to 4 Ready replicas", func(t *testing.T) {
		if err := env.RestartAPIServer(""); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		d := &appsv1.Deployment{}
		key := client.ObjectKey{Namespace: "default", Name: "web"}
		err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			if err := env.Client.Get(ctx, key, d); err != nil {
				return false, nil // the API server is still coming back
			}
			d.Spec.Replicas = ptr.To[int32](4)
			return env.Client.Update(ctx, d) == nil, nil
		})
		if err != nil {
			t.Fatalf("scaling web to 4 after the restart: %v", err)
		}
		err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			if err := env.Client.Get(ctx, key, d); err != nil {
				return false, nil
			}
			return d.Status.ObservedGeneration == d.Generation && d.Status.ReadyReplicas == 4, nil
		})
		if err != nil {
			t.Fatalf("web did not reach 4 ready replicas after the restart: %v; status %+v", err, d.Status)
		}
	})

	procs := slices.Clone(env.components)
	if len(procs) != 3 {
		t.Fatalf("a Ready cluster runs 3 processes beside envtest's, got %d", len(procs))
	}
	stopped = true
	if err := env.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for _, c := range procs {
		if err := c.cmd.Process.Signal(syscall.Signal(0)); !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("%s (pid %d) still runs after Stop: %v", c.name, c.cmd.Process.Pid, err)
		}
	}
}

func withRestartNever(s corev1.PodSpec) corev1.PodSpec {
	s = *s.DeepCopy()
	s.RestartPolicy = corev1.RestartPolicyNever
	return s
}

func unschedulableCond(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled {
			return c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable
		}
	}
	return false
}

func hasTokenVolume(p *corev1.Pod) bool {
	for _, v := range p.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken != nil {
				return true
			}
		}
	}
	return false
}

func podSummary(pods []corev1.Pod) string {
	var out []byte
	for _, p := range pods {
		out = append(out, p.Name+" "+string(p.Status.Phase)+" on "+p.Spec.NodeName+"; "...)
	}
	return string(out)
}
