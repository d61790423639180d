package release

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
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

// WaitError is a wait for a release's objects that ended (timed out) with some not
// ready; it names them, with kstatus's status and message for each, so that the
// failure says what to look at whether or not a terminal showed the progress.
type WaitError struct {
	// Err is Helm's own error (a deadline exceeded: it names nothing).
	Err     error
	Timeout time.Duration
	// NotReady are the objects not ready when the wait ended, sorted, each
	// "Kind namespace/name (status: message)".
	NotReady []string
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("waiting for the release's objects to be ready: %v; not ready after %s: %s",
		e.Err, e.Timeout, strings.Join(e.NotReady, ", "))
}

func (e *WaitError) Unwrap() error { return e.Err }

// describeNotReady reads the objects and describes each that is not ready (kstatus:
// anything but Current), sorted.
func describeNotReady(ctx context.Context, dyn dynamic.Interface, objs []objectRef) []string {
	var out []string
	for _, o := range objs {
		name := o.name
		if o.namespace != "" {
			name = o.namespace + "/" + o.name
		}
		u, err := dyn.Resource(o.gvr).Namespace(o.namespace).Get(ctx, o.name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			out = append(out, fmt.Sprintf("%s %s (missing)", o.kind, name))
			continue
		case err != nil:
			out = append(out, fmt.Sprintf("%s %s (unreadable: %v)", o.kind, name, err))
			continue
		}
		res, err := kstatus.Compute(u)
		switch {
		case err != nil:
			out = append(out, fmt.Sprintf("%s %s (status unknown: %v)", o.kind, name, err))
		case res.Status != kstatus.CurrentStatus:
			detail := string(res.Status)
			if res.Message != "" {
				detail += ": " + res.Message
			}
			if why := podHint(ctx, dyn, u); why != "" {
				detail += "; " + why
			}
			out = append(out, fmt.Sprintf("%s %s (%s)", o.kind, name, detail))
		}
	}
	sort.Strings(out)
	return out
}

// podHint says why a workload is not ready, from the first of its pods (by name)
// that is not: unschedulable (the scheduler's message), a container waiting or
// ended (its reason), "" for any other object or when no pod says. A count of
// workloads' replicas names no cause; the pod's condition usually does.
func podHint(ctx context.Context, dyn dynamic.Interface, u *unstructured.Unstructured) string {
	switch u.GetKind() {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet":
	default:
		return ""
	}
	raw, found, _ := unstructured.NestedMap(u.Object, "spec", "selector")
	if !found {
		return ""
	}
	ls := &metav1.LabelSelector{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, ls); err != nil {
		return ""
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil || sel.Empty() {
		return ""
	}
	list, err := dyn.Resource(pods).Namespace(u.GetNamespace()).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return ""
	}
	var hints []string
	for i := range list.Items {
		if h := podNotReady(&list.Items[i]); h != "" {
			hints = append(hints, h)
		}
	}
	if len(hints) == 0 {
		return ""
	}
	sort.Strings(hints)
	if len(hints) > 1 {
		return fmt.Sprintf("%s; %d more pods not ready", hints[0], len(hints)-1)
	}
	return hints[0]
}

// podNotReady says why a pod is not ready, "" when it is (or is going away).
func podNotReady(p *unstructured.Unstructured) string {
	if p.GetDeletionTimestamp() != nil {
		return ""
	}
	conds, _, _ := unstructured.NestedSlice(p.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		typ, _, _ := unstructured.NestedString(m, "type")
		status, _, _ := unstructured.NestedString(m, "status")
		msg, _, _ := unstructured.NestedString(m, "message")
		switch {
		case typ == "Ready" && status == "True":
			return ""
		case typ == "PodScheduled" && status == "False":
			return fmt.Sprintf("pod %s unschedulable: %s", p.GetName(), msg)
		}
	}
	statuses, _, _ := unstructured.NestedSlice(p.Object, "status", "containerStatuses")
	for _, cs := range statuses {
		m, _ := cs.(map[string]any)
		name, _, _ := unstructured.NestedString(m, "name")
		if reason, found, _ := unstructured.NestedString(m, "state", "waiting", "reason"); found {
			msg, _, _ := unstructured.NestedString(m, "state", "waiting", "message")
			return strings.TrimSuffix(fmt.Sprintf("pod %s: container %s waiting: %s: %s", p.GetName(), name, reason, msg), ": ")
		}
		if code, found, _ := unstructured.NestedInt64(m, "state", "terminated", "exitCode"); found {
			reason, _, _ := unstructured.NestedString(m, "state", "terminated", "reason")
			return fmt.Sprintf("pod %s: container %s exited %d (%s)", p.GetName(), name, code, reason)
		}
	}
	phase, _, _ := unstructured.NestedString(p.Object, "status", "phase")
	return fmt.Sprintf("pod %s %s, not ready", p.GetName(), phase)
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
// WaitWithJobs runs, the objects it waits for are polled and counted (with a
// progress), and a wait that fails names the objects that were not ready
// (WaitError). It embeds the concrete client so that every optional interface Helm
// asserts on it stays.
type watchingKube struct {
	*kube.Client
	ctx context.Context
	dyn dynamic.Interface
	// progress is nil when nothing is drawn: only a failed wait is described.
	progress ReadyProgress
}

func (w *watchingKube) Wait(resources kube.ResourceList, timeout time.Duration) error {
	return w.watched(resources, timeout, func() error { return w.Client.Wait(resources, timeout) })
}

func (w *watchingKube) WaitWithJobs(resources kube.ResourceList, timeout time.Duration) error {
	return w.watched(resources, timeout, func() error { return w.Client.WaitWithJobs(resources, timeout) })
}

// WatchUntilReady is Helm's watch of a hook's objects (a Job until it ends). Its error
// is a go-multierror list, which Helm prints inside its own message as a multi-line
// "1 error occurred:\n\t* ..." block: the errors are joined on one line instead, and
// the failed pods of a hook Job are named with how their containers ended, for the
// user to look at (`kubectl logs`).
func (w *watchingKube) WatchUntilReady(resources kube.ResourceList, timeout time.Duration) error {
	err := w.Client.WatchUntilReady(resources, timeout)
	if err == nil {
		return nil
	}
	he := &hookError{errs: []error{err}}
	// *multierror.Error, by its method: the module is Helm's dependency, not ours.
	var list interface{ WrappedErrors() []error }
	if errors.As(err, &list) {
		he.errs = list.WrappedErrors()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), describeTimeout)
	defer cancel()
	for _, r := range resources {
		if r.Mapping != nil && r.Mapping.GroupVersionKind.Kind == "Job" {
			he.pods = append(he.pods, failedPods(ctx, w.dyn, r.Namespace, r.Name)...)
		}
	}
	return he
}

