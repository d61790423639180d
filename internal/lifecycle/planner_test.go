package lifecycle_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// plannedCluster is a fake cluster of n installed auto-upgrading extensions of one
// type, every Get and List counted, and a manager for it.
func plannedCluster(t testing.TB, n int) (*lifecycle.Manager, *atomic.Int64) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	info, err := policy.ClusterFromVersion("v1.37.1", "", "")
	if err != nil {
		t.Fatal(err)
	}
	objs := []client.Object{podinfoType(false)}
	for i := range n {
		e := installed(fmt.Sprintf("ext-%d", i), "1.4.0", v1alpha1.ProvisioningSucceeded, false)
		e.Spec.Scope.Cluster.ReleaseNamespace = fmt.Sprintf("ns-%d", i)
		e.Status.Release.Namespace = e.Spec.Scope.Cluster.ReleaseNamespace
		objs = append(objs, e)
	}
	count := &atomic.Int64{}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			count.Add(1)
			return c.Get(ctx, key, obj, opts...)
		},
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			count.Add(1)
			return c.List(ctx, list, opts...)
		},
	}).Build()
	e, err := policy.New(context.Background(), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := lifecycle.New(lifecycle.Config{
		Client:  c,
		Policy:  e,
		Cluster: cluster{info},
		Charts:  func(v1alpha1.ChartSource) (chartsource.Source, error) { return source{podinfoVersions}, nil },
		Holder:  "test@lifecycle/0-test",
	})
	return m, count
}

// BenchmarkUpgradeDryRun is `upgrade --all --dry-run` over 100 extensions, against a
// fake client (no network: the planning's own cost and its reads).
func BenchmarkUpgradeDryRun(b *testing.B) {
	m, _ := plannedCluster(b, 100)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Upgrade(context.Background(), lifecycle.UpgradeRequest{DryRun: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUpgradePlanningReadsTheClusterOnce: `upgrade --all --dry-run` makes the same
// number of API requests for 10 extensions as for 500 (O(types), not O(extensions)),
// and plans each of them.
func TestUpgradePlanningReadsTheClusterOnce(t *testing.T) {
	requests := map[int]int64{}
	for _, n := range []int{10, 500} {
		m, count := plannedCluster(t, n)
		plans, err := m.Upgrade(context.Background(), lifecycle.UpgradeRequest{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(plans) != n {
			t.Fatalf("%d extensions, %d plans", n, len(plans))
		}
		for _, p := range plans {
			if p.Action != lifecycle.ActionUpgrade || p.Target != "1.4.1" {
				t.Fatalf("%d extensions: plan %+v, want an upgrade to 1.4.1", n, p)
			}
		}
		requests[n] = count.Load()
	}
	if requests[10] != requests[500] {
		t.Errorf("planning 10 extensions took %d requests, 500 took %d: planning reads per extension", requests[10], requests[500])
	}
	t.Logf("requests: %v", requests)
}
