package testenv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// ShortSkip is why an integration test skips under -short: the unit tier
// (`make test-unit`, `go test -short ./...`) runs without a control plane, and
// `make test` never passes -short, so there nothing is skipped.
const ShortSkip = "integration test: needs a real kube-apiserver and etcd; -short (make test-unit) skips it, make test runs it"

// RequireIntegration skips t under -short. Shared.Env calls it; a test that starts
// a control plane of its own, or runs the real binaries, calls it on its first line.
func RequireIntegration(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip(ShortSkip)
	}
}

// Shared is a test package's one control plane, started by the first test that asks
// for it, so that the package's pure tests never wait for one and `go test -short`
// needs none:
//
//	var shared = &testenv.Shared{}
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Run(m, shared)) }
//
//	func TestAgainstTheAPIServer(t *testing.T) {
//		env := shared.Env(t) // first line: starts it, or skips under -short
//		...
//	}
//
// A control plane that cannot start fails every test that asks for it, with the
// reason; it never skips.
type Shared struct {
	// Options shape the control plane.
	Options Options
	// Setup, when set, runs once right after the control plane starts, e.g. to start
	// a webhook that serves it. The teardown it returns runs before the control plane
	// stops.
	Setup func(*Env) (teardown func() error, err error)

	once     sync.Once
	env      *Env
	teardown func() error
	err      error
}

// Env returns the running control plane, starting it on the first call. Under -short
// it skips t instead.
func (s *Shared) Env(t testing.TB) *Env {
	t.Helper()
	RequireIntegration(t)
	s.once.Do(s.start)
	if s.err != nil {
		t.Fatalf("testenv: %v", s.err)
	}
	return s.env
}

func (s *Shared) start() {
	e, err := Start(s.Options)
	if err != nil {
		s.err = err
		return
	}
	if s.Setup != nil {
		teardown, err := s.Setup(e)
		if err != nil {
			s.err = errors.Join(fmt.Errorf("setting up the control plane: %w", err), e.Stop())
			return
		}
		s.teardown = teardown
	}
	s.env = e
}

// Close runs the Setup's teardown and stops the control plane, if a test started it.
func (s *Shared) Close() error {
	var errs []error
	if s.teardown != nil {
		errs = append(errs, s.teardown())
	}
	if s.env != nil {
		errs = append(errs, s.env.Stop())
	}
	return errors.Join(errs...)
}

// Binaries are the project's commands (e.g. "kubectl-ext" for ./cmd/kubectl-ext),
// built into a directory of their own by the first test that asks for them, so tests
// run the real binaries as users do and pure tests do not wait for a build.
type Binaries struct {
	// Names are the directories under cmd/ to build.
	Names []string
	// Tags are build tags for them (e.g. "failpoints"); none builds what ships.
	Tags []string

	once   sync.Once
	dir    string
	err    error
	closed bool
}

// Dir returns the directory holding the built commands, building them on the first call.
func (b *Binaries) Dir(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "kubeext-bin-")
		if b.err == nil {
			b.err = BuildTagged(b.dir, b.Tags, b.Names...)
		}
	})
	if b.err != nil {
		t.Fatalf("testenv: %v", b.err)
	}
	if b.closed {
		// The directory is gone: a test that closed them (instead of TestMain) would
		// leave the next test's kubectl without its plugin.
		t.Fatalf("testenv: the binaries %v were used after Close; close them in TestMain (Run)", b.Names)
	}
	return b.dir
}

// Close removes the built commands; they are not to be used after it (Run calls it
// once the package's tests are done).
func (b *Binaries) Close() error {
	b.closed = true
	if b.dir == "" {
		return nil
	}
	return os.RemoveAll(b.dir)
}

// Run is the body of a TestMain: it runs the package's tests, then closes what they
// started (a Shared control plane, Binaries), and fails the package when closing does.
func Run(m *testing.M, closers ...io.Closer) int {
	code := m.Run()
	for _, c := range closers {
		if err := c.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// ScratchChartCache moves XDG_CACHE_HOME, where the plugin and the extension manager
// cache the charts they download, to a new scratch directory for the package's tests
// (and the processes they start), after pinning the control plane's asset cache and
// Go's build cache to where they are: Go's default build cache lives under
// XDG_CACHE_HOME too, and without the pin every `go build` of the binaries under test
// started from an empty cache. The returned function removes the directory.
func ScratchChartCache() (cleanup func(), err error) {
	if os.Getenv(CacheDirEnv) == "" {
		if root, err := CacheRoot(); err == nil {
			os.Setenv(CacheDirEnv, root)
		}
	}
	if os.Getenv("GOCACHE") == "" {
		out, err := exec.Command("go", "env", "GOCACHE").Output()
		if err != nil {
			return nil, fmt.Errorf("finding Go's build cache: %w", err)
		}
		os.Setenv("GOCACHE", strings.TrimSpace(string(out)))
	}
	dir, err := os.MkdirTemp("", "kubeext-cache-")
	if err != nil {
		return nil, err
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	return func() { os.RemoveAll(dir) }, nil
}

// BuildTagged is BuildCommands with build tags (none: BuildCommands itself), for a
// test that runs a build of the plugin what ships does not have, e.g. one that stops
// at failpoints (internal/failpoint).
func BuildTagged(dir string, tags []string, names ...string) error {
	if len(tags) == 0 {
		return BuildCommands(dir, names...)
	}
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	for _, n := range names {
		cmd := exec.Command("go", "build", "-tags", strings.Join(tags, ","), "-o", filepath.Join(dir, n), "./cmd/"+n)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build -tags %s ./cmd/%s: %w\n%s", strings.Join(tags, ","), n, err, out)
		}
	}
	return nil
}
