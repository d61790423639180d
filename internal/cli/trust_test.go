package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// Issue 11: a namespace admin (ClusterRole admin bound in the release namespace only,
// authenticated by a client certificate) writes what it can there: Helm's release
// records and the protected settings Secret. The next command a cluster admin runs
// must refuse, and nothing may appear outside that namespace.

// escalation is the ClusterRoleBinding a forged revision asks Helm to create.
const escalation = "ns-admin-is-cluster-admin"

func escalationManifest(user string) string {
	return `---
# Source: podinfo/templates/escalate.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ` + escalation + `
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ` + user + `}]
`
}

// nsAdmin is a user bound to ClusterRole admin in ns alone.
type nsAdmin struct {
	user, kubeconfig, ns string
	c                    client.Client
}

func newNSAdmin(t *testing.T, ns string) *nsAdmin {
	t.Helper()
	requireEnv(t)
	user := uniq("ns-admin")
	kc, err := env.KubeconfigFor(user)
	if err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: user},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: adminRole(t)},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}}}
	if err := env.Client.Create(testCtx(t), rb); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	// The RBAC authorizer sees the binding once its cache has it.
	deadline := time.Now().Add(30 * time.Second)
	for err := c.List(testCtx(t), &corev1.SecretList{}, client.InNamespace(ns)); err != nil; err = c.List(testCtx(t), &corev1.SecretList{}, client.InNamespace(ns)) {
		if time.Now().After(deadline) {
			t.Fatalf("the namespace admin cannot list Secrets of %s: %v", ns, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return &nsAdmin{user: user, kubeconfig: kc, ns: ns, c: c}
}

// adminRole returns a ClusterRole with the rules of ClusterRole admin. admin is an
// aggregated role whose rules the controller manager fills in from the roles labelled
// aggregate-to-admin; the test control plane runs no controller manager, so the test
// does the aggregation once.
func adminRole(t *testing.T) string {
	t.Helper()
	const name = "test-aggregated-admin"
	roles := &rbacv1.ClusterRoleList{}
	if err := env.Client.List(testCtx(t), roles, client.MatchingLabels{"rbac.authorization.k8s.io/aggregate-to-admin": "true"}); err != nil {
		t.Fatal(err)
	}
	// What this test needs of admin, stated too: writing the release records, the
	// protected settings Secret and the Leases of its namespace (the labelled roles
	// alone did not let the user list Secrets on this control plane).
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets", "configmaps"}, Verbs: []string{"*"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"*"}},
	}}
	for _, r := range roles.Items {
		cr.Rules = append(cr.Rules, r.Rules...)
	}
	if err := env.Client.Create(testCtx(t), cr); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	return name
}

