package cli_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
	"helm.sh/helm/v3/pkg/chartutil"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// azDocs are the command lines of `az k8s-extension` create, show, list, update and
// delete in its docs, as printed there, by page and then by an id the table below
// refers to. TestAzDocsCommandLines runs every one of them.
var azDocs = []struct {
	url   string
	lines map[string]string
}{
	{
		// The CLI reference: the examples of the k8s-extension CLI extension's own help
		// (azure-cli-extensions, src/k8s-extension/azext_k8s_extension/_help.py).
		url: "https://learn.microsoft.com/en-us/cli/azure/k8s-extension",
		lines: map[string]string{
			"reference/create":             "az k8s-extension create --resource-group my-resource-group --cluster-name mycluster --cluster-type connectedClusters --name myextension --extension-type microsoft.openservicemesh --scope cluster --release-train stable",
			"reference/create-marketplace": "az k8s-extension create --resource-group my-resource-group --cluster-name mycluster --cluster-type managedClusters --name myextension --extension-type Contoso.AzureVoteKubernetesAppTest --scope cluster --release-train stable --plan-name testplan --plan-product kubernetest_apps_demo_offer --plan-publisher test_test_mix3pptest0011614206850774",
			"reference/list":               "az k8s-extension list --resource-group my-resource-group --cluster-name mycluster --cluster-type connectedClusters",
			"reference/delete":             "az k8s-extension delete --resource-group my-resource-group --cluster-name mycluster --cluster-type connectedClusters --name myextension",
			"reference/show":               "az k8s-extension show --resource-group my-resource-group --cluster-name mycluster --cluster-type connectedClusters --name myextension",
			"reference/update":             "az k8s-extension update --resource-group my-resource-group --cluster-name mycluster --cluster-type connectedClusters --name myextension --auto-upgrade true/false --version extension-version --release-train stable --configuration-settings settings-key=settings-value --config-protected-settings protected-settings-key=protected-value --config-settings-file=config-settings-file --config-protected-file=protected-settings-file",
		},
	},
	{
		url: "https://learn.microsoft.com/en-us/azure/aks/deploy-extensions-az-cli",
		lines: map[string]string{
			"aks/create":             "az k8s-extension create --name azureml --extension-type Microsoft.AzureML.Kubernetes --scope cluster --cluster-name <clusterName> --resource-group <resourceGroupName> --cluster-type managedClusters --configuration-settings enableInference=True allowInsecureConnections=True inferenceRouterServiceType=LoadBalancer",
			"aks/create-marketplace": "az k8s-extension create --name voteapp --extension-type Contoso.AzureVoteKubernetesAppTest --scope cluster --cluster-name <clusterName> --resource-group <resourceGroupName> --cluster-type managedClusters --plan-name testPlanID --plan-product testOfferID --plan-publisher testPublisherID --configuration-settings title=VoteAnimal value1=Cats value2=Dogs",
			"aks/show":               "az k8s-extension show --name azureml --cluster-name <clusterName> --resource-group <resourceGroupName> --cluster-type managedClusters",
			"aks/list":               "az k8s-extension list --cluster-name <clusterName> --resource-group <resourceGroupName> --cluster-type managedClusters",
			"aks/update":             "az k8s-extension update --name azureml --extension-type Microsoft.AzureML.Kubernetes --scope cluster --cluster-name <clusterName> --resource-group <resourceGroupName> --cluster-type managedClusters",
			"aks/delete":             "az k8s-extension delete --name azureml --cluster-name <clusterName> --resource-group <resourceGroupName> --cluster-type managedClusters",
		},
	},
	{
		url: "https://learn.microsoft.com/en-us/azure/azure-arc/kubernetes/extensions",
		lines: map[string]string{
			"arc/create": "az k8s-extension create --name azuremonitor-containers  --extension-type Microsoft.AzureMonitor.Containers --scope cluster --cluster-name <clusterName> --resource-group <resourceGroupName> --cluster-type connectedClusters",
			"arc/show":   "az k8s-extension show --name azuremonitor-containers --cluster-name <clusterName> --resource-group <resourceGroupName> --cluster-type connectedClusters",
			"arc/list":   "az k8s-extension list --cluster-name <clusterName> --resource-group <resourceGroupName> --cluster-type connectedClusters",
			"arc/delete": "az k8s-extension delete --name azuremonitor-containers --cluster-name <clusterName> --resource-group <resourceGroupName> --cluster-type connectedClusters",
		},
	},
}

