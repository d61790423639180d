package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubeext/kubectl-ext/internal/azflags"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/describe"
)

var typeVersionsLong = templates.LongDesc(`
	List the versions of an extension type this cluster can run, newest first, like
	'az k8s-extension extension-types list-versions-by-cluster'.

	A version is listed when the release train offers it (every train offers releases;
	trains with prereleases offer those too) and its chart's kubeVersion admits the
	cluster's Kubernetes version. With --all, the other versions are listed too, with a
	REASON saying why they are excluded. The versions are the ones last read by
	'kubectl ext type sync'; a type never synced is synced first.`)

var typeVersionsExample = templates.Examples(`
	# The versions of podinfo on the Stable train that this cluster can run
	kubectl ext type versions example.podinfo

	# Only the newest one on the Preview train
	kubectl ext type versions example.podinfo --release-train Preview --show-latest

	# Only 1.x versions
	kubectl ext type versions example.podinfo --major-version 1

	# Every version, with the reason each excluded one is excluded
	kubectl ext type versions example.podinfo --all

	# As JSON, for scripts
	kubectl ext type versions example.podinfo -o json`)

// TypeVersionsOptions is `kubectl ext type versions`: az's flags and their rules are
// internal/azflags; here, completion and printing.
type TypeVersionsOptions struct {
	Name   string
	az     azflags.Versions
	Output string

	req catalog.VersionsRequest
	f   *factory
	genericiooptions.IOStreams
}

// NewTypeVersionsCommand returns `kubectl ext type versions`.
func NewTypeVersionsCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &TypeVersionsOptions{f: f, IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "versions TYPE [flags]",
		Short:   "List the versions of an extension type this cluster can run (az k8s-extension extension-types list-versions-by-cluster)",
		Long:    typeVersionsLong,
		Example: typeVersionsExample,
		Args:    exactType,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
		ValidArgsFunction: completeOneType(f),
	}
	fs := cmd.Flags()
	o.az.AddFlags(fs)
	fs.StringVarP(&o.Output, "output", "o", "", "Output format. One of: (json, yaml).")
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletions("json", "yaml"))
	return cmd
}

// Validate checks the flags.
func (o *TypeVersionsOptions) Validate() error {
	var err error
	if o.req, err = o.az.Request(o.Name); err != nil {
		return err
	}
	return describe.CheckDataFormat(o.Output)
}

// Run lists the versions.
func (o *TypeVersionsOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	cat, err := o.f.catalog(o.ErrOut)
	if err != nil {
		return err
	}
	o.req.KubeVersion = func(ctx context.Context) (string, error) {
		info, err := o.f.clusterInfo(ctx)
		return info.KubernetesVersion, err
	}
	res, err := cat.ListVersions(ctx, o.req)
	if err != nil {
		return err
	}
	rows := res.Rows
	if o.Output != "" {
		return describe.Data(o.Out, rows, o.Output)
	}
	if len(rows) == 0 {
		what := "versions"
		if o.req.Major >= 0 {
			what = fmt.Sprintf("%d.x versions", o.req.Major)
		}
		fmt.Fprintf(o.ErrOut, "No %s of extension type %s on the %s train run on Kubernetes %s (see them all with --all).\n",
			what, res.Type.Name, res.Train, res.KubeVersion)
		return nil
	}
	return describe.TypeVersions(o.Out, rows, o.req.All)
}
