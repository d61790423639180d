package cli_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// extEvents lists the Events about an Extension in default, as an admin reads them.
func extEvents(t *testing.T, e *v1alpha1.Extension) []corev1.Event {
	t.Helper()
	l := &corev1.EventList{}
	if err := env.Client.List(testCtx(t), l, client.InNamespace(lifecycle.EventNamespace),
		client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("involvedObject.uid", string(e.UID))}); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// findEvent returns the Event of that reason about e, or nil.
func findEvent(t *testing.T, e *v1alpha1.Extension, reason string) *corev1.Event {
	t.Helper()
	for _, ev := range extEvents(t, e) {
		if ev.Reason == reason {
			return &ev
		}
	}
	return nil
}

// TestEvents: kubectl ext records an Event for each action and failure, about the
// Extension, in default; `kubectl ext show` and the real `kubectl describe ext` list
// them; a repeated failure is counted, not recorded anew; an uninstall is recorded
// after the Extension is gone.
func TestEvents(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	name, ns := uniq("events"), uniq("events")
	mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait")
	t.Cleanup(func() { kext(t, "delete", name, "--yes") })
	e := getExt(t, name)

	t.Run("the install is recorded by kubectl-ext about the Extension", func(t *testing.T) {
		for _, reason := range []string{"Installing", "Installed"} {
			ev := findEvent(t, e, reason)
			if ev == nil {
				t.Fatalf("no %s Event among %v", reason, extEvents(t, e))
			}
			ref := ev.InvolvedObject
			if ev.Type != corev1.EventTypeNormal || ev.ReportingController != "kubectl-ext" || ev.Source.Component != "kubectl-ext" ||
				ev.ReportingInstance == "" || ev.Count != 1 || ev.LastTimestamp.IsZero() {
				t.Errorf("%s Event: %+v", reason, ev)
			}
			if ref.APIVersion != "kubeext.dev/v1alpha1" || ref.Kind != "Extension" || ref.Name != name || ref.UID != e.UID || ref.Namespace != "" {
				t.Errorf("%s Event is about %+v", reason, ref)
			}
		}
		if ev := findEvent(t, e, "Installed"); !strings.Contains(ev.Message, "Installed version "+e.Status.CurrentVersion) ||
			!strings.Contains(ev.Message, "release "+ns+"/"+name+" revision 1") {
			t.Errorf("Installed says %q", ev.Message)
		}
	})

	t.Run("kubectl ext show lists them", func(t *testing.T) {
		res := mustKext(t, "show", name)
		for _, re := range []string{`(?m)^Events:$`, `(?m)^\s+Type\s+Reason\s+Age\s+From\s+Message$`,
			`(?m)^\s+Normal\s+Installing\s+\S+\s+kubectl-ext\s+Installing version`, `(?m)^\s+Normal\s+Installed\s+\S+\s+kubectl-ext\s+Installed version`} {
			if !regexp.MustCompile(re).MatchString(res.Stdout) {
				t.Errorf("show lacks %s:\n%s", re, res.Stdout)
			}
		}
		var out struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
			Events   []struct {
				Type, Reason, Message, ReportingController string
				Count                                      int32
			} `json:"events"`
		}
		res = mustKext(t, "show", name, "-o", "json")
		if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
			t.Fatal(err)
		}
		if out.Metadata.Name != name || len(out.Events) != 2 || out.Events[1].Reason != "Installed" || out.Events[1].ReportingController != "kubectl-ext" {
			t.Errorf("show -o json: %s", res.Stdout)
		}
		res = mustKext(t, "show", name, "-o", "yaml", "--show-events=false")
		if strings.Contains(res.Stdout, "events:") || !strings.Contains(res.Stdout, "kind: Extension") {
			t.Errorf("show -o yaml --show-events=false:\n%s", res.Stdout)
		}
	})

	t.Run("kubectl ext show takes kubectl get's output formats for one object", func(t *testing.T) {
		// -o wide is the wide row kubectl get ext NAME -o wide prints, without Events.
		wide := mustKext(t, "show", name, "-o", "wide").Stdout
		get, err := env.Kubectl(testCtx(t), binDir, "ext", "list", "-o", "wide")
		if err != nil || get.ExitCode != 0 {
			t.Fatalf("kubectl ext list -o wide: %v, exit %d: %s", err, get.ExitCode, get.Stderr)
		}
		lines := strings.Split(strings.TrimSpace(wide), "\n")
		listHeader := strings.Fields(strings.SplitN(get.Stdout, "\n", 2)[0])
		if len(lines) != 2 || !slices.Equal(strings.Fields(lines[0]), listHeader) || strings.Fields(lines[1])[0] != name ||
			strings.Contains(wide, "Events") {
			t.Errorf("show -o wide:\n%s\nwant the list's wide header and one row for %s", wide, name)
		}
		if got := mustKext(t, "show", name, "-o", "name").Stdout; got != "extension.kubeext.dev/"+name+"\n" {
			t.Errorf("show -o name = %q", got)
		}
		e := &v1alpha1.Extension{}
		if err := env.Client.Get(testCtx(t), client.ObjectKey{Name: name}, e); err != nil {
			t.Fatal(err)
		}
		if got := mustKext(t, "show", name, "-o", "jsonpath={.status.currentVersion}").Stdout; got != e.Status.CurrentVersion || got == "" {
			t.Errorf("show -o jsonpath = %q, want %q", got, e.Status.CurrentVersion)
		}
		if got := mustKext(t, "show", name, "-o", "go-template={{.metadata.name}}").Stdout; got != name {
			t.Errorf("show -o go-template = %q, want %q", got, name)
		}
	})

	t.Run("kubectl describe ext shows them", func(t *testing.T) {
		res, err := env.Kubectl(testCtx(t), binDir, "describe", "ext", name)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("kubectl describe ext %s: %v, exit %d: %s", name, err, res.ExitCode, res.Stderr)
		}
		if !regexp.MustCompile(`(?m)^\s+Normal\s+Installed\s+\S+\s+kubectl-ext\s+Installed version`).MatchString(res.Stdout) {
			t.Errorf("kubectl describe lacks the Installed Event:\n%s", res.Stdout)
		}
	})

	t.Run("a failed update is a Warning, counted when it fails again", func(t *testing.T) {
		for i := range 2 {
			if res := kext(t, "update", name, "--config", "fail=true", "--no-wait"); res.ExitCode != 1 || !strings.Contains(res.Stderr, "was told to fail") {
				t.Fatalf("update %d that fails: exit %d\n%s", i, res.ExitCode, res.Stderr)
			}
		}
		ev := findEvent(t, e, "UpdateFailed")
		if ev == nil {
			t.Fatalf("no UpdateFailed Event among %v", extEvents(t, e))
		}
		if ev.Type != corev1.EventTypeWarning || !strings.HasPrefix(ev.Message, "HelmFailed: ") || !strings.Contains(ev.Message, "was told to fail") || ev.Count != 2 {
			t.Errorf("UpdateFailed Event: type %s, count %d, message %q", ev.Type, ev.Count, ev.Message)
		}
		res := mustKext(t, "show", name)
		if !regexp.MustCompile(`(?m)^\s+Warning\s+UpdateFailed\s+\S+ \(x2 over \S+\)\s+kubectl-ext\s+HelmFailed: .*was told to fail`).MatchString(res.Stdout) {
			t.Errorf("show lacks the failure:\n%s", res.Stdout)
		}
	})

	t.Run("the uninstall is recorded", func(t *testing.T) {
		mustKext(t, "delete", name, "--yes")
		for _, reason := range []string{"Uninstalling", "Uninstalled"} {
			if ev := findEvent(t, e, reason); ev == nil || ev.Type != corev1.EventTypeNormal {
				t.Errorf("%s Event: %+v", reason, ev)
			}
		}
	})
}

