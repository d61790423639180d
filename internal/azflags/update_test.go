package azflags

import (
	"reflect"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/utils/ptr"

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
		{name: "inline keys override the file's on update", args: []string{"--config-file", file, "--configuration-settings", "a=inline"},
			want: base(lifecycle.UpdateRequest{Settings: map[string]string{"a": "inline", "b": "2"}})},
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
