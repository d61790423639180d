package lifecycle

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// fakeTerminal is a terminal for LiveProgress: every write kept, and a clock the test
// moves.
type fakeTerminal struct {
	buf bytes.Buffer
	now time.Time
}

func newFakeLive(width int) (*LiveProgress, *fakeTerminal) {
	ft := &fakeTerminal{now: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	l := NewLiveProgress(&ft.buf, width)
	l.now = func() time.Time { return ft.now }
	return l, ft
}

// screen is what a terminal shows after the writes: each \r goes back to the line's
// start and ESC[K erases it, so only the last drawing of a line stays.
func screen(raw string) []string {
	var lines []string
	cur := ""
	for len(raw) > 0 {
		switch {
		case strings.HasPrefix(raw, carriageReturn+eraseLine):
			cur, raw = "", raw[len(carriageReturn+eraseLine):]
		case raw[0] == '\n':
			lines, cur, raw = append(lines, cur), "", raw[1:]
		default:
			cur, raw = cur+raw[:1], raw[1:]
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// draws counts the times a live line was drawn.
func draws(raw string) int { return strings.Count(raw, carriageReturn+eraseLine) }

// TestLiveDownload: a download is redrawn in place as its bytes arrive, at most every
// redrawEvery, with its size and rate; its end is drawn whatever the time, as a final
// line that stays; a size the server did not announce is left out.
func TestLiveDownload(t *testing.T) {
	tests := []struct {
		name      string
		total     int64
		reads     []int64 // done after each read, 50 ms apart
		wantDraws int
		wantLive  []string // what the live line showed at some point
		wantFinal string
	}{{
		name:      "size announced",
		total:     4096,
		reads:     []int64{1024, 2048, 3072, 4096},
		wantDraws: 3, // 1024 (first), 3072 (100 ms later), 4096 (the end)
		wantLive:  []string{"Downloading chart podinfo 1.0.0: 1.0 KiB of 4.0 KiB, 20.0 KiB/s", "Downloading chart podinfo 1.0.0: 3.0 KiB of 4.0 KiB"},
		wantFinal: "Downloaded chart podinfo 1.0.0: 4.0 KiB in 200ms, 20.0 KiB/s",
	}, {
		name:      "size not announced",
		total:     -1,
		reads:     []int64{2048},
		wantDraws: 1,
		wantLive:  []string{"Downloading chart podinfo 1.0.0: 2.0 KiB, 40.0 KiB/s"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, ft := newFakeLive(120)
			p := l.download("chart podinfo 1.0.0")
			for _, done := range tt.reads {
				ft.now = ft.now.Add(50 * time.Millisecond)
				p(done, tt.total)
			}
			raw := ft.buf.String()
			if got := draws(raw); got != tt.wantDraws {
				t.Errorf("%d drawings, want %d: %q", got, tt.wantDraws, raw)
			}
			for _, w := range tt.wantLive {
				if !strings.Contains(raw, w) {
					t.Errorf("the live line never showed %q: %q", w, raw)
				}
			}
			lines := screen(raw)
			if tt.wantFinal != "" {
				if !strings.HasSuffix(raw, "\n") || len(lines) != 1 || lines[0] != tt.wantFinal {
					t.Errorf("the screen shows %q, want the one final line %q", lines, tt.wantFinal)
				}
			} else if strings.HasSuffix(raw, "\n") {
				t.Errorf("an unfinished download ended its line: %q", raw)
			}
		})
	}
}

// TestLiveReady: the wait for a release is drawn as ready/total, and ends with a line
// that names the objects not ready (at most maxNotReady of them, then how many more).
func TestLiveReady(t *testing.T) {
	e := &v1alpha1.Extension{}
	e.Name = "web"
	e.Spec.Scope.Cluster = &v1alpha1.ClusterScope{ReleaseNamespace: "team-a"}
	var many []string
	for i := range 7 {
		many = append(many, fmt.Sprintf("Deployment/team-a/d%d", i))
	}
	tests := []struct {
		name      string
		polls     [][2]int
		notReady  []string
		wantFinal string
	}{
		{"all ready", [][2]int{{0, 2}, {1, 2}, {2, 2}}, nil, "release team-a/web: 2/2 objects ready"},
		{"one not ready", [][2]int{{1, 2}}, []string{"Deployment/team-a/web"}, "release team-a/web: 1/2 objects ready; not ready: Deployment/team-a/web"},
		{"many not ready", [][2]int{{1, 8}}, many,
			"release team-a/web: 1/8 objects ready; not ready: Deployment/team-a/d0, Deployment/team-a/d1, Deployment/team-a/d2, Deployment/team-a/d3, Deployment/team-a/d4 and 2 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, ft := newFakeLive(200)
			m := &Manager{live: l}
			p := m.liveReady(e)
			for _, poll := range tt.polls {
				ft.now = ft.now.Add(2 * time.Second)
				p.Ready(poll[0], poll[1])
			}
			raw := ft.buf.String()
			if !strings.Contains(raw, fmt.Sprintf("Waiting for release team-a/web: %d/%d objects ready", tt.polls[0][0], tt.polls[0][1])) {
				t.Errorf("the wait was not drawn: %q", raw)
			}
			p.WaitEnded(tt.notReady)
			raw = ft.buf.String()
			if lines := screen(raw); len(lines) != 1 || lines[0] != tt.wantFinal || !strings.HasSuffix(raw, "\n") {
				t.Errorf("the screen shows %q, want the final line %q", lines, tt.wantFinal)
			}
		})
	}

	t.Run("no live progress", func(t *testing.T) {
		if p := (&Manager{}).liveReady(e); p != nil {
			t.Errorf("a manager without live progress gave %#v, want a nil interface (Helm's client is not wrapped then)", p)
		}
	})
}

// TestLiveWriter: a plain progress line written while a live line is drawn erases it
// first, so it starts on a clean line; a live line too wide for the terminal is cut
// (a wrapped line cannot be redrawn in place), a final line is not.
func TestLiveWriter(t *testing.T) {
	l, ft := newFakeLive(30)
	p := l.download("chart kube-prometheus-stack 65.1.0")
	p(10, 100)
	fmt.Fprintln(l.Writer(), "Warning: something")
	fmt.Fprintln(l.Writer(), "Installing release monitoring/kps")
	raw := ft.buf.String()
	lines := screen(raw)
	want := []string{"Warning: something", "Installing release monitoring/kps"}
	if len(lines) != 2 || lines[0] != want[0] || lines[1] != want[1] {
		t.Errorf("the screen shows %q, want %q", lines, want)
	}
	if !strings.Contains(raw, "Downloading chart kube-prome…"+carriageReturn) {
		t.Errorf("the live line was not cut to 29 columns: %q", raw)
	}
	ft.buf.Reset()
	ft.now = ft.now.Add(time.Second)
	p(100, 100)
	if lines := screen(ft.buf.String()); len(lines) != 1 || !strings.HasPrefix(lines[0], "Downloaded chart kube-prometheus-stack 65.1.0: 0.1 KiB") {
		t.Errorf("the final line %q, want it whole", lines)
	}
}
