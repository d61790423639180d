package cli_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/install"
	"github.com/kubeext/kubectl-ext/internal/testenv"
	"github.com/kubeext/kubectl-ext/manifests"
)

// initObjects parses what `kubectl ext init --print ARGS...` prints.
func initObjects(t *testing.T, args ...string) []*unstructured.Unstructured {
	t.Helper()
	res := mustKext(t, append([]string{"init", "--print"}, args...)...)
	d := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(res.Stdout), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := d.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("init --print printed invalid YAML: %v\n%s", err, res.Stdout)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// initObjName is how kubectl and init name an object: kind.group/name.
func initObjName(o *unstructured.Unstructured) string {
	gvk := o.GroupVersionKind()
	k := strings.ToLower(gvk.Kind)
	if gvk.Group != "" {
		k += "." + gvk.Group
	}
	return k + "/" + o.GetName()
}

// initResourceVersions reads every object's resourceVersion ("" when it does not exist).
func initResourceVersions(t *testing.T, objs []*unstructured.Unstructured) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, o := range objs {
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(o.GroupVersionKind())
		err := env.Client.Get(testCtx(t), client.ObjectKeyFromObject(o), live)
		switch {
		case apierrors.IsNotFound(err):
			out[initObjName(o)] = ""
		case err != nil:
			t.Fatalf("reading %s: %v", initObjName(o), err)
		default:
			out[initObjName(o)] = live.GetResourceVersion()
		}
	}
	return out
}

// initOutcomes maps each object line of init's output to what it says happened.
func initOutcomes(t *testing.T, stdout string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		name, outcome, ok := strings.Cut(l, " ")
		if !ok {
			t.Fatalf("not an object line: %q\n%s", l, stdout)
		}
		out[name] = outcome
	}
	return out
}

// initDeleteCatalog removes the default catalog's types, so that later tests (type sync
// --all) do not reach for the Internet and each init test starts without them.
func initDeleteCatalog(t *testing.T) {
	t.Helper()
	for _, name := range initCatalogNames(t) {
		err := env.Client.Delete(testCtx(t), &v1alpha1.ExtensionType{ObjectMeta: metav1.ObjectMeta{Name: name}})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting extension type %s: %v", name, err)
		}
	}
}

func initCatalogNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, et := range initCatalogTypes(t) {
		names = append(names, et.Name)
	}
	return names
}

// initCatalogTypes decodes the embedded catalog strictly: a field the API does not know is
// an error.
func initCatalogTypes(t *testing.T) []v1alpha1.ExtensionType {
	t.Helper()
	files, err := fs.Glob(manifests.Catalog, manifests.CatalogDir+"/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no catalog files embedded (%v)", err)
	}
	var out []v1alpha1.ExtensionType
	for _, f := range files {
		b, err := manifests.Catalog.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var et v1alpha1.ExtensionType
		if err := yaml.UnmarshalStrict(b, &et); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if et.Name+".yaml" != strings.TrimPrefix(f, manifests.CatalogDir+"/") {
			t.Errorf("%s holds extension type %q: name the file after the type", f, et.Name)
		}
		out = append(out, et)
	}
	return out
}

func initEnsureNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := env.Client.Create(testCtx(t), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// initKubectlStdin runs the real kubectl against the test cluster with stdin.
func initKubectlStdin(t *testing.T, stdin string, args ...string) testenv.Result {
	t.Helper()
	kubectl, err := testenv.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testCtx(t), kubectl, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	res := testenv.Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	case err != nil:
		t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// TestInitTwiceChangesNothing: init installs the CRDs (already created by the test
// environment: server-side apply takes their fields over) and the catalog; a second
// run moves no resourceVersion and says "unchanged" for every object, and so does a
// server-side dry run after it.
func TestInitTwiceChangesNothing(t *testing.T) {
	requireEnv(t)
	initDeleteCatalog(t)
	t.Cleanup(func() { initDeleteCatalog(t) })
	objs := initObjects(t)
	if len(objs) != 2+len(initCatalogNames(t)) {
		t.Fatalf("init --print: want the 2 CRDs and %d catalog types, got %d objects", len(initCatalogNames(t)), len(objs))
	}

	res := mustKext(t, "init")
	first := initOutcomes(t, res.Stdout)
	for _, o := range objs {
		if got := first[initObjName(o)]; got != "serverside-applied" && got != "unchanged" {
			t.Errorf("first run: %s %q", initObjName(o), got)
		}
	}
	for _, name := range initCatalogNames(t) {
		if got := first["extensiontype.kubeext.dev/"+name]; got != "serverside-applied" {
			t.Errorf("first run: the new type %s is %q, want serverside-applied", name, got)
		}
	}
	if len(first) != len(objs) {
		t.Errorf("first run: want %d lines, one per object:\n%s", len(objs), res.Stdout)
	}
	if !strings.Contains(res.Stdout, "customresourcedefinition.apiextensions.k8s.io/extensions.kubeext.dev ") {
		t.Errorf("the CRD is not named the way kubectl names it:\n%s", res.Stdout)
	}
	if !strings.Contains(res.Stderr, "kubectl ext type sync --all") {
		t.Errorf("init does not say how to read the catalog's versions:\n%s", res.Stderr)
	}
	before := initResourceVersions(t, objs)
	for name, rv := range before {
		if rv == "" {
			t.Errorf("%s was not created", name)
		}
	}

	res = mustKext(t, "init")
	second := initOutcomes(t, res.Stdout)
	if len(second) != len(objs) {
		t.Errorf("second run: want %d lines:\n%s", len(objs), res.Stdout)
	}
	for name, outcome := range second {
		if outcome != "unchanged" {
			t.Errorf("second run: %s %s, want unchanged", name, outcome)
		}
	}
	after := initResourceVersions(t, objs)
	for name, rv := range before {
		if after[name] != rv {
			t.Errorf("the second run changed %s: resourceVersion %s -> %s", name, rv, after[name])
		}
	}

	t.Run("the fields belong to the kubectl-ext field manager, through Apply", func(t *testing.T) {
		for _, o := range objs {
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(o.GroupVersionKind())
			if err := env.Client.Get(testCtx(t), client.ObjectKeyFromObject(o), live); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, mf := range live.GetManagedFields() {
				found = found || mf.Manager == "kubectl-ext" && mf.Operation == metav1.ManagedFieldsOperationApply
			}
			if !found {
				t.Errorf("%s: no Apply entry of kubectl-ext in %+v", initObjName(o), live.GetManagedFields())
			}
		}
	})

	t.Run("a server dry run afterwards finds nothing to change", func(t *testing.T) {
		res := mustKext(t, "init", "--dry-run=server")
		for name, outcome := range initOutcomes(t, res.Stdout) {
			if outcome != "unchanged (server dry run)" {
				t.Errorf("%s %s, want unchanged (server dry run)", name, outcome)
			}
		}
		if strings.Contains(res.Stderr, "type sync") {
			t.Errorf("a dry run suggests syncing: %s", res.Stderr)
		}
	})

	t.Run("a type changed by hand is set back, and only it", func(t *testing.T) {
		name := initCatalogNames(t)[0]
		et := initGetType(t, name)
		et.Spec.Description = "edited by hand"
		if err := env.Client.Update(testCtx(t), et); err != nil {
			t.Fatal(err)
		}
		res := mustKext(t, "init")
		for n, outcome := range initOutcomes(t, res.Stdout) {
			want := "unchanged"
			if n == "extensiontype.kubeext.dev/"+name {
				want = "serverside-applied"
			}
			if outcome != want {
				t.Errorf("%s %s, want %s", n, outcome, want)
			}
		}
		if initGetType(t, name).Spec.Description == "edited by hand" {
			t.Errorf("init did not take the description back")
		}
	})
}

func initGetType(t *testing.T, name string) *v1alpha1.ExtensionType {
	t.Helper()
	et := &v1alpha1.ExtensionType{}
	if err := env.Client.Get(testCtx(t), client.ObjectKey{Name: name}, et); err != nil {
		t.Fatalf("reading extension type %s: %v", name, err)
	}
	return et
}

// TestInitDryRunWritesNothing: --dry-run=server --with-webhook has the API server
// check every object and keeps none.
func TestInitDryRunWritesNothing(t *testing.T) {
	requireEnv(t)
	initDeleteCatalog(t)
	objs := initObjects(t, "--with-webhook")
	var ns *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			ns = o
		}
	}
	if ns == nil {
		t.Fatalf("init --print --with-webhook has no namespace")
	}

	err := env.Client.Get(testCtx(t), client.ObjectKey{Name: ns.GetName()}, &corev1.Namespace{})
	if apierrors.IsNotFound(err) {
		t.Run("without the namespace, the objects in it are skipped, not failed", func(t *testing.T) {
			res := mustKext(t, "init", "--with-webhook", "--dry-run=server")
			want := "deployment.apps/kubeext-webhook skipped: namespace " + ns.GetName() + " does not exist yet (server dry run)\n"
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("want %q in:\n%s", want, res.Stdout)
			}
		})
	}

	// A dry run creates nothing, so the namespace must exist for the objects in it to
	// be checked.
	initEnsureNamespace(t, ns.GetName())
	before := initResourceVersions(t, objs)
	res := mustKext(t, "init", "--with-webhook", "--dry-run=server")
	got := initOutcomes(t, res.Stdout)
	if len(got) != len(objs) {
		t.Errorf("want one line per object (%d):\n%s", len(objs), res.Stdout)
	}
	for _, o := range objs {
		name := initObjName(o)
		switch {
		case before[name] == "" && got[name] != "serverside-applied (server dry run)":
			t.Errorf("%s %q, want serverside-applied (server dry run)", name, got[name])
		case before[name] != "" && got[name] != "serverside-applied (server dry run)" && got[name] != "unchanged (server dry run)":
			t.Errorf("%s (it exists) %q", name, got[name]) // the CRDs, the namespace
		}
	}
	after := initResourceVersions(t, objs)
	for name, rv := range before {
		if after[name] != rv {
			t.Errorf("the dry run changed %s: resourceVersion %q -> %q", name, rv, after[name])
		}
	}
	for _, name := range []string{"validatingwebhookconfiguration.admissionregistration.k8s.io/kubeext-webhook", "deployment.apps/kubeext-webhook", "configmap/kubeext-policy"} {
		if after[name] != "" {
			t.Errorf("the dry run created %s", name)
		}
	}
}

