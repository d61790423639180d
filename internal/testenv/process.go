package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is a long-running command a test started beside itself, such as the
// extension manager built by Binaries: its output is collected for the test's
// failure messages, and it ends as a Deployment's pod ends (SIGTERM, then SIGKILL
// after a grace period; see Stop) or as a crashed node ends it (SIGKILL at once; see
// Kill).
type Process struct {
	// Output is everything the process wrote, stdout and stderr interleaved as written.
	Output SyncBuffer

	cmd  *exec.Cmd
	done chan struct{}
	// err is how the process ended (cmd.Wait's error), set before done is closed.
	err error

	mu sync.Mutex
	// killed is set once the test sent SIGKILL on purpose, so that the signal's exit
	// is not reported as a failure of the process.
	killed bool
}

// StartProcess starts the program at path with args. Its environment is the test
// process's plus env ("KEY=value" entries, which win over inherited ones).
func StartProcess(path string, args []string, env ...string) (*Process, error) {
	p := &Process{done: make(chan struct{})}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &p.Output, &p.Output
	// Output is not a file, so exec copies it through pipes; a grandchild that kept
	// them open would otherwise hold Wait (and so the test) forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	p.cmd = cmd
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has ended.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited tells whether the process has ended, for whatever reason.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits until the process ends or ctx is done, and returns how it ended: nil
// for exit status 0 or the SIGKILL of Kill, else the exit error.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.result()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Process) result() error {
	p.mu.Lock()
	killed := p.killed
	p.mu.Unlock()
	if killed {
		return nil
	}
	if p.err != nil {
		return fmt.Errorf("%s: %w", p.cmd.Path, p.err)
	}
	return nil
}

// Kill sends SIGKILL, as a node that dies or an OOM kill would, and waits until the
// process is gone. The process gets no chance to clean up (release a lease, finish a
// step): that is what a test of recovery wants.
func (p *Process) Kill() error {
	p.mu.Lock()
	p.killed = !p.Exited()
	p.mu.Unlock()
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing %s: %w", p.cmd.Path, err)
	}
	<-p.done
	return nil
}

// Stop ends the process as the kubelet ends a pod: SIGTERM, then SIGKILL if it is
// still running after grace. It returns nil only when the process exited with status
// 0 within grace (or had been killed with Kill); a process that crashed before Stop,
// exited non-zero on SIGTERM, or had to be killed is an error naming what happened,
// since a graceful shutdown is part of what a server promises.
func (p *Process) Stop(grace time.Duration) error {
	if p.Exited() {
		return p.result()
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signalling %s: %w", p.cmd.Path, err)
	}
	select {
	case <-p.done:
		return p.result()
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("%s did not exit within %s of SIGTERM and was killed", p.cmd.Path, grace)
}
