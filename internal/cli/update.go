package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/azflags"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

var updateExample = templates.Examples(`
	# Change one setting; the others stay as they are
	kubectl ext update podinfo --config replicaCount=3

	# Replace the protected settings as a whole set: keys left out are deleted
	kubectl ext update podinfo --config-protected apiKey=n3w --yes

	# Pin a version
	kubectl ext update podinfo --auto-upgrade-minor-version false --version 6.7.1

	# Move a pinned extension to another version
	kubectl ext update podinfo --version 6.7.2

	# Go back to automatic upgrades on the Preview train (a train needs auto-upgrade)
	kubectl ext update podinfo --auto-upgrade-minor-version true --release-train Preview

	# An az command line, as it is: the type and scope must be the extension's own,
	# --cluster-name is the kubeconfig context
	kubectl ext update --name podinfo --extension-type stefanprodan.podinfo --scope cluster \
	  --cluster-name dev --config replicaCount=3

	# Replace a release whose stored records kubectl ext refused (after inspecting it
	# with helm history): the extension's own chart and values are installed afresh
	kubectl ext update podinfo --adopt-release`)

// UpdateOptions is `kubectl ext update`: az's flags and their rules are
// internal/azflags; here, confirmation, completion, the fleet flags and printing.
type UpdateOptions struct {
	Name     string
	nameFlag string
	Yes      bool
	az       azflags.Update
	fleet    fleetFlags
	print    *genericclioptions.PrintFlags

	req lifecycle.UpdateRequest
	// nothing, when set, is the error of a request that changes nothing but gives a
	// type or scope: Run checks them against the extension (MergeSpec refuses one
	// that differs, naming the field), and returns this error when they match.
	nothing error
	f       *factory
	genericiooptions.IOStreams
}

// NewUpdateCommand returns `kubectl ext update`.
func NewUpdateCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &UpdateOptions{f: f, IOStreams: streams, print: newPrintFlags("updated")}
	cmd := &cobra.Command{
		Use:     "update NAME [flags]",
		Short:   "Update an extension's settings, version or release train (az k8s-extension update)",
		Example: updateExample,
		Args:    extensionName(&o.Name, &o.nameFlag),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(o.Name, cmd.Flags().Changed); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	fs := cmd.Flags()
	azflags.AddNameFlag(fs, &o.nameFlag)
	o.az.AddFlags(fs)
	fs.BoolVarP(&o.Yes, "yes", "y", false, "Replace the protected settings without asking. Without --yes, replacing them asks on a terminal and is refused when stdin is not one (scripts, CI).")
	o.fleet.addFlags(fs)
	o.print.AddFlags(cmd)
	cmd.ValidArgsFunction = completeExtensions(f, 1)
	_ = cmd.RegisterFlagCompletionFunc("auto-upgrade-minor-version", fixedCompletions("true", "false"))
	_ = cmd.RegisterFlagCompletionFunc("extension-type", completeTypes(f))
	_ = cmd.RegisterFlagCompletionFunc("scope", fixedCompletions("cluster", "namespace"))
	return cmd
}

// Validate checks the flags before anything is read from or written to the cluster;
// changed tells which were given.
func (o *UpdateOptions) Validate(name string, changed func(string) bool) error {
	o.Name = name
	req, err := o.az.Request(name, changed)
	if errors.Is(err, azflags.ErrNothingToUpdate) && (req.ExtensionType != "" || req.Scope != "") {
		o.nothing, err = err, nil
	}
	if err != nil {
		return err
	}
	if err := o.fleet.validate(); err != nil {
		return err
	}
	o.req = req
	return nil
}

// Run updates the extension.
func (o *UpdateOptions) Run(cmd *cobra.Command) error {
	if o.nothing != nil {
		return o.fleet.run(cmd.Context(), o.f, o.Out, o.ErrOut, func(ctx context.Context, f *factory, _, errOut io.Writer) (string, error) {
			m, err := f.manager(ctx, errOut)
			if err != nil {
				return "", err
			}
			e, err := m.Get(ctx, o.Name)
			if err != nil {
				return "", err
			}
			if _, err := lifecycle.MergeSpec(e.Spec, o.req); err != nil {
				return "", err
			}
			return "", o.nothing
		})
	}
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

// errNoTerminal refuses what needs confirmation when stdin is not a terminal and
// --yes was not given, as az does ("Unable to prompt for confirmation as no tty
// available"): a script, cron or CI (stdin /dev/null, or a pipe) that leaves --yes
// out is more likely a mistake than a decision to delete. A pipe is not read for an
// answer: it may carry the script's own input (a while-read loop over names), which a
// question would swallow.
var errNoTerminal = errors.New("stdin is not a terminal, so kubectl ext cannot ask for confirmation: give --yes to go ahead; nothing was changed")

// confirm asks question on a terminal and tells whether the answer was yes; a "no"
// is no error. Without a terminal it refuses (errNoTerminal). A terminal is what
// isatty says: /dev/null, which a script's stdin often is, is a character device too.
func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, errNoTerminal
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
