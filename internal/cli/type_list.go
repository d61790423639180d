package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
)

var typeListExample = templates.Examples(`
	# List the extension types of the cluster
	kubectl ext type list

	# With release trains and descriptions
	kubectl ext type list -o wide

	# Names only, or any field with jsonpath
	kubectl ext type list -o name
	kubectl ext type list -o jsonpath='{.items[*].spec.chart.repository}'`)

var typeShowExample = templates.Examples(`
	# Show an extension type: chart, scopes, trains, policy and the versions last read
	kubectl ext type show example.podinfo

	# As YAML or JSON
	kubectl ext type show example.podinfo -o yaml`)

// TypeListOptions is `kubectl ext type list`.
type TypeListOptions struct {
	print *genericclioptions.PrintFlags
	f     *factory
	genericiooptions.IOStreams
}

// NewTypeListCommand returns `kubectl ext type list`.
func NewTypeListCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &TypeListOptions{f: f, IOStreams: streams, print: genericclioptions.NewPrintFlags("").WithTypeSetter(scheme())}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the extension types of the catalog",
		Example: typeListExample,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return o.Run(cmd) },
	}
	o.print.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "Output format. One of: (wide, json, yaml, name, jsonpath, go-template, ...)."
	return cmd
}

// Run lists the types.
func (o *TypeListOptions) Run(cmd *cobra.Command) error {
	p, err := outputPrinter(o.print, "wide")
	if err != nil {
		return err
	}
	cat, err := o.f.catalog(o.ErrOut)
	if err != nil {
		return err
	}
	items, err := cat.List(cmd.Context())
	if err != nil {
		return err
	}
	list := &v1alpha1.ExtensionTypeList{Items: items}
	if p == nil {
		if len(list.Items) == 0 {
			fmt.Fprintln(o.ErrOut, "No extension types found; add one with `kubectl ext type add`.")
			return nil
		}
		return WriteTypeTable(o.Out, list.Items, ptr.Deref(o.print.OutputFormat, "") == "wide", time.Now())
	}
	gvk := v1alpha1.GroupVersion.WithKind("ExtensionType")
	for i := range list.Items {
		list.Items[i].SetManagedFields(nil)
		list.Items[i].SetGroupVersionKind(gvk)
	}
	list.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("ExtensionTypeList"))
	return printList(p, o.print, list, o.Out)
}

// WriteTypeTable writes the type list: NAME CHART REPOSITORY SCOPE POLICY VERSIONS
// LATEST SYNCED, and with wide TRAINS and DESCRIPTION too. SCOPE lists the supported
// scopes, the default first; LATEST is the newest version on the type's first train.
func WriteTypeTable(out io.Writer, items []v1alpha1.ExtensionType, wide bool, now time.Time) error {
	w := printers.GetNewTabWriter(out)
	header := "NAME\tCHART\tREPOSITORY\tSCOPE\tPOLICY\tVERSIONS\tLATEST\tSYNCED"
	if wide {
		header += "\tTRAINS\tDESCRIPTION"
	}
	fmt.Fprintln(w, header)
	for i := range items {
		t := &items[i]
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s",
			t.Name, t.Spec.Chart.Name, t.Spec.Chart.Repository, typeScopes(t),
			catalog.UpgradePolicy(t), len(t.Status.Versions), dash(catalog.Latest(t)), typeSynced(t, now))
		if wide {
			fmt.Fprintf(w, "\t%s\t%s", strings.Join(catalog.TrainNames(t), ","), dash(t.Spec.Description))
		}
		fmt.Fprintln(w)
	}
	return w.Flush()
}

// typeScopes lists the supported scopes, the default first, or "-".
func typeScopes(t *v1alpha1.ExtensionType) string {
	names := catalog.ScopeNames(t)
	if len(names) == 0 {
		return "-"
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = string(n)
	}
	return strings.Join(out, ",")
}

// typeSynced says when the versions were last read, or that the last read failed.
func typeSynced(t *v1alpha1.ExtensionType, now time.Time) string {
	if c := meta.FindStatusCondition(t.Status.Conditions, "Synced"); c != nil && c.Status != "True" {
		return "failed"
	}
	if t.Status.SyncedAt == nil {
		return "never"
	}
	return age(t.Status.SyncedAt.Time, now) + " ago"
}

// TypeShowOptions is `kubectl ext type show`.
type TypeShowOptions struct {
	Name  string
	print *genericclioptions.PrintFlags
	f     *factory
	genericiooptions.IOStreams
}

