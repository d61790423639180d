package chartsource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/registry"
	"oras.land/oras-go/v2/errdef"
	orasregistry "oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// ociMetaWorkers bounds the concurrent metadata requests of Versions.
const ociMetaWorkers = 4

// ociSource reads a chart from an OCI registry with Helm's registry client.
type ociSource struct {
	ref     string // host[:port]/path/name, no tag
	display string // oci://ref
	host    string
	name    string
	opts    Options
	client  *registry.Client
	cache   cache
	// base and wrap make the transport of each registry client: a pull whose bytes are
	// reported gets a client of its own (see Load).
	base *http.Transport
	wrap func(http.RoundTripper) http.RoundTripper

	mu   sync.Mutex
	meta map[string]*chart.Metadata // by manifest digest
}

// newOCISource builds the source; wrap, when set, wraps the HTTP transport
// (tests count requests with it).
func newOCISource(repoURL, name string, opts Options, wrap func(http.RoundTripper) http.RoundTripper) (*ociSource, error) {
	opts = opts.withDefaults()
	ref, err := ociRef(repoURL, name)
	if err != nil {
		return nil, err
	}
	parsed, err := orasregistry.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("chart repository %q is not a valid OCI reference: %w", repoURL, err)
	}

	base, err := opts.transport()
	if err != nil {
		return nil, err
	}
	s := &ociSource{
		ref:     ref,
		display: "oci://" + ref,
		host:    parsed.Registry,
		name:    name,
		opts:    opts,
		cache:   cache{dir: opts.CacheDir},
		meta:    make(map[string]*chart.Metadata),
		base:    base,
		wrap:    wrap,
	}
	if s.client, err = s.newClient(nil); err != nil {
		return nil, err
	}
	return s, nil
}

// newClient returns a registry client over the source's transport; with p, the
// bytes of the blobs it pulls are reported to p.
func (s *ociSource) newClient(p DownloadProgress) (*registry.Client, error) {
	var rt http.RoundTripper = s.base
	if s.wrap != nil {
		rt = s.wrap(rt)
	}
	if p != nil {
		rt = &blobTransport{next: rt, p: p}
	}
	clientOpts := []registry.ClientOption{
		registry.ClientOptWriter(io.Discard),
		registry.ClientOptEnableCache(true),
		registry.ClientOptHTTPClient(&http.Client{Transport: retry.NewTransport(rt), Timeout: s.opts.HTTPTimeout}),
	}
	if s.opts.RegistryConfig != "" {
		clientOpts = append(clientOpts, registry.ClientOptCredentialsFile(s.opts.RegistryConfig))
	}
	if s.opts.PlainHTTP {
		clientOpts = append(clientOpts, registry.ClientOptPlainHTTP())
	}
	client, err := registry.NewClient(clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("cannot set up the registry client (registry config %q): %w", s.opts.RegistryConfig, err)
	}
	return client, nil
}

// ociRef returns the registry reference of chart name in repository repoURL.
func ociRef(repoURL, name string) (string, error) {
	rest := strings.TrimSuffix(repoURL[len("oci://"):], "/")
	if rest == "" {
		return "", fmt.Errorf("chart repository %q names no registry", repoURL)
	}
	if strings.Contains(rest, "@") {
		return "", fmt.Errorf("chart repository %q must not name a digest: versions come from the registry's tags", repoURL)
	}
	if i := strings.Index(rest, "/"); i >= 0 && strings.Contains(rest[i:], ":") {
		return "", fmt.Errorf("chart repository %q must not name a tag: versions come from the registry's tags", repoURL)
	}
	if !strings.Contains(rest, "/") || path.Base(rest) != name {
		rest += "/" + name
	}
	return rest, nil
}

// classify turns a registry error into one the user can act on.
func (s *ociSource) classify(err error) error {
	denied := func() error {
		return newError(ErrAccessDenied, err, "access to %s was denied: log in with `helm registry login %s` "+
			"or give the registry config that holds its credentials", s.display, s.host)
	}
	if errors.Is(err, auth.ErrBasicCredentialNotFound) {
		return denied()
	}
	if errors.Is(err, errdef.ErrNotFound) { // a HEAD request's 404 has no error body
		return newError(ErrChartNotFound, err, "chart %s not found: the registry has no repository %s", s.name, s.display)
	}
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return denied()
		case http.StatusNotFound:
			return newError(ErrChartNotFound, err, "chart %s not found: the registry has no repository %s", s.name, s.display)
		}
	}
	return newError(ErrUnreachable, err, "cannot read %s", s.display)
}

// tags lists the chart's semver versions, newest first.
func (s *ociSource) tags(ctx context.Context) ([]string, error) {
	tags, err := do(ctx, func() ([]string, error) { return s.client.Tags(s.ref) })
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, s.classify(err)
	}
	return tags, nil
}