// TestInitPrintAppliesWithKubectl: --print needs no cluster, and its YAML stream
// passes `kubectl apply --dry-run=server -f -` with the real kubectl.
func TestInitPrintAppliesWithKubectl(t *testing.T) {
	requireEnv(t)
	res := mustKext(t, "init", "--print", "--with-webhook", "--server", "https://127.0.0.1:1")
	stream := res.Stdout
	if !regexp.MustCompile(`(?m)^\s+image: ghcr\.io/kubeext/kubeext-webhook:\S+$`).MatchString(stream) || strings.Contains(stream, "kubeext-webhook:latest") {
		t.Errorf("the webhook image is not the kustomization's:\n%s", stream)
	}
	kinds := regexp.MustCompile(`(?m)^kind: (\S+)$`).FindAllStringSubmatch(stream, -1)
	if len(kinds) < 3 || kinds[0][1] != "CustomResourceDefinition" || kinds[2][1] != "Namespace" || kinds[len(kinds)-1][1] != "ValidatingWebhookConfiguration" {
		t.Errorf("want the CRDs first, then the namespace, the webhook configuration last: %v", kinds)
	}

	initEnsureNamespace(t, "kubeext-system")
	ares := initKubectlStdin(t, stream, "apply", "--dry-run=server", "-f", "-")
	if ares.ExitCode != 0 {
		t.Fatalf("kubectl apply --dry-run=server -f - (exit %d):\n%s\n%s", ares.ExitCode, ares.Stdout, ares.Stderr)
	}
	for _, want := range []string{
		"customresourcedefinition.apiextensions.k8s.io/extensions.kubeext.dev",
		"customresourcedefinition.apiextensions.k8s.io/extensiontypes.kubeext.dev",
		"extensiontype.kubeext.dev/" + initCatalogNames(t)[0],
		"deployment.apps/kubeext-webhook",
		"configmap/kubeext-policy",
		"validatingwebhookconfiguration.admissionregistration.k8s.io/kubeext-webhook",
	} {
		if !strings.Contains(ares.Stdout, want+" ") {
			t.Errorf("kubectl did not apply %s:\n%s", want, ares.Stdout)
		}
	}
	if strings.Count(ares.Stdout, "(server dry run)") != strings.Count(stream, "\nkind: ") {
		t.Errorf("want one kubectl line per object:\n%s", ares.Stdout)
	}

	t.Run("--image, --without-catalog and no webhook select what is printed", func(t *testing.T) {
		res := mustKext(t, "init", "--print", "--with-webhook", "--image", "registry.example.com/team/kubeext-webhook@sha256:"+strings.Repeat("a", 64))
		if !strings.Contains(res.Stdout, "image: registry.example.com/team/kubeext-webhook@sha256:aaaa") {
			t.Errorf("--image was not used:\n%s", res.Stdout)
		}
		var kinds []string
		for _, o := range initObjects(t, "--without-catalog") {
			kinds = append(kinds, o.GetKind())
		}
		if strings.Join(kinds, ",") != "CustomResourceDefinition,CustomResourceDefinition" {
			t.Errorf("--without-catalog printed %v, want the two CRDs", kinds)
		}
		for _, o := range initObjects(t) {
			if o.GetNamespace() != "" || o.GetKind() == "Namespace" {
				t.Errorf("without --with-webhook init printed %s", initObjName(o))
			}
		}
	})
}

