package policy

import (
	"cmp"
	"slices"
	"strings"
)

// Result is one finding of a rule: its id and a message that says what to change.
type Result struct {
	ID  string `json:"id"`
	Msg string `json:"msg"`
}

// String formats the result as the webhook and the plugin show it: "[RULE-ID] message".
func (r Result) String() string {
	return "[" + r.ID + "] " + r.Msg
}

// Decision is the verdict on one write, each list sorted by id, then message.
type Decision struct {
	// Deny holds the violations of rules enforced as deny: the write is refused.
	Deny []Result `json:"deny"`
	// Warn holds the violations of rules enforced as warn, and the warnings every
	// write gets (the annotations echoed back); shown, never refusing.
	Warn []Result `json:"warn"`
	// DryRun holds the violations of rules enforced as dryrun: recorded, not shown.
	DryRun []Result `json:"dryrun"`
}

// Allowed reports whether the write may proceed.
func (d Decision) Allowed() bool { return len(d.Deny) == 0 }

// Err is nil when the write is allowed, and otherwise a *DeniedError naming every
// denying rule.
func (d Decision) Err() error {
	if d.Allowed() {
		return nil
	}
	return &DeniedError{Results: slices.Clone(d.Deny)}
}

// DeniedError is a refused write: one "[RULE-ID] message" line per denying rule.
type DeniedError struct {
	Results []Result
}

func (e *DeniedError) Error() string {
	return strings.Join(Lines(e.Results), "\n")
}

// Lines formats results as "[RULE-ID] message" lines, in order.
func Lines(results []Result) []string {
	lines := make([]string, len(results))
	for i, r := range results {
		lines[i] = r.String()
	}
	return lines
}

func sortResults(rs []Result) {
	slices.SortFunc(rs, func(a, b Result) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Msg, b.Msg))
	})
}
