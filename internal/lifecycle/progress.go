package lifecycle

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// LiveProgress draws the progress of a long step on a terminal, one line redrawn in
// place: the bytes of a chart download, and how many of a release's objects are
// ready while Helm waits. Each step ends with a final line that stays. The caller
// decides that its stream is a terminal (the CLI: stderr is one, and no -o); the
// progress lines of Config.Progress go through Writer, which clears a live line
// first, so the two never share a line.
type LiveProgress struct {
	mu    sync.Mutex
	w     io.Writer
	width int
	now   func() time.Time
	// shown: a live line is on the screen (no newline after it yet).
	shown bool
	// drawn is when the live line was last drawn: redraws come at most every
	// redrawEvery, which a download's many small reads would otherwise exceed.
	drawn time.Time
}

// redrawEvery bounds how often a live line is redrawn.
const redrawEvery = 100 * time.Millisecond

// The terminal control sequences: back to the line's start, and erase to its end.
const (
	carriageReturn = "\r"
	eraseLine      = "\x1b[K"
)

// NewLiveProgress draws on w, a terminal width columns wide (0: 80).
func NewLiveProgress(w io.Writer, width int) *LiveProgress {
	if width <= 0 {
		width = 80
	}
	return &LiveProgress{w: w, width: width, now: time.Now}
}

// Writer returns w for whole lines of text: a live line on the screen is erased
// before each write.
func (l *LiveProgress) Writer() io.Writer { return liveWriter{l} }

type liveWriter struct{ l *LiveProgress }

func (lw liveWriter) Write(p []byte) (int, error) {
	l := lw.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.shown {
		if _, err := io.WriteString(l.w, carriageReturn+eraseLine); err != nil {
			return 0, err
		}
		l.shown = false
	}
	return l.w.Write(p)
}

// draw shows line as the live line, at most every redrawEvery; a final line is
// always drawn and ends with a newline.
func (l *LiveProgress) draw(line string, final bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !final && l.shown && now.Sub(l.drawn) < redrawEvery {
		return
	}
	if !final {
		line = truncate(line, l.width-1) // a wrapped line cannot be redrawn in place
	}
	end := ""
	if final {
		end = "\n"
	}
	// A failed write to the terminal loses a progress line; the step goes on.
	_, _ = io.WriteString(l.w, carriageReturn+eraseLine+line+end)
	l.shown, l.drawn = !final, now
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// download returns the progress of one chart download.
func (l *LiveProgress) download(what string) chartsource.DownloadProgress {
	start := l.now()
	return func(done, total int64) {
		elapsed := l.now().Sub(start)
		rate := ""
		if s := elapsed.Seconds(); s > 0 {
			rate = fmt.Sprintf(", %s/s", kib(int64(float64(done)/s)))
		}
		if total >= 0 && done >= total {
			l.draw(fmt.Sprintf("Downloaded %s: %s in %s%s", what, kib(done), elapsed.Round(100*time.Millisecond), rate), true)
			return
		}
		of := ""
		if total >= 0 {
			of = " of " + kib(total)
		}
		l.draw(fmt.Sprintf("Downloading %s: %s%s%s", what, kib(done), of, rate), false)
	}
}

// kib writes a byte count in KiB, with one decimal.
func kib(n int64) string { return fmt.Sprintf("%.1f KiB", float64(n)/1024) }

// readyProgress is the progress of one wait for a release's objects.
type readyProgress struct {
	l            *LiveProgress
	what         string
	mu           sync.Mutex
	ready, total int
}

func (r *readyProgress) Ready(ready, total int) {
	r.mu.Lock()
	r.ready, r.total = ready, total
	r.mu.Unlock()
	r.l.draw(fmt.Sprintf("Waiting for %s: %d/%d objects ready", r.what, ready, total), false)
}

// maxNotReady bounds the objects a final line names.
const maxNotReady = 5

func (r *readyProgress) WaitEnded(notReady []string) {
	r.mu.Lock()
	ready, total := r.ready, r.total
	r.mu.Unlock()
	line := fmt.Sprintf("%s: %d/%d objects ready", r.what, ready, total)
	if len(notReady) > 0 {
		names := notReady
		more := ""
		if len(names) > maxNotReady {
			names, more = names[:maxNotReady], fmt.Sprintf(" and %d more", len(notReady)-maxNotReady)
		}
		line += "; not ready: " + strings.Join(names, ", ") + more
	}
	r.l.draw(line, true)
}

// withLiveDownload returns ctx carrying the live progress of the download of a chart
// version, when the manager draws live progress.
func (m *Manager) withLiveDownload(ctx context.Context, t *v1alpha1.ExtensionType, version string) context.Context {
	if m.live == nil {
		return ctx
	}
	return chartsource.WithDownloadProgress(ctx, m.live.download(fmt.Sprintf("chart %s %s", t.Spec.Chart.Name, version)))
}

// liveReady returns the live progress of Helm's wait for an extension's release, or
// nil (an interface holding no *readyProgress) when the manager draws none.
func (m *Manager) liveReady(e *v1alpha1.Extension) release.ReadyProgress {
	if m.live == nil {
		return nil
	}
	return &readyProgress{l: m.live, what: fmt.Sprintf("release %s/%s", ReleaseNamespace(e), e.Name)}
}
