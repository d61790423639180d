package azflags

import (
	"regexp"
	"strings"
)

// pairFlags take several space-separated key=value pairs after one flag, as az's do.
var pairFlags = map[string]bool{
	"--configuration-settings": true, "--config": true, "--config-settings": true,
	"--configuration-protected-settings": true, "--config-protected": true, "--config-protected-settings": true,
}

var pairArg = regexp.MustCompile(`^[^-=\s][^=\s]*=`)

// NormalizeArgs turns az's `--config a=1 b=2` into `--config a=1 --config b=2`, so
// cobra sees each pair as a flag value and not as a positional argument. Only words
// that look like key=value directly after such a flag are taken; the first other word
// (a NAME, another flag) ends the run. "--" ends normalisation.
func NormalizeArgs(args []string) []string {
	out := make([]string, 0, len(args))
	current := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, _, hasValue := strings.Cut(a, "=")
		switch {
		case pairFlags[a] && i+1 < len(args):
			current = a
			out = append(out, a, args[i+1])
			i++
		case strings.HasPrefix(a, "--") && hasValue && pairFlags[name]:
			current = name
			out = append(out, a)
		case current != "" && pairArg.MatchString(a):
			out = append(out, current, a)
		default:
			current = ""
			out = append(out, a)
		}
	}
	return out
}