// azNote is the line on stderr for az's cluster flags that have no meaning here.
const azNote = "Note: --resource-group and --cluster-type have no meaning for kubectl ext and are ignored"

// TestAzDocsCommandLines pastes every create, show, list, update and delete command
// line of the az docs, substituting only names: the cluster's name is a kubeconfig
// context's, each extension type is a type of the test cluster, each extension's name
// is made unique, a file is a file. The kubeconfig's current context reaches no
// cluster, so a line that reaches the test cluster went there by --cluster-name. Each
// line runs, or fails with a message that says what to change. The lines run in
// order, as one session: create, show, list, update, delete.
func TestAzDocsCommandLines(t *testing.T) {
	requireEnv(t)
	typ := recordType(t, v1alpha1.ChartSource{Repository: chartsourcetest.ServeHTTP(t, configMapCharts(t)), Name: "podinfo"})
	kubeconfig := azKubeconfig(t)
	dir := t.TempDir()
	settingsFile := writeTestFile(t, dir, "settings.json", `{"replicaCount": 2}`)
	protectedFile := writeTestFile(t, dir, "protected.json", `{"apiKey": "s3cr3t"}`)
	names := map[string]string{
		// The cluster: a context of the kubeconfig; the resource group keeps a name.
		"mycluster": "mycluster", "<clusterName>": "mycluster", "<resourceGroupName>": "my-resource-group",
		// The extensions: unique in the package's cluster.
		"myextension": uniq("myextension"), "azureml": uniq("azureml"), "voteapp": uniq("voteapp"),
		"azuremonitor-containers": uniq("azuremonitor-containers"),
		// The types: the test cluster's.
		"microsoft.openservicemesh": typ, "Contoso.AzureVoteKubernetesAppTest": typ,
		"Microsoft.AzureML.Kubernetes": typ, "Microsoft.AzureMonitor.Containers": typ,
		// A version of the test chart and two files.
		"extension-version": "1.4.1", "config-settings-file": settingsFile, "protected-settings-file": protectedFile,
	}
	created := func(doc string) string { return "extension.kubeext.dev/" + names[doc] + " created\n" }
	deleted := func(doc string) string { return "extension.kubeext.dev/" + names[doc] + " deleted\n" }
	tests := []struct {
		doc        string
		wantExit   int
		wantStdout []string
		wantStderr []string
		// check, when set, looks at the cluster after the line ran.
		check func(t *testing.T)
		// thenYes, when set, runs the line again with --yes, which must delete this
		// extension (a key of names).
		thenYes string
	}{
		{doc: "reference/create", wantStdout: []string{created("myextension")}, wantStderr: []string{azNote},
			check: func(t *testing.T) {
				if e := getExt(t, names["myextension"]); e.Spec.ExtensionType != typ || !strings.EqualFold(e.Spec.ReleaseTrain, "stable") || e.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded {
					t.Errorf("extension %s: type %s, train %s, state %s", e.Name, e.Spec.ExtensionType, e.Spec.ReleaseTrain, e.Status.ProvisioningState)
				}
			}},
		{doc: "reference/create-marketplace", wantExit: 1,
			wantStderr: []string{"Drop --plan-name, --plan-product and --plan-publisher (see `kubectl ext type list` for the types you can install)"}},
		{doc: "reference/show", wantStdout: []string{names["myextension"], typ}, wantStderr: []string{azNote}},
		{doc: "reference/list", wantStdout: []string{names["myextension"]}, wantStderr: []string{azNote}},
		// az's example writes the choice "true/false": the message says to make it.
		{doc: "reference/update", wantExit: 1, wantStderr: []string{`--auto-upgrade-minor-version must be true or false, not "true/false"`}},
		// az's delete lines ask for confirmation; without a terminal (the test's stdin
		// is /dev/null) az refuses them, and so does kubectl ext: the same line with
		// --yes deletes.
		{doc: "reference/delete", wantExit: 1, wantStderr: []string{azNote, "give --yes to go ahead; nothing was changed"},
			check: func(t *testing.T) { getExt(t, names["myextension"]) }, thenYes: "myextension"},
		{doc: "aks/create", wantStdout: []string{created("azureml")},
			check: func(t *testing.T) {
				want := map[string]string{"enableInference": "True", "allowInsecureConnections": "True", "inferenceRouterServiceType": "LoadBalancer"}
				if got := getExt(t, names["azureml"]).Spec.ConfigurationSettings; len(got) != len(want) || got["inferenceRouterServiceType"] != "LoadBalancer" {
					t.Errorf("settings %v, want %v", got, want)
				}
			}},
		{doc: "aks/create-marketplace", wantExit: 1, wantStderr: []string{"Drop --plan-name, --plan-product and --plan-publisher"},
			check: func(t *testing.T) { requireGone(t, names["voteapp"]) }},
		{doc: "aks/show", wantStdout: []string{names["azureml"]}},
		{doc: "aks/list", wantStdout: []string{names["azureml"]}},
		// The page says this "updates the auto-upgrade setting", but the line changes
		// nothing: its type and scope are the extension's own.
		{doc: "aks/update", wantExit: 1, wantStderr: []string{"nothing to update: give at least one of --auto-upgrade-minor-version, --version, --release-train"}},
		{doc: "aks/delete", wantExit: 1, wantStderr: []string{"stdin is not a terminal, so kubectl ext cannot ask for confirmation: give --yes"},
			check: func(t *testing.T) { getExt(t, names["azureml"]) }, thenYes: "azureml"},
		{doc: "arc/create", wantStdout: []string{created("azuremonitor-containers")}, wantStderr: []string{azNote}},
		{doc: "arc/show", wantStdout: []string{names["azuremonitor-containers"]}},
		{doc: "arc/list", wantStdout: []string{names["azuremonitor-containers"]}},
		{doc: "arc/delete", wantExit: 1, wantStderr: []string{"give --yes"}, thenYes: "azuremonitor-containers"},
	}
	used := map[string]bool{}
	for _, tt := range tests {
		used[tt.doc] = true
		t.Run(tt.doc, func(t *testing.T) {
			line := azDocLine(t, tt.doc)
			args := append(substitute(strings.Fields(line)[2:], names), "--kubeconfig", kubeconfig)
			res := kext(t, args...)
			if res.ExitCode != tt.wantExit {
				t.Fatalf("kubectl ext %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), res.ExitCode, tt.wantExit, res.Stdout, res.Stderr)
			}
			for _, want := range tt.wantStdout {
				if !strings.Contains(res.Stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, res.Stdout)
				}
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(res.Stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, res.Stderr)
				}
			}
			if tt.check != nil {
				tt.check(t)
			}
			if tt.thenYes != "" {
				if res := kext(t, append(args, "--yes")...); res.ExitCode != 0 || !strings.Contains(res.Stdout, deleted(tt.thenYes)) {
					t.Errorf("with --yes: exit %d, stdout %q, want %q\nstderr: %s", res.ExitCode, res.Stdout, deleted(tt.thenYes), res.Stderr)
				}
				requireGone(t, names[tt.thenYes])
			}
		})
	}
	for _, page := range azDocs {
		for id := range page.lines {
			if !used[id] {
				t.Errorf("the docs line %s (%s) has no row", id, page.url)
			}
		}
	}
}

