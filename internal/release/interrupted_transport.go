package release

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
)

// Helm v3's actions take no context for their kube requests: RunWithContext only
// stops waiting for the action when its context is done, and leaves it running in a
// goroutine (install.go performInstallCtx, upgrade.go handleContext), so a clean-up
// started then would race an install or upgrade still applying objects. Instead, the
// plugin runs the action with Run and binds every request Helm's kube client makes to
// the command's context through the transport: once Ctrl-C cancels it, Helm's next
// request fails, the action fails as it would on any API error, and returns. The
// clean-up that follows (uninstalling a failed install, rolling back a failed upgrade)
// then runs on a context of its own, bounded by cleanupTimeout from the interruption,
// as do Helm's writes of its release records (marking the revision failed), so that an
// API server that no longer answers cannot hold the command.

// cleanupTimeout bounds everything Helm does for the command after it was
// interrupted: the release records Helm writes and the clean-up's requests.
const cleanupTimeout = 15 * time.Second

// boundContexts are the contexts a Helm action's requests carry.
type boundContexts struct {
	// objects: the command's context, until the clean-up switches it to cleanup.
	objects atomic.Pointer[context.Context]
	// cleanup is not cancelled with the command's context, but expires
	// cleanupTimeout after it is: release records and the clean-up use it.
	cleanup context.Context
	stop    func()
}

func newBoundContexts(ctx context.Context) *boundContexts {
	cleanup, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var timer atomic.Pointer[time.Timer]
	stopAfter := context.AfterFunc(ctx, func() { timer.Store(time.AfterFunc(cleanupTimeout, cancel)) })
	b := &boundContexts{cleanup: cleanup, stop: func() {
		stopAfter()
		if t := timer.Load(); t != nil {
			t.Stop()
		}
		cancel()
	}}
	b.objects.Store(&ctx)
	return b
}

// cleaningUp makes the requests that follow carry the clean-up's context: the action
// has returned, and what the command does now must be done even after Ctrl-C.
func (b *boundContexts) cleaningUp() { b.objects.Store(&b.cleanup) }

// boundConfig is Client.config for one action whose requests carry ctx: the kube
// client's (Helm's objects) carry b.objects, the release storage's carry b.cleanup.
// The returned stop releases the contexts' timers once the action and its clean-up
// are done.
func (c *Client) boundConfig(ctx context.Context, namespace string) (*action.Configuration, *boundContexts, error) {
	if c.Configure != nil {
		cfg, err := c.Configure(namespace)
		return cfg, newBoundContexts(ctx), err
	}
	b := newBoundContexts(ctx)
	base := namespaced{c.Getter, namespace}
	cfg := &action.Configuration{}
	log := c.Debug
	if log == nil {
		log = func(string, ...any) {}
	}
	if err := cfg.Init(boundGetter{base, func() context.Context { return b.cleanup }}, namespace, "secret", log); err != nil {
		b.stop()
		return nil, nil, err
	}
	kc := kube.New(boundGetter{base, func() context.Context { return *b.objects.Load() }})
	kc.Log = log
	cfg.KubeClient = kc
	return cfg, b, nil
}

// boundGetter is a RESTClientGetter whose REST config makes every request carry ctx().
type boundGetter struct {
	genericclioptions.RESTClientGetter
	ctx func() context.Context
}

func (g boundGetter) ToRESTConfig() (*rest.Config, error) {
	rc, err := g.RESTClientGetter.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	rc = rest.CopyConfig(rc)
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &boundTransport{next: rt, ctx: g.ctx} })
	return rc, nil
}

// boundTransport sends each request with a context that is also done when ctx() is.
type boundTransport struct {
	next http.RoundTripper
	ctx  func() context.Context
}

func (t *boundTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	bound := t.ctx()
	ctx, cancel := context.WithCancelCause(req.Context())
	stop := context.AfterFunc(bound, func() { cancel(context.Cause(bound)) })
	done := func() { stop(); cancel(nil) }
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		done()
		return nil, err
	}
	// The body is read after RoundTrip returns: the context lives until it is closed.
	resp.Body = &boundBody{ReadCloser: resp.Body, done: done}
	return resp, nil
}

type boundBody struct {
	io.ReadCloser
	done func()
}

func (b *boundBody) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}

// waitsBound makes Helm's waits return once the objects' context is done: Helm's
// waiter polls on a context of its own and retries a failed request (thirty times,
// two seconds apart) before it gives up. What is left of the wait only reads, and
// its reads fail with the command's context.
func waitsBound(cfg *action.Configuration, b *boundContexts) {
	if inner, ok := cfg.KubeClient.(fullKube); ok {
		cfg.KubeClient = &boundWaits{fullKube: inner, b: b}
	}
}

type boundWaits struct {
	fullKube
	b *boundContexts
}

func (k *boundWaits) bounded(wait func() error) error {
	ctx := *k.b.objects.Load()
	done := make(chan error, 1)
	go func() { done <- wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (k *boundWaits) Wait(resources kube.ResourceList, timeout time.Duration) error {
	return k.bounded(func() error { return k.fullKube.Wait(resources, timeout) })
}

func (k *boundWaits) WaitWithJobs(resources kube.ResourceList, timeout time.Duration) error {
	return k.bounded(func() error { return k.fullKube.WaitWithJobs(resources, timeout) })
}

func (k *boundWaits) WaitForDelete(resources kube.ResourceList, timeout time.Duration) error {
	return k.bounded(func() error { return k.fullKube.WaitForDelete(resources, timeout) })
}
