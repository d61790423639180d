package chartsource_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/repo"
	"helm.sh/helm/v3/pkg/repo/repotest"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
)

// allPodinfo is what every multi-version source lists: the standard podinfo
// versions, newest first. The fixture also holds podinfo 1.7 (not strict
// semver, so skipped) and a chart named other.
var allPodinfo = []chartsource.ChartVersion{
	{Version: "2.0.0", AppVersion: "7.0.0"},
	{Version: "1.6.0", KubeVersion: ">=1.99.0-0", AppVersion: "6.6.0"},
	{Version: "1.5.0", KubeVersion: ">=1.25.0-0", AppVersion: "6.5.0"},
	{Version: "1.5.0-rc.1", KubeVersion: ">=1.25.0-0", AppVersion: "6.5.0-rc.1", Prerelease: true},
	{Version: "1.4.1", KubeVersion: ">=1.25.0-0", AppVersion: "6.4.1"},
	{Version: "1.4.0", KubeVersion: ">=1.25.0-0", AppVersion: "6.4.0"},
}

// fixtureSpecs are the charts of every repository in these tests.
func fixtureSpecs() []chartsourcetest.Spec {
	return append(chartsourcetest.Podinfo(),
		chartsourcetest.Spec{Version: "1.7", AppVersion: "loose"},
		chartsourcetest.Spec{Name: "other", Version: "0.1.0"},
	)
}

type sourceCase struct {
	name string
	// setup returns the chart source and options of a repository holding the
	// fixture, and the versions it should list.
	setup func(t *testing.T) (v1alpha1.ChartSource, chartsource.Options, []chartsource.ChartVersion)
	// otherCharts is what a chart-not-found error lists, if anything.
	otherCharts string
	// progress returns the progress lines of Versions and then Load of a
	// prerelease, given the repository.
	progress func(repository string) []string
}

func httpProgress(repository string) []string {
	u := strings.TrimSuffix(repository, "/index.yaml")
	return []string{
		"Reading the index of chart repository " + u,
		"Downloading chart podinfo 1.5.0-rc.1 from " + u,
	}
}

func ociProgress(repository string) []string {
	ref := strings.TrimSuffix(repository, "/podinfo") + "/podinfo"
	return []string{
		"Listing the versions of chart podinfo in " + ref,
		"Reading the metadata of 6 versions of chart podinfo from " + ref,
		"Pulling chart podinfo 1.5.0-rc.1 from " + ref,
	}
}

func noProgress(string) []string { return nil }

// sharedOCI starts one OCI registry with the fixture for all the cases of a
// test, on first use: each registry costs seconds (bcrypt per request).
func sharedOCI(t *testing.T) func() (string, string) {
	var once sync.Once
	var ref, cfg string
	return func() (string, string) {
		once.Do(func() { ref, cfg = chartsourcetest.ServeOCI(t, chartsourcetest.Charts(t, fixtureSpecs())) })
		return ref, cfg
	}
}

