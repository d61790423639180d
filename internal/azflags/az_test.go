package azflags

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestName(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		flag    string
		given   bool
		want    string
		wantErr string
	}{
		{name: "NAME", args: []string{"podinfo"}, want: "podinfo"},
		{name: "--name, as az gives it", flag: "podinfo", given: true, want: "podinfo"},
		{name: "both, the same", args: []string{"podinfo"}, flag: "podinfo", given: true, want: "podinfo"},
		{name: "both, different", args: []string{"podinfo"}, flag: "other", given: true,
			wantErr: `NAME "podinfo" and --name "other" differ: give the extension's name once, as NAME or as --name`},
		{name: "neither", wantErr: "kubectl ext show takes exactly one NAME (or --name NAME), got none; see 'kubectl ext show --help'"},
		{name: "two NAMEs", args: []string{"a", "b"}, wantErr: "kubectl ext show takes exactly one NAME, got 2 arguments (a b)"},
		{name: "an empty --name", flag: "", given: true, wantErr: "--name needs a value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Name("kubectl ext show", tt.args, tt.flag, tt.given)
			if checkErr(t, err, tt.wantErr) && got != tt.want {
				t.Errorf("Name = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResolveContext(t *testing.T) {
	contexts := map[string]string{"kind-dev": "kind-dev", "prod-admin": "prod", "staging": "staging"}
	tests := []struct {
		name        string
		clusterName string
		context     string
		contexts    map[string]string
		want        string
		wantErr     string
	}{
		{name: "no --cluster-name keeps --context", context: "staging", contexts: contexts, want: "staging"},
		{name: "no flag at all: the current context", contexts: contexts, want: ""},
		{name: "a context of that name", clusterName: "kind-dev", contexts: contexts, want: "kind-dev"},
		{name: "with the same --context", clusterName: "staging", context: "staging", contexts: contexts, want: "staging"},
		{name: "with another --context", clusterName: "staging", context: "kind-dev", contexts: contexts,
			wantErr: "--cluster-name staging and --context kind-dev name different contexts: give one of them"},
		{name: "a cluster, not a context, of that name: the context that uses it is named", clusterName: "prod", contexts: contexts,
			wantErr: "--cluster-name prod: the kubeconfig has no context of that name; kubectl ext reaches a cluster through a kubeconfig context. The cluster prod is used by the context prod-admin: give --cluster-name or --context with it. Contexts: kind-dev, prod-admin, staging"},
		{name: "nothing of that name: how AKS makes one", clusterName: "mycluster", contexts: contexts,
			wantErr: "--cluster-name mycluster: the kubeconfig has no context of that name; kubectl ext reaches a cluster through a kubeconfig context (for AKS, `az aks get-credentials --resource-group RG --name mycluster` adds one). Contexts: kind-dev, prod-admin, staging"},
		{name: "an empty kubeconfig", clusterName: "mycluster", contexts: map[string]string{},
			wantErr: "(for AKS, `az aks get-credentials --resource-group RG --name mycluster` adds one)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveContext(tt.clusterName, tt.context, tt.contexts)
			if checkErr(t, err, tt.wantErr) && got != tt.want {
				t.Errorf("ResolveContext = %q, want %q", got, tt.want)
			}
			if tt.wantErr != "" && strings.HasSuffix(tt.wantErr, "adds one)") && strings.Contains(err.Error(), "Contexts:") {
				t.Errorf("error %q lists contexts of an empty kubeconfig", err)
			}
		})
	}
}

func TestClusterNote(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"-c", "kind-dev"}, ""},
		{[]string{"-g", "rg"}, "Note: --resource-group has no meaning for kubectl ext and is ignored: the cluster is your kubeconfig's context (--context, or --cluster-name with a context's name)."},
		{[]string{"--resource-group", "rg", "--cluster-type", "managedClusters"}, "Note: --resource-group and --cluster-type have no meaning for kubectl ext and are ignored: "},
		{[]string{"-g", "rg", "--cluster-type", "provisionedClusters", "--cluster-rp", "Microsoft.HybridContainerService"},
			"Note: --resource-group, --cluster-type and --cluster-resource-provider have no meaning"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var c Cluster
			fs := pflag.NewFlagSet("az", pflag.ContinueOnError)
			c.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			got := c.Note(fs.Changed)
			if (tt.want == "") != (got == "") || !strings.HasPrefix(got, tt.want) {
				t.Errorf("Note = %q, want it to start with %q", got, tt.want)
			}
		})
	}
}

