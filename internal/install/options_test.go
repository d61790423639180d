package install

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestOptionsValidate covers each rule of init's flags and its message.
func TestOptionsValidate(t *testing.T) {
	const image = "ghcr.io/kubeext/kubeext-webhook:v0.1.0"
	const managerImage = "ghcr.io/kubeext/kubeext-extension-manager:v0.1.0"
	base := func(mod func(o *Options)) Options {
		o := Options{Image: image, ManagerImage: managerImage, DryRun: "none", Timeout: time.Minute}
		if mod != nil {
			mod(&o)
		}
		return o
	}
	tests := []struct {
		name       string
		opts       Options
		wantErr    string
		serverDry  bool
		wantSelect Selection
	}{
		{name: "the defaults: CRDs and catalog", opts: base(nil), wantSelect: Selection{Catalog: true, Image: image, ManagerImage: managerImage}},
		{name: "the webhook with a given image, no catalog", opts: base(func(o *Options) {
			o.WithWebhook, o.ImageGiven, o.Image, o.WithoutCatalog = true, true, "registry.example.com/w:v1", true
		}), wantSelect: Selection{Webhook: true, Image: "registry.example.com/w:v1", ManagerImage: managerImage}},
		{name: "the manager with a given image", opts: base(func(o *Options) {
			o.WithManager, o.ManagerImageGiven, o.ManagerImage = true, true, "registry.example.com/m:v1"
		}), wantSelect: Selection{Catalog: true, Image: image, Manager: true, ManagerImage: "registry.example.com/m:v1"}},
		{name: "check with --with-manager", opts: base(func(o *Options) { o.Check, o.WithManager = true, true }),
			wantSelect: Selection{Catalog: true, Image: image, Manager: true, ManagerImage: managerImage}},
		{name: "a server dry run, any case", opts: base(func(o *Options) { o.DryRun = "Server" }), serverDry: true,
			wantSelect: Selection{Catalog: true, Image: image, ManagerImage: managerImage}},
		{name: "dry-run false is none", opts: base(func(o *Options) { o.DryRun = "false" }), wantSelect: Selection{Catalog: true, Image: image, ManagerImage: managerImage}},
		{name: "an empty dry-run is none", opts: base(func(o *Options) { o.DryRun = "" }), wantSelect: Selection{Catalog: true, Image: image, ManagerImage: managerImage}},
		{name: "print", opts: base(func(o *Options) { o.Print = true }), wantSelect: Selection{Catalog: true, Image: image, ManagerImage: managerImage}},
		{name: "check with --with-webhook", opts: base(func(o *Options) { o.Check, o.WithWebhook = true, true }),
			wantSelect: Selection{Catalog: true, Webhook: true, Image: image, ManagerImage: managerImage}},
		{name: "a client dry run", opts: base(func(o *Options) { o.DryRun = "client" }),
			wantErr: "--dry-run=client is not supported by init: use --print to see the objects without a cluster, or --dry-run=server to have the API server check them"},
		{name: "dry-run true is client's", opts: base(func(o *Options) { o.DryRun = "true" }), wantErr: "--dry-run=client is not supported by init"},
		{name: "an unknown dry-run mode", opts: base(func(o *Options) { o.DryRun = "always" }), wantErr: `--dry-run must be "none" or "server", not "always"`},
		{name: "check with print", opts: base(func(o *Options) { o.Check, o.Print = true, true }),
			wantErr: "--check applies nothing and takes only --with-webhook and --with-manager (to require them); leave out --print, --dry-run, --without-catalog, --image and --manager-image"},
		{name: "check with a manager image", opts: base(func(o *Options) { o.Check, o.ManagerImageGiven, o.WithManager = true, true, true }), wantErr: "--check applies nothing"},
		{name: "a manager image without the manager", opts: base(func(o *Options) { o.ManagerImageGiven = true }),
			wantErr: "--manager-image sets the extension manager's image: add --with-manager"},
		{name: "the manager with an image that is a URL", opts: base(func(o *Options) {
			o.WithManager, o.ManagerImageGiven, o.ManagerImage = true, true, "https://ghcr.io/m:1"
		}), wantErr: `--manager-image "https://ghcr.io/m:1" is a URL: give an image reference without a scheme, e.g. ghcr.io/kubeext/kubeext-extension-manager:v0.1.0`},
		{name: "the manager with an empty image", opts: base(func(o *Options) { o.WithManager, o.ManagerImage = true, "" }),
			wantErr: "--manager-image must name an image"},
		{name: "check with a server dry run", opts: base(func(o *Options) { o.Check, o.DryRun = true, "server" }), wantErr: "--check applies nothing"},
		{name: "check without the catalog", opts: base(func(o *Options) { o.Check, o.WithoutCatalog = true, true }), wantErr: "--check applies nothing"},
		{name: "check with an image", opts: base(func(o *Options) { o.Check, o.ImageGiven, o.WithWebhook = true, true, true }), wantErr: "--check applies nothing"},
		{name: "print with a server dry run", opts: base(func(o *Options) { o.Print, o.DryRun = true, "server" }),
			wantErr: "--print and --dry-run=server cannot be combined: --print contacts no cluster; pipe it to `kubectl apply --dry-run=server -f -` instead"},
		{name: "an image without the webhook", opts: base(func(o *Options) { o.ImageGiven = true }), wantErr: "--image sets the webhook's image: add --with-webhook"},
		{name: "a timeout of zero", opts: base(func(o *Options) { o.Timeout = 0 }), wantErr: "--timeout must be positive, not 0s"},
		{name: "the webhook with an image that is a URL", opts: base(func(o *Options) {
			o.WithWebhook, o.ImageGiven, o.Image = true, true, "https://ghcr.io/w:1"
		}), wantErr: `--image "https://ghcr.io/w:1" is a URL`},
		{name: "an image that is not checked without the webhook", opts: base(func(o *Options) { o.Image = "" }),
			wantSelect: Selection{Catalog: true, ManagerImage: managerImage}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.opts.Validate(), tt.wantErr)
			if tt.wantErr != "" {
				return
			}
			if got := tt.opts.ServerDryRun(); got != tt.serverDry {
				t.Errorf("ServerDryRun() = %v, want %v", got, tt.serverDry)
			}
			if got := tt.opts.Selection(); got != tt.wantSelect {
				t.Errorf("Selection() = %+v, want %+v", got, tt.wantSelect)
			}
		})
	}
}

