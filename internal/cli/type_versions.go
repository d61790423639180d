package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

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

// TypeVersionsOptions is `kubectl ext type versions`.
type TypeVersionsOptions struct {
	Name         string
	ReleaseTrain string
	MajorVersion string
	ShowLatest   bool
	All          bool
	Output       string

	major int
	f     *factory
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
	fs.StringVar(&o.ReleaseTrain, "release-train", "", "Release train whose versions to list (default Stable, or the type's first train when it has no Stable).")
	fs.StringVar(&o.MajorVersion, "major-version", "", "List only versions of this major version, e.g. 1 for 1.x.")
	fs.BoolVar(&o.ShowLatest, "show-latest", false, "List only the newest version the cluster can run.")
	fs.BoolVar(&o.All, "all", false, "List the excluded versions too, with the reason.")
	fs.StringVarP(&o.Output, "output", "o", "", "Output format. One of: (json, yaml).")
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletions("json", "yaml"))
	return cmd
}

// Validate checks the flags.
func (o *TypeVersionsOptions) Validate() error {
	o.major = -1
	if o.MajorVersion != "" {
		n, err := strconv.ParseUint(strings.TrimPrefix(o.MajorVersion, "v"), 10, 31)
		if err != nil {
			return fmt.Errorf("--major-version must be a whole number such as 1 (for 1.x), not %q", o.MajorVersion)
		}
		o.major = int(n)
	}
	if o.ShowLatest && o.All {
		return fmt.Errorf("--show-latest lists only the newest version the cluster can run and --all lists excluded versions too: give one of them")
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
	res, err := cat.ListVersions(ctx, catalog.VersionsRequest{
		Type: o.Name, Train: o.ReleaseTrain, Major: o.major, Latest: o.ShowLatest, All: o.All,
		KubeVersion: func(ctx context.Context) (string, error) {
			info, err := o.f.clusterInfo(ctx)
			return info.KubernetesVersion, err
		},
	})
	if err != nil {
		return err
	}
	rows := res.Rows
	if o.Output != "" {
		return describe.Data(o.Out, rows, o.Output)
	}
	if len(rows) == 0 {
		what := "versions"
		if o.major >= 0 {
			what = fmt.Sprintf("%d.x versions", o.major)
		}
		fmt.Fprintf(o.ErrOut, "No %s of extension type %s on the %s train run on Kubernetes %s (see them all with --all).\n",
			what, res.Type.Name, res.Train, res.KubeVersion)
		return nil
	}
	return describe.TypeVersions(o.Out, rows, o.All)
}
