package testenv

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestProcessEndings drives small shell programs through each way a Process ends and
// checks what Stop and Kill report, so that a manager that crashes, hangs on SIGTERM or
// exits non-zero fails the tests that use it, and one killed on purpose does not.
func TestProcessEndings(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("these tests run sh: %v", err)
	}
	// ready is printed once the trap is set, so no signal arrives before it is.
	const loop = `echo ready; while :; do sleep 0.05; done`
	tests := []struct {
		name    string
		script  string
		end     func(*Process) error
		wantErr string // "" for none
		output  string // what the output must contain
	}{
		{
			name:   "a process that exits 0 on SIGTERM stops cleanly",
			script: `trap 'echo bye; exit 0' TERM; ` + loop,
			end:    func(p *Process) error { return p.Stop(10 * time.Second) },
			output: "bye",
		},
		{
			name:    "a process that exits non-zero on SIGTERM is reported",
			script:  `trap 'exit 3' TERM; ` + loop,
			end:     func(p *Process) error { return p.Stop(10 * time.Second) },
			wantErr: "exit status 3",
		},
		{
			name:    "a process that ignores SIGTERM is killed after the grace period and reported",
			script:  `trap '' TERM; ` + loop,
			end:     func(p *Process) error { return p.Stop(300 * time.Millisecond) },
			wantErr: "did not exit within 300ms of SIGTERM and was killed",
		},
		{
			name:   "a process killed on purpose is no failure, and Stop afterwards neither",
			script: `trap '' TERM; ` + loop,
			end: func(p *Process) error {
				if err := p.Kill(); err != nil {
					return err
				}
				return p.Stop(time.Second)
			},
		},
		{
			name:    "a process that crashed before Stop is reported",
			script:  `echo ready; echo boom >&2; exit 2`,
			end:     func(p *Process) error { <-p.Done(); return p.Stop(time.Second) },
			wantErr: "exit status 2",
			output:  "boom",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := StartProcess(sh, []string{"-c", tt.script}, "KUBEEXT_PROCESS_TEST=1")
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return strings.Contains(p.Output.String(), "ready") })
			err = tt.end(p)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error with %q", err, tt.wantErr)
			}
			if !p.Exited() {
				t.Error("the process still runs")
			}
			if !strings.Contains(p.Output.String(), tt.output) {
				t.Errorf("output %q lacks %q", p.Output.String(), tt.output)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if again := p.Wait(ctx); (again == nil) != (err == nil) {
				t.Errorf("Wait after the end says %v, the end said %v", again, err)
			}
		})
	}
}

// TestProcessEnvironment: the entries given win over the inherited environment.
func TestProcessEnvironment(t *testing.T) {
	t.Setenv("KUBEEXT_PROCESS_TEST", "inherited")
	p, err := StartProcess("sh", []string{"-c", `echo "value=$KUBEEXT_PROCESS_TEST"`}, "KUBEEXT_PROCESS_TEST=given")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(p.Output.String()); got != "value=given" {
		t.Errorf("the program saw %q, want value=given", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
