package cli

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubeext/kubectl-ext/internal/azflags"
)

// Execute runs cmd on args (az-style settings pairs normalised, see azflags.NormalizeArgs) with
// a context cancelled by SIGINT/SIGTERM, prints an error as "error: ..." on stderr like
// kubectl, and returns the process exit code.
func Execute(cmd *cobra.Command, streams genericiooptions.IOStreams, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cmd.SetArgs(azflags.NormalizeArgs(args))
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
		return 1
	}
	return 0
}
