package chartsource

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
)

// blobCounter counts the blob downloads that go through it.
type blobCounter struct {
	base http.RoundTripper
	mu   sync.Mutex
	gets int
}

func (c *blobCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err == nil && req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/") && resp.StatusCode == http.StatusOK {
		c.mu.Lock()
		c.gets++
		c.mu.Unlock()
	}
	return resp, err
}

func (c *blobCounter) take() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.gets
	c.gets = 0
	return n
}

func TestOCIReadsMetadataWithoutChartLayersAndCachesByDigest(t *testing.T) {
	ctx := context.Background()
	ref, cfg := chartsourcetest.ServeOCI(t, chartsourcetest.Charts(t, chartsourcetest.Podinfo()))
	cacheDir := t.TempDir()
	counter := &blobCounter{}
	newSource := func(t *testing.T) *ociSource {
		t.Helper()
		src, err := newOCISource(ref, "podinfo",
			Options{PlainHTTP: true, RegistryConfig: cfg, CacheDir: cacheDir, HTTPTimeout: defaultHTTPTimeout},
			func(rt http.RoundTripper) http.RoundTripper { counter.base = rt; return counter })
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	versions := len(chartsourcetest.Podinfo())

	src := newSource(t)
	if _, err := src.Versions(ctx); err != nil {
		t.Fatal(err)
	}
	if n := counter.take(); n != versions {
		t.Errorf("listing %d versions downloaded %d blobs, want only their %d config blobs", versions, n, versions)
	}
	if _, err := src.Load(ctx, "1.4.1"); err != nil {
		t.Fatal(err)
	}
	if n := counter.take(); n != 2 {
		t.Errorf("loading one chart downloaded %d blobs, want its config and chart layer (2)", n)
	}

	t.Run("a new source with the same cache directory downloads no blob again", func(t *testing.T) {
		src := newSource(t)
		got, err := src.Versions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != versions || got[1].KubeVersion != chartsourcetest.KubeVersionUnsatisfiable {
			t.Errorf("Versions from the cache = %+v, want %d versions with 1.6.0's kubeVersion", got, versions)
		}
		if _, err := src.Load(ctx, "1.4.1"); err != nil {
			t.Fatal(err)
		}
		if n := counter.take(); n != 0 {
			t.Errorf("downloaded %d blobs despite the cache, want 0", n)
		}
	})
}

func TestOCIRef(t *testing.T) {
	tests := []struct {
		name, repo, chart, want string
	}{
		{name: "a repository path gets the chart name appended", repo: "oci://ghcr.io/org/charts", chart: "podinfo", want: "ghcr.io/org/charts/podinfo"},
		{name: "a repository ending in the chart name is used as is", repo: "oci://ghcr.io/org/charts/podinfo/", chart: "podinfo", want: "ghcr.io/org/charts/podinfo"},
		{name: "a bare registry with a port gets the chart name appended", repo: "oci://localhost:5000", chart: "podinfo", want: "localhost:5000/podinfo"},
		{name: "a registry named like the chart still gets the chart name appended", repo: "oci://podinfo", chart: "podinfo", want: "podinfo/podinfo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ociRef(tt.repo, tt.chart)
			if err != nil || got != tt.want {
				t.Errorf("ociRef(%s, %s) = %q, %v; want %q", tt.repo, tt.chart, got, err, tt.want)
			}
		})
	}
}

func TestSortVersions(t *testing.T) {
	in := []ChartVersion{
		{Version: "1.0.0"}, {Version: "v2.0.0"}, {Version: "1.10.0"}, {Version: "1.2"}, {Version: "1.10.0-rc.1"},
		{Version: "1.9.0"}, {Version: "1.0.0", AppVersion: "duplicate"}, {Version: "not-a-version"}, {Version: "1.10.0+build.1"},
		{Version: "v1.9.0", AppVersion: "duplicate with a v"}, {Version: "vv3.0.0"}, {Version: "V3.0.0"},
	}
	got := versionStrings(sortVersions(in))
	want := []string{"2.0.0", "1.10.0", "1.10.0+build.1", "1.10.0-rc.1", "1.9.0", "1.0.0"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("sortVersions = %v, want %v (strict semver but for one leading v, one per version, newest first)", got, want)
	}
}

func TestSameVersion(t *testing.T) {
	tests := []struct {
		chartVersion, asked string
		want                bool
	}{
		{"1.16.0", "1.16.0", true},
		{"v1.16.0", "1.16.0", true},
		{"v1.16.0", "v1.16.0", true},
		{"1.16.0", "v1.16.0", true},
		{"v1.16.0", "1.16.1", false},
		{"v1.16.0-rc.1", "1.16.0", false},
		{"1.16", "1.16", true}, // not semver: compared as spelled
		{"1.16", "v1.16", false},
	}
	for _, tt := range tests {
		if got := sameVersion(tt.chartVersion, tt.asked); got != tt.want {
			t.Errorf("sameVersion(%q, %q) = %v, want %v", tt.chartVersion, tt.asked, got, tt.want)
		}
	}
}