func TestIsClusterType(t *testing.T) {
	for v, want := range map[string]bool{
		"managedClusters": true, "connectedclusters": true, "APPLIANCES": true, "provisionedClusters": true,
		"microsoft.flux": false, "managed": false, "": false,
	} {
		if got := IsClusterType(v); got != want {
			t.Errorf("IsClusterType(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestShortT(t *testing.T) {
	tests := []struct {
		name string
		// own registers a -t of the command's own first.
		own     bool
		args    []string
		wantErr string
	}{
		{name: "not given", args: []string{"d1"}},
		{name: "an az cluster type: the hint, without --extension-type to give", args: []string{"d1", "-t", "managedClusters"},
			wantErr: "-t managedClusters: in kubectl ext, -t is --extension-type, not az's --cluster-type; the cluster is your kubeconfig's context (--context, or --cluster-name with a context's name): drop -t managedClusters"},
		{name: "in any case, after another value", args: []string{"-t", "x", "-t=CONNECTEDclusters"}, wantErr: "-t CONNECTEDclusters: in kubectl ext, -t is --extension-type"},
		{name: "anything else", args: []string{"-t", "microsoft.flux"}, wantErr: "-t microsoft.flux: kubectl ext show takes no -t; in kubectl ext, -t is --extension-type, of create and update only"},
		{name: "a command's own -t is left alone", own: true, args: []string{"-t", "managedClusters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("show", pflag.ContinueOnError)
			if tt.own {
				fs.StringP("extension-type", "t", "", "")
			}
			AddShortT(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := CheckShortT("kubectl ext show", fs)
			checkErr(t, err, tt.wantErr)
			if err != nil && strings.Contains(err.Error(), "give the extension type") {
				t.Errorf("the hint tells a command without --extension-type to give one: %v", err)
			}
		})
	}
}

func TestNamespaceError(t *testing.T) {
	tests := []struct {
		name      string
		takesName bool
		want      []string
		notWant   string
	}{
		{name: "a command that takes NAME: the az user meant the name", takesName: true, want: []string{
			`-n/--namespace "podinfo" has no meaning for kubectl ext x: extensions and extension types are cluster-scoped`,
			"In kubectl, -n is --namespace; in az k8s-extension, -n is --name",
			"give NAME or --name podinfo", "--release-namespace (cluster scope) or --target-namespace (namespace scope)",
			"Only `kubectl ext list` takes -n",
		}},
		{name: "a command without NAME", want: []string{"In kubectl, -n is --namespace; in az k8s-extension, -n is --name", "Only `kubectl ext list` takes -n"},
			notWant: "--name podinfo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NamespaceError("kubectl ext x", "podinfo", tt.takesName)
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if tt.notWant != "" && strings.Contains(err.Error(), tt.notWant) {
				t.Errorf("error %q has %q", err, tt.notWant)
			}
		})
	}
}

// TestSettingsAliasesAppend: pairs given under several names of one flag are all
// kept (pflag's StringArray would keep only those of the last name used first).
func TestSettingsAliasesAppend(t *testing.T) {
	var s Settings
	fs := pflag.NewFlagSet("settings", pflag.ContinueOnError)
	s.AddFlags(fs)
	if err := fs.Parse([]string{"--config", "a=1", "--configuration-settings", "b=2", "--config-settings", "c=3", "--config", "d=4",
		"--config-protected", "k=1", "--config-protected-settings", "l=2"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Parse(true, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Settings) != 4 || got.Settings["a"] != "1" || got.Settings["d"] != "4" {
		t.Errorf("settings %v, want a, b, c and d", got.Settings)
	}
	if len(got.Protected) != 2 {
		t.Errorf("%d protected settings, want 2", len(got.Protected))
	}
}
