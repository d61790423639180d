package azflags

import (
	"slices"
	"testing"
)

func TestNormalizeArgs(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{
			name: "pairs after --config become one --config each",
			in:   []string{"create", "x", "--config", "a=1", "b=2", "--no-wait"},
			want: []string{"create", "x", "--config", "a=1", "--config", "b=2", "--no-wait"},
		},
		{
			name: "a word without = ends the run and stays positional",
			in:   []string{"create", "--config", "a=1", "b=2", "podinfo"},
			want: []string{"create", "--config", "a=1", "--config", "b=2", "podinfo"},
		},
		{
			name: "the --flag=value form starts a run too",
			in:   []string{"update", "x", "--config-protected=k=v", "k2=v2"},
			want: []string{"update", "x", "--config-protected=k=v", "--config-protected", "k2=v2"},
		},
		{
			name: "az's newer names take pairs too",
			in:   []string{"update", "--config-settings", "a=1", "b=2", "--config-protected-settings", "k=v", "l=w"},
			want: []string{"update", "--config-settings", "a=1", "--config-settings", "b=2", "--config-protected-settings", "k=v", "--config-protected-settings", "l=w"},
		},
		{
			name: "pairs after other flags are left alone",
			in:   []string{"create", "x", "--release-namespace", "ns", "a=1"},
			want: []string{"create", "x", "--release-namespace", "ns", "a=1"},
		},
		{
			name: "everything after -- is left alone",
			in:   []string{"create", "--config", "a=1", "--", "b=2"},
			want: []string{"create", "--config", "a=1", "--", "b=2"},
		},
		{
			name: "a flag that looks like a pair is not taken",
			in:   []string{"--config", "a=1", "--timeout=1m"},
			want: []string{"--config", "a=1", "--timeout=1m"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeArgs(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
