package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/policy"
	"github.com/kubeext/kubectl-ext/internal/release"
)

var eventClock = time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)

// fixedCluster is a ClusterVersioner on Kubernetes 1.37.
type fixedCluster struct{}

func (fixedCluster) ClusterInfo(context.Context) (policy.ClusterInfo, error) {
	return policy.ClusterFromVersion("v1.37.1", "", "")
}

func eventExtension(name string, state v1alpha1.ProvisioningState, current string) *v1alpha1.Extension {
	return &v1alpha1.Extension{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)},
		Spec: v1alpha1.ExtensionSpec{ExtensionType: "example.podinfo",
			Scope: v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "podinfo"}}},
		Status: v1alpha1.ExtensionStatus{ProvisioningState: state, CurrentVersion: current},
	}
}

// eventManager is a Manager on a fake client holding objs, on a clock the test moves.
func eventManager(t *testing.T, now *time.Time, funcs interceptor.Funcs, objs ...client.Object) (*Manager, client.Client, *bytes.Buffer) {
	t.Helper()
	c := fake.NewClientBuilder().WithScheme(Scheme()).WithStatusSubresource(&v1alpha1.Extension{}).
		WithObjects(objs...).WithInterceptorFuncs(funcs).Build()
	var out bytes.Buffer
	m := New(Config{Client: c, Cluster: fixedCluster{}, Progress: &out, Holder: "alice@laptop/42-abc",
		Now: func() time.Time { return *now }})
	return m, c, &out
}

// listEvents lists every Event in EventNamespace, oldest first.
func listEvents(t *testing.T, c client.Client) []corev1.Event {
	t.Helper()
	l := &corev1.EventList{}
	if err := c.List(context.Background(), l, client.InNamespace(EventNamespace)); err != nil {
		t.Fatal(err)
	}
	sortEvents(l.Items)
	return l.Items
}

// summary is what a test compares of an Event.
func summary(ev corev1.Event) string {
	return ev.Type + " " + ev.Reason + " x" + strconv.Itoa(int(ev.Count)) + ": " + ev.Message
}

