package cli

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubeext/kubectl-ext/internal/azflags"
	"github.com/kubeext/kubectl-ext/internal/describe"
	"github.com/kubeext/kubectl-ext/internal/install"
	"github.com/kubeext/kubectl-ext/internal/release"
	"github.com/kubeext/kubectl-ext/internal/troubleshoot"
)

var troubleshootLong = templates.LongDesc(`
	Collect what is known about one extension into an archive, and say what looks wrong
	(az k8s-extension troubleshoot).

	The archive (a .tar.gz) holds the Extension and its ExtensionType, its status
	history and Events, the Helm history of its release (the keys of the values, never a
	value), the release's objects and whether they are ready (kstatus), its pods'
	statuses and their containers' last log lines, the admission webhook's denials of
	writes to it, the policies' verdict on its current spec, and kubectl ext init
	--check. Nothing secret goes in: objects are named, not dumped, and every file is
	scrubbed of the extension's protected values. A part that cannot be collected (no
	right to read it) is noted in the archive and in the summary.

	The summary lists each finding (a Failed state, a pending or failed release, a
	failed hook, objects or pods not ready, denied writes, a spec the policies now
	refuse) with the next step to take. -o json|yaml prints it as data.`)

var troubleshootExample = templates.Examples(`
	# Collect into kubectl-ext-troubleshoot-podinfo-<time>.tar.gz here, and print what looks wrong
	kubectl ext troubleshoot podinfo

	# Into a file of your choosing, with the last 500 log lines of each container
	kubectl ext troubleshoot podinfo --output-file podinfo.tar.gz --tail 500

	# The summary as JSON (the archive's path is in it)
	kubectl ext troubleshoot podinfo -o json`)

// TroubleshootOptions is `kubectl ext troubleshoot`.
type TroubleshootOptions struct {
	Name     string
	nameFlag string
	// OutputFile is the archive's path; "" means BaseName.tar.gz in the working
	// directory.
	OutputFile string
	Tail       int64
	Output     string
	f          *factory
	genericiooptions.IOStreams
}

// NewTroubleshootCommand returns `kubectl ext troubleshoot`.
func NewTroubleshootCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &TroubleshootOptions{f: f, IOStreams: streams}
	cmd := &cobra.Command{
		Use:     "troubleshoot NAME [--output-file FILE.tar.gz] [--tail N]",
		Short:   "Collect an extension's diagnostics into an archive and say what looks wrong (az k8s-extension troubleshoot)",
		Long:    troubleshootLong,
		Example: troubleshootExample,
		Args:    extensionName(&o.Name, &o.nameFlag),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	azflags.AddNameFlag(cmd.Flags(), &o.nameFlag)
	cmd.Flags().StringVar(&o.OutputFile, "output-file", "", "Where to write the archive (.tar.gz); by default kubectl-ext-troubleshoot-NAME-TIME.tar.gz in the working directory.")
	cmd.Flags().Int64Var(&o.Tail, "tail", troubleshoot.DefaultTail, "How many of the last log lines of each container of the release's pods to collect.")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format of the summary. One of: (json, yaml).")
	cmd.ValidArgsFunction = completeExtensions(f, 1)
	return cmd
}

// Validate checks the flags before anything is read.
func (o *TroubleshootOptions) Validate() error {
	if o.Tail <= 0 {
		return fmt.Errorf("--tail must be at least 1, not %d", o.Tail)
	}
	return describe.CheckDataFormat(o.Output)
}

// Run collects the archive, writes it and prints the summary. Findings do not fail
// the command: it did its job when the archive is written.
func (o *TroubleshootOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	m, err := o.f.manager(ctx, o.ErrOut)
	if err != nil {
		return err
	}
	c, err := o.f.client()
	if err != nil {
		return err
	}
	cfg, err := o.f.flags.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("no cluster to talk to (check --kubeconfig and --context): %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	checker, err := install.NewChecker(cfg, false, false)
	if err != nil {
		return err
	}
	at := time.Now().UTC()
	path := o.OutputFile
	if path == "" {
		path = troubleshoot.BaseName(o.Name, at) + ".tar.gz"
	}
	// Only its user reads the archive: it tells much about the cluster, if nothing
	// secret.
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("creating the archive: %w", err)
	}
	src := troubleshoot.Sources{Extensions: m, Client: c, Kube: kube, Releases: &release.Client{Getter: o.f.flags},
		Check: checker.Check, Now: func() time.Time { return at }}
	report, err := troubleshoot.Run(ctx, src, troubleshoot.Options{Name: o.Name, Tail: o.Tail}, out)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return errors.Join(err, os.Remove(path))
	}
	report.Archive = path
	if o.Output != "" {
		return describe.Data(o.Out, report, o.Output)
	}
	return troubleshoot.WriteSummary(o.Out, report)
}