// TestInitCheck: on the test cluster (CRDs, and the webhook under test served outside
// the cluster and registered under its own name) --check succeeds, reports the shipped
// webhook configuration and Service missing and the webhook answering with its rule
// ids; --check --with-webhook fails for the missing ones. The unanswered probe is
// table-tested in internal/install.
func TestInitCheck(t *testing.T) {
	requireEnv(t)
	res := mustKext(t, "init", "--check")
	for _, re := range []string{
		`^COMPONENT\s+STATUS\s+DETAIL\n`,
		`(?m)^customresourcedefinition/extensions\.kubeext\.dev\s+Established\s+served versions: v1alpha1$`,
		`(?m)^customresourcedefinition/extensiontypes\.kubeext\.dev\s+Established\s`,
		`(?m)^extension types\s+\d+\s+default catalog: \d+ of \d+`,
		`(?m)^validatingwebhookconfiguration/kubeext-webhook\s+Missing\s+optional; install it with ` + "`kubectl ext init --with-webhook`$",
		`(?m)^service/kubeext-webhook -n kubeext-system\s+(Missing|NotReady)`,
		`(?m)^webhook answers\s+Yes\s+denied an invalid Extension \(server dry run\): \[EXT-SCOPE-001\] .*\[EXT-VERSION-004\]`,
	} {
		if !regexp.MustCompile(re).MatchString(res.Stdout) {
			t.Errorf("--check output lacks %s:\n%s", re, res.Stdout)
		}
	}

	res = kext(t, "init", "--check", "--with-webhook")
	if res.ExitCode != 1 {
		t.Fatalf("--check --with-webhook without the shipped webhook: exit %d, want 1\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	for _, want := range []string{
		"error: validatingwebhookconfiguration kubeext-webhook is missing",
		"service kubeext-system/kubeext-webhook",
		"`kubectl ext init --with-webhook`",
	} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.Stderr)
		}
	}
	if strings.Contains(res.Stderr, "does not answer") {
		t.Errorf("the webhook under test answers, yet --check says it does not:\n%s", res.Stderr)
	}
	if !strings.Contains(res.Stdout, "customresourcedefinition/extensions.kubeext.dev") {
		t.Errorf("the report is not printed when the check fails:\n%s", res.Stdout)
	}

	exts := &v1alpha1.ExtensionList{}
	if err := env.Client.List(testCtx(t), exts); err != nil {
		t.Fatal(err)
	}
	for _, e := range exts.Items {
		if strings.HasPrefix(e.Name, "kubeext-init-check-") {
			t.Errorf("the probe's dry run left extension %s behind", e.Name)
		}
	}
}

