package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubeext/kubectl-ext/internal/describe"
	"github.com/kubeext/kubectl-ext/internal/version"
)

// VersionOptions prints the plugin's version.
type VersionOptions struct {
	Output string
	genericiooptions.IOStreams
}

var versionExample = templates.Examples(`
	# Print the plugin version
	kubectl ext version

	# Print it as JSON, for scripts
	kubectl ext version -o json`)

// NewVersionCommand returns `kubectl ext version`.
func NewVersionCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &VersionOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the version of kubectl ext",
		Example: versionExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format. One of: (json, yaml).")
	return cmd
}

// Validate checks the output format.
func (o *VersionOptions) Validate() error {
	return describe.CheckDataFormat(o.Output)
}

// Run prints the version.
func (o *VersionOptions) Run() error {
	info := version.Get()
	if o.Output != "" {
		return describe.Data(o.Out, info, o.Output)
	}
	_, err := fmt.Fprintf(o.Out, "kubectl-ext %s (commit %s, %s, %s)\n",
		info.Version, orUnknown(info.GitCommit), info.GoVersion, info.Platform)
	return err
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
