package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"
)

// TestLiveDecision: live progress only on a terminal that moves its cursor, and never
// for a command with -o; a stream without a descriptor (a pipe's buffer, a fleet's
// per-cluster buffer) never asks the terminal.
func TestLiveDecision(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name     string
		errOut   io.Writer
		quiet    bool
		termEnv  string
		terminal bool
		want     bool
	}{
		{"a terminal", f, false, "xterm-256color", true, true},
		{"a terminal, TERM unset", f, false, "", true, true},
		{"a file or a pipe", f, false, "xterm", false, false},
		{"a terminal with -o", f, true, "xterm", true, false},
		{"a dumb terminal", f, false, "dumb", true, false},
		{"a buffer", &bytes.Buffer{}, false, "xterm", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked := -1
			fd, got := liveDecision(tt.errOut, tt.quiet, tt.termEnv, func(fd int) bool {
				asked = fd
				return tt.terminal
			})
			if got != tt.want {
				t.Errorf("live = %v, want %v", got, tt.want)
			}
			if got && fd != int(f.Fd()) {
				t.Errorf("fd %d, want the stream's %d", fd, f.Fd())
			}
			if _, isFile := tt.errOut.(*os.File); !isFile && asked != -1 {
				t.Errorf("asked whether descriptor %d of a buffer is a terminal", asked)
			}
		})
	}
}

// TestLiveProgressQuietWithOutput: liveProgress leaves the stream as it is, and draws
// nothing, for a command marked as printing -o output, and for a stream that is not a
// terminal.
func TestLiveProgressQuietWithOutput(t *testing.T) {
	var buf bytes.Buffer
	for _, ctx := range []context.Context{context.Background(), withoutLive(context.Background())} {
		w, live := liveProgress(ctx, &buf)
		if live != nil || w != &buf {
			t.Errorf("a buffer got live progress (%v) or another stream", live)
		}
	}
	if q, _ := withoutLive(context.Background()).Value(quietKey{}).(bool); !q {
		t.Error("withoutLive does not mark the context")
	}
}
