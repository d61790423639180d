package azflags

import (
	"testing"

	"github.com/spf13/pflag"

	"github.com/kubeext/kubectl-ext/internal/catalog"
)

func TestVersionsRequest(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    catalog.VersionsRequest
		wantErr string
	}{
		{name: "no flags: every major, the default train", want: catalog.VersionsRequest{Type: "example.podinfo", Major: -1}},
		{name: "a train, major 1, the newest only", args: []string{"--release-train", "Preview", "--major-version", "1", "--show-latest"},
			want: catalog.VersionsRequest{Type: "example.podinfo", Train: "Preview", Major: 1, Latest: true}},
		{name: "a major written v2, with the excluded ones", args: []string{"--major-version", "v2", "--all"},
			want: catalog.VersionsRequest{Type: "example.podinfo", Major: 2, All: true}},
		{name: "major 0", args: []string{"--major-version", "0"}, want: catalog.VersionsRequest{Type: "example.podinfo", Major: 0}},
		{name: "a major that is a version", args: []string{"--major-version", "1.4"},
			wantErr: `--major-version must be a whole number such as 1 (for 1.x), not "1.4"`},
		{name: "a negative major", args: []string{"--major-version", "-1"}, wantErr: "--major-version must be a whole number"},
		{name: "a major too large for an int32", args: []string{"--major-version", "4294967296"}, wantErr: "--major-version must be a whole number"},
		{name: "the newest and all of them", args: []string{"--show-latest", "--all"},
			wantErr: "--show-latest lists only the newest version the cluster can run and --all lists excluded versions too: give one of them"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v Versions
			fs := pflag.NewFlagSet("versions", pflag.ContinueOnError)
			v.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			got, err := v.Request("example.podinfo")
			if !checkErr(t, err, tt.wantErr) {
				return
			}
			if got.Type != tt.want.Type || got.Train != tt.want.Train || got.Major != tt.want.Major ||
				got.Latest != tt.want.Latest || got.All != tt.want.All || got.KubeVersion != nil {
				t.Errorf("request %+v, want %+v", got, tt.want)
			}
		})
	}
}
