//go:build failpoints

package failpoint_test

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kubeext/kubectl-ext/internal/failpoint"
)

// TestHit (go test -tags failpoints): a step the environment does not name passes at
// once; the named one prints its marker and waits for the context, once; later hits
// pass.
func TestHit(t *testing.T) {
	t.Setenv(failpoint.Env, "update/"+failpoint.AfterExtensionWrite)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	t.Cleanup(func() { os.Stderr = stderr })

	if failpoint.Hit(context.Background(), failpoint.BeforeExtensionWrite) {
		t.Fatal("stopped at a step the environment does not name")
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan bool)
	go func() { stopped <- failpoint.Hit(ctx, failpoint.AfterExtensionWrite) }()
	select {
	case <-stopped:
		t.Fatal("the named step did not wait for its context")
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if !<-stopped {
		t.Fatal("the named step reports it did not stop")
	}
	if failpoint.Hit(context.Background(), failpoint.AfterExtensionWrite) {
		t.Fatal("stopped a second time")
	}
	os.Stderr = stderr
	w.Close()
	out, _ := io.ReadAll(r)
	if want := "failpoint update/after-extension-write reached\n"; !strings.HasPrefix(string(out), want) {
		t.Fatalf("stderr %q, want it to start with %q", out, want)
	}
}