func sourceCases(oci func() (string, string)) []sourceCase {
	one := []chartsource.ChartVersion{allPodinfo[4]} // 1.4.1
	return []sourceCase{
		{
			name: "an http chart repository served by repotest",
			setup: func(t *testing.T) (v1alpha1.ChartSource, chartsource.Options, []chartsource.ChartVersion) {
				url := chartsourcetest.ServeHTTP(t, chartsourcetest.Charts(t, fixtureSpecs()))
				return v1alpha1.ChartSource{Repository: url, Name: "podinfo"}, chartsource.Options{}, allPodinfo
			},
			otherCharts: "other, podinfo",
			progress:    httpProgress,
		},
		{
			name: "an http chart repository named with its index.yaml and a trailing slash",
			setup: func(t *testing.T) (v1alpha1.ChartSource, chartsource.Options, []chartsource.ChartVersion) {
				url := chartsourcetest.ServeHTTP(t, chartsourcetest.Charts(t, fixtureSpecs()))
				return v1alpha1.ChartSource{Repository: url + "/index.yaml", Name: "podinfo"}, chartsource.Options{}, allPodinfo
			},
			otherCharts: "other, podinfo",
			progress:    httpProgress,
		},
		{
			name: "an oci registry served by repotest with credentials from a registry config",
			setup: func(t *testing.T) (v1alpha1.ChartSource, chartsource.Options, []chartsource.ChartVersion) {
				ref, cfg := oci()
				return v1alpha1.ChartSource{Repository: ref, Name: "podinfo"},
					chartsource.Options{PlainHTTP: true, RegistryConfig: cfg}, allPodinfo
			},
			progress: ociProgress,
		},
		{
			name: "an oci repository that already names the chart",
			setup: func(t *testing.T) (v1alpha1.ChartSource, chartsource.Options, []chartsource.ChartVersion) {
				ref, cfg := oci()
				return v1alpha1.ChartSource{Repository: ref + "/podinfo", Name: "podinfo"},
					chartsource.Options{PlainHTTP: true, RegistryConfig: cfg}, allPodinfo
			},
			progress: ociProgress,
		},
		{
			name: "a file directory of chart archives",
			setup: func(t *testing.T) (v1alpha1.ChartSource, chartsource.Options, []chartsource.ChartVersion) {
				dir := chartsourcetest.Charts(t, fixtureSpecs())
				return v1alpha1.ChartSource{Repository: "file://" + dir, Name: "podinfo"}, chartsource.Options{}, allPodinfo
			},
			otherCharts: "other",
		},
		{
			name: "a file directory with an index.yaml copied from a server",
			setup: func(t *testing.T) (v1alpha1.ChartSource, chartsource.Options, []chartsource.ChartVersion) {
				dir := chartsourcetest.Charts(t, fixtureSpecs())
				writeIndex(t, dir, "https://charts.example.invalid/stable")
				return v1alpha1.ChartSource{Repository: "file://" + dir, Name: "podinfo"}, chartsource.Options{}, allPodinfo
			},
			otherCharts: "other, podinfo",
		},
		{
			name: "a file directory with an index.yaml of relative URLs, named by a relative path",
			setup: func(t *testing.T) (v1alpha1.ChartSource, chartsource.Options, []chartsource.ChartVersion) {
				dir := chartsourcetest.Charts(t, fixtureSpecs())
				writeIndex(t, dir, "")
				wd, err := os.Getwd()
				if err != nil {
					t.Fatal(err)
				}
				rel, err := filepath.Rel(wd, dir)
				if err != nil {
					t.Fatal(err)
				}
				return v1alpha1.ChartSource{Repository: "file://" + filepath.ToSlash(rel), Name: "podinfo"}, chartsource.Options{}, allPodinfo
			},
			otherCharts: "other, podinfo",
		},
		{
			name: "a file chart archive",
			setup: func(t *testing.T) (v1alpha1.ChartSource, chartsource.Options, []chartsource.ChartVersion) {
				dir := chartsourcetest.Charts(t, fixtureSpecs())
				return v1alpha1.ChartSource{Repository: "file://" + filepath.Join(dir, "podinfo-1.4.1.tgz"), Name: "podinfo"},
					chartsource.Options{}, one
			},
			otherCharts: "podinfo",
		},
		{
			name: "a file chart directory",
			setup: func(t *testing.T) (v1alpha1.ChartSource, chartsource.Options, []chartsource.ChartVersion) {
				dir := chartDir(t, chartsourcetest.Podinfo()[1])
				return v1alpha1.ChartSource{Repository: "file://" + filepath.Join(dir, "podinfo"), Name: "podinfo"},
					chartsource.Options{}, one
			},
			otherCharts: "podinfo",
		},
		{
			name: "a file directory holding a chart directory named like the chart",
			setup: func(t *testing.T) (v1alpha1.ChartSource, chartsource.Options, []chartsource.ChartVersion) {
				dir := chartDir(t, chartsourcetest.Podinfo()[1])
				return v1alpha1.ChartSource{Repository: "file://" + dir, Name: "podinfo"}, chartsource.Options{}, one
			},
		},
	}
}