func TestOperationEvents(t *testing.T) {
	rec := release.Record{Revision: 3, ManifestDigest: "m", ValuesDigest: "v"}
	deleting := eventExtension("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0")
	deleting.DeletionTimestamp = &metav1.Time{Time: eventClock}
	deleting.Finalizers = []string{v1alpha1.FinalizerUninstall}
	tests := []struct {
		name string
		ext  *v1alpha1.Extension
		// succeed at version, or fail with failErr (rolled back to rec with rolledBack).
		version    string
		failErr    error
		rolledBack bool
		want       []string
	}{
		{name: "a first install", ext: eventExtension("podinfo", v1alpha1.ProvisioningCreating, ""), version: "1.4.0",
			want: []string{"Normal Installed x1: Installed version 1.4.0 (release podinfo/podinfo revision 3)"}},
		{name: "a declared extension's first install through update", ext: eventExtension("podinfo", v1alpha1.ProvisioningUpdating, ""), version: "1.4.0",
			want: []string{"Normal Installed x1: Installed version 1.4.0 (release podinfo/podinfo revision 3)"}},
		{name: "a create again after a failure installs", ext: eventExtension("podinfo", v1alpha1.ProvisioningCreating, "1.4.0"), version: "1.4.0",
			want: []string{"Normal Installed x1: Installed version 1.4.0 (release podinfo/podinfo revision 3)"}},
		{name: "the version moved", ext: eventExtension("podinfo", v1alpha1.ProvisioningUpdating, "1.4.0"), version: "1.5.0",
			want: []string{"Normal Upgraded x1: Upgraded from version 1.4.0 to 1.5.0 (release podinfo/podinfo revision 3)"}},
		{name: "settings changed at the same version", ext: eventExtension("podinfo", v1alpha1.ProvisioningUpdating, "1.4.0"), version: "1.4.0",
			want: []string{"Normal Updated x1: Updated at version 1.4.0 (release podinfo/podinfo revision 3)"}},
		{name: "a failed install", ext: eventExtension("podinfo", v1alpha1.ProvisioningCreating, ""), failErr: errors.New("chart was told to fail"),
			want: []string{"Warning InstallFailed x1: HelmFailed: chart was told to fail"}},
		{name: "a failed upgrade, rolled back", ext: eventExtension("podinfo", v1alpha1.ProvisioningUpdating, "1.4.0"),
			failErr: errors.New("replicas: must be non-negative"), rolledBack: true,
			want: []string{"Warning UpdateFailed x1: HelmFailed: replicas: must be non-negative",
				"Normal RolledBack x1: Rolled back release podinfo/podinfo to version 1.4.0, its recorded manifest and values (revision 3)"}},
		{name: "a failed uninstall", ext: eventExtension("podinfo", v1alpha1.ProvisioningDeleting, "1.4.0"), failErr: errors.New("timed out"),
			want: []string{"Warning UninstallFailed x1: HelmFailed: timed out"}},
		{name: "a failed uninstall of an Extension being deleted (the manager's finalizer)", ext: deleting, failErr: errors.New("timed out"),
			want: []string{"Warning UninstallFailed x1: HelmFailed: timed out"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := eventClock
			m, c, out := eventManager(t, &now, interceptor.Funcs{}, tt.ext.DeepCopy())
			e := &v1alpha1.Extension{}
			if err := c.Get(context.Background(), client.ObjectKey{Name: tt.ext.Name}, e); err != nil {
				t.Fatal(err)
			}
			e.Status = tt.ext.Status
			ctx := context.Background()
			if tt.failErr == nil {
				if err := m.succeed(ctx, e, tt.version, rec); err != nil {
					t.Fatal(err)
				}
			} else {
				r := release.Record{}
				if tt.rolledBack {
					r = rec
				}
				if err := m.failRecorded(ctx, e, "HelmFailed", tt.failErr, r); !errors.Is(err, tt.failErr) {
					t.Fatalf("failRecorded returned %v", err)
				}
			}
			var got []string
			for _, ev := range listEvents(t, c) {
				got = append(got, summary(ev))
				if ev.InvolvedObject.Kind != "Extension" || ev.InvolvedObject.APIVersion != "kubeext.dev/v1alpha1" ||
					ev.InvolvedObject.Name != "podinfo" || ev.InvolvedObject.UID != "uid-podinfo" || ev.InvolvedObject.Namespace != "" {
					t.Errorf("involvedObject %+v, want the Extension", ev.InvolvedObject)
				}
				if ev.ReportingController != DefaultReporter || ev.Source.Component != DefaultReporter || ev.ReportingInstance != "alice@laptop/42-abc" {
					t.Errorf("reported by %q/%q instance %q", ev.ReportingController, ev.Source.Component, ev.ReportingInstance)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if out.Len() != 0 {
				t.Errorf("progress: %s", out)
			}
		})
	}
}

// TestEventRepeats: a repeat within the window is counted in the earlier Event; one
// after it starts a new series and keeps the earlier one; other messages, types,
// reasons, reporters and Extensions are Events of their own.
func TestEventRepeats(t *testing.T) {
	now := eventClock
	e := eventExtension("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0")
	m, c, out := eventManager(t, &now, interceptor.Funcs{})
	mgr := New(Config{Client: c, Cluster: fixedCluster{}, Reporter: "extension-manager", Holder: "kubeext-system/pod-1",
		Now: func() time.Time { return now }})
	other := eventExtension("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0")
	other.UID = "uid-a-later-podinfo"
	ctx := context.Background()

	steps := []struct {
		name    string
		advance time.Duration
		do      func()
		want    []string
	}{
		{"the first", 0, func() { m.Event(ctx, e, corev1.EventTypeWarning, ReasonUpdateFailed, "HelmFailed: boom") },
			[]string{"Warning UpdateFailed x1: HelmFailed: boom"}},
		{"a repeat 9 minutes later is counted", 9 * time.Minute, func() { m.Event(ctx, e, corev1.EventTypeWarning, ReasonUpdateFailed, "HelmFailed: boom") },
			[]string{"Warning UpdateFailed x2: HelmFailed: boom"}},
		{"the window runs from the last occurrence", 9 * time.Minute, func() { m.Event(ctx, e, corev1.EventTypeWarning, ReasonUpdateFailed, "HelmFailed: boom") },
			[]string{"Warning UpdateFailed x3: HelmFailed: boom"}},
		{"another message is another Event", time.Second, func() { m.Event(ctx, e, corev1.EventTypeWarning, ReasonUpdateFailed, "HelmFailed: bang") },
			[]string{"Warning UpdateFailed x3: HelmFailed: boom", "Warning UpdateFailed x1: HelmFailed: bang"}},
		{"the manager's Event is not counted in the plugin's", time.Second, func() { mgr.Event(ctx, e, corev1.EventTypeWarning, ReasonUpdateFailed, "HelmFailed: bang") },
			[]string{"Warning UpdateFailed x3: HelmFailed: boom", "Warning UpdateFailed x1: HelmFailed: bang", "Warning UpdateFailed x1: HelmFailed: bang"}},
		{"a later Extension of the same name is another object", time.Second, func() { m.Event(ctx, other, corev1.EventTypeWarning, ReasonUpdateFailed, "HelmFailed: bang") },
			[]string{"Warning UpdateFailed x3: HelmFailed: boom", "Warning UpdateFailed x1: HelmFailed: bang", "Warning UpdateFailed x1: HelmFailed: bang",
				"Warning UpdateFailed x1: HelmFailed: bang"}},
		{"a repeat 11 minutes after the last starts a new series, the earlier one stays", 11 * time.Minute,
			func() { m.Event(ctx, e, corev1.EventTypeWarning, ReasonUpdateFailed, "HelmFailed: boom") },
			[]string{"Warning UpdateFailed x3: HelmFailed: boom", "Warning UpdateFailed x1: HelmFailed: bang", "Warning UpdateFailed x1: HelmFailed: bang",
				"Warning UpdateFailed x1: HelmFailed: bang", "Warning UpdateFailed x1: HelmFailed: boom"}},
		{"and that series counts on", time.Minute, func() { m.Event(ctx, e, corev1.EventTypeWarning, ReasonUpdateFailed, "HelmFailed: boom") },
			[]string{"Warning UpdateFailed x3: HelmFailed: boom", "Warning UpdateFailed x1: HelmFailed: bang", "Warning UpdateFailed x1: HelmFailed: bang",
				"Warning UpdateFailed x1: HelmFailed: bang", "Warning UpdateFailed x2: HelmFailed: boom"}},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		s.do()
		var got []string
		for _, ev := range listEvents(t, c) {
			got = append(got, summary(ev))
		}
		if strings.Join(got, "\n") != strings.Join(s.want, "\n") {
			t.Fatalf("%s:\n%s\nwant:\n%s", s.name, strings.Join(got, "\n"), strings.Join(s.want, "\n"))
		}
	}
	// The counted Event's timestamps span its series.
	evs := listEvents(t, c)
	last := evs[len(evs)-1]
	if start := eventClock.Add(29*time.Minute + 3*time.Second); !last.FirstTimestamp.Time.Equal(start) || !last.LastTimestamp.Time.Equal(start.Add(time.Minute)) {
		t.Errorf("the new series runs %v to %v", last.FirstTimestamp, last.LastTimestamp)
	}
	kept := evs[0]
	if !kept.FirstTimestamp.Time.Equal(eventClock) || !kept.LastTimestamp.Time.Equal(eventClock.Add(18*time.Minute)) {
		t.Errorf("the earlier series runs %v to %v", kept.FirstTimestamp, kept.LastTimestamp)
	}
	for _, ev := range evs {
		if want := map[bool]string{true: "extension-manager", false: DefaultReporter}[ev.ReportingInstance == "kubeext-system/pod-1"]; ev.ReportingController != want {
			t.Errorf("event %s from %q, instance %q", ev.Name, ev.ReportingController, ev.ReportingInstance)
		}
	}
	if out.Len() != 0 {
		t.Errorf("progress: %s", out)
	}
}

// TestEventMessages: protected values the operation saw never reach an Event, and a
// long message is cut to the events API's limit.
func TestEventMessages(t *testing.T) {
	now := eventClock
	e := eventExtension("podinfo", v1alpha1.ProvisioningUpdating, "1.4.0")
	m, c, _ := eventManager(t, &now, interceptor.Funcs{}, e.DeepCopy())
	ctx, _ := startOperation(context.Background(), map[string]string{"apiKey": "hunter2-secret"})
	if err := m.failRecorded(ctx, e, "HelmFailed", errors.New("template: value hunter2-secret is invalid"), release.Record{}); err == nil {
		t.Fatal("no error")
	}
	now = now.Add(time.Second)
	m.Event(ctx, e, corev1.EventTypeNormal, ReasonUpdating, strings.Repeat("long ", 1000))
	evs := listEvents(t, c)
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	for _, ev := range evs {
		if strings.Contains(ev.Message, "hunter2") {
			t.Errorf("a protected value in event %s: %s", ev.Reason, ev.Message)
		}
		if len(ev.Message) > maxEventMessage {
			t.Errorf("event %s: message of %d bytes", ev.Reason, len(ev.Message))
		}
	}
	if !strings.Contains(evs[0].Message, "template: value") || !strings.HasSuffix(evs[1].Message, "[truncated]") {
		t.Errorf("messages: %q, %q", evs[0].Message, evs[1].Message)
	}
}

// TestEventWriteFailure: a writer who may not create Events gets its operation done
// and one warning line per process, however many Managers and Events; one who may
// create but not read or patch Events gets every repeat recorded on its own.
func TestEventWriteFailure(t *testing.T) {
	forbidden := func(verb string) error {
		return apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "", errors.New("user alice cannot "+verb+" events"))
	}
	noCreate := interceptor.Funcs{Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
		if _, ok := obj.(*corev1.Event); ok {
			return forbidden("create")
		}
		return c.Create(ctx, obj, opts...)
	}}
	noRead := interceptor.Funcs{Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
		if _, ok := obj.(*corev1.Event); ok {
			return forbidden("get")
		}
		return c.Get(ctx, key, obj, opts...)
	}}

	t.Run("no create: the operation succeeds, one warning in all", func(t *testing.T) {
		eventWarned.Store(false)
		now := eventClock
		var outs []*bytes.Buffer
		for range 2 {
			e := eventExtension("podinfo", v1alpha1.ProvisioningCreating, "")
			m, c, out := eventManager(t, &now, noCreate, e.DeepCopy())
			outs = append(outs, out)
			if err := m.succeed(context.Background(), e, "1.4.0", release.Record{Revision: 1, ManifestDigest: "m", ValuesDigest: "v"}); err != nil {
				t.Fatalf("the operation failed with its Event: %v", err)
			}
			m.Event(context.Background(), e, corev1.EventTypeNormal, ReasonUpdating, "again")
			if got := (&v1alpha1.Extension{}); c.Get(context.Background(), client.ObjectKey{Name: "podinfo"}, got) != nil ||
				got.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded {
				t.Errorf("the status was not recorded: %+v", got.Status)
			}
		}
		all := outs[0].String() + outs[1].String()
		if n := strings.Count(all, "Warning:"); n != 1 || !strings.Contains(outs[0].String(), "forbidden: you may not create events in namespace default") ||
			!strings.Contains(all, "the operation goes on") {
			t.Errorf("%d warnings:\n%s", n, all)
		}
	})

	t.Run("no get: each repeat is an Event of its own", func(t *testing.T) {
		eventWarned.Store(false)
		now := eventClock
		e := eventExtension("podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0")
		m, c, out := eventManager(t, &now, noRead)
		for range 3 {
			m.Event(context.Background(), e, corev1.EventTypeWarning, ReasonUpdateFailed, "HelmFailed: boom")
		}
		evs := listEvents(t, c)
		if len(evs) != 3 {
			t.Errorf("%d events, want 3", len(evs))
		}
		for _, ev := range evs {
			if ev.Count != 1 || ev.Reason != ReasonUpdateFailed {
				t.Errorf("event %s", summary(ev))
			}
		}
		if out.Len() != 0 {
			t.Errorf("progress: %s", out)
		}
	})
}

