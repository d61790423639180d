package cli

import (
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// TestTypeAddValidate covers the flag checks of `type add` that need no cluster.
func TestTypeAddValidate(t *testing.T) {
	base := func() *TypeAddOptions {
		return &TypeAddOptions{Name: "example.podinfo", Repository: "https://charts.example.org", Chart: "podinfo",
			ClusterScope: true, UpgradePolicy: "KubernetesMinor", DryRun: "none", print: genericclioptions.NewPrintFlags("created").WithTypeSetter(scheme())}
	}
	// The builder's logic is catalog's TestNewType; here, that its errors name this
	// command's flags, and the dry-run and --sync checks that are the command's own.
	tests := []struct {
		name    string
		mutate  func(o *TypeAddOptions)
		wantErr string
		check   func(t *testing.T, et *v1alpha1.ExtensionType)
	}{
		{name: "the defaults: cluster scope, Stable and Preview, KubernetesMinor",
			check: func(t *testing.T, et *v1alpha1.ExtensionType) {
				s := et.Spec
				if s.Scopes.Default != v1alpha1.ScopeCluster || s.Scopes.Cluster == nil || s.Scopes.Namespace != nil ||
					len(s.ReleaseTrains) != 2 || s.ReleaseTrains[0] != (v1alpha1.ReleaseTrain{Name: "Stable"}) ||
					s.ReleaseTrains[1] != (v1alpha1.ReleaseTrain{Name: "Preview", IncludePrerelease: true}) ||
					s.UpgradePolicy != v1alpha1.UpgradePolicyKubernetesMinor {
					t.Errorf("spec %+v", s)
				}
			}},
		{name: "--namespace-scope=false given on purpose is seen",
			mutate:  func(o *TypeAddOptions) { o.DefaultScope, o.namespaceScopeSet = "namespace", true },
			wantErr: "--default-scope namespace needs namespace scope, but --namespace-scope=false was given"},
		{name: "a name that is no DNS subdomain", mutate: func(o *TypeAddOptions) { o.Name = "Example_Podinfo" }, wantErr: `NAME "Example_Podinfo" is not a valid extension type name`},
		{name: "no repository", mutate: func(o *TypeAddOptions) { o.Repository = "" }, wantErr: "--chart-repository is required"},
		{name: "a repository with another scheme", mutate: func(o *TypeAddOptions) { o.Repository = "ftp://charts" }, wantErr: `--chart-repository "ftp://charts" must be an https://, http://, oci:// or file:// URL`},
		{name: "no chart", mutate: func(o *TypeAddOptions) { o.Chart = "" }, wantErr: "--chart is required"},
		{name: "an unknown default scope", mutate: func(o *TypeAddOptions) { o.DefaultScope = "global" }, wantErr: `--default-scope must be cluster or namespace, not "global"`},
		{name: "no scope at all", mutate: func(o *TypeAddOptions) { o.ClusterScope = false }, wantErr: "the type must support a scope: with --cluster-scope=false, give --namespace-scope=true"},
		{name: "a default release namespace without cluster scope", mutate: func(o *TypeAddOptions) {
			o.ClusterScope, o.NamespaceScope, o.DefaultReleaseNamespace = false, true, "podinfo"
		}, wantErr: "--default-release-namespace is for cluster scope, which --cluster-scope=false turns off"},
		{name: "multiple instances without cluster scope", mutate: func(o *TypeAddOptions) {
			o.ClusterScope, o.NamespaceScope, o.AllowMultipleInstances = false, true, true
		}, wantErr: "--allow-multiple-instances is for cluster scope"},
		{name: "a train given twice", mutate: func(o *TypeAddOptions) { o.ReleaseTrains = []string{"Stable", "stable:prerelease"} }, wantErr: "--release-train stable is given twice"},
		{name: "an unknown upgrade policy", mutate: func(o *TypeAddOptions) { o.UpgradePolicy = "Major" }, wantErr: `--upgrade-policy must be KubernetesMinor or Minor, not "Major"`},
		{name: "an unknown dry-run mode", mutate: func(o *TypeAddOptions) { o.DryRun = "maybe" }, wantErr: `--dry-run must be "none", "client" or "server"`},
		{name: "--sync with --dry-run", mutate: func(o *TypeAddOptions) { o.Sync, o.DryRun = true, "server" }, wantErr: "cannot be combined with --dry-run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			if tt.mutate != nil {
				tt.mutate(o)
			}
			err := o.Validate()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, o.obj)
			}
		})
	}
}