// azDocLine returns the docs line of id.
func azDocLine(t *testing.T, id string) string {
	t.Helper()
	for _, page := range azDocs {
		if l, ok := page.lines[id]; ok {
			return l
		}
	}
	t.Fatalf("no docs line %s", id)
	return ""
}

// substitute replaces the words of args that are keys of names, alone or as the value
// of --flag=value.
func substitute(args []string, names map[string]string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if v, ok := names[a]; ok {
			a = v
		} else if flag, value, ok := strings.Cut(a, "="); ok && strings.HasPrefix(flag, "--") {
			if v, ok := names[value]; ok {
				a = flag + "=" + v
			}
		}
		out[i] = a
	}
	return out
}

// configMapCharts packages the podinfo test chart's versions without their
// Deployment: this control plane runs no controllers, so a Deployment never becomes
// ready, and az's command lines wait for readiness (they have no --no-wait).
func configMapCharts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, spec := range chartsourcetest.Podinfo() {
		ch, err := chartsourcetest.Chart(spec)
		if err != nil {
			t.Fatal(err)
		}
		kept := ch.Templates[:0]
		for _, tpl := range ch.Templates {
			if !strings.Contains(tpl.Name, "deployment") {
				kept = append(kept, tpl)
			}
		}
		ch.Templates = kept
		if _, err := chartutil.Save(ch, dir); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// azKubeconfig writes a kubeconfig whose current context reaches no cluster, and whose
// context "mycluster" (the cluster name of az's examples) is the test cluster's.
func azKubeconfig(t *testing.T) string {
	t.Helper()
	cfg, err := (&clientcmd.ClientConfigLoadingRules{ExplicitPath: env.Kubeconfig}).Load()
	if err != nil {
		t.Fatal(err)
	}
	current, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		t.Fatalf("the test kubeconfig has no current context")
	}
	cfg.Contexts["mycluster"] = current.DeepCopy()
	cfg.Clusters["nowhere"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
	cfg.Contexts["nowhere"] = &clientcmdapi.Context{Cluster: "nowhere", AuthInfo: current.AuthInfo}
	cfg.CurrentContext = "nowhere"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeTestFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// requireGone fails unless the extension name does not exist.
func requireGone(t *testing.T, name string) {
	t.Helper()
	if res := kext(t, "show", name); res.ExitCode == 0 || !strings.Contains(res.Stderr, "not found") {
		t.Errorf("extension %s still exists: exit %d, %s", name, res.ExitCode, res.Stderr)
	}
}

// TestAzFlagMatrix: az's rules for flag combinations, on create and update alike,
// through the real kubectl. A refused line writes nothing; an allowed one is a
// client-side dry run, so the cluster is unchanged at the end.
func TestAzFlagMatrix(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	auto, pinned := uniq("auto"), uniq("pinned")
	mustKext(t, "create", auto, "--extension-type", typ, "--no-wait")
	mustKext(t, "create", pinned, "--extension-type", typ, "--auto-upgrade", "false", "--version", "1.4.0", "--no-wait")
	dir := t.TempDir()
	file := writeTestFile(t, dir, "settings.yaml", "replicaCount: 2\n")

	const (
		trainPinned = "--release-train can only be set if auto-upgrade is true"
		settings    = "--configuration-settings and --configuration-settings-file are mutually exclusive: give the settings inline or in a file, not both"
		protected   = "--configuration-protected-settings and --configuration-protected-settings-file are mutually exclusive: give the settings inline or in a file, not both"
	)
	tests := []struct {
		name string
		args []string
		// want is the message of a refusal; "" means the line is allowed (exit 0).
		want string
	}{
		{"create: a train with auto-upgrade", []string{"create", "x", "-t", typ, "--release-train", "Stable", "--dry-run=client"}, ""},
		{"create: a train with auto-upgrade on, said so", []string{"create", "x", "-t", typ, "--auto-upgrade", "true", "--release-train", "stable", "--dry-run=client"}, ""},
		{"create: a train with a pinned version", []string{"create", "x", "-t", typ, "--auto-upgrade-minor-version", "false", "--version", "1.4.0", "--release-train", "Stable"},
			trainPinned + ": a pinned extension takes no versions from a train. Drop --release-train, or give --auto-upgrade-minor-version true without --version"},
		{"create: inline settings and a file", []string{"create", "x", "-t", typ, "--config", "a=1", "--config-file", file}, settings},
		{"create: the same, by az's newer names", []string{"create", "x", "-t", typ, "--config-settings", "a=1", "--config-settings-file", file}, settings},
		{"create: inline protected settings and a file", []string{"create", "x", "-t", typ, "--config-protected", "a=1", "--config-protected-file", file}, protected},
		{"create: the same, by az's newer names", []string{"create", "x", "-t", typ, "--config-protected-settings", "a=1", "--config-protected-settings-file", file}, protected},
		{"create: settings inline, protected settings from a file", []string{"create", "x", "-t", typ, "--config", "a=1", "--config-protected-file", file, "--dry-run=client"}, ""},
		{"create: a prerelease pinned, without a train: recorded on a train that offers it",
			[]string{"create", "x", "-t", typ, "--auto-upgrade", "false", "--version", "1.5.0-rc.1", "--dry-run=client"}, ""},
		{"create: az's enum values in any case", []string{"create", "x", "-t", typ, "--scope", "Cluster", "--auto-upgrade-minor-version", "True", "--dry-run=client"}, ""},
		{"update: a train with auto-upgrade", []string{"update", auto, "--release-train", "Stable", "--dry-run=client"}, ""},
		{"update: a pinned extension moved to a prerelease, without a train", []string{"update", pinned, "--version", "1.5.0-rc.1", "--dry-run=client"}, ""},
		{"update: a train for a pinned extension, read first", []string{"update", pinned, "--release-train", "Stable"},
			trainPinned + ": " + pinned + " is pinned to 1.4.0; give --auto-upgrade-minor-version true with it"},
		{"update: a train for a pinned extension, with auto-upgrade turned on", []string{"update", pinned, "--auto-upgrade", "true", "--release-train", "Stable", "--dry-run=client"}, ""},
		{"update: a train with auto-upgrade turned off", []string{"update", auto, "--auto-upgrade", "false", "--version", "1.4.1", "--release-train", "Stable"}, trainPinned},
		{"update: inline settings and a file", []string{"update", auto, "--config", "a=1", "--config-file", file}, settings},
		{"update: inline protected settings and a file", []string{"update", auto, "--config-protected", "a=1", "--config-protected-file", file}, protected},
		{"update: a settings file alone", []string{"update", auto, "--config-settings-file", file, "--dry-run=client"}, ""},
		{"update: the extension's own type and scope", []string{"update", auto, "--extension-type", typ, "--scope", "cluster", "--config", "a=1", "--dry-run=client"}, ""},
		{"update: another type", []string{"update", auto, "-t", "other.type", "--config", "a=1"},
			"the extension type is immutable: " + auto + " is of type " + typ + ", not other.type (to change it, delete the extension and create it again)"},
		{"update: another scope", []string{"update", auto, "--scope", "namespace", "--config", "a=1"},
			"the scope is immutable: " + auto + " has cluster scope, not namespace"},
		// With nothing else to change, a type or scope other than the extension's is
		// still refused naming the field; its own are nothing to update.
		{"update: another type alone", []string{"update", auto, "--extension-type", "other.type"},
			"the extension type is immutable: " + auto + " is of type " + typ + ", not other.type (to change it, delete the extension and create it again)"},
		{"update: another scope alone", []string{"update", auto, "--scope", "namespace"},
			"the scope is immutable: " + auto + " has cluster scope, not namespace"},
		{"update: the extension's own type and scope alone, the scope in another case", []string{"update", auto, "-t", typ, "--scope", "Cluster"},
			"nothing to update: give at least one of --auto-upgrade-minor-version"},
		{"update: another type alone, of an extension that does not exist", []string{"update", "no-such-extension", "-t", "other.type"}, "not found"},
		{"update: az's -t, a cluster type", []string{"update", auto, "-t", "managedClusters", "--config", "a=1"},
			"-t managedClusters: in kubectl ext, -t is --extension-type, not az's --cluster-type"},
		{"create: az's -t, a cluster type, beside the extension type", []string{"create", "x", "--extension-type", typ, "-t", "connectedClusters"},
			"-t connectedClusters: in kubectl ext, -t is --extension-type, not az's --cluster-type"},
	}
	before := snapshot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := kext(t, tt.args...)
			switch {
			case tt.want == "" && res.ExitCode != 0:
				t.Fatalf("exit %d, want 0\nstderr: %s", res.ExitCode, res.Stderr)
			case tt.want != "" && res.ExitCode != 1:
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", res.ExitCode, res.Stdout, res.Stderr)
			case tt.want != "" && !strings.Contains(res.Stderr, tt.want):
				t.Errorf("stderr lacks %q:\n%s", tt.want, res.Stderr)
			}
		})
	}
	if after := snapshot(t); after != before {
		t.Errorf("the matrix changed the cluster:\nbefore %s\nafter  %s", before, after)
	}
}

