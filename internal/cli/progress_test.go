package cli_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// liveMarks are what live progress writes and plain progress lines never do: the
// redraw of a line in place, and the counts it draws.
var liveMarks = []string{"\r", "\x1b[", "KiB", "objects ready"}

// progressCreate is a create that downloads a chart from a chart repository and then
// waits for its Deployment, which never becomes ready on this control plane (it runs
// no controllers): the wait ends at --timeout with the Deployment not ready.
func progressCreate(t *testing.T) []string {
	t.Helper()
	typ := httpType(t, []chartsourcetest.Spec{{Version: "1.0.0"}})
	return []string{"ext", "create", uniq("progress"), "-t", typ, "--timeout", "4s"}
}

// TestProgressQuietInPipes: through the real kubectl, with stderr a pipe (as in every
// test), a create that downloads a chart and waits for its objects prints its plain
// progress lines and nothing of live progress.
func TestProgressQuietInPipes(t *testing.T) {
	requireEnv(t)
	args := progressCreate(t)
	res := kext(t, args[1:]...)
	if res.ExitCode == 0 {
		t.Fatalf("the create succeeded although its Deployment cannot become ready here:\n%s", res.Stderr)
	}
	for _, want := range []string{"Downloading chart podinfo 1.0.0", "and waiting for its workloads to be ready"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stderr does not say %q (the step this test is about did not run):\n%s", want, res.Stderr)
		}
	}
	for _, mark := range liveMarks {
		if strings.Contains(res.Stderr, mark) {
			t.Errorf("stderr, a pipe, has live progress (%q):\n%q", mark, res.Stderr)
		}
	}
}

// kubectlOnTerminal runs the real kubectl with stderr on a pseudo-terminal, and
// returns what the terminal received.
func kubectlOnTerminal(t *testing.T, args ...string) (stderr string, exit int) {
	t.Helper()
	kubectl, err := testenv.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	ptm, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	defer ptm.Close()
	if err := pty.Setsize(ptm, &pty.Winsize{Rows: 40, Cols: 200}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testCtx(t), kubectl, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig,
		"PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"), "TERM=xterm")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close() // the child holds it now; the master reads EOF (EIO) once it exits
	var got bytes.Buffer
	read := make(chan struct{})
	go func() {
		_, _ = io.Copy(&got, ptm) // ends in EIO when the child's end closes
		close(read)
	}()
	err = cmd.Wait()
	<-read
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		exit = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return got.String(), exit
}

// TestProgressOnTerminal: through the real kubectl, with stderr a terminal, the same
// create draws the download's bytes and the wait's ready objects in place, ends each
// with a line that stays (the download's size; the objects not ready, named), and
// keeps its plain lines; with -o it draws none.
func TestProgressOnTerminal(t *testing.T) {
	requireEnv(t)
	tests := []struct {
		name     string
		output   []string
		wantLive bool
	}{
		{"no -o", nil, true},
		{"-o name", []string{"-o", "name"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(progressCreate(t), tt.output...)
			screen, exit := kubectlOnTerminal(t, args...)
			t.Logf("the terminal got %q", screen)
			if exit == 0 {
				t.Fatalf("the create succeeded although its Deployment cannot become ready here:\n%q", screen)
			}
			if !strings.Contains(screen, "Downloading chart podinfo 1.0.0") || !strings.Contains(screen, "Installing release") {
				t.Errorf("the plain progress lines are missing:\n%q", screen)
			}
			if !tt.wantLive {
				for _, mark := range []string{"\x1b[", "KiB", "objects ready"} {
					if strings.Contains(screen, mark) {
						t.Errorf("live progress (%q) with -o:\n%q", mark, screen)
					}
				}
				return
			}
			for _, want := range []string{
				"\r\x1b[K",                        // a line redrawn in place
				"Downloaded chart podinfo 1.0.0:", // the download's final line, with its size
				"Waiting for release ",            // the wait, drawn while Helm waits
				" objects ready; not ready: Deployment/",
			} {
				if !strings.Contains(screen, want) {
					t.Errorf("the terminal did not get %q:\n%q", want, screen)
				}
			}
		})
	}
}
