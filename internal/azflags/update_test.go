package azflags

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// parseUpdate parses args with update's flags and builds the request for podinfo.
func parseUpdate(t *testing.T, args ...string) (lifecycle.UpdateRequest, error) {
	t.Helper()
	var u Update
	fs := pflag.NewFlagSet("update", pflag.ContinueOnError)
	u.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return u.Request("podinfo", fs.Changed)
}

func TestUpdateRequest(t *testing.T) {
	file := writeFile(t, "settings.json", `{"a": "from-file", "b": 2}`)
	notObject := writeFile(t, "list.yaml", "- x\n")
	base := func(r lifecycle.UpdateRequest) lifecycle.UpdateRequest {
		r.Name, r.Wait, r.Timeout, r.DryRun = "podinfo", true, 5*time.Minute, lifecycle.DryRunNone
		return r
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
		want    lifecycle.UpdateRequest
	}{
		{name: "one setting", args: []string{"--config", "replicaCount=3"},
			want: base(lifecycle.UpdateRequest{Settings: map[string]string{"replicaCount": "3"}})},
		{name: "settings from a file, through az's newer name", args: []string{"--config-settings-file", file},
			want: base(lifecycle.UpdateRequest{Settings: map[string]string{"a": "from-file", "b": "2"}})},
		{name: "the type and scope az's update lines give go to the request, to be checked against the extension",
			args: []string{"-t", "example.podinfo", "--scope", "cluster", "--config", "a=1"},
			want: base(lifecycle.UpdateRequest{ExtensionType: "example.podinfo", Scope: v1alpha1.ScopeCluster, Settings: map[string]string{"a": "1"}})},
		{name: "a train without --auto-upgrade is left for the extension to judge", args: []string{"--release-train", "Preview"},
			want: base(lifecycle.UpdateRequest{ReleaseTrain: ptr.To("Preview")})},
		{name: "pin a version", args: []string{"--auto-upgrade-minor-version", "false", "--version", "1.4.1"},
			want: base(lifecycle.UpdateRequest{AutoUpgrade: ptr.To(false), Version: ptr.To("1.4.1")})},
		{name: "a version alone is left for the extension to judge", args: []string{"--version", "1.4.2"},
			want: base(lifecycle.UpdateRequest{Version: ptr.To("1.4.2")})},
		{name: "auto-upgrade back on, with a train, through the alias", args: []string{"--auto-upgrade", "TRUE", "--release-train", "Preview"},
			want: base(lifecycle.UpdateRequest{AutoUpgrade: ptr.To(true), ReleaseTrain: ptr.To("Preview")})},
		{name: "an empty protected flag deletes every protected setting", args: []string{"--config-protected", ""},
			want: base(lifecycle.UpdateRequest{Protected: map[string]string{}})},
		{name: "adopt the release, no wait, server dry run", args: []string{"--adopt-release", "--no-wait", "--timeout", "1m", "--dry-run=server"},
			want: lifecycle.UpdateRequest{Name: "podinfo", AdoptRelease: true, Timeout: time.Minute, DryRun: lifecycle.DryRunServer}},
		{name: "nothing to update", args: []string{"--no-wait"},
			wantErr: "nothing to update: give at least one of --auto-upgrade-minor-version, --version, --release-train, --configuration-settings[-file], --configuration-protected-settings[-file] or --adopt-release"},
		{name: "an empty settings flag changes nothing", args: []string{"--config", ""}, wantErr: "nothing to update"},
		{name: "auto-upgrade neither true nor false", args: []string{"--auto-upgrade", "sometimes"},
			wantErr: `--auto-upgrade-minor-version must be true or false, not "sometimes"`},
		{name: "an empty version", args: []string{"--version", ""}, wantErr: "--version needs a value"},
		{name: "a version with auto-upgrade on", args: []string{"--auto-upgrade-minor-version", "true", "--version", "1.4.1"},
			wantErr: "--version pins the extension, so it cannot go with --auto-upgrade-minor-version true"},
		{name: "auto-upgrade off without a version", args: []string{"--auto-upgrade-minor-version", "false"},
			wantErr: "--auto-upgrade-minor-version false needs --version: name the version to pin"},
		{name: "an empty release train", args: []string{"--release-train", ""}, wantErr: "--release-train needs a value"},
		{name: "a train with auto-upgrade off", args: []string{"--auto-upgrade", "false", "--version", "1.4.1", "--release-train", "Stable"},
			wantErr: "--release-train can only be set if auto-upgrade is true"},
		{name: "inline settings and a settings file, on update too", args: []string{"--config-file", file, "--configuration-settings", "a=inline"},
			wantErr: "--configuration-settings and --configuration-settings-file are mutually exclusive: give the settings inline or in a file, not both"},
		{name: "inline protected settings and their file, on update too", args: []string{"--config-protected-file", file, "--config-protected-settings", "k=v"},
			wantErr: "--configuration-protected-settings and --configuration-protected-settings-file are mutually exclusive: give the settings inline or in a file, not both"},
		{name: "a scope that does not exist", args: []string{"--scope", "global", "--config", "a=1"}, wantErr: `--scope must be cluster or namespace, not "global"`},
		// az's enum values are case-insensitive.
		{name: "the scope in any case", args: []string{"--scope", "Cluster", "--auto-upgrade-minor-version", "True"},
			want: base(lifecycle.UpdateRequest{Scope: v1alpha1.ScopeCluster, AutoUpgrade: ptr.To(true)})},
		{name: "namespace scope in capitals", args: []string{"--scope", "NAMESPACE", "--config", "a=1"},
			want: base(lifecycle.UpdateRequest{Scope: v1alpha1.ScopeNamespace, Settings: map[string]string{"a": "1"}})},
		{name: "az's -t, a cluster type", args: []string{"-t", "managedClusters", "--config", "a=1"}, wantErr: "-t managedClusters: in kubectl ext, -t is --extension-type"},
		{name: "a Marketplace plan", args: []string{"--plan-name", "p", "--config", "a=1"}, wantErr: "--plan-name (az's Azure Marketplace plan): kubectl ext buys no offer"},
		{name: "a settings file that is not an object", args: []string{"--config-file", notObject}, wantErr: "--configuration-settings-file: "},
		{name: "a protected pair without =", args: []string{"--config-protected", "novalue"}, wantErr: "--configuration-protected-settings: "},
		{name: "an unknown dry-run mode", args: []string{"--config", "a=1", "--dry-run=maybe"}, wantErr: `--dry-run must be "none", "client" or "server", not "maybe"`},
		{name: "a negative timeout", args: []string{"--config", "a=1", "--timeout", "-1s"}, wantErr: "--timeout must be positive, not -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseUpdate(t, tt.args...)
			if !checkErr(t, err, tt.wantErr) {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("request\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// TestUpdateNothingKeepsTypeAndScope: a request that changes nothing is
// ErrNothingToUpdate, and still carries the type and scope given, for the command to
// check against the extension (another type or scope is refused naming the field).
func TestUpdateNothingKeepsTypeAndScope(t *testing.T) {
	got, err := parseUpdate(t, "--extension-type", "other.type", "--scope", "Namespace")
	if !errors.Is(err, ErrNothingToUpdate) {
		t.Fatalf("error %v, want ErrNothingToUpdate", err)
	}
	if got.ExtensionType != "other.type" || got.Scope != v1alpha1.ScopeNamespace {
		t.Errorf("type %q, scope %q: want other.type and namespace", got.ExtensionType, got.Scope)
	}
}