// TestEventsOnAPIServer writes and reads Events on a real kube-apiserver, which
// validates them as it validates any client's, with RBAC: a user who may only create
// Events records every one, a user who may not create them is warned, and a user who
// may not list them is told so by Events.
func TestEventsOnAPIServer(t *testing.T) {
	env := controlPlane.Env(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// A user bound to a Role in default with the given verbs on events.
	userClient := func(t *testing.T, name string, verbs ...string) client.Client {
		t.Helper()
		if len(verbs) > 0 {
			role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: EventNamespace, Name: name},
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: verbs}}}
			rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: EventNamespace, Name: name},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
				Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: name}}}
			for _, o := range []client.Object{role, rb} {
				if err := env.Client.Create(ctx, o); err != nil {
					t.Fatal(err)
				}
			}
		}
		kc, err := env.KubeconfigFor(name)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", kc)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(cfg, client.Options{Scheme: Scheme()})
		if err != nil {
			t.Fatal(err)
		}
		// The RBAC authorizer sees the binding once its cache has it.
		for _, verb := range verbs {
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				r := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
					ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: EventNamespace, Verb: verb, Resource: "events"}}}
				if err := c.Create(ctx, r); err != nil {
					t.Fatal(err)
				}
				if r.Status.Allowed {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s may not %s events after 30 s", name, verb)
				}
			}
		}
		return c
	}
	count := func(t *testing.T, e *v1alpha1.Extension) []corev1.Event {
		t.Helper()
		evs, err := New(Config{Client: env.Client}).Events(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}

	t.Run("admin: the API server accepts the Events, counts repeats, and Events lists the Extension's own", func(t *testing.T) {
		eventWarned.Store(false)
		now := time.Now().Truncate(time.Second)
		var out bytes.Buffer
		m := New(Config{Client: env.Client, Progress: &out, Now: func() time.Time { return now }})
		e := eventExtension("a-rather-long-extension-name-for-podinfo", v1alpha1.ProvisioningSucceeded, "1.4.0")
		earlier := e.DeepCopy()
		earlier.UID = "uid-an-earlier-one"
		m.Event(ctx, earlier, corev1.EventTypeNormal, ReasonInstalled, "Installed version 1.3.0")
		m.Event(ctx, e, corev1.EventTypeNormal, ReasonInstalled, "Installed version 1.4.0")
		now = now.Add(time.Minute)
		m.Event(ctx, e, corev1.EventTypeWarning, ReasonUpdateFailed, "HelmFailed: boom")
		now = now.Add(time.Minute)
		m.Event(ctx, e, corev1.EventTypeWarning, ReasonUpdateFailed, "HelmFailed: boom")
		if out.Len() != 0 {
			t.Fatalf("progress: %s", out.String())
		}
		var got []string
		for _, ev := range count(t, e) {
			got = append(got, summary(ev))
		}
		want := []string{"Normal Installed x1: Installed version 1.4.0", "Warning UpdateFailed x2: HelmFailed: boom"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})

	t.Run("create only: every repeat recorded, no warning", func(t *testing.T) {
		eventWarned.Store(false)
		var out bytes.Buffer
		m := New(Config{Client: userClient(t, "event-creator", "create"), Progress: &out})
		e := eventExtension("created-only", v1alpha1.ProvisioningSucceeded, "1.4.0")
		for range 2 {
			m.Event(ctx, e, corev1.EventTypeWarning, ReasonUpdateFailed, "HelmFailed: boom")
		}
		if out.Len() != 0 {
			t.Errorf("progress: %s", out.String())
		}
		if evs := count(t, e); len(evs) != 2 {
			t.Errorf("%d events, want 2", len(evs))
		}
		if _, err := m.Events(ctx, e); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "you may not list events in namespace default") {
			t.Errorf("Events for a user who may not list them: %v", err)
		}
	})

	t.Run("create, get, patch: repeats counted", func(t *testing.T) {
		eventWarned.Store(false)
		var out bytes.Buffer
		m := New(Config{Client: userClient(t, "event-recorder", "create", "get", "patch"), Progress: &out})
		e := eventExtension("recorded", v1alpha1.ProvisioningSucceeded, "1.4.0")
		for range 3 {
			m.Event(ctx, e, corev1.EventTypeWarning, ReasonUpdateFailed, "HelmFailed: boom")
		}
		if evs := count(t, e); len(evs) != 1 || evs[0].Count != 3 || out.Len() != 0 {
			t.Errorf("%d events (%v), progress %s", len(evs), evs, out.String())
		}
	})

	t.Run("no rights: one warning", func(t *testing.T) {
		eventWarned.Store(false)
		var out bytes.Buffer
		m := New(Config{Client: userClient(t, "no-events"), Progress: &out})
		e := eventExtension("unrecorded", v1alpha1.ProvisioningSucceeded, "1.4.0")
		for range 2 {
			m.Event(ctx, e, corev1.EventTypeNormal, ReasonInstalled, "Installed version 1.4.0")
		}
		if n := strings.Count(out.String(), "Warning:"); n != 1 || !strings.Contains(out.String(), "forbidden: you may not create events in namespace default") {
			t.Errorf("%d warnings: %s", n, out.String())
		}
		if evs := count(t, e); len(evs) != 0 {
			t.Errorf("%d events", len(evs))
		}
	})
}
