package cli

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/cmd/get"
	"k8s.io/kubectl/pkg/util/templates"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/azflags"
	"github.com/kubeext/kubectl-ext/internal/describe"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

var showExample = templates.Examples(`
	# Show an extension: state, versions, settings and the keys of its protected settings
	# (az's --name works too: kubectl ext show --name podinfo)
	kubectl ext show podinfo

	# As YAML or JSON (protected values are never part of the Extension), with its
	# recent Events under the key "events"
	kubectl ext show podinfo -o yaml

	# The Extension alone, e.g. to keep its manifest
	kubectl ext show podinfo -o yaml --show-events=false

	# One row, as kubectl get ext podinfo -o wide prints it; or one field
	kubectl ext show podinfo -o wide
	kubectl ext show podinfo -o jsonpath='{.status.currentVersion}'

	# Columns of your choice, as with kubectl get
	kubectl ext show podinfo -o custom-columns=NAME:.metadata.name,VERSION:.status.currentVersion --no-headers`)

// ShowOptions is `kubectl ext show`.
type ShowOptions struct {
	Name     string
	nameFlag string
	// ShowEvents lists the extension's recent Events (kubectl describe's --show-events).
	ShowEvents bool
	// NoHeaders leaves out the header of -o wide and -o custom-columns.
	NoHeaders bool
	print     *genericclioptions.PrintFlags
	// columns is kubectl get's -o custom-columns and custom-columns-file, which
	// cli-runtime's PrintFlags lack.
	columns *get.CustomColumnsPrintFlags
	f       *factory
	genericiooptions.IOStreams
}

// NewShowCommand returns `kubectl ext show`.
func NewShowCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ShowOptions{f: f, IOStreams: streams, print: newPrintFlags(""), columns: get.NewCustomColumnsPrintFlags()}
	cmd := &cobra.Command{
		Use:     "show NAME",
		Short:   "Show one extension (az k8s-extension show)",
		Example: showExample,
		Args:    extensionName(&o.Name, &o.nameFlag),
		RunE:    func(cmd *cobra.Command, _ []string) error { return o.Run(cmd) },
	}
	azflags.AddNameFlag(cmd.Flags(), &o.nameFlag)
	o.print.AddFlags(cmd)
	formats := append(append([]string{"wide"}, o.print.AllowedFormats()...), o.columns.AllowedFormats()...)
	cmd.Flags().Lookup("output").Usage = "Output format, as kubectl get's for one object. One of: (" + strings.Join(formats, ", ") + ")."
	cmd.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "With -o wide or -o custom-columns, print no header line.")
	cmd.Flags().BoolVar(&o.ShowEvents, "show-events", true, "List the extension's recent Events (in -o json|yaml under the key \""+describe.EventsKey+"\").")
	cmd.ValidArgsFunction = completeExtensions(f, 1)
	return cmd
}

// Run shows the extension. The Events are listed while the extension is read (by its
// name, then kept by its UID), so show waits on two round trips, not three.
func (o *ShowOptions) Run(cmd *cobra.Command) error {
	// -o wide is the listing's wide row, as kubectl get prints one object.
	format := ptr.Deref(o.print.OutputFormat, "")
	wide := format == "wide"
	columns, err := o.columnsPrinter(format)
	if err != nil {
		return err
	}
	var p printers.ResourcePrinter
	if columns == nil {
		if p, err = outputPrinter(o.print, "wide"); err != nil {
			return err
		}
	}
	ctx := cmd.Context()
	m, err := o.f.manager(ctx, o.ErrOut)
	if err != nil {
		return err
	}
	// Events are read only when something shows them; reading them never fails
	// show: a user who may not list them is told so in their place.
	events, evErr := []corev1.Event(nil), error(nil)
	withEvents := o.ShowEvents && !wide && columns == nil && format != "name"
	var wg sync.WaitGroup
	if withEvents {
		wg.Go(func() {
			events, evErr = m.Events(ctx, &v1alpha1.Extension{ObjectMeta: metav1.ObjectMeta{Name: o.Name}})
		})
	}
	e, err := m.Get(ctx, o.Name)
	wg.Wait()
	if err != nil {
		return err
	}
	events = ofExtension(events, e)
	if columns != nil {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(printable(e))
		if err != nil {
			return err
		}
		obj := &unstructured.Unstructured{Object: u}
		obj.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("Extension"))
		return columns.PrintObj(obj, o.Out)
	}
	if wide {
		return o.wideRow(e)
	}
	if p != nil {
		if evErr != nil {
			// Left out rather than an empty list, which would say there are none.
			fmt.Fprintf(o.ErrOut, "Warning: the extension's Events are left out: %v\n", evErr)
		}
		if !withEvents || evErr != nil {
			return p.PrintObj(printable(e), o.Out)
		}
		obj, err := describe.WithEvents(e, events)
		if err != nil {
			return err
		}
		return p.PrintObj(obj, o.Out)
	}
	keys, err := m.ProtectedKeys(ctx, e)
	if errors.Is(err, lifecycle.ErrNotOwned) || errors.Is(err, lifecycle.ErrProtectedChanged) {
		// The extension is still worth showing; the Secret it names is not its own.
		fmt.Fprintf(o.ErrOut, "Warning: %v\n", err)
		keys, err = nil, nil
	}
	if err != nil {
		return err
	}
	now := time.Now()
	if err := describe.Extension(o.Out, e, keys, now); err != nil || !withEvents {
		return err
	}
	return describe.Events(o.Out, events, evErr, now)
}

// columnsPrinter returns kubectl get's custom-columns printer when format asks for
// one, made before anything is read so that a bad spec fails at once; else nil.
func (o *ShowOptions) columnsPrinter(format string) (printers.ResourcePrinter, error) {
	if !strings.HasPrefix(format, "custom-columns") {
		return nil, nil
	}
	o.columns.NoHeaders = o.NoHeaders
	// kubectl get hands --template to custom-columns-file too.
	if t := o.print.TemplatePrinterFlags.TemplateArgument; t != nil && *t != "" {
		o.columns.TemplateArgument = *t
	}
	return o.columns.ToPrinter(format)
}

// wideRow prints the listing's wide row of e, with its header unless --no-headers.
func (o *ShowOptions) wideRow(e *v1alpha1.Extension) error {
	if !o.NoHeaders {
		return describe.ExtensionTable(o.Out, []v1alpha1.Extension{*e}, nil, true, time.Now())
	}
	// The table is the listing's, header included; the header is its first line.
	var b bytes.Buffer
	if err := describe.ExtensionTable(&b, []v1alpha1.Extension{*e}, nil, true, time.Now()); err != nil {
		return err
	}
	_, row, _ := bytes.Cut(b.Bytes(), []byte("\n"))
	_, err := o.Out.Write(row)
	return err
}

// ofExtension keeps the Events about e itself: listed by name before e was read, they
// may include those of an earlier Extension of that name, which had another UID.
func ofExtension(events []corev1.Event, e *v1alpha1.Extension) []corev1.Event {
	return slices.DeleteFunc(events, func(ev corev1.Event) bool {
		return e.UID != "" && ev.InvolvedObject.UID != "" && ev.InvolvedObject.UID != e.UID
	})
}
