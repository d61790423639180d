package chartsource

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/repo"
)

// httpSource reads a chart from a Helm chart repository.
type httpSource struct {
	url     string // the repository URL, without a trailing slash or index.yaml
	name    string
	opts    Options
	getters getter.Providers
	cache   cache

	mu    sync.Mutex
	index *repo.IndexFile // read once per source
}

func newHTTPSource(repoURL, name string, opts Options) (*httpSource, error) {
	opts = opts.withDefaults()
	u := strings.TrimSuffix(strings.TrimSuffix(repoURL, "/"), "/index.yaml")
	parsed, err := url.Parse(u)
	if err != nil || parsed.Host == "" {
		return nil, fmt.Errorf("chart repository %q is not a valid URL", repoURL)
	}
	timeout := opts.HTTPTimeout
	getters := getter.Providers{{
		Schemes: []string{"http", "https"},
		New: func(o ...getter.Option) (getter.Getter, error) {
			return getter.NewHTTPGetter(append(o, getter.WithTimeout(timeout))...)
		},
	}}
	return &httpSource{url: u, name: name, opts: opts, getters: getters, cache: cache{dir: opts.CacheDir}}, nil
}

func (s *httpSource) entry() *repo.Entry {
	return &repo.Entry{
		Name:                  "kubeext-" + sha256Hex([]byte(s.url))[:16],
		URL:                   s.url,
		CAFile:                s.opts.CAFile,
		InsecureSkipTLSverify: s.opts.InsecureSkipTLSVerify,
	}
}

// loadIndex reads the repository's index once.
func (s *httpSource) loadIndex(ctx context.Context) (*repo.IndexFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.index != nil {
		return s.index, nil
	}
	fmt.Fprintf(s.opts.Progress, "Reading the index of chart repository %s\n", s.url)
	idx, err := do(ctx, s.downloadIndex)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, newError(ErrUnreachable, err, "cannot read the index of chart repository %s", s.url)
	}
	s.index = idx
	return idx, nil
}

