package main

import (
	"strings"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		line string
		want string
	}{
		{
			name: "ratio goal met",
			line: "webhook p50\t0.6\tms\tno-op\t0.42\t<=1.5x",
			want: "| webhook p50 | 0.6 ms | 0.42 ms (no-op) | ×1.43 | ≤ 1.5× | yes |",
		},
		{
			name: "ratio goal missed",
			line: "webhook p50\t3.4\tms\tno-op\t0.42\t<=1.5x",
			want: "| webhook p50 | 3.4 ms | 0.42 ms (no-op) | ×8.1 | ≤ 1.5× | **no** |",
		},
		{
			name: "at least goal on throughput",
			line: "webhook 8 workers\t2500\trps\tno-op\t4835\t>=0.5x",
			want: "| webhook 8 workers | 2500 rps | 4835 rps (no-op) | ×0.517 | ≥ 0.5× | yes |",
		},
		{
			name: "absolute goal without baseline",
			line: "webhook RSS\t70.26\tMiB\t\t\t<=64",
			want: "| webhook RSS | 70.3 MiB | — | — | ≤ 64 MiB | **no** |",
		},
		{
			name: "absolute goal ignores the baseline's ratio",
			line: "upgrade --all --dry-run\t1500\tms\tkubectl get ext\t300\t<=2000",
			want: "| upgrade --all --dry-run | 1500 ms | 300 ms (kubectl get ext) | ×5 | ≤ 2000 ms | yes |",
		},
		{
			name: "no number is not met",
			line: "upgrade --all --dry-run\ttimed out after 60 s\tms\t\t\t<=2000",
			want: "| upgrade --all --dry-run | timed out after 60 s | — | — | ≤ 2000 ms | **no** |",
		},
		{
			name: "a tiny ratio keeps two significant digits",
			line: "webhook 8 workers\t2\trps\tno-op\t4678\t>=0.5x",
			want: "| webhook 8 workers | 2 rps | 4678 rps (no-op) | ×0.00043 | ≥ 0.5× | **no** |",
		},
		{
			name: "no goal, a note",
			line: "OPA server p50\t0.9\tms\tour webhook\t0.6\t\tpeer",
			want: "| OPA server p50 (peer) | 0.9 ms | 0.6 ms (our webhook) | ×1.5 | — | — |",
		},
		{
			name: "unitless count",
			line: "allocs/op\t287\t\t\t\t<=300",
			want: "| allocs/op | 287 | — | — | ≤ 300 | yes |",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := parseRows(strings.NewReader(tt.line + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := render(&b, rows); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(b.String()), "\n")
			if len(lines) != 3 {
				t.Fatalf("want a header, a rule and one row, got:\n%s", b.String())
			}
			if lines[2] != tt.want {
				t.Errorf("got  %s\nwant %s", lines[2], tt.want)
			}
		})
	}
}

func TestRenderRejectsBadGoal(t *testing.T) {
	for _, g := range []string{"<1.5x", "about 2", "<=fast"} {
		rows, err := parseRows(strings.NewReader("x\t1\tms\t\t\t" + g + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		if err := render(&strings.Builder{}, rows); err == nil {
			t.Errorf("goal %q: no error", g)
		}
	}
}

func TestParseRowsFieldCount(t *testing.T) {
	for _, line := range []string{"a\tb\tc", "1\t2\t3\t4\t5\t6\t7\t8"} {
		if _, err := parseRows(strings.NewReader(line)); err == nil {
			t.Errorf("%q: no error", line)
		}
	}
}

func TestSplice(t *testing.T) {
	doc := "# B\n\nintro\n" + beginMarker + "\nold table\n" + endMarker + "\nafter\n"
	got, err := splice(doc, "new table\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# B\n\nintro\n" + beginMarker + "\nnew table\n" + endMarker + "\nafter\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := splice("no markers", "x"); err == nil {
		t.Error("a document without markers: no error")
	}
	if _, err := splice(endMarker+beginMarker, "x"); err == nil {
		t.Error("markers in the wrong order: no error")
	}
}

func TestNumbered(t *testing.T) {
	got := numbered([]string{"helm", "install", "h-{i}", "-n", "ns-{i}", "chart"}, 3)
	want := []string{"helm", "install", "h-3", "-n", "ns-3", "chart"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestMedianDuration(t *testing.T) {
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{5, 1, 3}, 3},
		{[]time.Duration{4, 1, 3, 2}, 2}, // (2+3)/2 in integer nanoseconds
		{[]time.Duration{10, 20}, 15},
	}
	for _, tt := range tests {
		if got := medianDuration(tt.in); got != tt.want {
			t.Errorf("median of %v = %v, want %v", tt.in, got, tt.want)
		}
	}
}