// TestAzNameClusterAndNamespaceFlags: --name, --cluster-name/-c, the az flags that have
// no meaning here, and kubectl's -n, which means something to list only.
func TestAzNameClusterAndNamespaceFlags(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	a, b := uniq("ns-a"), uniq("ns-b")
	nsA, nsB := uniq("rel-a"), uniq("rel-b")
	mustKext(t, "create", a, "--extension-type", typ, "--release-namespace", nsA, "--no-wait")
	mustKext(t, "create", b, "--name", b, "--extension-type", typ, "--release-namespace", nsB, "--no-wait")
	kubeconfig := azKubeconfig(t)

	tests := []struct {
		name       string
		args       []string
		wantExit   int
		wantStdout []string
		notStdout  []string
		wantStderr []string
	}{
		{name: "list -n lists the extensions whose release is in that namespace", args: []string{"list", "-n", nsA},
			wantStdout: []string{a}, notStdout: []string{b}},
		{name: "list --namespace, names only", args: []string{"list", "--namespace", nsB, "-o", "name"},
			wantStdout: []string{"extension.kubeext.dev/" + b + "\n"}, notStdout: []string{a}},
		{name: "list -n of a namespace without extensions", args: []string{"list", "-n", "kube-public"},
			wantStderr: []string{"No extensions found in namespace kube-public."}},
		{name: "show -n: az's -n is the name", args: []string{"show", "-n", a}, wantExit: 1,
			wantStderr: []string{`-n/--namespace "` + a + `" has no meaning for kubectl ext show: extensions and extension types are cluster-scoped`,
				"in az k8s-extension, -n is --name", "give NAME or --name " + a}},
		{name: "show NAME -n: kubectl's -n, silently ignored before", args: []string{"show", a, "-n", nsA}, wantExit: 1,
			wantStderr: []string{`-n/--namespace "` + nsA + `" has no meaning for kubectl ext show`}},
		{name: "create -n", args: []string{"create", "-n", "x", "-t", typ}, wantExit: 1, wantStderr: []string{"has no meaning for kubectl ext create"}},
		{name: "update NAME -n", args: []string{"update", a, "-n", nsA, "--config", "a=1"}, wantExit: 1, wantStderr: []string{"has no meaning for kubectl ext update"}},
		{name: "delete -n deletes nothing", args: []string{"delete", "-n", a, "--yes"}, wantExit: 1, wantStderr: []string{"has no meaning for kubectl ext delete"}},
		{name: "type list -n", args: []string{"type", "list", "-n", "x"}, wantExit: 1, wantStderr: []string{"has no meaning for kubectl ext type list", "Only `kubectl ext list` takes -n"}},
		{name: "show --name", args: []string{"show", "--name", a}, wantStdout: []string{a, typ}},
		{name: "show NAME --name, the same", args: []string{"show", a, "--name", a}, wantStdout: []string{a}},
		{name: "show NAME --name, different", args: []string{"show", a, "--name", b}, wantExit: 1,
			wantStderr: []string{`NAME "` + a + `" and --name "` + b + `" differ: give the extension's name once, as NAME or as --name`}},
		{name: "update --name", args: []string{"update", "--name", a, "--config", "x=1", "--dry-run=client", "-o", "name"},
			wantStdout: []string{"extension.kubeext.dev/" + a}},
		{name: "delete without a NAME or --name", args: []string{"delete", "--yes"}, wantExit: 1,
			wantStderr: []string{"kubectl ext delete takes exactly one NAME (or --name NAME), got none"}},
		{name: "--cluster-name selects the context", args: []string{"show", a, "--cluster-name", "mycluster", "--kubeconfig", kubeconfig}, wantStdout: []string{a}},
		{name: "-c, with the same --context", args: []string{"list", "-c", "mycluster", "--context", "mycluster", "--kubeconfig", kubeconfig}, wantStdout: []string{a, b}},
		{name: "without --cluster-name the current context reaches nothing", args: []string{"show", a, "--kubeconfig", kubeconfig}, wantExit: 1},
		{name: "a cluster name without a context", args: []string{"list", "-c", "aks-prod", "--kubeconfig", kubeconfig}, wantExit: 1,
			wantStderr: []string{"--cluster-name aks-prod: the kubeconfig has no context of that name", "az aks get-credentials --resource-group RG --name aks-prod", "Contexts: envtest, mycluster, nowhere"}},
		{name: "--cluster-name and another --context", args: []string{"list", "-c", "mycluster", "--context", "envtest", "--kubeconfig", kubeconfig}, wantExit: 1,
			wantStderr: []string{"--cluster-name mycluster and --context envtest name different contexts: give one of them"}},
		{name: "--cluster-name with a fleet", args: []string{"list", "-c", "mycluster", "--all-contexts", "--kubeconfig", kubeconfig}, wantExit: 1,
			wantStderr: []string{"--cluster-name names one cluster; with --all-contexts leave it out"}},
		// az's -t is --cluster-type on every k8s-extension command; kubectl ext has -t
		// (--extension-type) on create and update only, and explains it on the others.
		{name: "show NAME -t managedClusters", args: []string{"show", a, "-t", "managedClusters"}, wantExit: 1,
			wantStderr: []string{"-t managedClusters: in kubectl ext, -t is --extension-type, not az's --cluster-type", "drop -t managedClusters"}},
		{name: "list -t managedClusters", args: []string{"list", "-t", "managedClusters"}, wantExit: 1,
			wantStderr: []string{"-t managedClusters: in kubectl ext, -t is --extension-type, not az's --cluster-type"}},
		{name: "delete NAME -t managedClusters --yes deletes nothing", args: []string{"delete", a, "-t", "managedClusters", "--yes"}, wantExit: 1,
			wantStderr: []string{"-t managedClusters: in kubectl ext, -t is --extension-type, not az's --cluster-type"}},
		{name: "delete --name NAME -t=connectedClusters --yes deletes nothing", args: []string{"delete", "--name", a, "-t=connectedClusters", "--yes"}, wantExit: 1,
			wantStderr: []string{"-t connectedClusters: in kubectl ext, -t is --extension-type, not az's --cluster-type"}},
		{name: "troubleshoot NAME -t appliances", args: []string{"troubleshoot", a, "-t", "appliances"}, wantExit: 1,
			wantStderr: []string{"-t appliances: in kubectl ext, -t is --extension-type, not az's --cluster-type"}},
		{name: "type list -t managedClusters", args: []string{"type", "list", "-t", "managedClusters"}, wantExit: 1,
			wantStderr: []string{"-t managedClusters: in kubectl ext, -t is --extension-type"}},
		{name: "show NAME -t with an extension type", args: []string{"show", a, "-t", typ}, wantExit: 1,
			wantStderr: []string{"-t " + typ + ": kubectl ext show takes no -t; in kubectl ext, -t is --extension-type, of create and update only"}},
		{name: "troubleshoot --name", args: []string{"troubleshoot", "--name", a, "--output-file", filepath.Join(t.TempDir(), "ts.tar.gz"), "-o", "json"},
			wantStdout: []string{`"archive"`, "ts.tar.gz"}},
		{name: "troubleshoot NAME --name, different", args: []string{"troubleshoot", a, "--name", b}, wantExit: 1,
			wantStderr: []string{`NAME "` + a + `" and --name "` + b + `" differ`}},
		{name: "-g and --cluster-type: a note, and the command runs", args: []string{"show", a, "-g", "rg", "--cluster-type", "managedClusters"},
			wantStdout: []string{a}, wantStderr: []string{azNote}},
		{name: "--cluster-rp alone", args: []string{"list", "--cluster-rp", "Microsoft.Kubernetes"},
			wantStdout: []string{a}, wantStderr: []string{"Note: --cluster-resource-provider has no meaning for kubectl ext and is ignored"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := kext(t, tt.args...)
			if res.ExitCode != tt.wantExit {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", res.ExitCode, tt.wantExit, res.Stdout, res.Stderr)
			}
			checkOutput(t, res, tt.wantStdout, tt.notStdout, tt.wantStderr)
		})
	}
	getExt(t, a) // delete -n deleted nothing
}

