package settings

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// Redacted replaces a protected value in text that is shown or stored.
const Redacted = "[redacted]"

// Redact replaces every occurrence of each secret in s with Redacted: the value as
// given, as Go's %q and JSON quote it (Helm and the API server quote values in their
// errors), and its lines one by one (a multi-line value may be quoted a line at a
// time). Longer forms go first, so a secret that contains another is replaced whole.
// Empty secrets are skipped; a short secret redacts every occurrence of it, which can
// blank unrelated text, but a message that says too little beats one that leaks.
func Redact(s string, secrets []string) string {
	if s == "" || len(secrets) == 0 {
		return s
	}
	seen := map[string]bool{}
	var forms []string
	add := func(f string) {
		if f != "" && !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	for _, v := range secrets {
		add(v)
		add(strings.Trim(strconv.Quote(v), `"`))
		if b, err := json.Marshal(v); err == nil {
			add(strings.Trim(string(b), `"`))
		}
		for _, line := range strings.Split(v, "\n") {
			add(strings.TrimSpace(line))
		}
	}
	// One pass, longest form first where several match at one place: replacing form
	// by form would find short secrets inside the Redacted already written.
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Redacted)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// Truncate shortens s to at most max bytes, cut at a rune boundary, ending in a note
// that says it was cut; max is a schema's maxLength (which counts characters, never
// fewer than bytes).
func Truncate(s string, max int) string {
	const note = " ... [truncated]"
	if len(s) <= max {
		return s
	}
	if max <= len(note) {
		return note[:max]
	}
	cut := max - len(note)
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + note
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