// NewTypeShowCommand returns `kubectl ext type show`.
func NewTypeShowCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &TypeShowOptions{f: f, IOStreams: streams, print: genericclioptions.NewPrintFlags("").WithTypeSetter(scheme())}
	cmd := &cobra.Command{
		Use:     "show TYPE",
		Short:   "Show one extension type",
		Example: typeShowExample,
		Args:    exactType,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			return o.Run(cmd)
		},
		ValidArgsFunction: completeOneType(f),
	}
	o.print.AddFlags(cmd)
	return cmd
}

// completeOneType completes the one TYPE argument of show and versions.
func completeOneType(f *factory) cobra.CompletionFunc {
	types := completeTypes(f)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return types(cmd, args, toComplete)
	}
}

func exactType(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s takes exactly one TYPE, got %d arguments; see '%s --help'", cmd.CommandPath(), len(args), cmd.CommandPath())
	}
	return nil
}

// Run shows the type.
func (o *TypeShowOptions) Run(cmd *cobra.Command) error {
	p, err := outputPrinter(o.print)
	if err != nil {
		return err
	}
	cat, err := o.f.catalog(o.ErrOut)
	if err != nil {
		return err
	}
	t, err := cat.Get(cmd.Context(), o.Name)
	if err != nil {
		return err
	}
	if p != nil {
		t.SetManagedFields(nil)
		return p.PrintObj(t, o.Out)
	}
	return DescribeType(o.Out, t, time.Now())
}

// DescribeType writes the human view of an extension type.
func DescribeType(out io.Writer, t *v1alpha1.ExtensionType, now time.Time) error {
	w := printers.GetNewTabWriter(out)
	row := func(k, v string) { fmt.Fprintf(w, "%s:\t%s\n", k, v) }
	row("Name", t.Name)
	row("Description", dash(t.Spec.Description))
	row("Chart", t.Spec.Chart.Name)
	row("Repository", t.Spec.Chart.Repository)
	def := t.Spec.Scopes.Default
	if def == "" {
		def = v1alpha1.ScopeCluster
	}
	row("Default scope", string(def))
	if cs := t.Spec.Scopes.Cluster; cs != nil {
		v := "supported"
		if cs.DefaultReleaseNamespace != "" {
			v += ", default release namespace " + cs.DefaultReleaseNamespace
		}
		if cs.AllowMultipleInstances {
			v += ", multiple instances allowed"
		} else {
			v += ", one instance per cluster"
		}
		row("Cluster scope", v)
	} else {
		row("Cluster scope", "not supported")
	}
	if t.Spec.Scopes.Namespace != nil {
		row("Namespace scope", "supported")
	} else {
		row("Namespace scope", "not supported")
	}
	trains := make([]string, 0, len(catalog.Trains(t)))
	for _, tr := range catalog.Trains(t) {
		if tr.IncludePrerelease {
			trains = append(trains, tr.Name+" (with prereleases)")
		} else {
			trains = append(trains, tr.Name)
		}
	}
	row("Release trains", strings.Join(trains, ", "))
	row("Upgrade policy", string(catalog.UpgradePolicy(t)))
	if t.Status.SyncedAt == nil {
		row("Synced", "never (read the versions with: kubectl ext type sync "+t.Name+")")
	} else {
		row("Synced", fmt.Sprintf("%s ago, %d versions", age(t.Status.SyncedAt.Time, now), len(t.Status.Versions)))
	}
	if c := meta.FindStatusCondition(t.Status.Conditions, "Synced"); c != nil && c.Status != "True" {
		row("Sync error", c.Message)
	}
	if !t.CreationTimestamp.IsZero() {
		row("Age", age(t.CreationTimestamp.Time, now))
	}
	if len(t.Status.Versions) == 0 {
		row("Versions", "<none>")
		return w.Flush()
	}
	fmt.Fprintln(w, "Versions:")
	if err := w.Flush(); err != nil {
		return err
	}
	vs := append([]v1alpha1.TypeVersion(nil), t.Status.Versions...)
	catalog.SortNewestFirst(vs)
	w = printers.GetNewTabWriter(out)
	fmt.Fprintln(w, "  VERSION\tKUBE-VERSION\tAPP-VERSION\tTRAINS")
	for _, v := range vs {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", v.Version, dash(v.KubeVersion), dash(v.AppVersion), dash(strings.Join(v.ReleaseTrains, ",")))
	}
	return w.Flush()
}
