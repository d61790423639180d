package release

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// ReadyProgress is told, while Helm waits for a release's objects to be ready, how
// many of them are, and, when the wait ends, which were not. Readiness is kstatus's
// (Current): Helm's own waiter, which decides, judges by its own rules, so the count
// is what a user watching would see, not Helm's verdict.
type ReadyProgress interface {
	// Ready reports ready of total objects; called after each poll.
	Ready(ready, total int)
	// WaitEnded is called once, when Helm's wait returns, with the objects that were
	// not ready then ("Kind/namespace/name"), sorted.
	WaitEnded(notReady []string)
}

// pollInterval is how often the release's objects are read while Helm waits.
var pollInterval = 2 * time.Second

// objectRef names one object of a release, as Helm's wait holds it.
type objectRef struct {
	gvr             schema.GroupVersionResource
	kind            string
	namespace, name string
}

func (o objectRef) String() string {
	if o.namespace == "" {
		return o.kind + "/" + o.name
	}
	return o.kind + "/" + o.namespace + "/" + o.name
}

// readiness reads the objects and tells which are ready; a missing or unreadable
// object is not.
func readiness(ctx context.Context, dyn dynamic.Interface, objs []objectRef) (ready int, notReady []string) {
	for _, o := range objs {
		u, err := dyn.Resource(o.gvr).Namespace(o.namespace).Get(ctx, o.name, metav1.GetOptions{})
		if err == nil {
			if res, cerr := kstatus.Compute(u); cerr == nil && res.Status == kstatus.CurrentStatus {
				ready++
				continue
			}
		}
		notReady = append(notReady, o.String())
	}
	sort.Strings(notReady)
	return ready, notReady
}

// watch polls objs every interval until stop is closed, reporting to p; then polls
// once more and reports the end. It returns when the end is reported.
func watch(ctx context.Context, dyn dynamic.Interface, objs []objectRef, p ReadyProgress, interval time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ready, _ := readiness(ctx, dyn, objs)
		p.Ready(ready, len(objs))
		select {
		case <-stop:
			ready, notReady := readiness(ctx, dyn, objs)
			p.Ready(ready, len(objs))
			p.WaitEnded(notReady)
			return
		case <-ctx.Done():
			p.WaitEnded(nil)
			return
		case <-t.C:
		}
	}
}

// watchingKube is Helm's kube client whose waits are watched: while Helm's Wait or
// WaitWithJobs runs, the objects it waits for are polled and counted. It embeds the
// concrete client so that every optional interface Helm asserts on it stays.
type watchingKube struct {
	*kube.Client
	ctx      context.Context
	dyn      dynamic.Interface
	progress ReadyProgress
}

func (w *watchingKube) Wait(resources kube.ResourceList, timeout time.Duration) error {
	return w.watched(resources, func() error { return w.Client.Wait(resources, timeout) })
}

func (w *watchingKube) WaitWithJobs(resources kube.ResourceList, timeout time.Duration) error {
	return w.watched(resources, func() error { return w.Client.WaitWithJobs(resources, timeout) })
}

func (w *watchingKube) watched(resources kube.ResourceList, wait func() error) error {
	objs := make([]objectRef, 0, len(resources))
	for _, r := range resources {
		if r.Mapping == nil {
			continue
		}
		objs = append(objs, objectRef{gvr: r.Mapping.Resource, kind: r.Mapping.GroupVersionKind.Kind, namespace: r.Namespace, name: r.Name})
	}
	if len(objs) == 0 {
		return wait()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		watch(w.ctx, w.dyn, objs, w.progress, pollInterval, stop)
	}()
	err := wait()
	close(stop)
	wg.Wait()
	return err
}

// watchWaits makes cfg's kube client report the waits of one request to
// req.Progress. Only Helm's own client is wrapped (tests' fakes are left as they are).
func (c *Client) watchWaits(ctx context.Context, cfg *action.Configuration, req Request) error {
	kc, ok := cfg.KubeClient.(*kube.Client)
	if req.Progress == nil || !req.Wait || !ok || c.Getter == nil {
		return nil
	}
	rc, err := c.Getter.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("helm: %w", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("helm: %w", err)
	}
	cfg.KubeClient = &watchingKube{Client: kc, ctx: ctx, dyn: dyn, progress: req.Progress}
	return nil
}
