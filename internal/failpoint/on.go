//go:build failpoints

package failpoint

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
)

// Enabled reports whether this is a failpoints build.
const Enabled = true

var (
	mu sync.Mutex
	// process is the command's context, for steps reached where no context is passed
	// (Helm's kube client).
	process = context.Background()
	// fired is set once the failpoint has stopped the process: it stops there once,
	// so the clean-up after an interruption (a rollback, an uninstall, which pass the
	// same steps) runs on.
	fired bool
)

// Hit stops at step when Env names it, the first time it is reached: it prints
// "failpoint COMMAND/STEP reached" to stderr and waits until ctx is done. It reports
// whether it stopped.
func Hit(ctx context.Context, step string) bool {
	want := os.Getenv(Env)
	if want == "" {
		return false
	}
	wantStep := want
	if _, s, ok := strings.Cut(want, "/"); ok {
		wantStep = s
	}
	if wantStep != step {
		return false
	}
	mu.Lock()
	if fired {
		mu.Unlock()
		return false
	}
	fired = true
	mu.Unlock()
	fmt.Fprintf(os.Stderr, "failpoint %s reached\n", want)
	<-ctx.Done()
	fmt.Fprintf(os.Stderr, "failpoint %s released: %v\n", want, ctx.Err())
	return true
}

// HitProcess is Hit with the context SetProcessContext gave (the command's).
func HitProcess(step string) bool {
	mu.Lock()
	ctx := process
	mu.Unlock()
	return Hit(ctx, step)
}

// SetProcessContext gives HitProcess the command's context.
func SetProcessContext(ctx context.Context) {
	mu.Lock()
	defer mu.Unlock()
	process = ctx
}
