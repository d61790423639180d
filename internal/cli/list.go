package cli

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

var listExample = templates.Examples(`
	# List the extensions of the cluster
	kubectl ext list

	# With target versions, release revisions and errors
	kubectl ext list -o wide

	# Names only, or any field with jsonpath
	kubectl ext list -o name
	kubectl ext list -o jsonpath='{.items[*].status.currentVersion}'`)

// ListOptions is `kubectl ext list`.
type ListOptions struct {
	print *genericclioptions.PrintFlags
	f     *factory
	genericiooptions.IOStreams
}

// NewListCommand returns `kubectl ext list`.
func NewListCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ListOptions{f: f, IOStreams: streams, print: genericclioptions.NewPrintFlags("").WithTypeSetter(scheme())}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List extensions (az k8s-extension list)",
		Example: listExample,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return o.Run(cmd) },
	}
	o.print.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "Output format. One of: (wide, json, yaml, name, jsonpath, go-template, ...)."
	return cmd
}

// Run lists the extensions.
func (o *ListOptions) Run(cmd *cobra.Command) error {
	m, err := o.f.manager(cmd.Context(), o.ErrOut)
	if err != nil {
		return err
	}
	list, err := m.List(cmd.Context())
	if err != nil {
		return err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	format := ptr.Deref(o.print.OutputFormat, "")
	if format == "" || format == "wide" {
		if len(list.Items) == 0 {
			fmt.Fprintln(o.ErrOut, "No extensions found.")
			return nil
		}
		return WriteTable(o.Out, list.Items, format == "wide", time.Now())
	}
	p, err := o.print.ToPrinter()
	if err != nil {
		return err
	}
	for i := range list.Items {
		list.Items[i].SetManagedFields(nil)
	}
	list.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("ExtensionList"))
	return p.PrintObj(list, o.Out)
}

// WriteTable writes the list table: NAME TYPE SCOPE NAMESPACE VERSION AUTO-UPGRADE TRAIN
// STATE AGE, and with wide TARGET, REVISION and ERROR too.
func WriteTable(out io.Writer, items []v1alpha1.Extension, wide bool, now time.Time) error {
	w := printers.GetNewTabWriter(out)
	header := "NAME\tTYPE\tSCOPE\tNAMESPACE\tVERSION\tAUTO-UPGRADE\tTRAIN\tSTATE\tAGE"
	if wide {
		header += "\tTARGET\tREVISION\tERROR"
	}
	fmt.Fprintln(w, header)
	for i := range items {
		e := &items[i]
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%t\t%s\t%s\t%s",
			e.Name, e.Spec.ExtensionType, lifecycle.ScopeOf(e), lifecycle.ReleaseNamespace(e),
			dash(e.Status.CurrentVersion), ptr.Deref(e.Spec.AutoUpgradeMinorVersion, true), dash(e.Spec.ReleaseTrain),
			dash(string(e.Status.ProvisioningState)), age(e.CreationTimestamp.Time, now))
		if wide {
			errMsg := "-"
			if e.Status.ErrorInfo != nil && e.Status.ErrorInfo.Code != "" {
				errMsg = e.Status.ErrorInfo.Code
			}
			rev := "-"
			if e.Status.Release.Revision > 0 {
				rev = fmt.Sprint(e.Status.Release.Revision)
			}
			fmt.Fprintf(w, "\t%s\t%s\t%s", dash(e.Status.TargetVersion), rev, errMsg)
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}