func checkOutput(t *testing.T, res testenv.Result, wantStdout, notStdout, wantStderr []string) {
	t.Helper()
	for _, want := range wantStdout {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, res.Stdout)
		}
	}
	for _, not := range notStdout {
		if strings.Contains(res.Stdout, not) {
			t.Errorf("stdout has %q:\n%s", not, res.Stdout)
		}
	}
	for _, want := range wantStderr {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.Stderr)
		}
	}
}

// TestConfirmation: delete, and update's replacement of the protected settings, ask
// on a terminal; without one (cron, CI, ssh without -t: stdin /dev/null or a pipe)
// and without --yes they are refused, as az refuses, and change nothing. A pipe is
// not read for an answer: it may carry a script's own input. Through the real kubectl.
func TestConfirmation(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	name, other := uniq("confirm"), uniq("confirm-yes")
	for _, n := range []string{name, other} {
		mustKext(t, "create", n, "--extension-type", typ, "--config-protected", "apiKey=before", "--no-wait")
	}
	devNull := func(t *testing.T, args ...string) testenv.Result { return kext(t, args...) }
	piped := func(answer string) func(*testing.T, ...string) testenv.Result {
		return func(t *testing.T, args ...string) testenv.Result {
			return kextStdin(t, strings.NewReader(answer), args...)
		}
	}
	terminal := func(answer string) func(*testing.T, ...string) testenv.Result {
		return func(t *testing.T, args ...string) testenv.Result { return kextOnTerminalStdin(t, answer, args...) }
	}
	const refused = "stdin is not a terminal, so kubectl ext cannot ask for confirmation: give --yes to go ahead; nothing was changed"
	replace := []string{"update", name, "--config-protected", "apiKey=after", "--no-wait"}
	tests := []struct {
		name       string
		run        func(*testing.T, ...string) testenv.Result
		args       []string
		wantExit   int
		wantStderr string
		// changed is whether the extension (its resourceVersion) changed; gone, whether
		// it was deleted.
		changed, gone bool
	}{
		{name: "delete, stdin /dev/null: refused", run: devNull, args: []string{"delete", name}, wantExit: 1, wantStderr: refused},
		{name: "delete, an answer piped: refused, the pipe is not read", run: piped("y\n"), args: []string{"delete", name}, wantExit: 1, wantStderr: refused},
		{name: "delete --force, stdin /dev/null: refused", run: devNull, args: []string{"delete", name, "--force"}, wantExit: 1, wantStderr: refused},
		{name: "replacing the protected settings, stdin /dev/null: refused", run: devNull, args: replace, wantExit: 1, wantStderr: refused},
		{name: "replacing the protected settings, piped: refused", run: piped("yes\n"), args: replace, wantExit: 1, wantStderr: refused},
		{name: "delete on a terminal, answered n: cancelled", run: terminal("n\n"), args: []string{"delete", name}, wantStderr: "Cancelled; nothing was changed."},
		{name: "replacing the protected settings on a terminal, answered y", run: terminal("y\n"), args: replace,
			wantStderr: "Replace all protected settings of " + name + " (keys left out are deleted)? [y/N]", changed: true},
		{name: "delete on a terminal, answered y", run: terminal("y\n"), args: []string{"delete", name}, wantStderr: "Uninstall extension " + name, gone: true},
		{name: "delete --yes, stdin /dev/null", run: devNull, args: []string{"delete", other, "--yes"}, gone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := tt.args[1]
			before := getExt(t, target).ResourceVersion
			res := tt.run(t, tt.args...)
			if res.ExitCode != tt.wantExit {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", res.ExitCode, tt.wantExit, res.Stdout, res.Stderr)
			}
			checkOutput(t, res, nil, nil, []string{tt.wantStderr})
			if tt.gone {
				requireGone(t, target)
				return
			}
			if after := getExt(t, target).ResourceVersion; (after != before) != tt.changed {
				t.Errorf("resourceVersion %s, was %s: want changed %v", after, before, tt.changed)
			}
		})
	}
}

