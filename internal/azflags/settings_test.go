package azflags

import (
	"strings"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

func TestParseDryRun(t *testing.T) {
	tests := []struct {
		in      string
		want    lifecycle.DryRun
		wantErr string
	}{
		{"", lifecycle.DryRunNone, ""},
		{"none", lifecycle.DryRunNone, ""},
		{"false", lifecycle.DryRunNone, ""},
		{"client", lifecycle.DryRunClient, ""},
		{"TRUE", lifecycle.DryRunClient, ""},
		{"Server", lifecycle.DryRunServer, ""},
		{"always", "", `--dry-run must be "none", "client" or "server", not "always"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDryRun(tt.in)
			if checkErr(t, err, tt.wantErr) && got != tt.want {
				t.Errorf("ParseDryRun(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseBool(t *testing.T) {
	tests := []struct {
		in      string
		want    bool
		wantErr string
	}{
		{"true", true, ""},
		{"Yes", true, ""},
		{"1", true, ""},
		{"FALSE", false, ""},
		{"no", false, ""},
		{"0", false, ""},
		{"", false, `--auto-upgrade must be true or false, not ""`},
		{"maybe", false, `--auto-upgrade must be true or false, not "maybe"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseBool("auto-upgrade", tt.in)
			if checkErr(t, err, tt.wantErr) && got != tt.want {
				t.Errorf("ParseBool(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// TestProtectedGiven: each of the four names counts, and nothing else does.
func TestProtectedGiven(t *testing.T) {
	for _, tt := range []struct {
		given []string
		want  bool
	}{
		{nil, false},
		{[]string{"configuration-settings", "config", "config-file"}, false},
		{[]string{"configuration-protected-settings"}, true},
		{[]string{"config-protected"}, true},
		{[]string{"configuration-protected-settings-file"}, true},
		{[]string{"config-protected-file"}, true},
	} {
		changed := func(n string) bool {
			for _, g := range tt.given {
				if g == n {
					return true
				}
			}
			return false
		}
		if got := ProtectedGiven(changed); got != tt.want {
			t.Errorf("ProtectedGiven(%v) = %v, want %v", tt.given, got, tt.want)
		}
	}
}

// TestSettingsErrorsQuoteNoValue: a bad protected pair is reported by its flag, and
// the value never appears in the message.
func TestSettingsErrorsQuoteNoValue(t *testing.T) {
	s := Settings{Protected: []string{"a..b=s3cr3t-value"}}
	_, err := s.Parse(true, true)
	if !checkErr(t, err, "--configuration-protected-settings: ") {
		return
	}
	if strings.Contains(err.Error(), "s3cr3t-value") {
		t.Errorf("error %q quotes the protected value", err)
	}
}
