// Command noop is the floor `make bench` measures the webhook against: a
// controller-runtime admission webhook that allows every request without reading it,
// served the way bin/webhook serves (controller-runtime's webhook server, the same TLS
// certificate, the same path), so that the difference between the two is the policy
// decision and nothing else.
//
//	noop --host 127.0.0.1 --port 9444 --cert-dir DIR --path /validate-...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

func main() {
	fs := flag.NewFlagSet("noop", flag.ExitOnError)
	host := fs.String("host", "127.0.0.1", "address to listen on")
	port := fs.Int("port", 9444, "port to listen on")
	certDir := fs.String("cert-dir", "", "directory of tls.crt and tls.key (required)")
	path := fs.String("path", "/validate", "path of the admission endpoint")
	_ = fs.Parse(os.Args[1:])
	if *certDir == "" {
		fmt.Fprintln(os.Stderr, "noop: --cert-dir is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv := webhook.NewServer(webhook.Options{Host: *host, Port: *port, CertDir: *certDir})
	srv.Register(*path, &admission.Webhook{
		Handler: admission.HandlerFunc(func(context.Context, admission.Request) admission.Response {
			return admission.Allowed("")
		}),
	})
	if err := srv.Start(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "noop: %v\n", err)
		os.Exit(1)
	}
}