func (s *ociSource) Versions(ctx context.Context) ([]ChartVersion, error) {
	fmt.Fprintf(s.opts.Progress, "Listing the versions of chart %s in %s\n", s.name, s.display)
	tags, err := s.tags(ctx)
	if err != nil {
		return nil, err
	}

	// Resolve every tag to its manifest digest; metadata is cached per digest.
	digests := make([]string, len(tags))
	if err := parallel(ctx, len(tags), func(i int) error {
		d, err := s.resolve(ctx, tags[i])
		digests[i] = d
		return err
	}); err != nil {
		return nil, err
	}
	var missing []int
	metas := make([]*chart.Metadata, len(tags))
	for i := range tags {
		if m := s.cachedMeta(digests[i]); m != nil {
			metas[i] = m
		} else {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(s.opts.Progress, "Reading the metadata of %d versions of chart %s from %s\n", len(missing), s.name, s.display)
		if err := parallel(ctx, len(missing), func(j int) error {
			i := missing[j]
			m, err := s.pullMeta(ctx, tags[i])
			metas[i] = m
			return err
		}); err != nil {
			return nil, err
		}
	}

	out := make([]ChartVersion, 0, len(tags))
	for i, tag := range tags {
		out = append(out, ChartVersion{Version: tag, KubeVersion: metas[i].KubeVersion, AppVersion: metas[i].AppVersion})
	}
	return sortVersions(out), nil
}

// parallel runs fn for 0..n-1 on a few workers and returns the first error.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for w := 0; w < ociMetaWorkers && w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func tagOf(version string) string { return strings.ReplaceAll(version, "+", "_") }

// resolve returns the manifest digest of a version's tag.
func (s *ociSource) resolve(ctx context.Context, version string) (string, error) {
	desc, err := do(ctx, func() (ocispec.Descriptor, error) { return s.client.Resolve(s.ref + ":" + tagOf(version)) })
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		return "", s.classify(err)
	}
	return desc.Digest.String(), nil
}

// cachedMeta returns the metadata of a manifest digest from memory or disk.
func (s *ociSource) cachedMeta(digest string) *chart.Metadata {
	s.mu.Lock()
	m := s.meta[digest]
	s.mu.Unlock()
	if m != nil {
		return m
	}
	data, ok := s.cache.get("oci-meta", s.ref, digest, ".json")
	if !ok {
		return nil
	}
	m = new(chart.Metadata)
	if err := json.Unmarshal(data, m); err != nil {
		return nil
	}
	s.storeMeta(digest, data, m)
	return m
}

func (s *ociSource) storeMeta(digest string, raw []byte, m *chart.Metadata) {
	s.mu.Lock()
	s.meta[digest] = m
	s.mu.Unlock()
	s.cache.put("oci-meta", s.ref, digest, ".json", raw)
}

// pullMeta reads a version's Chart.yaml from the manifest's config blob,
// without the chart layer.
func (s *ociSource) pullMeta(ctx context.Context, version string) (*chart.Metadata, error) {
	res, err := do(ctx, func() (*registry.PullResult, error) {
		return s.client.Pull(s.ref+":"+tagOf(version),
			registry.PullOptWithChart(false), registry.PullOptWithProv(true), registry.PullOptIgnoreMissingProv(true))
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, s.pullError(err, version)
	}
	m := new(chart.Metadata)
	if err := json.Unmarshal(res.Config.Data, m); err != nil {
		return nil, fmt.Errorf("%s:%s is not a Helm chart: its config blob is not Chart.yaml metadata: %w", s.display, tagOf(version), err)
	}
	s.storeMeta(res.Manifest.Digest, res.Config.Data, m)
	return m, nil
}

func (s *ociSource) pullError(err error, version string) error {
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) || errors.Is(err, auth.ErrBasicCredentialNotFound) {
		return s.classify(err)
	}
	// Anything else is about the content: not a Helm chart.
	return fmt.Errorf("%s:%s cannot be read as a Helm chart: %w", s.display, tagOf(version), err)
}

func (s *ociSource) Load(ctx context.Context, version string) (*chart.Chart, error) {
	digest, err := s.resolve(ctx, version)
	if errors.Is(err, ErrChartNotFound) {
		// The tag or the whole repository is missing; tell which.
		tags, terr := s.tags(ctx)
		if terr != nil {
			return nil, terr
		}
		vs := make([]ChartVersion, len(tags))
		for i, t := range tags {
			vs[i] = ChartVersion{Version: t}
		}
		return nil, versionNotFound(s.name, version, s.display, vs)
	}
	if err != nil {
		return nil, err
	}

	data, ok := s.cache.get("oci-charts", s.ref, digest, ".tgz")
	if !ok {
		fmt.Fprintf(s.opts.Progress, "Pulling chart %s %s from %s\n", s.name, version, s.display)
		// Helm's registry client takes no context to carry the progress of one pull
		// through a shared transport: a pull that reports its bytes has its own client.
		client := s.client
		if p := downloadProgress(ctx); p != nil {
			if client, err = s.newClient(p); err != nil {
				return nil, err
			}
		}
		res, err := do(ctx, func() (*registry.PullResult, error) { return client.Pull(s.ref + ":" + tagOf(version)) })
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			return nil, s.pullError(err, version)
		}
		data = res.Chart.Data
		s.cache.put("oci-charts", s.ref, res.Manifest.Digest, ".tgz", data)
		if m := new(chart.Metadata); json.Unmarshal(res.Config.Data, m) == nil {
			s.storeMeta(res.Manifest.Digest, res.Config.Data, m)
		}
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("chart %s %s from %s cannot be loaded: %w", s.name, version, s.display, err)
	}
	if err := checkChart(ch, s.name, version, s.display+":"+tagOf(version)); err != nil {
		return nil, err
	}
	return ch, nil
}
