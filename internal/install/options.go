package install

import (
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/cli-runtime/pkg/printers"
)

// Options are the choices of `kubectl ext init`, as its flags give them.
type Options struct {
	WithWebhook    bool
	WithManager    bool
	WithoutCatalog bool
	Image          string
	// ImageGiven tells an --image given on purpose from the default image.
	ImageGiven bool
	// ManagerImage is the extension manager's image (--manager-image), and
	// ManagerImageGiven tells one given on purpose from the default.
	ManagerImage      string
	ManagerImageGiven bool
	Print             bool
	DryRun            string
	Check             bool
	Timeout           time.Duration
}

// Validate checks the options before anything is read from or written to the cluster.
// There is no client-side dry run: what init would do depends on what the cluster
// has, which --print cannot know and the API server can.
func (o Options) Validate() error {
	switch strings.ToLower(o.DryRun) {
	case "", "none", "false", "server":
	case "client", "true":
		return fmt.Errorf("--dry-run=client is not supported by init: use --print to see the objects without a cluster, or --dry-run=server to have the API server check them")
	default:
		return fmt.Errorf(`--dry-run must be "none" or "server", not %q`, o.DryRun)
	}
	switch {
	case o.Check && (o.Print || o.ServerDryRun() || o.WithoutCatalog || o.ImageGiven || o.ManagerImageGiven):
		return fmt.Errorf("--check applies nothing and takes only --with-webhook and --with-manager (to require them); leave out --print, --dry-run, --without-catalog, --image and --manager-image")
	case o.Print && o.ServerDryRun():
		return fmt.Errorf("--print and --dry-run=server cannot be combined: --print contacts no cluster; pipe it to `kubectl apply --dry-run=server -f -` instead")
	case o.ImageGiven && !o.WithWebhook:
		return fmt.Errorf("--image sets the webhook's image: add --with-webhook")
	case o.ManagerImageGiven && !o.WithManager:
		return fmt.Errorf("--manager-image sets the extension manager's image: add --with-manager")
	case o.Timeout <= 0:
		return fmt.Errorf("--timeout must be positive, not %s", o.Timeout)
	}
	if o.WithWebhook {
		if err := validateImage("--image", o.Image, manifestsWebhookExample); err != nil {
			return err
		}
	}
	if o.WithManager {
		return validateImage("--manager-image", o.ManagerImage, manifestsManagerExample)
	}
	return nil
}

// ServerDryRun tells whether the API server is to check every object and keep none.
func (o Options) ServerDryRun() bool { return strings.EqualFold(o.DryRun, "server") }

// Selection is what the options install.
func (o Options) Selection() Selection {
	return Selection{Catalog: !o.WithoutCatalog, Webhook: o.WithWebhook, Image: o.Image,
		Manager: o.WithManager, ManagerImage: o.ManagerImage}
}

// WriteReport writes the rows of --check as a table and returns the error that makes
// --check fail, naming each problem and the command that installs or repairs it.
func WriteReport(out io.Writer, rows []CheckRow, requireWebhook, requireManager bool) error {
	w := printers.GetNewTabWriter(out)
	fmt.Fprintln(w, "COMPONENT\tSTATUS\tDETAIL")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\n", r.Component, r.Status, r.Detail)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if problems := Problems(rows); len(problems) > 0 {
		fix := "kubectl ext init"
		see := "docs/operations.md for the webhook"
		if requireWebhook {
			fix += " --with-webhook"
		}
		if requireManager {
			fix += " --with-manager"
			see += ", docs/manager.md for the extension manager"
		}
		return fmt.Errorf("%s; install or repair with `%s` (see %s)", strings.Join(problems, "; "), fix, see)
	}
	return nil
}