// TestEventsForbidden: a plugin user who may neither create nor list Events installs
// and shows an extension as before; the install warns once that its Events are not
// recorded, and show says they are not shown.
func TestEventsForbidden(t *testing.T) {
	requireEnv(t)
	ctx := testCtx(t)
	user := uniq("dave")
	// Helm installs as a ServiceAccount the user may impersonate (a cluster admin's
	// type), so the user needs no rights on the chart's objects; and the user's own
	// rights are those the plugin uses, without events.
	saNS := uniq("installers")
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: saNS, Name: uniq("installer")}}
	installer := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: sa.Name}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
	}}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: user}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"kubeext.dev"}, Resources: []string{"extensions", "extensions/status", "extensiontypes", "extensiontypes/status"},
			Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"namespaces", "secrets", "configmaps"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"impersonate"}, ResourceNames: []string{sa.Name}},
	}}
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: saNS}}, sa, installer, role,
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: sa.Name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: installer.Name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: saNS, Name: sa.Name}}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: user},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}},
	} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	// The RBAC authorizer sees the bindings once its cache has them.
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := env.Kubectl(ctx, binDir, "auth", "can-i", "impersonate", "serviceaccounts/"+sa.Name, "-n", saNS, "--as", user)
		if err == nil && strings.TrimSpace(res.Stdout) == "yes" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s may not impersonate %s after 30 s", user, sa.Name)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if res, _ := env.Kubectl(ctx, binDir, "auth", "can-i", "create", "events", "-n", "default", "--as", user); strings.TrimSpace(res.Stdout) != "no" {
		t.Fatalf("%s may create events: %s", user, res.Stdout)
	}

	typ := httpType(t, chartsourcetest.Podinfo(), func(et *v1alpha1.ExtensionType) {
		et.Spec.Install.ServiceAccount = &v1alpha1.ServiceAccountReference{Namespace: saNS, Name: sa.Name}
	})
	name, ns := uniq("podinfo"), uniq("podinfo")
	res := mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait", "--as", user)
	t.Cleanup(func() { kext(t, "delete", name, "--yes") })
	if n := strings.Count(res.Stderr, "was not recorded"); n != 1 || !strings.Contains(res.Stderr, "forbidden: you may not create events in namespace default") {
		t.Errorf("create warned %d times of unrecorded Events:\n%s", n, res.Stderr)
	}
	e := getExt(t, name)
	if e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded {
		t.Errorf("state %s", e.Status.ProvisioningState)
	}
	if evs := extEvents(t, e); len(evs) != 0 {
		t.Errorf("Events were recorded: %v", evs)
	}

	res = mustKext(t, "show", name, "--as", user)
	if !regexp.MustCompile(`(?m)^Events:\s+<not shown: you may not list events in namespace default>$`).MatchString(res.Stdout) ||
		!strings.Contains(res.Stdout, "Provisioning state:") {
		t.Errorf("show as %s:\n%s", user, res.Stdout)
	}
	res = mustKext(t, "show", name, "-o", "json", "--as", user)
	var out map[string]any
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
		t.Fatal(err)
	}
	if _, ok := out["events"]; ok || out["kind"] != "Extension" || !strings.Contains(res.Stderr, "the extension's Events are left out") {
		t.Errorf("show -o json as %s: %s\nstderr: %s", user, res.Stdout, res.Stderr)
	}
}
