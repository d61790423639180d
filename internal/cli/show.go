package cli

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"
	"k8s.io/utils/ptr"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/describe"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

var showExample = templates.Examples(`
	# Show an extension: state, versions, settings and the keys of its protected settings
	kubectl ext show podinfo

	# As YAML or JSON (protected values are never part of the Extension), with its
	# recent Events under the key "events"
	kubectl ext show podinfo -o yaml

	# The Extension alone, e.g. to keep its manifest
	kubectl ext show podinfo -o yaml --show-events=false

	# One row, as kubectl get ext podinfo -o wide prints it; or one field
	kubectl ext show podinfo -o wide
	kubectl ext show podinfo -o jsonpath='{.status.currentVersion}'`)

// ShowOptions is `kubectl ext show`.
type ShowOptions struct {
	Name string
	// ShowEvents lists the extension's recent Events (kubectl describe's --show-events).
	ShowEvents bool
	print      *genericclioptions.PrintFlags
	f          *factory
	genericiooptions.IOStreams
}

// NewShowCommand returns `kubectl ext show`.
func NewShowCommand(f *factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &ShowOptions{f: f, IOStreams: streams, print: newPrintFlags("")}
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
	cmd.Flags().Lookup("output").Usage = "Output format. One of: (wide, json, yaml, name, jsonpath, jsonpath-as-json, jsonpath-file, go-template, go-template-file, template, templatefile)."
	cmd.Flags().BoolVar(&o.ShowEvents, "show-events", true, "List the extension's recent Events (in -o json|yaml under the key \""+describe.EventsKey+"\").")
	cmd.ValidArgsFunction = completeExtensions(f, 1)
	return cmd
}

// Run shows the extension. The Events are listed while the extension is read (by its
// name, then kept by its UID), so show waits on two round trips, not three.
func (o *ShowOptions) Run(cmd *cobra.Command) error {
	// -o wide is the listing's wide row, as kubectl get prints one object.
	wide := ptr.Deref(o.print.OutputFormat, "") == "wide"
	p, err := outputPrinter(o.print, "wide")
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	m, err := o.f.manager(ctx, o.ErrOut)
	if err != nil {
		return err
	}
	// Events are read only when something shows them; reading them never fails
	// show: a user who may not list them is told so in their place.
	events, evErr := []corev1.Event(nil), error(nil)
	withEvents := o.ShowEvents && !wide && ptr.Deref(o.print.OutputFormat, "") != "name"
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
	if wide {
		return describe.ExtensionTable(o.Out, []v1alpha1.Extension{*e}, nil, true, time.Now())
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

// ofExtension keeps the Events about e itself: listed by name before e was read, they
// may include those of an earlier Extension of that name, which had another UID.
func ofExtension(events []corev1.Event, e *v1alpha1.Extension) []corev1.Event {
	return slices.DeleteFunc(events, func(ev corev1.Event) bool {
		return e.UID != "" && ev.InvolvedObject.UID != "" && ev.InvolvedObject.UID != e.UID
	})
}
