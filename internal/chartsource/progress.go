package chartsource

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
)

// DownloadProgress is told, as a chart archive arrives, how many bytes of it have been
// read and how many there are (total < 0 when the server does not say); done equals
// total when the whole archive has been read. It is called
// from the goroutine that reads the download, often: it should only note the numbers.
type DownloadProgress func(done, total int64)

type progressKey struct{}

// WithDownloadProgress returns a context under which Load reports the bytes of the
// chart archive it downloads to p. A chart read from the cache or the disk reports
// nothing. The terminal decides whether anyone wants this (the CLI does), so it rides
// on the context rather than on Options, which sources share.
func WithDownloadProgress(ctx context.Context, p DownloadProgress) context.Context {
	if p == nil {
		return ctx
	}
	return context.WithValue(ctx, progressKey{}, p)
}

func downloadProgress(ctx context.Context) DownloadProgress {
	p, _ := ctx.Value(progressKey{}).(DownloadProgress)
	return p
}

// countingReader reports every read of a download to its DownloadProgress.
type countingReader struct {
	r     io.Reader
	done  int64
	total int64
	p     DownloadProgress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.done += int64(n)
	switch {
	case err == io.EOF && c.total < 0:
		c.p(c.done, c.done) // the end: now the size is known
	case n > 0 || err == io.EOF:
		c.p(c.done, c.total)
	}
	return n, err
}

// countBody wraps a response's body so that reading it reports to p.
func countBody(resp *http.Response, p DownloadProgress) {
	resp.Body = struct {
		io.Reader
		io.Closer
	}{&countingReader{r: resp.Body, total: resp.ContentLength, p: p}, resp.Body}
}

// blobTransport reports the bytes of the chart layer an OCI pull downloads. It reads
// the manifest as it passes (a few hundred bytes) for the layer's digest, then counts
// the blob of that digest and nothing else: not the config blob, not manifests, tags
// or tokens. A registry may redirect a blob to storage elsewhere: that request is
// known by the redirect's request.
type blobTransport struct {
	next http.RoundTripper
	p    DownloadProgress

	mu    sync.Mutex
	layer string // "sha256:..." of the chart layer, once the manifest is seen
}

func (t *blobTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	path := req.URL.Path
	if req.Response != nil && req.Response.Request != nil {
		path = req.Response.Request.URL.Path
	}
	switch {
	case strings.Contains(path, "/manifests/"):
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxManifest))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var m ocispec.Manifest
		if json.Unmarshal(body, &m) == nil {
			for _, l := range m.Layers {
				if l.MediaType == registry.ChartLayerMediaType {
					t.mu.Lock()
					t.layer = l.Digest.String()
					t.mu.Unlock()
				}
			}
		}
	case strings.Contains(path, "/blobs/"):
		t.mu.Lock()
		layer := t.layer
		t.mu.Unlock()
		if layer != "" && strings.HasSuffix(path, "/blobs/"+layer) {
			countBody(resp, t.p)
		}
	}
	return resp, nil
}

// maxManifest bounds the manifest blobTransport reads (oras allows 4 MiB).
const maxManifest = 4 << 20

// transport is the HTTP transport of the options' TLS settings, for chart archives and
// registries: the system's proxy settings, and the CA file or the skipped verification
// the user asked for.
func (o Options) transport() (*http.Transport, error) {
	base := http.DefaultTransport.(*http.Transport).Clone()
	if o.InsecureSkipTLSVerify || o.CAFile != "" {
		conf := &tls.Config{InsecureSkipVerify: o.InsecureSkipTLSVerify} //nolint:gosec // the user asked for it
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("cannot read CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("CA file %s holds no PEM certificate", o.CAFile)
			}
			conf.RootCAs = pool
		}
		base.TLSClientConfig = conf
	}
	return base, nil
}

// userAgent is Helm's, as its getter sends it: a chart repository that tells Helm
// apart (for metrics, or to serve it) sees the same client.
var userAgent = "Helm/" + strings.TrimPrefix(chartutil.DefaultCapabilities.HelmVersion.Version, "v")
