package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/describe"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

var listExample = templates.Examples(`
	# List the extensions of the cluster
	kubectl ext list

	# With target versions, release revisions and errors
	kubectl ext list -o wide

	# Names only, or any field with jsonpath
	kubectl ext list -o name
	kubectl ext list -o jsonpath='{.items[*].status.currentVersion}'

	# Only the extensions whose release is in the namespace team-a (the NAMESPACE
	# column: the release namespace, or the target namespace with namespace scope)
	kubectl ext list -n team-a`)

// ListOptions is `kubectl ext list`.
type ListOptions struct {
	// namespace, when set (kubectl's -n), keeps the extensions whose release is in it.
	namespace string
	print     *genericclioptions.PrintFlags
	fleet     fleetFlags
	f         *factory
	genericiooptions.IOStreams
}

// NewListCommand returns `kubectl ext list`.
func NewListCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ListOptions{f: f, IOStreams: streams, print: newPrintFlags("")}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List extensions (az k8s-extension list)",
		Example: listExample,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return o.Run(cmd) },
		// Extensions are cluster-scoped, but each has a namespace its release is in:
		// list is where kubectl's -n means something (elsewhere it is refused).
		Annotations: map[string]string{takesNamespace: "true"},
	}
	o.print.AddFlags(cmd)
	o.fleet.addFlags(cmd.Flags())
	cmd.Flags().Lookup("output").Usage = "Output format. One of: (wide, json, yaml, name, jsonpath, go-template, ...)."
	return cmd
}

// Run lists the extensions of one cluster, or of each of a fleet in one table.
func (o *ListOptions) Run(cmd *cobra.Command) error {
	if err := o.fleet.validate(); err != nil {
		return err
	}
	if cmd.Flags().Changed("namespace") {
		o.namespace = ptr.Deref(o.f.flags.Namespace, "")
	}
	p, err := outputPrinter(o.print, "wide")
	if err != nil {
		return err
	}
	table, wide := p == nil, ptr.Deref(o.print.OutputFormat, "") == "wide"
	if !o.fleet.enabled() {
		m, err := o.f.manager(cmd.Context(), o.ErrOut)
		if err != nil {
			return err
		}
		list, err := m.List(cmd.Context())
		if err != nil {
			return err
		}
		return o.print1(list, nil, table, wide, p)
	}

	contexts, err := o.fleet.resolve(o.f)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	all := &v1alpha1.ExtensionList{}
	var from []string
	var status bytes.Buffer
	ferr := runFleet(cmd.Context(), o.f, contexts, o.fleet.Parallel, &status, o.ErrOut,
		func(ctx context.Context, f *factory, _, errOut io.Writer) (string, error) {
			m, err := f.manager(ctx, errOut)
			if err != nil {
				return "", err
			}
			list, err := m.List(ctx)
			if err != nil {
				return "", err
			}
			name := ptr.Deref(f.flags.Context, "")
			mu.Lock()
			defer mu.Unlock()
			for _, e := range list.Items {
				all.Items = append(all.Items, e)
				from = append(from, name)
			}
			return fmt.Sprintf("%d extensions", len(list.Items)), nil
		})
	if perr := o.print1(all, from, table, wide, p); perr != nil {
		return perr
	}
	if ferr != nil {
		_, _ = o.ErrOut.Write(status.Bytes()) // which clusters failed, and why
	}
	return ferr
}

// print1 prints a list; from, when set, names each item's context.
func (o *ListOptions) print1(list *v1alpha1.ExtensionList, from []string, table, wide bool, p printers.ResourcePrinter) error {
	items, ctxs := describe.Listing(list.Items, from, !table)
	items, ctxs = inNamespace(items, ctxs, o.namespace)
	if table {
		if len(items) == 0 {
			if o.namespace != "" {
				fmt.Fprintf(o.ErrOut, "No extensions found in namespace %s.\n", o.namespace)
				return nil
			}
			fmt.Fprintln(o.ErrOut, "No extensions found.")
			return nil
		}
		return describe.ExtensionTable(o.Out, items, ctxs, wide, time.Now())
	}
	out := &v1alpha1.ExtensionList{Items: items}
	out.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("ExtensionList"))
	return printList(p, o.print, out, o.Out)
}

// inNamespace keeps the items, and their contexts when set, whose release is in ns
// (the listing's NAMESPACE column); all of them when ns is "".
func inNamespace(items []v1alpha1.Extension, ctxs []string, ns string) ([]v1alpha1.Extension, []string) {
	if ns == "" {
		return items, ctxs
	}
	var keep []v1alpha1.Extension
	var keepCtxs []string
	if ctxs != nil {
		keepCtxs = []string{} // still a fleet's listing, with its CONTEXT column
	}
	for i := range items {
		if lifecycle.ReleaseNamespace(&items[i]) != ns {
			continue
		}
		keep = append(keep, items[i])
		if ctxs != nil {
			keepCtxs = append(keepCtxs, ctxs[i])
		}
	}
	return keep, keepCtxs
}
