package cli_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
)

// faultyRepo is a chart repository on loopback whose index is served as it is and
// whose chart archives are served according to fault: "" as they are, "500" as an
// internal server error, "hang" never (until the request is given up), "truncated" cut
// in half, "digest" as another version's archive, which the index's digest refuses.
type faultyRepo struct {
	url   string
	fault atomic.Value // string
}

func serveFaultyRepo(t *testing.T) *faultyRepo {
	t.Helper()
	dir := chartsourcetest.Charts(t, chartsourcetest.Podinfo())
	r := &faultyRepo{}
	r.fault.Store("")
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !strings.HasSuffix(req.URL.Path, ".tgz") {
			files.ServeHTTP(w, req)
			return
		}
		switch r.fault.Load().(string) {
		case "500":
			http.Error(w, "the repository is broken", http.StatusInternalServerError)
		case "hang":
			<-req.Context().Done()
		case "truncated":
			data, err := os.ReadFile(filepath.Join(dir, filepath.Base(req.URL.Path)))
			if err != nil {
				http.NotFound(w, req)
				return
			}
			_, _ = w.Write(data[:len(data)/2])
		case "digest":
			other := "podinfo-1.4.1.tgz"
			if filepath.Base(req.URL.Path) == other {
				other = "podinfo-1.4.0.tgz"
			}
			http.ServeFile(w, req, filepath.Join(dir, other))
		default:
			files.ServeHTTP(w, req)
		}
	}))
	t.Cleanup(srv.Close)
	chartsourcetest.WriteIndex(t, dir, srv.URL)
	r.url = srv.URL
	return r
}

// Reliability matrix: the chart repository fails
//
// TestChartRepositoryFaults (issue 15's chart repository rows): when the chart cannot
// be fetched, create fails with an error that says so, and the cluster is unchanged:
// no Extension, Namespace, Secret or release. An update of an installed extension to a
// version that cannot be fetched leaves the extension and its release as they were.
func TestChartRepositoryFaults(t *testing.T) {
	requireEnv(t)
	r := serveFaultyRepo(t)
	typ := recordType(t, v1alpha1.ChartSource{Repository: r.url, Name: "podinfo"})
	// Installed at 1.4.0 while the repository works, for the update rows.
	installed, installedNS := uniq("faults"), uniq("faults-ns")
	mustKext(t, "create", installed, "--extension-type", typ, "--release-namespace", installedNS, "--no-wait",
		"--auto-upgrade", "false", "--version", "1.4.0")
	tests := []struct {
		fault string
		// want is what the error must say.
		want string
	}{
		{"500", "500"},
		{"hang", "deadline"},
		{"truncated", "podinfo"},
		{"digest", "digest"},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			r.fault.Store(tt.fault)
			defer r.fault.Store("")
			run := func(args ...string) (exit int, stderr string) {
				t.Helper()
				// A hung download must end with the command's --timeout, not hang it.
				ctx, cancel := context.WithTimeout(testCtx(t), 90*time.Second)
				defer cancel()
				res, err := env.Kubectl(ctx, binDir, append([]string{"ext"}, args...)...)
				if err != nil {
					t.Fatalf("kubectl ext %s: %v", strings.Join(args, " "), err)
				}
				return res.ExitCode, res.Stderr
			}
			name, ns := uniq("faults"), uniq("faults-ns")
			exit, stderr := run("create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait",
				"--auto-upgrade", "false", "--version", "1.4.1", "--config-protected", "apiKey=k", "--timeout", "5s")
			if exit == 0 || !strings.Contains(stderr, tt.want) {
				t.Errorf("create: exit %d, want a failure saying %q:\n%s", exit, tt.want, stderr)
			}
			wantNothingWritten(t, name, ns)

			before := getExt(t, installed)
			exit, stderr = run("update", installed, "--version", "1.4.1", "--no-wait", "--timeout", "5s")
			if exit == 0 || !strings.Contains(stderr, tt.want) {
				t.Errorf("update: exit %d, want a failure saying %q:\n%s", exit, tt.want, stderr)
			}
			after := getExt(t, installed)
			if after.ResourceVersion != before.ResourceVersion || after.Status.CurrentVersion != "1.4.0" {
				t.Errorf("update changed the extension: resourceVersion %s -> %s, version %s", before.ResourceVersion, after.ResourceVersion, after.Status.CurrentVersion)
			}
			if h := history(t, installed, installedNS); len(h) != 1 {
				t.Errorf("the release has %d revisions, want the one it had", len(h))
			}
		})
	}
}
