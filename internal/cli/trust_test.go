package cli_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	helmrelease "helm.sh/helm/v3/pkg/release"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
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

// clusterObjects is the names of the cluster-scoped objects, by kind, through which a
// release would reach beyond its namespace: RBAC, namespaces, admission webhooks and
// CRDs.
type clusterObjects map[string]map[string]bool

func snapshotCluster(t *testing.T) clusterObjects {
	t.Helper()
	lists := map[string]client.ObjectList{
		"ClusterRoleBinding":             &rbacv1.ClusterRoleBindingList{},
		"ClusterRole":                    &rbacv1.ClusterRoleList{},
		"Namespace":                      &corev1.NamespaceList{},
		"ValidatingWebhookConfiguration": &admissionregistrationv1.ValidatingWebhookConfigurationList{},
		"MutatingWebhookConfiguration":   &admissionregistrationv1.MutatingWebhookConfigurationList{},
		"CustomResourceDefinition":       &apiextensionsv1.CustomResourceDefinitionList{},
	}
	out := clusterObjects{}
	for kind, l := range lists {
		if err := env.Client.List(testCtx(t), l); err != nil {
			t.Fatalf("listing %s: %v", kind, err)
		}
		out[kind] = map[string]bool{}
		if err := meta.EachListItem(l, func(o runtime.Object) error {
			m, err := meta.Accessor(o)
			if err == nil {
				out[kind][m.GetName()] = true
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// wantNoEscalation fails if the forged ClusterRoleBinding exists, or if any
// cluster-scoped object of snapshotCluster's kinds appeared since before was taken.
func wantNoEscalation(t *testing.T, before clusterObjects) {
	t.Helper()
	err := env.Client.Get(testCtx(t), client.ObjectKey{Name: escalation}, &rbacv1.ClusterRoleBinding{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("ClusterRoleBinding %s: %v; want it never created", escalation, err)
	}
	for kind, names := range snapshotCluster(t) {
		var added []string
		for n := range names {
			if !before[kind][n] {
				added = append(added, n)
			}
		}
		if len(added) > 0 {
			sort.Strings(added)
			t.Errorf("new %s outside the namespace: %v", kind, added)
		}
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

	t.Run("a forged deployed revision is refused by update, upgrade and delete, and adopting it installs the extension's own", func(t *testing.T) {
		// Auto-upgrading from 1.4.0, so upgrade has a patch (1.4.1) to take and
		// reaches the release, rather than finding nothing to do.
		name, ns := uniq("trust"), uniq("trust")
		mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait", "--config-protected", "apiKey="+secret,
			"--auto-upgrade", "false", "--version", "1.4.0")
		mustKext(t, "update", name, "--auto-upgrade", "true", "--no-wait")
		admin := newNSAdmin(t, ns)
		before := snapshotCluster(t)
		recorded := getExt(t, name).Status.Release.Revision
		admin.plant(t, name, helmrelease.StatusDeployed)
		wantRefused(t, append(drift, fmt.Sprintf("the newest revision is %d (deployed), but the recorded one is %d", recorded+1, recorded)),
			"update", name, "--config", "message=x", "--no-wait")
		for _, args := range [][]string{{"upgrade", name, "--no-wait"}, {"upgrade", "--all", "--no-wait"}} {
			res := kext(t, args...)
			out := res.Stdout + res.Stderr
			if res.ExitCode == 0 || !strings.Contains(out, name) || !strings.Contains(out, drift[0]) {
				t.Errorf("kubectl ext %s: exit %d, want it refused with the drift error naming %s\nstdout: %s\nstderr: %s",
					strings.Join(args, " "), res.ExitCode, name, res.Stdout, res.Stderr)
			}
		}
		wantRefused(t, drift, "delete", name, "--yes")
		wantNoEscalation(t, before)
		e := getExt(t, name)
		if e.Status.ErrorInfo == nil || e.Status.ErrorInfo.Code != "ReleaseDrift" {
			t.Errorf("status %+v, want the drift recorded", e.Status.ErrorInfo)
		}
		if e.Status.CurrentVersion != "1.4.0" || e.Status.Release.Revision != recorded {
			t.Errorf("after the refusals: version %s, release revision %d; want 1.4.0 at revision %d", e.Status.CurrentVersion, e.Status.Release.Revision, recorded)
		}
		if h := history(t, name, ns); len(h) != int(recorded)+1 {
			t.Errorf("history %v, want the %d revisions before the refusals", summary(h), recorded+1)
		}

		mustKext(t, "update", name, "--adopt-release", "--no-wait")
		wantNoEscalation(t, before)
		h := history(t, name, admin.ns)
		if len(h) != 1 || h[0].Info.Status != helmrelease.StatusDeployed || strings.Contains(h[0].Manifest, escalation) {
			t.Errorf("after adoption: %v", summary(h))
		}
		mustKext(t, "delete", name, "--yes")
		wantNoEscalation(t, before)
	})

	t.Run("a forged pending-upgrade is refused, never rolled back to or from", func(t *testing.T) {
		name, admin := installedFor(t, typ, secret)
		before := snapshotCluster(t)
		admin.plant(t, name, helmrelease.StatusPendingUpgrade)
		wantRefused(t, append(drift, "no kubectl ext command on it was interrupted"), "update", name, "--config", "message=x", "--no-wait")
		wantRefused(t, drift, "delete", name, "--yes")
		wantNoEscalation(t, before)
		if h := history(t, name, admin.ns); len(h) != 2 {
			t.Errorf("history %v, want the two revisions left as they were", summary(h))
		}
	})

	t.Run("a Secret copying a release record's labels under another name is refused, not taken for the record", func(t *testing.T) {
		name, admin := installedFor(t, typ, secret)
		before := snapshotCluster(t)
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
		wantNoEscalation(t, before)
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

	t.Run("a Lease the namespace admin wrote for a holder that is not running holds the update back, and nothing else happens", func(t *testing.T) {
		name, admin := installedFor(t, typ, secret)
		before := snapshotCluster(t)
		ext := getExt(t, name)
		revisions := len(history(t, name, admin.ns))
		// No such command runs anywhere; its renewTime is an hour in the future, as a
		// forger (or a holder whose clock runs ahead) would write it.
		const ghost = "mallory@elsewhere/1-0123456789abcdef"
		future := metav1.NewMicroTime(time.Now().Add(time.Hour))
		lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: admin.ns, Name: "kubeext-" + name},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(ghost), LeaseDurationSeconds: ptr.To(int32(20)), AcquireTime: &future, RenewTime: &future}}
		if err := admin.c.Create(testCtx(t), lease); err != nil {
			t.Fatalf("the namespace admin writes the Lease: %v", err)
		}

		// Within a timeout shorter than the lease duration, the update waits, says for
		// whom, and refuses, naming the holder.
		res := wantRefused(t, []string{"another operation is in progress on extension " + name, "held by " + ghost, "give a longer --timeout"},
			"update", name, "--config", "message=after-the-forged-lease", "--no-wait", "--timeout", "5s")
		if want := "Waiting for the lock of extension " + name + ", held by " + ghost + " (last renewed 1h0m0s in our future"; !strings.Contains(res.Stdout+res.Stderr, want) &&
			!strings.Contains(res.Stdout+res.Stderr, strings.Replace(want, "1h0m0s", "59m59s", 1)) {
			t.Errorf("the update does not say whom it waits for (%q):\nstdout: %s\nstderr: %s", want, res.Stdout, res.Stderr)
		}
		after := getExt(t, name)
		if after.Generation != ext.Generation || after.Spec.ConfigurationSettings["message"] != ext.Spec.ConfigurationSettings["message"] {
			t.Errorf("the refused update changed the spec: generation %d -> %d, settings %v", ext.Generation, after.Generation, after.Spec.ConfigurationSettings)
		}
		if after.Status.ProvisioningState != ext.Status.ProvisioningState || after.Status.Release != ext.Status.Release || after.Status.ErrorInfo != nil {
			t.Errorf("the refused update changed the status: %s %+v %+v", after.Status.ProvisioningState, after.Status.Release, after.Status.ErrorInfo)
		}
		if h := history(t, name, admin.ns); len(h) != revisions {
			t.Errorf("history %v, want the %d revisions before", summary(h), revisions)
		}
		got := &coordinationv1.Lease{}
		if err := env.Client.Get(testCtx(t), client.ObjectKeyFromObject(lease), got); err != nil || got.ResourceVersion != lease.ResourceVersion {
			t.Errorf("the refused update wrote the Lease: %v (resourceVersion %s, was %s)", err, got.ResourceVersion, lease.ResourceVersion)
		}
		wantNoEscalation(t, before)

		// With time to wait, the update sees that nobody renews the lease for its
		// duration on its own clock (the future renewTime does not count), takes it
		// over, says so, does what it was asked alone, and releases the lock.
		res = mustKext(t, "update", name, "--config", "message=after-the-forged-lease", "--no-wait", "--timeout", "2m")
		// The duration is measured on this machine's clock: 20s, or more under load.
		if want := regexp.MustCompile("Taking over the lock of extension " + regexp.QuoteMeta(name) + ": " + regexp.QuoteMeta(ghost) + ` has not renewed it for (\d+m)?\d+s`); !want.MatchString(res.Stdout + res.Stderr) {
			t.Errorf("the takeover is not explained (%s):\nstdout: %s\nstderr: %s", want, res.Stdout, res.Stderr)
		}
		h := history(t, name, admin.ns)
		if len(h) != revisions+1 || h[len(h)-1].Info.Status != helmrelease.StatusDeployed {
			t.Fatalf("history %v, want one new deployed revision", summary(h))
		}
		wantValues(t, h[len(h)-1], map[string]any{"message": "after-the-forged-lease"})
		if e := getExt(t, name); e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded || e.Status.Release.Revision != h[len(h)-1].Version {
			t.Errorf("after the update: %s at revision %d", e.Status.ProvisioningState, e.Status.Release.Revision)
		}
		if err := env.Client.Get(testCtx(t), client.ObjectKeyFromObject(lease), &coordinationv1.Lease{}); !apierrors.IsNotFound(err) {
			t.Errorf("the lock was not released: %v", err)
		}
		wantNoEscalation(t, before)
	})

	// plantTheirs creates a Secret of the namespace admin's that looks like the
	// extension's own (its labels), but that no Extension owns.
	plantTheirs := func(t *testing.T, name string, admin *nsAdmin) *corev1.Secret {
		t.Helper()
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: admin.ns, Name: "db-credentials",
			Labels: map[string]string{lifecycle.LabelManagedBy: lifecycle.ManagedBy, lifecycle.LabelExtension: name}},
			StringData: map[string]string{lifecycle.ProtectedSettingsKey: `{"password":"theirs"}`}}
		if err := admin.c.Create(testCtx(t), s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("secretName repointed at someone else's Secret: the webhook refuses it, even to a cluster admin", func(t *testing.T) {
		name, admin := installedFor(t, typ, secret)
		plantTheirs(t, name, admin)
		own := getExt(t, name).Spec.ConfigurationProtectedSettings.SecretName
		res, err := env.Kubectl(testCtx(t), binDir, "patch", "extension", name, "--type=merge",
			"-p", `{"spec":{"configurationProtectedSettings":{"secretName":"db-credentials"}}}`)
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode == 0 || !strings.Contains(res.Stderr, "denied the request") || !strings.Contains(res.Stderr, "[EXT-SETTINGS-001]") {
			t.Fatalf("kubectl patch of secretName: exit %d, want it denied naming [EXT-SETTINGS-001]\nstdout: %s\nstderr: %s", res.ExitCode, res.Stdout, res.Stderr)
		}
		if got := getExt(t, name).Spec.ConfigurationProtectedSettings; got == nil || got.SecretName != own {
			t.Errorf("after the denied patch secretName is %+v, want %q", got, own)
		}
	})

	// EXT-SETTINGS-001 lets an update that finds no secretName set one (protected
	// settings added later), so an extension created without protected settings can
	// still be pointed at their Secret, through the webhook: the plugin's own check
	// (the Secret must be owned by the Extension) is what protects it then.
	t.Run("secretName first set to someone else's Secret: never overwritten, read or deleted", func(t *testing.T) {
		name, ns := uniq("trust"), uniq("trust")
		mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait")
		admin := newNSAdmin(t, ns)
		theirs := plantTheirs(t, name, admin)
		e := getExt(t, name)
		if e.Spec.ConfigurationProtectedSettings != nil {
			t.Fatalf("created without protected settings, the extension names a Secret: %+v", e.Spec.ConfigurationProtectedSettings)
		}
		e.Spec.ConfigurationProtectedSettings = &v1alpha1.ProtectedSettingsRef{SecretName: "db-credentials"}
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
	before := snapshotCluster(t)
	run("failing update", "update", name, "--config", "strict=true", "--no-wait")
	// Dry runs print the object they would write; a server dry run also sends the
	// Extension and the protected Secret to the API server (and the webhook) as
	// dry-run writes. Neither renders the chart, so strict=true fails nothing there.
	for _, mode := range []string{"client", "server"} {
		run("create --dry-run="+mode, "create", uniq("leak"), "--extension-type", typ, "--release-namespace", ns,
			"--config-protected", "apiKey="+secret, "--dry-run="+mode, "-o", "yaml")
		run("update --dry-run="+mode, "update", name, "--config-protected", "apiKey="+secret, "token="+secret, "--yes", "--dry-run="+mode, "-o", "yaml")
		run("failing update --dry-run="+mode, "update", name, "--config", "strict=true", "--dry-run="+mode)
	}
	run("type show", "type", "show", typ)
	run("type show -o yaml", "type", "show", typ, "-o", "yaml")
	run("type versions", "type", "versions", typ, "--all")
	run("type list", "type", "list")
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
	// What a user reads with kubectl itself: every Event, in the release namespace and
	// elsewhere, and the Extensions as stored.
	for _, args := range [][]string{{"get", "events", "-A", "-o", "yaml"}, {"get", "events", "-n", ns}, {"get", "extensions.kubeext.dev", "-o", "yaml"}} {
		res, err := env.Kubectl(testCtx(t), binDir, args...)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("kubectl %s: %v, exit %d: %s", strings.Join(args, " "), err, res.ExitCode, res.Stderr)
		}
		outputs = append(outputs, "kubectl "+strings.Join(args, " ")+":\n"+res.Stdout+res.Stderr)
	}
	// kubectl ext's own Events (one per action and failure, messages redacted as the
	// status's are) and any other are scanned too. The webhook's log
	// holds a line for every review (the Extension's writes by name among them).
	if log := hook.Log.String(); !strings.Contains(log, name) {
		t.Errorf("the webhook's log never mentions extension %s, so scanning it proves nothing:\n%s", name, log)
	} else {
		outputs = append(outputs, "the webhook's log:\n"+log)
	}
	for _, out := range outputs {
		if strings.Contains(out, secret) {
			t.Errorf("the protected value appears in %s", out)
		}
	}
	wantNoEscalation(t, before)
}
