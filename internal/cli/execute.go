package cli

import (
	"context"
	"errors"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubeext/kubectl-ext/internal/azflags"
	"github.com/kubeext/kubectl-ext/internal/failpoint"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// Execute runs cmd on args (az-style settings pairs normalised, see azflags.NormalizeArgs) with
// a context cancelled by SIGINT/SIGTERM, prints an error as "error: ..." on stderr like
// kubectl, and returns the process exit code.
func Execute(cmd *cobra.Command, streams genericiooptions.IOStreams, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// The first signal cancels the command, which then records what it was doing and
	// cleans up, each step bounded. Signals are caught no longer from then on, so a
	// second Ctrl-C ends the process at once (Go's default), as kubectl and helm users
	// expect. stop also ends this goroutine when the command returns.
	done := make(chan struct{})
	defer close(done)
	go func() {
		<-ctx.Done()
		stop()
		select {
		case <-done:
		default:
			fmt.Fprintln(streams.ErrOut, "interrupted: cleaning up (Ctrl-C again to stop at once)")
		}
	}()
	failpoint.SetProcessContext(ctx)
	cmd.SetArgs(azflags.NormalizeArgs(args))
	if err := cmd.ExecuteContext(ctx); err != nil {
		var recorded *lifecycle.InterruptedError
		if ctx.Err() != nil && !errors.As(err, &recorded) {
			// A signal cancelled the command: what failed after it is the interruption's
			// doing ("context canceled"), and the user is told so first, in the form
			// a recorded interruption has.
			err = &lifecycle.InterruptedError{Cause: context.Cause(ctx), Err: err}
		}
		fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
		return 1
	}
	return 0
}
