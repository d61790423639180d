package troubleshoot

import (
	"strings"
	"testing"
)

// TestAddYAMLRedactsBeforeQuoting: the YAML writer quotes and folds strings (a quote
// doubled inside single quotes, a long line folded at a space), forms of a secret that
// redacting the written text would miss. Each row fails if the file is scrubbed after
// marshalling.
func TestAddYAMLRedactsBeforeQuoting(t *testing.T) {
	long := strings.Repeat("a", 60)
	tests := []struct {
		name   string
		secret string
		value  any
	}{
		{"a quote doubled in single quotes", "it's correct horse", map[string]any{"message": "'x' token it's correct horse rejected"}},
		{"a long line folded at a space", "correct horse battery staple", map[string]any{"message": "'x' " + long + " correct horse battery staple rejected"}},
		{"a key and a list element", "s3cr3t-k", map[string]any{"s3cr3t-k": []any{"is s3cr3t-k"}}},
		{"a number", "1234567", map[string]any{"replicas": 1234567}},
		{"a struct field", "tab\t\"q' x", struct{ Message string }{"value: tab\t\"q' x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &bundle{secrets: []string{tt.secret}}
			b.addYAML("x.yaml", tt.value)
			data := string(b.files[0].data)
			unfolded := strings.Join(strings.Fields(data), " ")
			for _, part := range strings.Fields(tt.secret) {
				if len(part) > 3 && strings.Contains(data, part) {
					t.Errorf("x.yaml holds %q of the secret:\n%s", part, data)
				}
			}
			if strings.Contains(unfolded, strings.Join(strings.Fields(tt.secret), " ")) {
				t.Errorf("x.yaml holds the secret:\n%s", data)
			}
			if !strings.Contains(data, "[redacted]") {
				t.Errorf("x.yaml has no [redacted]:\n%s", data)
			}
		})
	}
}
