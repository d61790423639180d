package azflags

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// writeFile writes a settings file into a fresh directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkErr fails unless err contains want, or is nil when want is empty.
func checkErr(t *testing.T, err error, want string) bool {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q, want it to contain %q", err, want)
	}
	return err == nil
}

// parseCreate parses args with create's flags, as the command line gives them, and
// builds the request for name.
func parseCreate(t *testing.T, name string, args ...string) (lifecycle.CreateRequest, error) {
	t.Helper()
	var c Create
	fs := pflag.NewFlagSet("create", pflag.ContinueOnError)
	c.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return c.Request(name, fs.Changed)
}

func TestCreateRequest(t *testing.T) {
	settingsFile := writeFile(t, "settings.yaml", "replicaCount: 2\nimage:\n  tag: v1\n")
	notObject := writeFile(t, "list.yaml", "- not\n- an object\n")
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	tests := []struct {
		name    string
		extName string
		args    []string
		wantErr string
		want    lifecycle.CreateRequest
	}{
		{name: "the defaults: auto-upgrade on, wait 5m, no settings, no dry run", args: []string{"--extension-type", "example.podinfo"},
			want: lifecycle.CreateRequest{ExtensionType: "example.podinfo", AutoUpgrade: ptr.To(true), Settings: map[string]string{}, Wait: true, Timeout: 5 * time.Minute, DryRun: lifecycle.DryRunNone}},
		{name: "-t, namespace scope, pinned, every alias", args: []string{"-t", "example.podinfo", "--scope", "namespace", "--target-namespace", "team-a",
			"--auto-upgrade", "false", "--version", "1.4.1", "--config", "a=1", "--config-settings", "b.c=x y",
			"--config-protected", "apiKey=s3cr3t", "--no-wait", "--timeout", "30s", "--dry-run"},
			want: lifecycle.CreateRequest{ExtensionType: "example.podinfo", Scope: v1alpha1.ScopeNamespace, TargetNamespace: "team-a",
				AutoUpgrade: ptr.To(false), Version: "1.4.1",
				Settings: map[string]string{"a": "1", "b.c": "x y"}, Protected: map[string]string{"apiKey": "s3cr3t"},
				Wait: false, Timeout: 30 * time.Second, DryRun: lifecycle.DryRunClient}},
		{name: "a train with auto-upgrade, and az's newer settings names", args: []string{"--extension-type", "x.y", "--release-train", "Preview",
			"--config-settings-file", settingsFile, "--config-protected-settings", "k=v"},
			want: lifecycle.CreateRequest{ExtensionType: "x.y", AutoUpgrade: ptr.To(true), ReleaseTrain: "Preview",
				Settings: map[string]string{"replicaCount": "2", "image.tag": "v1"}, Protected: map[string]string{"k": "v"},
				Wait: true, Timeout: 5 * time.Minute, DryRun: lifecycle.DryRunNone}},
		{name: "the same type twice is one type", args: []string{"-t", "x.y", "--extension-type", "x.y"},
			want: lifecycle.CreateRequest{ExtensionType: "x.y", AutoUpgrade: ptr.To(true), Settings: map[string]string{}, Wait: true, Timeout: 5 * time.Minute, DryRun: lifecycle.DryRunNone}},
		{name: "a settings file, cluster scope with a release namespace, server dry run",
			args: []string{"-t", "x.y", "--scope", "cluster", "--release-namespace", "rel", "--config-file", settingsFile, "--dry-run=server"},
			want: lifecycle.CreateRequest{ExtensionType: "x.y", Scope: v1alpha1.ScopeCluster, ReleaseNamespace: "rel", AutoUpgrade: ptr.To(true),
				Settings: map[string]string{"replicaCount": "2", "image.tag": "v1"}, Wait: true, Timeout: 5 * time.Minute, DryRun: lifecycle.DryRunServer}},
		{name: "an empty protected-settings flag still makes an empty Secret", args: []string{"-t", "x.y", "--configuration-protected-settings", ""},
			want: lifecycle.CreateRequest{ExtensionType: "x.y", AutoUpgrade: ptr.To(true), Settings: map[string]string{}, Protected: map[string]string{}, Wait: true, Timeout: 5 * time.Minute, DryRun: lifecycle.DryRunNone}},
		{name: "a name that cannot be a release name", extName: "Bad_Name", args: []string{"-t", "x.y"},
			wantErr: `NAME "Bad_Name" must be at most 53 lowercase letters, digits and '-', starting and ending with a letter or digit (it becomes the Helm release name)`},
		{name: "a name of 54 characters", extName: strings.Repeat("a", 54), args: []string{"-t", "x.y"}, wantErr: "must be at most 53 lowercase letters"},
		{name: "no type", wantErr: "--extension-type is required (see `kubectl ext type list`)"},
		{name: "a scope that does not exist", args: []string{"-t", "x.y", "--scope", "global"}, wantErr: `--scope must be cluster or namespace, not "global"`},
		// az's enum values are case-insensitive.
		{name: "the scope in any case", args: []string{"-t", "x.y", "--scope", "Cluster", "--auto-upgrade-minor-version", "True"},
			want: lifecycle.CreateRequest{ExtensionType: "x.y", Scope: v1alpha1.ScopeCluster, AutoUpgrade: ptr.To(true), Settings: map[string]string{}, Wait: true, Timeout: 5 * time.Minute, DryRun: lifecycle.DryRunNone}},
		{name: "namespace scope in capitals", args: []string{"-t", "x.y", "--scope", "NAMESPACE", "--target-namespace", "a"},
			want: lifecycle.CreateRequest{ExtensionType: "x.y", Scope: v1alpha1.ScopeNamespace, TargetNamespace: "a", AutoUpgrade: ptr.To(true), Settings: map[string]string{}, Wait: true, Timeout: 5 * time.Minute, DryRun: lifecycle.DryRunNone}},
		{name: "namespace scope in another case still needs a target namespace", args: []string{"-t", "x.y", "--scope", "Namespace"}, wantErr: "--scope namespace needs --target-namespace"},
		{name: "cluster scope with a target namespace", args: []string{"-t", "x.y", "--scope", "cluster", "--target-namespace", "a"},
			wantErr: "--target-namespace goes with --scope namespace; with cluster scope use --release-namespace"},
		{name: "namespace scope with a release namespace", args: []string{"-t", "x.y", "--scope", "namespace", "--target-namespace", "a", "--release-namespace", "b"},
			wantErr: "--release-namespace goes with --scope cluster; with namespace scope the release lives in --target-namespace"},
		{name: "namespace scope without a target namespace", args: []string{"-t", "x.y", "--scope", "namespace"}, wantErr: "--scope namespace needs --target-namespace"},
		{name: "both namespaces without a scope", args: []string{"-t", "x.y", "--release-namespace", "a", "--target-namespace", "b"},
			wantErr: "--release-namespace (cluster scope) and --target-namespace (namespace scope) cannot both be given"},
		{name: "auto-upgrade neither true nor false", args: []string{"-t", "x.y", "--auto-upgrade-minor-version", "maybe"},
			wantErr: `--auto-upgrade-minor-version must be true or false, not "maybe"`},
		{name: "a version with auto-upgrade on", args: []string{"-t", "x.y", "--version", "1.4.0"},
			wantErr: "--version pins the extension, so it needs --auto-upgrade-minor-version false"},
		{name: "auto-upgrade off without a version", args: []string{"-t", "x.y", "--auto-upgrade", "no"},
			wantErr: "--auto-upgrade-minor-version false needs --version: name the version to pin"},
		{name: "an unknown dry-run mode", args: []string{"-t", "x.y", "--dry-run=always"}, wantErr: `--dry-run must be "none", "client" or "server", not "always"`},
		{name: "a timeout of zero", args: []string{"-t", "x.y", "--timeout", "0s"}, wantErr: "--timeout must be positive, not 0s"},
		{name: "inline settings and a settings file", args: []string{"-t", "x.y", "--config", "a=1", "--configuration-settings-file", settingsFile},
			wantErr: "--configuration-settings and --configuration-settings-file are mutually exclusive: give the settings inline or in a file, not both"},
		{name: "inline protected settings and their file", args: []string{"-t", "x.y", "--config-protected", "a=1", "--config-protected-file", settingsFile},
			wantErr: "--configuration-protected-settings and --configuration-protected-settings-file are mutually exclusive: give the settings inline or in a file, not both"},
		{name: "a train with a pinned version", args: []string{"-t", "x.y", "--auto-upgrade-minor-version", "false", "--version", "1.4.1", "--release-train", "Stable"},
			wantErr: "--release-train can only be set if auto-upgrade is true: a pinned extension takes no versions from a train. Drop --release-train, or give --auto-upgrade-minor-version true without --version"},
		{name: "az's -t, a cluster type, after the extension type", args: []string{"--extension-type", "x.y", "-t", "managedClusters"},
			wantErr: "-t managedClusters: in kubectl ext, -t is --extension-type, not az's --cluster-type; the cluster is your kubeconfig's context (--context, or --cluster-name with a context's name): drop -t managedClusters and give the extension type with --extension-type (see `kubectl ext type list`)"},
		{name: "az's -t, a cluster type in any case, before the extension type", args: []string{"-t", "CONNECTEDCLUSTERS", "--extension-type", "x.y"},
			wantErr: "-t CONNECTEDCLUSTERS: in kubectl ext, -t is --extension-type"},
		{name: "az's -t alone", args: []string{"-t", "provisionedClusters"}, wantErr: "-t provisionedClusters: in kubectl ext, -t is --extension-type"},
		{name: "two different types", args: []string{"-t", "x.y", "--extension-type", "a.b"},
			wantErr: "--extension-type (-t) is given more than once, as x.y and a.b: give it once"},
		{name: "a Marketplace plan", args: []string{"-t", "x.y", "--plan-name", "p", "--plan-product", "q", "--plan-publisher", "r"},
			wantErr: "--plan-name, --plan-product and --plan-publisher (az's Azure Marketplace plan): kubectl ext buys no offer, it installs the extension type's chart from the cluster's catalog. Drop --plan-name, --plan-product and --plan-publisher (see `kubectl ext type list` for the types you can install)"},
		{name: "a settings pair without =", args: []string{"-t", "x.y", "--config", "novalue"}, wantErr: "--configuration-settings: "},
		{name: "a settings file that is not an object", args: []string{"-t", "x.y", "--config-file", notObject}, wantErr: "--configuration-settings-file: "},
		{name: "a protected settings file that does not exist", args: []string{"-t", "x.y", "--configuration-protected-settings-file", missing},
			wantErr: "--configuration-protected-settings-file: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.extName
			if name == "" {
				name = "podinfo"
			}
			got, err := parseCreate(t, name, tt.args...)
			if !checkErr(t, err, tt.wantErr) {
				return
			}
			tt.want.Name = name
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("request\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"podinfo", true},
		{"a", true},
		{"a-1", true},
		{strings.Repeat("a", 53), true},
		{strings.Repeat("a", 54), false},
		{"", false},
		{"-a", false},
		{"a-", false},
		{"A", false},
		{"a.b", false},
		{"a_b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateName(tt.name); (err == nil) != tt.ok {
				t.Errorf("ValidateName(%q) = %v, want ok %v", tt.name, err, tt.ok)
			}
		})
	}
}