// writeIndex writes dir/index.yaml for the archives of dir with base URL base.
func writeIndex(t *testing.T, dir, base string) {
	t.Helper()
	idx, err := repo.IndexDirectory(dir, base)
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// chartDir writes the chart of spec as a directory under a new temp dir.
func chartDir(t *testing.T, spec chartsourcetest.Spec) string {
	t.Helper()
	ch, err := chartsourcetest.Chart(spec)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := chartutil.SaveDir(ch, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSources(t *testing.T) {
	ctx := context.Background()
	for _, tc := range sourceCases(sharedOCI(t)) {
		if tc.progress == nil {
			tc.progress = noProgress
		}
		t.Run(tc.name, func(t *testing.T) {
			spec, opts, want := tc.setup(t)
			var progress bytes.Buffer
			opts.Progress = &progress
			src, err := chartsource.New(spec, opts)
			if err != nil {
				t.Fatalf("New(%+v) failed: %v", spec, err)
			}

			t.Run("versions are listed newest first with kubeVersion and appVersion", func(t *testing.T) {
				got, err := src.Versions(ctx)
				if err != nil {
					t.Fatalf("Versions failed: %v", err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Versions =\n %+v\nwant\n %+v", got, want)
				}
			})

			t.Run("load returns the chart of the version asked for", func(t *testing.T) {
				v := want[len(want)-1].Version
				if len(want) > 1 {
					v = "1.5.0-rc.1"
				}
				ch, err := src.Load(ctx, v)
				if err != nil {
					t.Fatalf("Load(%s) failed: %v", v, err)
				}
				if ch.Metadata.Name != "podinfo" || ch.Metadata.Version != v {
					t.Errorf("Load(%s) returned %s %s", v, ch.Metadata.Name, ch.Metadata.Version)
				}
				if len(ch.Templates) != 2 || ch.Values["replicaCount"] == nil {
					t.Errorf("Load(%s) returned a chart without its templates or values: %d templates, values %v",
						v, len(ch.Templates), ch.Values)
				}
				if len(want) > 1 {
					got := strings.Split(strings.TrimSpace(progress.String()), "\n")
					if progress.Len() == 0 {
						got = nil
					}
					if wantLines := tc.progress(spec.Repository); !reflect.DeepEqual(got, wantLines) {
						t.Errorf("progress = %q, want %q", got, wantLines)
					}
				}
			})

			t.Run("a missing version is an error listing the available ones", func(t *testing.T) {
				_, err := src.Load(ctx, "9.9.9")
				if !errors.Is(err, chartsource.ErrVersionNotFound) {
					t.Fatalf("Load(9.9.9) error = %v, want ErrVersionNotFound", err)
				}
				for _, w := range []string{"9.9.9", want[0].Version, want[len(want)-1].Version} {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %s", err, w)
					}
				}
			})

			t.Run("a chart the repository does not hold is an error naming the charts present", func(t *testing.T) {
				other := spec
				other.Name = "nginx"
				src, err := chartsource.New(other, opts)
				if err != nil {
					t.Fatalf("New failed: %v", err)
				}
				_, err = src.Versions(ctx)
				if !errors.Is(err, chartsource.ErrChartNotFound) {
					t.Fatalf("Versions error = %v, want ErrChartNotFound", err)
				}
				if !strings.Contains(err.Error(), "nginx") || !strings.Contains(err.Error(), tc.otherCharts) {
					t.Errorf("error %q does not name nginx and the charts present (%s)", err, tc.otherCharts)
				}
			})
		})
	}
}

func TestProgressAndCache(t *testing.T) {
	ctx := context.Background()
	dir := chartsourcetest.Charts(t, chartsourcetest.Podinfo())

	t.Run("an http source reports its steps and loads a cached archive without the server's copy", func(t *testing.T) {
		srv, err := repotest.NewTempServerWithCleanup(t, filepath.Join(dir, "*.tgz"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Stop)
		cacheDir := t.TempDir()
		var progress bytes.Buffer
		spec := v1alpha1.ChartSource{Repository: srv.URL(), Name: "podinfo"}
		src, err := chartsource.New(spec, chartsource.Options{CacheDir: cacheDir, Progress: &progress})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Load(ctx, "1.4.1"); err != nil {
			t.Fatalf("Load failed: %v", err)
		}
		wantLines := []string{
			"Reading the index of chart repository " + srv.URL(),
			"Downloading chart podinfo 1.4.1 from " + srv.URL(),
		}
		if got := strings.Split(strings.TrimSpace(progress.String()), "\n"); !reflect.DeepEqual(got, wantLines) {
			t.Errorf("progress = %q, want %q", got, wantLines)
		}

		if err := os.Remove(filepath.Join(srv.Root(), "podinfo-1.4.1.tgz")); err != nil {
			t.Fatal(err)
		}
		progress.Reset()
		src, err = chartsource.New(spec, chartsource.Options{CacheDir: cacheDir, Progress: &progress})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Load(ctx, "1.4.1"); err != nil {
			t.Fatalf("Load from the cache failed: %v", err)
		}
		if strings.Contains(progress.String(), "Downloading") {
			t.Errorf("progress %q shows a download despite the cache", progress.String())
		}
		// Without the cache the missing archive is an error naming the repository.
		src, err = chartsource.New(spec, chartsource.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Load(ctx, "1.4.1"); !errors.Is(err, chartsource.ErrUnreachable) || !strings.Contains(err.Error(), srv.URL()) {
			t.Errorf("Load without cache error = %v, want ErrUnreachable naming %s", err, srv.URL())
		}
	})

	// A fleet's clusters each have a source of the same repository, sharing the cache
	// directory: reading the index at once, none may see another's half-written copy
	// ("empty index.yaml file").
	t.Run("sources sharing a cache read one repository's index at once", func(t *testing.T) {
		srv, err := repotest.NewTempServerWithCleanup(t, filepath.Join(dir, "*.tgz"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Stop)
		cacheDir := t.TempDir()
		spec := v1alpha1.ChartSource{Repository: srv.URL(), Name: "podinfo"}
		var wg sync.WaitGroup
		errs := make(chan error, 200)
		for range 8 {
			wg.Go(func() {
				for range 25 {
					src, err := chartsource.New(spec, chartsource.Options{CacheDir: cacheDir})
					if err == nil {
						_, err = src.Versions(ctx)
					}
					if err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("reading the index: %v", err)
		}
	})
}

func TestErrors(t *testing.T) {
	ctx := context.Background()

	t.Run("an unsupported scheme is refused by New", func(t *testing.T) {
		for _, repoURL := range []string{"git://example.org/charts", "example.org/charts", "s3://bucket/charts"} {
			_, err := chartsource.New(v1alpha1.ChartSource{Repository: repoURL, Name: "podinfo"}, chartsource.Options{})
			if !errors.Is(err, chartsource.ErrUnsupportedScheme) || !strings.Contains(err.Error(), repoURL) {
				t.Errorf("New(%s) error = %v, want ErrUnsupportedScheme naming it", repoURL, err)
			}
		}
	})

	t.Run("an oci repository naming a tag or digest is refused by New", func(t *testing.T) {
		for _, repoURL := range []string{"oci://example.org/charts/podinfo:1.0.0", "oci://example.org/charts/podinfo@sha256:0123"} {
			if _, err := chartsource.New(v1alpha1.ChartSource{Repository: repoURL, Name: "podinfo"}, chartsource.Options{}); err == nil {
				t.Errorf("New(%s) succeeded, want an error", repoURL)
			}
		}
	})

	closed := closedAddress(t)

	t.Run("an unreachable http repository is an error naming its URL", func(t *testing.T) {
		url := "http://" + closed + "/charts"
		src, err := chartsource.New(v1alpha1.ChartSource{Repository: url, Name: "podinfo"}, chartsource.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Versions(ctx)
		if !errors.Is(err, chartsource.ErrUnreachable) || !strings.Contains(err.Error(), url) {
			t.Errorf("Versions error = %v, want ErrUnreachable naming %s", err, url)
		}
	})

	t.Run("a web server without an index.yaml is an unreachable repository", func(t *testing.T) {
		srv, err := repotest.NewTempServerWithCleanup(t, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Stop)
		src, err := chartsource.New(v1alpha1.ChartSource{Repository: srv.URL(), Name: "podinfo"}, chartsource.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Versions(ctx); !errors.Is(err, chartsource.ErrUnreachable) || !strings.Contains(err.Error(), "404") {
			t.Errorf("Versions error = %v, want ErrUnreachable with the 404", err)
		}
	})

	t.Run("an unreachable oci registry is an error naming the reference", func(t *testing.T) {
		ref := "oci://" + closed + "/charts"
		src, err := chartsource.New(v1alpha1.ChartSource{Repository: ref, Name: "podinfo"}, chartsource.Options{PlainHTTP: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Versions(ctx)
		if !errors.Is(err, chartsource.ErrUnreachable) || !strings.Contains(err.Error(), ref+"/podinfo") {
			t.Errorf("Versions error = %v, want ErrUnreachable naming %s", err, ref)
		}
	})

	t.Run("an oci registry refusing missing credentials is access denied with a hint", func(t *testing.T) {
		ref, _ := chartsourcetest.ServeOCI(t, chartsourcetest.Charts(t, chartsourcetest.Podinfo()[:1]))
		empty := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(empty, []byte(`{"auths":{}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := chartsource.New(v1alpha1.ChartSource{Repository: ref, Name: "podinfo"},
			chartsource.Options{PlainHTTP: true, RegistryConfig: empty})
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Versions(ctx)
		if !errors.Is(err, chartsource.ErrAccessDenied) || !strings.Contains(err.Error(), "helm registry login") {
			t.Errorf("Versions error = %v, want ErrAccessDenied with a login hint", err)
		}
	})

	t.Run("a missing file path is an error naming it", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "nowhere")
		src, err := chartsource.New(v1alpha1.ChartSource{Repository: "file://" + p, Name: "podinfo"}, chartsource.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Versions(ctx); !errors.Is(err, chartsource.ErrUnreachable) || !strings.Contains(err.Error(), p) {
			t.Errorf("Versions error = %v, want ErrUnreachable naming %s", err, p)
		}
	})

	t.Run("a cancelled context stops a source before it reads anything", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		src, err := chartsource.New(v1alpha1.ChartSource{Repository: "http://" + closed, Name: "podinfo"}, chartsource.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Versions(cctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Versions error = %v, want context.Canceled", err)
		}
	})
}

// closedAddress returns a loopback address nothing listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestChartsourcetestCharts(t *testing.T) {
	render := func(t *testing.T, spec chartsourcetest.Spec, vals map[string]interface{}) (map[string]string, error) {
		t.Helper()
		ch, err := chartsourcetest.Chart(spec)
		if err != nil {
			t.Fatal(err)
		}
		top, err := chartutil.ToRenderValues(ch, vals,
			chartutil.ReleaseOptions{Name: "demo", Namespace: "ns", IsInstall: true}, chartutil.DefaultCapabilities)
		if err != nil {
			t.Fatal(err)
		}
		return engine.Render(ch, top)
	}

	t.Run("a chart renders a configmap and a deployment from its values", func(t *testing.T) {
		out, err := render(t, chartsourcetest.Spec{Version: "1.0.0"}, map[string]interface{}{"replicaCount": 3, "message": "hi"})
		if err != nil {
			t.Fatalf("rendering failed: %v", err)
		}
		cm, deploy := out["podinfo/templates/configmap.yaml"], out["podinfo/templates/deployment.yaml"]
		for _, want := range []string{"name: demo", `message: "hi"`, `chartVersion: "1.0.0"`, `\"replicaCount\":3`} {
			if !strings.Contains(cm, want) {
				t.Errorf("configmap does not contain %s:\n%s", want, cm)
			}
		}
		if !strings.Contains(deploy, "replicas: 3") {
			t.Errorf("deployment does not have 3 replicas:\n%s", deploy)
		}
	})

	t.Run("a chart fails to render when its values say fail", func(t *testing.T) {
		if _, err := render(t, chartsourcetest.Spec{Version: "1.0.0"}, map[string]interface{}{"fail": true}); err == nil ||
			!strings.Contains(err.Error(), "was told to fail") {
			t.Errorf("rendering error = %v, want the chart's fail message", err)
		}
		if _, err := render(t, chartsourcetest.Spec{Version: "1.0.1", Values: map[string]interface{}{"fail": true}}, nil); err == nil {
			t.Errorf("a chart whose default values say fail rendered")
		}
	})
}

func TestHTTPSRepositoryTLSOptions(t *testing.T) {
	ctx := context.Background()
	dir := chartsourcetest.Charts(t, chartsourcetest.Podinfo()[:2])
	srv := httptest.NewUnstartedServer(http.FileServer(http.Dir(dir)))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	writeIndex(t, dir, srv.URL)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := v1alpha1.ChartSource{Repository: srv.URL, Name: "podinfo"}

	tests := []struct {
		name    string
		opts    chartsource.Options
		wantErr error
	}{
		{name: "an untrusted certificate makes the repository unreachable", opts: chartsource.Options{}, wantErr: chartsource.ErrUnreachable},
		{name: "a CA file that signs the certificate is trusted", opts: chartsource.Options{CAFile: caFile}},
		{name: "skipping verification accepts the certificate", opts: chartsource.Options{InsecureSkipTLSVerify: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := chartsource.New(spec, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Load(ctx, "1.4.1")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Load error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestLeadingV: charts versioned like Kubernetes ("v1.16.0", as cert-manager's are)
// are listed without the "v", load by either spelling, and keep their own version.
func TestLeadingV(t *testing.T) {
	ctx := context.Background()
	dir := chartsourcetest.Charts(t, []chartsourcetest.Spec{
		{Name: "vchart", Version: "v1.15.0", AppVersion: "v1.15.0"},
		{Name: "vchart", Version: "v1.16.0", AppVersion: "v1.16.0"},
		{Name: "vchart", Version: "v1.17.0-alpha.1", AppVersion: "v1.17.0-alpha.1"},
	})
	want := []chartsource.ChartVersion{
		{Version: "1.17.0-alpha.1", AppVersion: "v1.17.0-alpha.1", Prerelease: true},
		{Version: "1.16.0", AppVersion: "v1.16.0"},
		{Version: "1.15.0", AppVersion: "v1.15.0"},
	}
	for _, repository := range []string{chartsourcetest.ServeHTTP(t, dir), "file://" + dir} {
		t.Run(strings.SplitN(repository, ":", 2)[0], func(t *testing.T) {
			src, err := chartsource.New(v1alpha1.ChartSource{Repository: repository, Name: "vchart"}, chartsource.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := src.Versions(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Versions =\n %+v\nwant\n %+v", got, want)
			}
			for _, asked := range []string{"1.16.0", "v1.16.0"} {
				ch, err := src.Load(ctx, asked)
				if err != nil {
					t.Fatalf("Load(%s): %v", asked, err)
				}
				if ch.Metadata.Version != "v1.16.0" {
					t.Errorf("Load(%s) returned version %s, want the chart's own v1.16.0", asked, ch.Metadata.Version)
				}
			}
			if _, err := src.Load(ctx, "1.16.1"); !errors.Is(err, chartsource.ErrVersionNotFound) {
				t.Errorf("Load(1.16.1) = %v, want ErrVersionNotFound", err)
			}
		})
	}
}

// TestHTTPSIndexNamingPlainHTTPArchive: an https repository whose index sends the
// download to plain http is refused unless the index (read over https) gives the
// archive's digest, so the https repository cannot be walked around with an http
// archive that anyone on the path could swap.
func TestHTTPSIndexNamingPlainHTTPArchive(t *testing.T) {
	ctx := context.Background()
	dir := chartsourcetest.Charts(t, chartsourcetest.Podinfo()[:1])
	plain := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(plain.Close)
	idx, err := repo.IndexDirectory(dir, plain.URL)
	if err != nil {
		t.Fatal(err)
	}
	version := idx.Entries["podinfo"][0].Version
	tests := []struct {
		name    string
		digest  bool
		wantErr string
	}{
		{name: "with the digest in the index, the archive loads", digest: true},
		{name: "without a digest, it is refused", wantErr: "sends the download of chart podinfo " + version + " to plain http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			served := t.TempDir()
			for _, cv := range idx.Entries["podinfo"] {
				if !tt.digest {
					cv.Digest = ""
				}
			}
			if err := idx.WriteFile(filepath.Join(served, "index.yaml"), 0o644); err != nil {
				t.Fatal(err)
			}
			tlsSrv := httptest.NewTLSServer(http.FileServer(http.Dir(served)))
			t.Cleanup(tlsSrv.Close)
			src, err := chartsource.New(v1alpha1.ChartSource{Repository: tlsSrv.URL, Name: "podinfo"},
				chartsource.Options{InsecureSkipTLSVerify: true, CacheDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Load(ctx, version)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Load: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Load error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
