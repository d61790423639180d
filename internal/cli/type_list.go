package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/describe"
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
	kubectl ext type show example.podinfo -o yaml

	# The settings podinfo's chart takes at the newest Stable version: key, type,
	# default, description, and which keys look secret
	kubectl ext type show stefanprodan.podinfo --settings

	# The settings of one version, as JSON
	kubectl ext type show stefanprodan.podinfo --settings --version 6.7.0 -o json`)

// TypeListOptions is `kubectl ext type list`.
type TypeListOptions struct {
	print *genericclioptions.PrintFlags
	f     *factory
	genericiooptions.IOStreams
}

// NewTypeListCommand returns `kubectl ext type list`.
func NewTypeListCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &TypeListOptions{f: f, IOStreams: streams, print: newPrintFlags("")}
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
		return describe.TypeTable(o.Out, list.Items, ptr.Deref(o.print.OutputFormat, "") == "wide", time.Now())
	}
	gvk := v1alpha1.GroupVersion.WithKind("ExtensionType")
	for i := range list.Items {
		list.Items[i].SetManagedFields(nil)
		list.Items[i].SetGroupVersionKind(gvk)
	}
	list.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("ExtensionTypeList"))
	return printList(p, o.print, list, o.Out)
}

// TypeShowOptions is `kubectl ext type show`.
type TypeShowOptions struct {
	Name  string
	print *genericclioptions.PrintFlags
	f     *factory
	genericiooptions.IOStreams

	// typeSettings are --settings and --version (type_settings.go).
	typeSettings typeSettingsFlags
}

// NewTypeShowCommand returns `kubectl ext type show`.
func NewTypeShowCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &TypeShowOptions{f: f, IOStreams: streams, print: newPrintFlags("")}
	cmd := &cobra.Command{
		Use:     "show TYPE [--settings [--version VERSION]]",
		Short:   "Show one extension type, or the settings its chart takes",
		Example: typeShowExample,
		Args:    exactType,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			return o.Run(cmd)
		},
		ValidArgsFunction: completeOneType(f),
	}
	o.print.AddFlags(cmd)
	o.typeSettings.addFlags(cmd)
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
	if o.typeSettings.settings || o.typeSettings.version != "" {
		return o.runSettings(cmd)
	}
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
	return describe.Type(o.Out, t, time.Now())
}
