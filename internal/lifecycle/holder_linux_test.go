package lifecycle

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestParseStartTime(t *testing.T) {
	// Fields 3..21 of a real /proc/PID/stat line, then the start time (22) and more.
	const rest = " S 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 403011 3133440 390"
	tests := []struct {
		name    string
		stat    string
		want    uint64
		wantErr string
	}{
		{name: "a plain command name", stat: "4242 (kubectl-ext)" + rest, want: 403011},
		{name: "a name with spaces and parentheses", stat: "4242 (a) (b c))" + rest, want: 403011},
		{name: "no closing parenthesis", stat: "4242 kubectl-ext S 1", wantErr: "malformed /proc stat line"},
		{name: "cut short", stat: "4242 (kubectl-ext) S 1 1", wantErr: "fields after the name"},
		{name: "not a number", stat: "4242 (x)" + strings.Replace(rest, "403011", "soon", 1), wantErr: "malformed start time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := parseStartTime([]byte(tt.stat))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !ok || got != tt.want {
				t.Fatalf("got %d, %v, %v; want %d", got, ok, err, tt.want)
			}
		})
	}
}

// TestLocalProcesses reads this machine's /proc: this process is identified, a child
// that has exited is gone, and the shortcut holds for it but not for us.
func TestLocalProcesses(t *testing.T) {
	p := localProcesses{}
	self, ok := p.Self()
	if !ok {
		t.Fatal("this process cannot identify itself from /proc")
	}
	if self.BootID == "" || !strings.HasPrefix(self.PIDNamespace, "pid:[") || self.PID != os.Getpid() || self.StartTime == 0 || self.UID != os.Getuid() {
		t.Fatalf("Self: %+v", self)
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child := cmd.Process.Pid
	childStart, running, err := p.StartTime(child)
	if err != nil || !running || childStart < self.StartTime {
		t.Fatalf("the running child: start %d (ours %d), exists %v, %v", childStart, self.StartTime, running, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, exists, err := p.StartTime(child); exists || err != nil {
		t.Fatalf("the reaped child still exists (%v, %v)", exists, err)
	}

	lk := locker{processes: p}
	for _, tt := range []struct {
		name     string
		pid      int
		start    uint64
		wantGone bool
	}{
		{name: "this process", pid: self.PID, start: self.StartTime},
		{name: "the exited child", pid: child, start: childStart, wantGone: true},
	} {
		rec := self
		rec.Holder, rec.PID, rec.StartTime = "h", tt.pid, tt.start
		lease := leaseWithRecord(t, rec)
		if got := lk.holderGone(lease, "h"); got != tt.wantGone {
			t.Errorf("%s: gone %v, want %v", tt.name, got, tt.wantGone)
		}
	}
}
