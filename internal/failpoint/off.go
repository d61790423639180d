//go:build !failpoints

package failpoint

import "context"

// Enabled reports whether this is a failpoints build.
const Enabled = false

// Hit is the failpoint step; in a production build it does nothing and reports false.
func Hit(context.Context, string) bool { return false }

// HitProcess is Hit with the context SetProcessContext gave; nothing here.
func HitProcess(string) bool { return false }

// SetProcessContext gives HitProcess its context; nothing here.
func SetProcessContext(context.Context) {}
