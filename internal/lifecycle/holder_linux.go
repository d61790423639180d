package lifecycle

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// localProcesses reads this machine's processes from /proc.
type localProcesses struct{}

// Self is this process: the kernel's boot id (random at every boot, so a PID of
// another boot or another machine never matches), our PID namespace, user, PID and
// start time. It is false when /proc does not show this process under our own PID,
// i.e. when /proc belongs to another PID namespace and its PIDs are not ours.
func (localProcesses) Self() (processID, bool) {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return processID{}, false
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return processID{}, false
	}
	self, err := os.Readlink("/proc/self")
	if err != nil || self != strconv.Itoa(os.Getpid()) {
		return processID{}, false
	}
	start, exists, err := (localProcesses{}).StartTime(os.Getpid())
	if err != nil || !exists {
		return processID{}, false
	}
	return processID{BootID: strings.TrimSpace(string(boot)), PIDNamespace: ns, UID: os.Getuid(), PID: os.Getpid(), StartTime: start}, true
}

// StartTime reads field 22 of /proc/PID/stat, the start time in clock ticks after
// boot. The second field (the command name) may hold spaces and parentheses, so the
// fields are counted after its last ')'.
func (localProcesses) StartTime(pid int) (uint64, bool, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return parseStartTime(b)
}

func parseStartTime(stat []byte) (uint64, bool, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, false, fmt.Errorf("malformed /proc stat line %q", stat)
	}
	// After ")" come field 3 (state) onwards; the start time is field 22.
	fields := strings.Fields(string(stat[end+1:]))
	const startField = 22 - 3
	if len(fields) <= startField {
		return 0, false, fmt.Errorf("malformed /proc stat line %q: %d fields after the name", stat, len(fields))
	}
	start, err := strconv.ParseUint(fields[startField], 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("malformed start time in /proc stat line: %w", err)
	}
	return start, true, nil
}
