package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

var updateExample = templates.Examples(`
	# Change one setting; the others stay as they are
	kubectl ext update podinfo --config replicaCount=3

	# Replace the protected settings as a whole set: keys left out are deleted
	kubectl ext update podinfo --config-protected apiKey=n3w --yes

	# Pin a version
	kubectl ext update podinfo --auto-upgrade-minor-version false --version 1.4.1

	# Move a pinned extension to another version
	kubectl ext update podinfo --version 1.4.2

	# Go back to automatic upgrades on the Preview train
	kubectl ext update podinfo --auto-upgrade-minor-version true --release-train Preview

	# Replace a release whose stored records kubectl ext refused (after inspecting it
	# with helm history): the extension's own chart and values are installed afresh
	kubectl ext update podinfo --adopt-release`)

// UpdateOptions is `kubectl ext update`.
type UpdateOptions struct {
	Name                  string
	AutoUpgrade           string
	Version, ReleaseTrain string
	Yes                   bool
	AdoptRelease          bool
	DryRun                string
	settings              settingsFlags
	wait                  waitFlags
	fleet                 fleetFlags
	print                 *genericclioptions.PrintFlags

	changed func(string) bool
	req     lifecycle.UpdateRequest
	f       *factory
	genericiooptions.IOStreams
}

// NewUpdateCommand returns `kubectl ext update`.
func NewUpdateCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &UpdateOptions{f: f, IOStreams: streams, print: genericclioptions.NewPrintFlags("updated").WithTypeSetter(scheme())}
	cmd := &cobra.Command{
		Use:     "update NAME [flags]",
		Short:   "Update an extension's settings, version or release train (az k8s-extension update)",
		Example: updateExample,
		Args:    exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			o.changed = cmd.Flags().Changed
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.AutoUpgrade, "auto-upgrade-minor-version", "", "true keeps the extension current within its train; false pins --version.")
	fs.StringVar(&o.AutoUpgrade, "auto-upgrade", "", "Alias of --auto-upgrade-minor-version.")
	fs.StringVar(&o.Version, "version", "", "Version to pin: needs --auto-upgrade-minor-version false unless the extension is pinned already.")
	fs.StringVar(&o.ReleaseTrain, "release-train", "", "Release train to take versions from.")
	fs.BoolVarP(&o.Yes, "yes", "y", false, "Do not ask for confirmation.")
	fs.BoolVar(&o.AdoptRelease, "adopt-release", false, "Replace the stored Helm release when it does not match what kubectl ext recorded: its records are dropped (nothing they list is touched) and the extension's own chart and values installed afresh. Inspect the release first (docs/security.md, \"Release records\").")
	fs.StringVar(&o.DryRun, "dry-run", "none", `"none", "client" or "server".`)
	fs.Lookup("dry-run").NoOptDefVal = "client"
	o.settings.addFlags(fs)
	o.wait.addFlags(fs)
	o.fleet.addFlags(fs)
	o.print.AddFlags(cmd)
	cmd.ValidArgsFunction = completeExtensions(f, 1)
	_ = cmd.RegisterFlagCompletionFunc("auto-upgrade-minor-version", fixedCompletions("true", "false"))
	return cmd
}

// Validate checks the flags before anything is read from or written to the cluster.
func (o *UpdateOptions) Validate() error {
	req := lifecycle.UpdateRequest{Name: o.Name, Wait: !o.wait.NoWait, Timeout: o.wait.Timeout}
	given := false
	if o.changed("auto-upgrade-minor-version") || o.changed("auto-upgrade") {
		b, err := parseBool("auto-upgrade-minor-version", o.AutoUpgrade)
		if err != nil {
			return err
		}
		req.AutoUpgrade, given = ptr.To(b), true
	}
	if o.changed("version") {
		if o.Version == "" {
			return fmt.Errorf("--version needs a value")
		}
		// Without --auto-upgrade-minor-version, --version keeps a pinned extension
		// pinned; an auto-upgrading one is refused once it has been read.
		if req.AutoUpgrade != nil && *req.AutoUpgrade {
			return fmt.Errorf("--version pins the extension, so it cannot go with --auto-upgrade-minor-version true")
		}
		req.Version, given = ptr.To(o.Version), true
	} else if req.AutoUpgrade != nil && !*req.AutoUpgrade {
		return fmt.Errorf("--auto-upgrade-minor-version false needs --version: name the version to pin")
	}
	if o.changed("release-train") {
		if o.ReleaseTrain == "" {
			return fmt.Errorf("--release-train needs a value")
		}
		req.ReleaseTrain, given = ptr.To(o.ReleaseTrain), true
	}
	s, err := o.settings.parse(false, o.settings.protectedGivenIn(flagsOf(o.changed)))
	if err != nil {
		return err
	}
	req.Settings, req.Protected = s.Settings, s.Protected
	if len(s.Settings) > 0 || s.Protected != nil {
		given = true
	}
	if o.AdoptRelease {
		req.AdoptRelease, given = true, true
	}
	if !given {
		return fmt.Errorf("nothing to update: give at least one of --auto-upgrade-minor-version, --version, --release-train, --configuration-settings[-file], --configuration-protected-settings[-file] or --adopt-release")
	}
	if req.DryRun, err = parseDryRun(o.DryRun); err != nil {
		return err
	}
	if err := o.wait.validate(); err != nil {
		return err
	}
	if err := o.fleet.validate(); err != nil {
		return err
	}
	o.req = req
	return nil
}

// flagsOf adapts a Changed function to the protectedGivenIn check.
type flagsOf func(string) bool

func (f flagsOf) Changed(name string) bool { return f(name) }

// Run updates the extension.
func (o *UpdateOptions) Run(cmd *cobra.Command) error {
	if o.req.Protected != nil && o.req.DryRun == lifecycle.DryRunNone && !o.Yes {
		ok, err := confirm(o.In, o.ErrOut, fmt.Sprintf("Replace all protected settings of %s (keys left out are deleted)?", o.Name))
		if err != nil || !ok {
			return err
		}
	}
	p, err := resultPrinter(o.print, o.req.DryRun)
	if err != nil {
		return err
	}
	op := extensionOp(p, func(ctx context.Context, m *lifecycle.Manager) (*v1alpha1.Extension, error) {
		return m.Update(ctx, o.req)
	})
	return o.fleet.run(cmd.Context(), o.f, o.Out, o.ErrOut, op)
}

// confirm asks on a terminal; without one (scripts, CI) it proceeds, like kubectl.
func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	f, ok := in.(*os.File)
	if !ok {
		return true, nil
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return true, nil
	}
	fmt.Fprintf(out, "%s [y/N]: ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		return false, err
	}
	if a := strings.ToLower(strings.TrimSpace(line)); a == "y" || a == "yes" {
		return true, nil
	}
	fmt.Fprintln(out, "Cancelled; nothing was changed.")
	return false, nil
}
