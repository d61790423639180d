package cli

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

var showExample = templates.Examples(`
	# Show an extension: state, versions, settings and the keys of its protected settings
	kubectl ext show podinfo

	# As YAML or JSON (protected values are never part of the Extension)
	kubectl ext show podinfo -o yaml`)

// ShowOptions is `kubectl ext show`.
type ShowOptions struct {
	Name  string
	print *genericclioptions.PrintFlags
	f     *factory
	genericiooptions.IOStreams
}

// NewShowCommand returns `kubectl ext show`.
func NewShowCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ShowOptions{f: f, IOStreams: streams, print: genericclioptions.NewPrintFlags("").WithTypeSetter(scheme())}
	cmd := &cobra.Command{
		Use:     "show NAME",
		Short:   "Show one extension (az k8s-extension show)",
		Example: showExample,
		Args:    exactName,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			return o.Run(cmd)
		},
	}
	o.print.AddFlags(cmd)
	cmd.ValidArgsFunction = completeExtensions(f, 1)
	return cmd
}

// Run shows the extension.
func (o *ShowOptions) Run(cmd *cobra.Command) error {
	p, err := outputPrinter(o.print)
	if err != nil {
		return err
	}
	m, err := o.f.manager(cmd.Context(), o.ErrOut)
	if err != nil {
		return err
	}
	e, err := m.Get(cmd.Context(), o.Name)
	if err != nil {
		return err
	}
	if p != nil {
		return p.PrintObj(printable(e), o.Out)
	}
	keys, err := m.ProtectedKeys(cmd.Context(), e)
	if errors.Is(err, lifecycle.ErrNotOwned) || errors.Is(err, lifecycle.ErrProtectedChanged) {
		// The extension is still worth showing; the Secret it names is not its own.
		fmt.Fprintf(o.ErrOut, "Warning: %v\n", err)
		keys, err = nil, nil
	}
	if err != nil {
		return err
	}
	return Describe(o.Out, e, keys, time.Now())
}

// Describe writes the human view of an extension: everything but protected values.
func Describe(out io.Writer, e *v1alpha1.Extension, protectedKeys []string, now time.Time) error {
	w := printers.GetNewTabWriter(out)
	row := func(k, v string) { fmt.Fprintf(w, "%s:\t%s\n", k, v) }
	row("Name", e.Name)
	row("Extension type", e.Spec.ExtensionType)
	row("Scope", string(lifecycle.ScopeOf(e)))
	if lifecycle.ScopeOf(e) == v1alpha1.ScopeCluster {
		row("Release namespace", lifecycle.ReleaseNamespace(e))
	} else {
		row("Target namespace", lifecycle.ReleaseNamespace(e))
	}
	row("Auto-upgrade minor version", fmt.Sprint(ptr.Deref(e.Spec.AutoUpgradeMinorVersion, true)))
	row("Release train", dash(e.Spec.ReleaseTrain))
	row("Pinned version", dash(e.Spec.Version))
	row("Provisioning state", dash(string(e.Status.ProvisioningState)))
	row("Current version", dash(e.Status.CurrentVersion))
	if e.Status.TargetVersion != "" {
		row("Target version", e.Status.TargetVersion)
	}
	row("Kubernetes version", dash(e.Status.KubernetesVersion))
	if e.Status.Release.Name != "" {
		row("Release", fmt.Sprintf("%s/%s revision %d", e.Status.Release.Namespace, e.Status.Release.Name, e.Status.Release.Revision))
	}
	row("Age", age(e.CreationTimestamp.Time, now))
	if len(e.Spec.ConfigurationSettings) == 0 {
		row("Configuration settings", "<none>")
	} else {
		fmt.Fprintln(w, "Configuration settings:")
		keys := make([]string, 0, len(e.Spec.ConfigurationSettings))
		for k := range e.Spec.ConfigurationSettings {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s:\t%s\n", k, e.Spec.ConfigurationSettings[k])
		}
	}
	if len(protectedKeys) == 0 {
		row("Protected settings", "<none>")
	} else {
		row("Protected settings", strings.Join(protectedKeys, ", ")+" (values are never shown)")
	}
	if e.Status.ErrorInfo != nil && e.Status.ErrorInfo.Message != "" {
		row("Error", fmt.Sprintf("%s: %s", e.Status.ErrorInfo.Code, e.Status.ErrorInfo.Message))
	}
	if len(e.Status.Statuses) > 0 {
		fmt.Fprintln(w, "Statuses:")
		for _, s := range e.Status.Statuses {
			when := ""
			if s.Time != nil {
				when = age(s.Time.Time, now) + " ago"
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", s.Level, s.DisplayStatus, when, s.Message)
		}
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func age(t, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}