// kextStdin runs `kubectl ext ARGS...` through the real kubectl with stdin.
func kextStdin(t *testing.T, stdin io.Reader, args ...string) testenv.Result {
	t.Helper()
	cmd := kextCommand(t, args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return testenv.Result{ExitCode: exitCode(t, cmd.Run()), Stdout: stdout.String(), Stderr: stderr.String()}
}

// kextOnTerminalStdin runs `kubectl ext ARGS...` through the real kubectl with stdin
// a pseudo-terminal on which answer is typed; stdout and stderr are pipes.
func kextOnTerminalStdin(t *testing.T, answer string, args ...string) testenv.Result {
	t.Helper()
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	defer ptm.Close()
	cmd := kextCommand(t, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close() // the child holds it now
	// The terminal keeps the line until the command reads it; its echo is drained.
	if _, err := io.WriteString(ptm, answer); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, ptm) }()
	return testenv.Result{ExitCode: exitCode(t, cmd.Wait()), Stdout: stdout.String(), Stderr: stderr.String()}
}

// kextCommand is `kubectl ext ARGS...` through the real kubectl, as env.Kubectl runs it.
func kextCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	kubectl, err := testenv.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testCtx(t), kubectl, append([]string{"ext"}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return cmd
}

// exitCode is the exit code of a command that ran, err its Run's or Wait's error.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return 0
}