// helm is Helm's storage of the release namespace, as the namespace admin reaches it.
func (a *nsAdmin) helm(t *testing.T) *action.Configuration {
	t.Helper()
	ns := a.ns
	cfg := &action.Configuration{}
	if err := cfg.Init(&genericclioptions.ConfigFlags{KubeConfig: &a.kubeconfig, Namespace: &ns}, ns, "secret", func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// plant stores a revision after the newest one, with the escalation in its manifest.
func (a *nsAdmin) plant(t *testing.T, name string, status helmrelease.Status) {
	t.Helper()
	cfg := a.helm(t)
	last, err := cfg.Releases.Last(name)
	if err != nil {
		t.Fatalf("the namespace admin reads release %s: %v", name, err)
	}
	forged := *last
	forged.Version = last.Version + 1
	forged.Manifest = last.Manifest + escalationManifest(a.user)
	forged.Info = &helmrelease.Info{Status: status, Description: "Upgrade complete"}
	if err := cfg.Releases.Create(&forged); err != nil {
		t.Fatalf("the namespace admin plants revision %d: %v", forged.Version, err)
	}
}

// wantNoEscalation fails if the forged ClusterRoleBinding exists.
func wantNoEscalation(t *testing.T) {
	t.Helper()
	err := env.Client.Get(testCtx(t), client.ObjectKey{Name: escalation}, &rbacv1.ClusterRoleBinding{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("ClusterRoleBinding %s: %v; want it never created", escalation, err)
	}
}

// wantRefused runs a command that must fail, with every want in its stderr.
func wantRefused(t *testing.T, want []string, args ...string) testenv.Result {
	t.Helper()
	res := kext(t, args...)
	if res.ExitCode == 0 {
		t.Fatalf("kubectl ext %s succeeded, want it refused\nstdout: %s\nstderr: %s", strings.Join(args, " "), res.Stdout, res.Stderr)
	}
	for _, w := range want {
		if !strings.Contains(res.Stderr, w) {
			t.Errorf("kubectl ext %s: stderr lacks %q:\n%s", strings.Join(args, " "), w, res.Stderr)
		}
	}
	return res
}

// installedFor creates an extension with a protected setting in a fresh namespace and
// a namespace admin of that namespace.
func installedFor(t *testing.T, typ, secret string) (string, *nsAdmin) {
	t.Helper()
	name, ns := uniq("trust"), uniq("trust")
	mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait", "--config-protected", "apiKey="+secret)
	return name, newNSAdmin(t, ns)
}

func TestNamespaceAdminCannotEscalate(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	const secret = "ns-admin-must-not-see-this-9d2f"
	drift := []string{"does not match what kubectl ext recorded", "--adopt-release"}

	t.Run("a forged deployed revision is refused by update and delete, and adopting it installs the extension's own", func(t *testing.T) {
		name, admin := installedFor(t, typ, secret)
		admin.plant(t, name, helmrelease.StatusDeployed)
		wantRefused(t, append(drift, "the newest revision is 2 (deployed), but the recorded one is 1"), "update", name, "--config", "message=x", "--no-wait")
		wantRefused(t, drift, "delete", name, "--yes")
		wantNoEscalation(t)
		if e := getExt(t, name); e.Status.ErrorInfo == nil || e.Status.ErrorInfo.Code != "ReleaseDrift" {
			t.Errorf("status %+v, want the drift recorded", e.Status.ErrorInfo)
		}

		mustKext(t, "update", name, "--adopt-release", "--no-wait")
		wantNoEscalation(t)
		h := history(t, name, admin.ns)
		if len(h) != 1 || h[0].Info.Status != helmrelease.StatusDeployed || strings.Contains(h[0].Manifest, escalation) {
			t.Errorf("after adoption: %v", summary(h))
		}
		mustKext(t, "delete", name, "--yes")
		wantNoEscalation(t)
	})

	t.Run("a forged pending-upgrade is refused, never rolled back to or from", func(t *testing.T) {
		name, admin := installedFor(t, typ, secret)
		admin.plant(t, name, helmrelease.StatusPendingUpgrade)
		wantRefused(t, append(drift, "no kubectl ext command on it was interrupted"), "update", name, "--config", "message=x", "--no-wait")
		wantRefused(t, drift, "delete", name, "--yes")
		wantNoEscalation(t)
		if h := history(t, name, admin.ns); len(h) != 2 {
			t.Errorf("history %v, want the two revisions left as they were", summary(h))
		}
	})

	t.Run("a Secret copying a release record's labels under another name is refused, not taken for the record", func(t *testing.T) {
		name, admin := installedFor(t, typ, secret)
		records := &corev1.SecretList{}
		if err := admin.c.List(testCtx(t), records, client.InNamespace(admin.ns), client.MatchingLabels{"owner": "helm", "name": name}); err != nil || len(records.Items) != 1 {
			t.Fatalf("the release records: %d, %v", len(records.Items), err)
		}
		decoy := records.Items[0].DeepCopy()
		decoy.ObjectMeta = metav1.ObjectMeta{Namespace: admin.ns, Name: "decoy", Labels: decoy.Labels}
		if err := admin.c.Create(testCtx(t), decoy); err != nil {
			t.Fatal(err)
		}
		wantRefused(t, append(drift, "revision 1 is stored twice"), "update", name, "--config", "message=x", "--no-wait")
		wantRefused(t, append(drift, "revision 1 is stored twice"), "delete", name, "--yes")
		wantNoEscalation(t)
	})

	t.Run("a protected Secret the namespace admin edited is not fed into Helm", func(t *testing.T) {
		name, admin := installedFor(t, typ, secret)
		s := &corev1.Secret{}
		if err := admin.c.Get(testCtx(t), client.ObjectKey{Namespace: admin.ns, Name: lifecycle.ProtectedSecretName(name)}, s); err != nil {
			t.Fatal(err)
		}
		s.Data[lifecycle.ProtectedSettingsKey] = []byte(`{"apiKey":"forged","message":"from the namespace admin"}`)
		if err := admin.c.Update(testCtx(t), s); err != nil {
			t.Fatal(err)
		}
		wantRefused(t, []string{"no longer holds what kubectl ext wrote"}, "update", name, "--config", "replicaCount=1", "--no-wait")
		if h := history(t, name, admin.ns); len(h) != 1 {
			t.Errorf("history %v, want no new revision", summary(h))
		}
	})

	t.Run("secretName pointed at someone else's Secret: never overwritten, read or deleted", func(t *testing.T) {
		name, admin := installedFor(t, typ, secret)
		theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: admin.ns, Name: "db-credentials",
			Labels: map[string]string{lifecycle.LabelManagedBy: lifecycle.ManagedBy, lifecycle.LabelExtension: name}},
			StringData: map[string]string{lifecycle.ProtectedSettingsKey: `{"password":"theirs"}`}}
		if err := admin.c.Create(testCtx(t), theirs); err != nil {
			t.Fatal(err)
		}
		e := getExt(t, name)
		e.Spec.ConfigurationProtectedSettings.SecretName = "db-credentials"
		if err := env.Client.Update(testCtx(t), e); err != nil {
			t.Fatal(err)
		}
		wantRefused(t, []string{"does not read it"}, "update", name, "--config", "message=x", "--no-wait")
		wantRefused(t, []string{"does not overwrite it"}, "update", name, "--config-protected", "apiKey=new", "--yes", "--no-wait")
		res := mustKext(t, "delete", name, "--yes")
		if !strings.Contains(res.Stdout+res.Stderr, "Leaving secret "+admin.ns+"/db-credentials in place") {
			t.Errorf("delete does not say the Secret stays:\n%s%s", res.Stdout, res.Stderr)
		}
		got := &corev1.Secret{}
		if err := env.Client.Get(testCtx(t), client.ObjectKeyFromObject(theirs), got); err != nil {
			t.Fatalf("their Secret: %v", err)
		}
		if string(got.Data[lifecycle.ProtectedSettingsKey]) != `{"password":"theirs"}` {
			t.Errorf("their Secret was changed: %s", got.Data[lifecycle.ProtectedSettingsKey])
		}
	})
}

// quotingChartType is a type whose chart, told strict=true, fails with a message that
// quotes the protected apiKey, as a careless chart would.
func quotingChartType(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, spec := range chartsourcetest.Podinfo()[:2] {
		ch, err := chartsourcetest.Chart(spec)
		if err != nil {
			t.Fatal(err)
		}
		ch.Templates = append(ch.Templates, &chart.File{Name: "templates/check.yaml",
			Data: []byte(`{{- if .Values.strict }}{{ fail (printf "apiKey %q is not accepted" .Values.apiKey) }}{{- end }}`)})
		if _, err := chartutil.Save(ch, dir); err != nil {
			t.Fatal(err)
		}
	}
	return recordType(t, v1alpha1.ChartSource{Repository: chartsourcetest.ServeHTTP(t, dir), Name: "podinfo"})
}

// TestLeakScan runs every command with a protected value, including a chart whose
// failure quotes it and the drift refusals, and finds the value in nothing a user sees.
func TestLeakScan(t *testing.T) {
	requireEnv(t)
	const secret = "leak-scan-value-5e7b1c"
	typ := quotingChartType(t)
	name, ns := uniq("leak"), uniq("leak")
	var outputs []string
	run := func(label string, args ...string) testenv.Result {
		t.Helper()
		res := kext(t, args...)
		outputs = append(outputs, label+" stdout:\n"+res.Stdout, label+" stderr:\n"+res.Stderr)
		return res
	}
	if res := run("failing create", "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait",
		"--config-protected", "apiKey="+secret, "--config", "strict=true"); res.ExitCode == 0 {
		t.Fatal("the chart was told to fail, and the create succeeded")
	}
	// The check is worth something only if Helm really quoted the value.
	if !strings.Contains(strings.Join(outputs, "\n"), `apiKey "[redacted]" is not accepted`) {
		t.Errorf("the failing chart's message is not in the output:\n%s", strings.Join(outputs, "\n"))
	}
	run("create again", "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait", "--config-protected", "apiKey="+secret)
	run("failing update", "update", name, "--config", "strict=true", "--no-wait")
	for _, o := range []string{"yaml", "json", ""} {
		args, largs := []string{"show", name}, []string{"list"}
		if o != "" {
			args, largs = append(args, "-o", o), append(largs, "-o", o)
		}
		run("show -o "+o, args...)
		run("list -o "+o, largs...)
	}
	run("upgrade", "upgrade", name)
	newNSAdmin(t, ns).plant(t, name, helmrelease.StatusDeployed)
	run("update refused by drift", "update", name, "--config", "message=x", "--no-wait")
	e := getExt(t, name)
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, "the stored Extension:\n"+string(b))
	run("delete refused by drift", "delete", name, "--yes")
	events := &corev1.EventList{}
	if err := env.Client.List(testCtx(t), events); err != nil {
		t.Fatal(err)
	}
	eb, _ := json.Marshal(events)
	outputs = append(outputs, "events:\n"+string(eb))
	for _, out := range outputs {
		if strings.Contains(out, secret) {
			t.Errorf("the protected value appears in %s", out)
		}
	}
	wantNoEscalation(t)
}
