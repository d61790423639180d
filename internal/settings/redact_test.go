package settings_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kubeext/kubectl-ext/internal/settings"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{name: "no secrets", in: "helm: s3cr3t", want: "helm: s3cr3t"},
		{name: "plain", in: "execution error: bad key s3cr3t here", secrets: []string{"s3cr3t"}, want: "execution error: bad key [redacted] here"},
		{name: "every occurrence", in: "s3cr3t/s3cr3t", secrets: []string{"s3cr3t"}, want: "[redacted]/[redacted]"},
		{name: "quoted with escapes", in: `value "a\"b\nc" is invalid`, secrets: []string{"a\"b\nc"}, want: `value "[redacted]" is invalid`},
		{name: "one line of a multi-line value", in: "line two: BEGIN KEY", secrets: []string{"BEGIN KEY\nEND KEY"}, want: "line two: [redacted]"},
		{name: "longer secret first", in: "abcdef", secrets: []string{"abc", "abcdef"}, want: "[redacted]"},
		{name: "empty secret ignored", in: "nothing to hide", secrets: []string{""}, want: "nothing to hide"},
		{name: "unicode", in: "pässwörd!", secrets: []string{"pässwörd"}, want: "[redacted]!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := settings.Redact(tt.in, tt.secrets); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{name: "short enough", in: "abc", max: 3, want: "abc"},
		{name: "cut with a note", in: strings.Repeat("x", 40), max: 20, want: "xxxx ... [truncated]"},
		{name: "never splits a rune", in: strings.Repeat("é", 20), max: 21, want: "éé ... [truncated]"},
		{name: "tiny limit", in: "abcdefghijklmnopqrstuvwxyz", max: 4, want: " ..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := settings.Truncate(tt.in, tt.max)
			if got != tt.want || len(got) > tt.max || !utf8.ValidString(got) {
				t.Errorf("Truncate = %q (%d bytes), want %q within %d", got, len(got), tt.want, tt.max)
			}
		})
	}
}