// TestInitFlagErrors: flags that do not go together, or bad values, exit 1 with a
// message that says what to do, before anything touches the cluster.
func TestInitFlagErrors(t *testing.T) {
	requireEnv(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"--print with a server dry run", []string{"--print", "--dry-run=server"}, "--print and --dry-run=server cannot be combined"},
		{"--check with --print", []string{"--check", "--print"}, "--check applies nothing and takes only --with-webhook"},
		{"--check with a dry run", []string{"--check", "--dry-run=server"}, "--check applies nothing"},
		{"--check with --without-catalog", []string{"--check", "--without-catalog"}, "--check applies nothing"},
		{"--check with --image", []string{"--check", "--with-webhook", "--image", "example.com/w:1"}, "--check applies nothing"},
		{"--image without --with-webhook", []string{"--image", "example.com/w:1"}, "--image sets the webhook's image: add --with-webhook"},
		{"--manager-image without --with-manager", []string{"--manager-image", "example.com/m:1"}, "--manager-image sets the extension manager's image: add --with-manager"},
		{"--check with --manager-image", []string{"--check", "--with-manager", "--manager-image", "example.com/m:1"}, "--check applies nothing"},
		{"a manager image URL", []string{"--with-manager", "--manager-image", "https://example.com/m:1"}, `--manager-image "https://example.com/m:1" is a URL`},
		{"a client dry run", []string{"--dry-run=client"}, "--dry-run=client is not supported by init: use --print"},
		{"an unknown dry run", []string{"--dry-run=maybe"}, `--dry-run must be "none" or "server", not "maybe"`},
		{"an image URL", []string{"--with-webhook", "--image", "https://example.com/w:1"}, "is a URL"},
		{"an empty image", []string{"--with-webhook", "--image", ""}, "--image must name an image"},
		{"a zero timeout", []string{"--timeout", "0s"}, "--timeout must be positive"},
		{"an argument", []string{"everything"}, `takes no arguments, got "everything"`},
		{"an unknown flag", []string{"--with-webhooks"}, "unknown flag: --with-webhooks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := kext(t, append([]string{"init"}, tt.args...)...)
			if res.ExitCode != 1 || !strings.Contains(res.Stderr, tt.want) {
				t.Errorf("exit %d, want 1 with %q\nstdout: %s\nstderr: %s", res.ExitCode, tt.want, res.Stdout, res.Stderr)
			}
			if res.Stdout != "" {
				t.Errorf("a refused init printed:\n%s", res.Stdout)
			}
		})
	}

	t.Run("--help shows the examples", func(t *testing.T) {
		res := mustKext(t, "init", "--help")
		for _, want := range []string{"kubectl ext init --with-webhook --print > kubeext.yaml", "kubectl ext init --check --with-webhook --with-manager",
			"--without-catalog", "--with-manager", "--manager-image"} {
			if !strings.Contains(res.Stdout, want) {
				t.Errorf("--help lacks %q", want)
			}
		}
	})
}