// downloadIndex fetches index.yaml with Helm's ChartRepository, which writes it to a
// file first: in a directory of its own each time, since Helm writes the file in
// place, and sources of one repository reading it at once (a fleet's clusters, or two
// commands) would read each other's half-written copy from a shared directory. Every
// read downloads the index anyway, so a shared copy saved nothing.
func (s *httpSource) downloadIndex() (*repo.IndexFile, error) {
	r, err := repo.NewChartRepository(s.entry(), s.getters)
	if err != nil {
		return nil, err
	}
	if s.opts.CacheDir != "" {
		if err := os.MkdirAll(s.opts.CacheDir, 0o755); err != nil {
			return nil, err
		}
	}
	tmp, err := os.MkdirTemp(s.opts.CacheDir, "index-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	r.CachePath = tmp
	file, err := r.DownloadIndexFile()
	if err != nil {
		return nil, err
	}
	return repo.LoadIndexFile(file)
}

// chartVersions returns the index entries of the chart.
func (s *httpSource) chartVersions(ctx context.Context) (repo.ChartVersions, error) {
	idx, err := s.loadIndex(ctx)
	if err != nil {
		return nil, err
	}
	cvs, ok := idx.Entries[s.name]
	if !ok || len(cvs) == 0 {
		return nil, chartNotInIndex(s.name, s.url, idx)
	}
	return cvs, nil
}

func chartNotInIndex(name, where string, idx *repo.IndexFile) error {
	names := make([]string, 0, len(idx.Entries))
	for n, cvs := range idx.Entries {
		if len(cvs) > 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return newError(ErrChartNotFound, nil, "chart %s is not in %s (charts present: %s)", name, where, listed(names, 20))
}

func indexVersions(cvs repo.ChartVersions) []ChartVersion {
	out := make([]ChartVersion, 0, len(cvs))
	for _, cv := range cvs {
		if cv == nil || cv.Metadata == nil {
			continue
		}
		out = append(out, ChartVersion{Version: cv.Version, KubeVersion: cv.KubeVersion, AppVersion: cv.AppVersion})
	}
	return sortVersions(out)
}

func (s *httpSource) Versions(ctx context.Context) ([]ChartVersion, error) {
	cvs, err := s.chartVersions(ctx)
	if err != nil {
		return nil, err
	}
	return indexVersions(cvs), nil
}

func (s *httpSource) Load(ctx context.Context, version string) (*chart.Chart, error) {
	cvs, err := s.chartVersions(ctx)
	if err != nil {
		return nil, err
	}
	cv := findVersion(cvs, version)
	if cv == nil {
		return nil, versionNotFound(s.name, version, s.url, indexVersions(cvs))
	}
	if len(cv.URLs) == 0 {
		return nil, fmt.Errorf("the index of %s gives no download URL for chart %s %s", s.url, s.name, version)
	}
	archiveURL, err := repo.ResolveReferenceURL(s.url, cv.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("the index of %s gives an invalid URL for chart %s %s: %w", s.url, s.name, version, err)
	}
	digest := strings.ToLower(cv.Digest)
	// An https repository vouches for its archives through the index it serves: one
	// sent to plain http is taken only with the index's digest, or anyone on the path
	// could swap it (a repository on http was allowed on purpose, by annotation).
	if digest == "" && strings.HasPrefix(s.url, "https://") && strings.HasPrefix(strings.ToLower(archiveURL), "http://") {
		return nil, fmt.Errorf("the index of %s sends the download of chart %s %s to plain http (%s) and gives no digest to check it against: "+
			"serve the archive over https, or add its digest to the index", s.url, s.name, version, archiveURL)
	}

	data, ok := s.cache.get("charts", archiveURL, digest, ".tgz")
	if !ok || sha256Hex(data) != digest {
		fmt.Fprintf(s.opts.Progress, "Downloading chart %s %s from %s\n", s.name, version, s.url)
		data, err = s.download(ctx, archiveURL)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			return nil, newError(ErrUnreachable, err, "cannot download chart %s %s from %s", s.name, version, s.url)
		}
		if digest != "" && sha256Hex(data) != digest {
			return nil, fmt.Errorf("chart %s %s from %s does not match the digest in the repository's index", s.name, version, s.url)
		}
		s.cache.put("charts", archiveURL, digest, ".tgz", data)
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("chart %s %s from %s cannot be loaded: %w", s.name, version, s.url, err)
	}
	if err := checkChart(ch, s.name, version, archiveURL); err != nil {
		return nil, err
	}
	return ch, nil
}

// download reads a chart archive. It is a plain GET, as Helm's HTTP getter makes
// one, with the same TLS settings and no credentials (the index gave the URL), but
// reading the body itself, so that the bytes can be counted as they arrive
// (WithDownloadProgress): Helm's getter returns the whole body at once.
func (s *httpSource) download(ctx context.Context, archiveURL string) ([]byte, error) {
	u, err := url.Parse(archiveURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("the archive URL %s has an unsupported scheme", archiveURL)
	}
	t, err := s.opts.transport()
	if err != nil {
		return nil, err
	}
	t.DisableCompression = true // the archive's bytes as served, as Helm reads them
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, archiveURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := (&http.Client{Transport: t, Timeout: s.opts.HTTPTimeout}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("failed to fetch %s : %s", archiveURL, resp.Status)
	}
	if p := downloadProgress(ctx); p != nil {
		countBody(resp, p)
	}
	return io.ReadAll(resp.Body)
}

// findVersion returns the entry of version, if the index has it: the entry
// spelled the same, else the one that differs only by a leading "v".
func findVersion(cvs repo.ChartVersions, version string) *repo.ChartVersion {
	want, _, _ := canonical(version)
	var alike *repo.ChartVersion
	for _, cv := range cvs {
		if cv == nil || cv.Metadata == nil {
			continue
		}
		if cv.Version == version {
			return cv
		}
		if c, _, _ := canonical(cv.Version); alike == nil && c == want {
			alike = cv
		}
	}
	return alike
}
