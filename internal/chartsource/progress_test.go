package chartsource_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
)

// progressLog keeps every report of a download.
type progressLog struct {
	mu    sync.Mutex
	calls [][2]int64
}

func (l *progressLog) report(done, total int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, [2]int64{done, total})
}

func (l *progressLog) get() [][2]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][2]int64(nil), l.calls...)
}

// TestDownloadProgress: Load under WithDownloadProgress reports the chart archive's
// bytes as they arrive, growing to the archive's whole size, with the size the server
// announced, from a chart repository and from an OCI registry (the chart's layer, the
// archive itself, and not the manifest or the config blob); a chart from the cache or
// the disk reports nothing.
func TestDownloadProgress(t *testing.T) {
	specs := []chartsourcetest.Spec{{Version: "1.0.0", Values: map[string]interface{}{"padding": string(make([]byte, 64<<10))}}}
	dir := chartsourcetest.Charts(t, specs)
	archive, err := os.ReadFile(filepath.Join(dir, "podinfo-1.0.0.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(archive))
	httpURL := chartsourcetest.ServeHTTP(t, dir)
	ociRepo, regConfig := chartsourcetest.ServeOCI(t, dir)

	tests := []struct {
		name string
		repo string
		opts chartsource.Options
	}{
		{"chart repository", httpURL, chartsource.Options{}},
		{"OCI registry", ociRepo, chartsource.Options{PlainHTTP: true, RegistryConfig: regConfig}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.CacheDir = t.TempDir()
			src, err := chartsource.New(v1alpha1.ChartSource{Repository: tt.repo, Name: "podinfo"}, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var log progressLog
			ctx := chartsource.WithDownloadProgress(context.Background(), log.report)
			if _, err := src.Load(ctx, "1.0.0"); err != nil {
				t.Fatal(err)
			}
			calls := log.get()
			if len(calls) < 2 {
				t.Fatalf("%d reports of a %d-byte download, want it reported as it arrives: %v", len(calls), size, calls)
			}
			last := calls[len(calls)-1]
			if last != [2]int64{size, size} {
				t.Errorf("the last report is %d of %d, want %d of %d", last[0], last[1], size, size)
			}
			// Only the archive is counted (an OCI pull's manifest and config blob are
			// not), growing to its size.
			var prev int64
			for _, c := range calls {
				if c[1] != size || c[0] < prev || c[0] > size {
					t.Errorf("a report of %d of %d, after %d: want the archive's bytes, growing to %d: %v", c[0], c[1], prev, size, calls)
					break
				}
				prev = c[0]
			}

			var again progressLog
			if _, err := src.Load(chartsource.WithDownloadProgress(context.Background(), again.report), "1.0.0"); err != nil {
				t.Fatal(err)
			}
			if n := len(again.get()); n != 0 {
				t.Errorf("a chart from the cache reported %d downloads", n)
			}
		})
	}

	t.Run("no progress asked for, and a file source", func(t *testing.T) {
		src, err := chartsource.New(v1alpha1.ChartSource{Repository: httpURL, Name: "podinfo"}, chartsource.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Load(context.Background(), "1.0.0"); err != nil {
			t.Fatal(err)
		}
		var log progressLog
		file, err := chartsource.New(v1alpha1.ChartSource{Repository: "file://" + dir, Name: "podinfo"}, chartsource.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := file.Load(chartsource.WithDownloadProgress(context.Background(), log.report), "1.0.0"); err != nil {
			t.Fatal(err)
		}
		if n := len(log.get()); n != 0 {
			t.Errorf("a chart read from the disk reported %d downloads", n)
		}
	})
}