// TestInitWithManager: --with-manager prints and applies the extension manager (its
// namespace too, without the webhook) with the image asked for; the real kubectl's
// `auth can-i` finds that its ServiceAccount may do what the manager does and not what
// a cluster admin may; and --check --with-manager fails on this cluster without nodes,
// naming the Deployment's unavailable replicas and the missing leader.
func TestInitWithManager(t *testing.T) {
	requireEnv(t)
	const image = "registry.example.com/team/kubeext-extension-manager:v9.9.9"
	var names []string
	for _, o := range initObjects(t, "--with-manager", "--without-catalog", "--manager-image", image) {
		names = append(names, initObjName(o))
		if o.GetKind() == "Deployment" {
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			if len(cs) != 1 || cs[0].(map[string]any)["image"] != image {
				t.Errorf("--manager-image was not used: %v", cs)
			}
		}
	}
	printed := strings.Join(names, " ")
	for _, want := range []string{"namespace/kubeext-system", "deployment.apps/kubeext-extension-manager", "serviceaccount/kubeext-extension-manager",
		"clusterrole.rbac.authorization.k8s.io/kubeext-extension-manager", "service/kubeext-extension-manager-metrics"} {
		if !strings.Contains(printed+" ", want+" ") {
			t.Errorf("init --print --with-manager lacks %s: %s", want, printed)
		}
	}
	for _, unwanted := range []string{"deployment.apps/kubeext-webhook", "validatingwebhookconfiguration", "kubeext-extension-manager-all-namespaces"} {
		if strings.Contains(printed, unwanted) {
			t.Errorf("init --print --with-manager printed %s: %s", unwanted, printed)
		}
	}

	res := mustKext(t, "init", "--with-manager", "--without-catalog", "--manager-image", image)
	if !regexp.MustCompile(`(?m)^deployment\.apps/kubeext-extension-manager (serverside-applied|unchanged)$`).MatchString(res.Stdout) {
		t.Errorf("init --with-manager did not apply the Deployment:\n%s", res.Stdout)
	}
	t.Cleanup(func() {
		_ = env.Client.Delete(testCtx(t), &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"namespace": "kubeext-system", "name": "kubeext-extension-manager"}}})
	})

	t.Run("auth can-i", func(t *testing.T) {
		const sa = "system:serviceaccount:kubeext-system:kubeext-extension-manager"
		for _, tc := range []struct {
			args []string
			want bool
		}{
			{[]string{"watch", "extensions.kubeext.dev"}, true},
			{[]string{"update", "extensions.kubeext.dev", "--subresource=finalizers"}, true},
			{[]string{"patch", "extensions.kubeext.dev", "--subresource=status"}, true},
			{[]string{"update", "extensiontypes.kubeext.dev", "--subresource=status"}, true},
			{[]string{"create", "leases.coordination.k8s.io", "-n", "team-a"}, true},
			{[]string{"create", "namespaces"}, true},
			{[]string{"create", "events", "-n", "default"}, true},
			{[]string{"impersonate", "serviceaccounts/kubeext-installer", "-n", "kubeext-system"}, true},
			{[]string{"create", "tokenreviews.authentication.k8s.io"}, true},
			{[]string{"create", "subjectaccessreviews.authorization.k8s.io"}, true},
			{[]string{"*", "*"}, false},
			{[]string{"get", "secrets", "-n", "kube-system"}, false},
			{[]string{"list", "secrets", "--all-namespaces"}, false},
			{[]string{"impersonate", "serviceaccounts/default", "-n", "kube-system"}, false},
			{[]string{"create", "clusterrolebindings"}, false},
			{[]string{"create", "pods", "--subresource=exec", "-n", "kubeext-system"}, false},
			{[]string{"update", "extensiontypes.kubeext.dev"}, false},
			{[]string{"delete", "namespaces"}, false},
		} {
			args := append([]string{"auth", "can-i"}, tc.args...)
			args = append(args, "--as", sa)
			r, err := env.Kubectl(testCtx(t), binDir, args...)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.ExitCode == 0; got != tc.want || (r.ExitCode != 0 && r.ExitCode != 1) {
				t.Errorf("kubectl %s: %q (exit %d), want allowed=%v\n%s", strings.Join(args, " "), strings.TrimSpace(r.Stdout), r.ExitCode, tc.want, r.Stderr)
			}
		}
	})

	t.Run("--check", func(t *testing.T) {
		res := mustKext(t, "init", "--check")
		if !regexp.MustCompile(`(?m)^deployment/kubeext-extension-manager -n kubeext-system\s+NotAvailable\s+0/2 replicas available, image ` + regexp.QuoteMeta(image)).MatchString(res.Stdout) {
			t.Errorf("--check does not report the manager's Deployment:\n%s", res.Stdout)
		}
		res = kext(t, "init", "--check", "--with-manager")
		if res.ExitCode != 1 {
			t.Fatalf("--check --with-manager without a running manager: exit %d, want 1\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
		}
		for _, want := range []string{"deployment kubeext-system/kubeext-extension-manager has no available replica",
			"no extension manager leads", "`kubectl ext init --with-manager`", "docs/manager.md"} {
			if !strings.Contains(res.Stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, res.Stderr)
			}
		}
		if !regexp.MustCompile(`(?m)^lease/` + regexp.QuoteMeta(install.ManagerLease) + ` -n kubeext-system\s+Missing\s`).MatchString(res.Stdout) {
			t.Errorf("--check does not report the missing leader:\n%s", res.Stdout)
		}
	})
}

// TestInitCatalogEntries: each type of the default catalog decodes strictly, names a
// public chart source, and has a default scope it supports with a release namespace
// the policies allow.
func TestInitCatalogEntries(t *testing.T) {
	protected := map[string]bool{"kube-system": true, "kube-public": true, "kube-node-lease": true, "kubeext-system": true}
	for _, et := range initCatalogTypes(t) {
		t.Run(et.Name, func(t *testing.T) {
			if errs := validation.IsDNS1123Subdomain(et.Name); len(errs) > 0 {
				t.Errorf("name: %v", errs)
			}
			if !regexp.MustCompile(`^(https|oci)://[a-z0-9.-]+(/\S*)?$`).MatchString(et.Spec.Chart.Repository) || et.Spec.Chart.Name == "" {
				t.Errorf("chart source %+v is not a public https:// or oci:// source", et.Spec.Chart)
			}
			if et.Spec.Description == "" {
				t.Errorf("no description for `kubectl ext type list`")
			}
			s := et.Spec.Scopes
			switch s.Default {
			case v1alpha1.ScopeCluster:
				if s.Cluster == nil {
					t.Errorf("default scope cluster is not supported")
				}
			case v1alpha1.ScopeNamespace:
				if s.Namespace == nil {
					t.Errorf("default scope namespace is not supported")
				}
			default:
				t.Errorf("no default scope")
			}
			if s.Cluster != nil && (s.Cluster.DefaultReleaseNamespace == "" || protected[s.Cluster.DefaultReleaseNamespace]) {
				t.Errorf("cluster scope needs a default release namespace the policies allow, not %q", s.Cluster.DefaultReleaseNamespace)
			}
		})
	}
}
