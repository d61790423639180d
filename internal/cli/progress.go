package cli

import (
	"context"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// terminal is what live progress needs to know of a stream: its file descriptor, when
// it has one (an *os.File does; a fleet's per-cluster buffer does not).
type terminal interface{ Fd() uintptr }

// liveDecision tells whether a command draws live progress (chart download bytes,
// ready objects while Helm waits) on its stderr errOut: only when errOut is a terminal
// (isTerminal of its descriptor), the terminal understands cursor movement (TERM is
// not "dumb"), and the command prints no -o output (quiet), which scripts read. Pipes,
// files, fleets' buffers and -o keep the plain progress lines alone.
func liveDecision(errOut io.Writer, quiet bool, termEnv string, isTerminal func(fd int) bool) (fd int, ok bool) {
	if quiet || termEnv == "dumb" {
		return 0, false
	}
	f, ok := errOut.(terminal)
	if !ok {
		return 0, false
	}
	fd = int(f.Fd())
	return fd, isTerminal(fd)
}

type quietKey struct{}

// withoutLive marks ctx as the context of a command that prints -o output.
func withoutLive(ctx context.Context) context.Context {
	return context.WithValue(ctx, quietKey{}, true)
}

// liveProgress returns the progress stream and live progress of a command whose
// stderr is errOut: on a terminal, the plain lines go through the live progress so
// that they never land on a half-drawn line; elsewhere errOut and nil.
func liveProgress(ctx context.Context, errOut io.Writer) (io.Writer, *lifecycle.LiveProgress) {
	quiet, _ := ctx.Value(quietKey{}).(bool)
	fd, ok := liveDecision(errOut, quiet, os.Getenv("TERM"), term.IsTerminal)
	if !ok {
		return errOut, nil
	}
	width, _, err := term.GetSize(fd)
	if err != nil {
		width = 0 // NewLiveProgress's default
	}
	live := lifecycle.NewLiveProgress(errOut, width)
	return live.Writer(), live
}