// TestWriteReport: the table has every row, and the error names every problem, in
// order, and the command that repairs them.
func TestWriteReport(t *testing.T) {
	healthy := []CheckRow{
		{Component: "customresourcedefinition/extensions.kubeext.dev", Status: "Established", Detail: "served versions: v1alpha1"},
		{Component: "extension types", Status: "5", Detail: "default catalog: 5 of 5"},
	}
	broken := []CheckRow{
		{Component: "customresourcedefinition/extensions.kubeext.dev", Status: "Missing", Detail: "-", Problem: "customresourcedefinition extensions.kubeext.dev is missing"},
		{Component: "extension types", Status: "Unknown", Detail: "the ExtensionType CRD is not served"},
		{Component: "webhook answers", Status: "No", Detail: "no endpoints", Problem: "the webhook does not answer"},
	}
	tests := []struct {
		name           string
		rows           []CheckRow
		requireWebhook bool
		requireManager bool
		wantLines      []string
		wantErr        string
	}{
		{name: "healthy", rows: healthy, wantLines: []string{
			"COMPONENT                                         STATUS        DETAIL",
			"customresourcedefinition/extensions.kubeext.dev   Established   served versions: v1alpha1",
			"extension types                                   5             default catalog: 5 of 5",
		}},
		{name: "problems, repaired by init", rows: broken[:2],
			wantErr: "customresourcedefinition extensions.kubeext.dev is missing; install or repair with `kubectl ext init` (see docs/operations.md for the webhook)"},
		{name: "problems with the webhook required", rows: broken, requireWebhook: true,
			wantErr: "customresourcedefinition extensions.kubeext.dev is missing; the webhook does not answer; install or repair with `kubectl ext init --with-webhook` (see docs/operations.md for the webhook)"},
		{name: "problems with both required", rows: broken, requireWebhook: true, requireManager: true,
			wantErr: "customresourcedefinition extensions.kubeext.dev is missing; the webhook does not answer; install or repair with `kubectl ext init --with-webhook --with-manager` (see docs/operations.md for the webhook, docs/manager.md for the extension manager)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := WriteReport(&out, tt.rows, tt.requireWebhook, tt.requireManager)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != len(tt.rows)+1 || !strings.HasPrefix(lines[0], "COMPONENT") {
				t.Fatalf("table\n%s\nwant a header and %d rows", out.String(), len(tt.rows))
			}
			for i, r := range tt.rows {
				if !strings.HasPrefix(lines[i+1], r.Component+" ") || !strings.Contains(lines[i+1], r.Detail) {
					t.Errorf("row %d %q, want %s first and %q", i, lines[i+1], r.Component, r.Detail)
				}
			}
			for i, want := range tt.wantLines {
				if lines[i] != want {
					t.Errorf("line %d\n got %q\nwant %q", i, lines[i], want)
				}
			}
		})
	}
}