// hookError is a hook's failure on one line, with the hook Jobs' failed pods.
type hookError struct {
	errs []error
	pods []string
}

func (e *hookError) Error() string {
	msgs := make([]string, 0, len(e.errs))
	for _, err := range e.errs {
		msgs = append(msgs, err.Error())
	}
	msg := strings.Join(msgs, "; ")
	if len(e.pods) > 0 {
		msg += " (" + strings.Join(e.pods, "; ") + ")"
	}
	return msg
}

func (e *hookError) Unwrap() []error { return e.errs }

var pods = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// failedPods describes the failed pods of a Job, sorted: "pod NAME: container C
// exited 1 (Error)". A Job's pods carry its name in the label the Job controller sets.
func failedPods(ctx context.Context, dyn dynamic.Interface, namespace, job string) []string {
	list, err := dyn.Resource(pods).Namespace(namespace).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + job})
	if err != nil {
		return nil // the failure is Helm's to tell; the pods only add to it
	}
	var out []string
	for _, p := range list.Items {
		if phase, _, _ := unstructured.NestedString(p.Object, "status", "phase"); phase != "Failed" {
			continue
		}
		var ended []string
		statuses, _, _ := unstructured.NestedSlice(p.Object, "status", "containerStatuses")
		for _, cs := range statuses {
			c, ok := cs.(map[string]any)
			if !ok {
				continue
			}
			name, _, _ := unstructured.NestedString(c, "name")
			code, found, _ := unstructured.NestedInt64(c, "state", "terminated", "exitCode")
			if !found {
				continue
			}
			reason, _, _ := unstructured.NestedString(c, "state", "terminated", "reason")
			ended = append(ended, fmt.Sprintf("container %s exited %d (%s)", name, code, reason))
		}
		desc := "pod " + p.GetName() + " failed"
		if len(ended) > 0 {
			desc = "pod " + p.GetName() + ": " + strings.Join(ended, ", ")
		}
		out = append(out, desc)
	}
	sort.Strings(out)
	return out
}

// describeTimeout bounds reading the objects of a failed wait: the command's own
// context may be over (the wait used all of --timeout, or the user pressed Ctrl-C).
const describeTimeout = 10 * time.Second

func (w *watchingKube) watched(resources kube.ResourceList, timeout time.Duration, wait func() error) error {
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
	err := w.progressed(objs, wait)
	if err == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), describeTimeout)
	defer cancel()
	notReady := describeNotReady(ctx, w.dyn, objs)
	if len(notReady) == 0 {
		return err // all ready after all: Helm's error is about something else
	}
	return &WaitError{Err: err, Timeout: timeout, NotReady: notReady}
}

// progressed runs wait, reporting the objects' readiness to w.progress meanwhile.
func (w *watchingKube) progressed(objs []objectRef, wait func() error) error {
	if w.progress == nil {
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
// req.Progress, if set, name what was not ready when a wait fails, and tell a failed
// hook on one line with its failed pods. Only Helm's own client is wrapped (tests'
// fakes are left as they are).
func (c *Client) watchWaits(ctx context.Context, cfg *action.Configuration, req Request) error {
	kc, ok := cfg.KubeClient.(*kube.Client)
	if !ok || c.Getter == nil {
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
