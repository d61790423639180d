//go:build unix

package lifecycle

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// holderGone reports whether a holder (user@host/pid-suffix) ran on this host and
// its process no longer exists: a killed command need not wait out its lease.
func holderGone(holder string) bool {
	at := strings.LastIndex(holder, "@")
	slash := strings.LastIndex(holder, "/")
	dash := strings.LastIndex(holder, "-")
	if at < 0 || slash < at || dash < slash {
		return false
	}
	host, _ := os.Hostname()
	if holder[at+1:slash] != host {
		return false
	}
	pid, err := strconv.Atoi(holder[slash+1 : dash])
	if err != nil || pid <= 0 {
		return false
	}
	err = syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}
