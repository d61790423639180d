package azflags

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubeext/kubectl-ext/internal/lifecycle"
	"github.com/kubeext/kubectl-ext/internal/settings"
)

// Settings are the four settings flags of create and update, with az's names and
// their short aliases.
type Settings struct {
	Inline, Protected   []string
	File, ProtectedFile string
}

// AddFlags registers the settings flags and their aliases on fs.
func (s *Settings) AddFlags(fs *pflag.FlagSet) {
	fs.Var(pairs{&s.Inline}, "configuration-settings", "Configuration settings as key=value pairs (Helm --set paths); repeatable, several space-separated pairs per flag.")
	fs.Var(pairs{&s.Inline}, "config", "Alias of --configuration-settings.")
	fs.Var(pairs{&s.Inline}, "config-settings", "Alias of --configuration-settings.")
	fs.StringVar(&s.File, "configuration-settings-file", "", "JSON or YAML file of configuration settings.")
	fs.StringVar(&s.File, "config-file", "", "Alias of --configuration-settings-file.")
	fs.StringVar(&s.File, "config-settings-file", "", "Alias of --configuration-settings-file.")
	fs.Var(pairs{&s.Protected}, "configuration-protected-settings", "Protected settings as key=value pairs: kept in a Secret, never shown back.")
	fs.Var(pairs{&s.Protected}, "config-protected", "Alias of --configuration-protected-settings.")
	fs.Var(pairs{&s.Protected}, "config-protected-settings", "Alias of --configuration-protected-settings.")
	fs.StringVar(&s.ProtectedFile, "configuration-protected-settings-file", "", "JSON or YAML file of protected settings.")
	fs.StringVar(&s.ProtectedFile, "config-protected-file", "", "Alias of --configuration-protected-settings-file.")
	fs.StringVar(&s.ProtectedFile, "config-protected-settings-file", "", "Alias of --configuration-protected-settings-file.")
}

// pairs is the value of the inline settings flags, which every alias appends to:
// pflag's StringArray replaces the slice on each flag's first use, so with it
// `--config a=1 --configuration-settings b=2` would lose a=1.
type pairs struct{ v *[]string }

func (p pairs) Set(s string) error { *p.v = append(*p.v, s); return nil }
func (p pairs) Type() string       { return "stringArray" }
func (p pairs) String() string     { return strings.Join(*p.v, " ") }

// The names of the protected-settings flags, az's and their aliases (az renamed them
// over time and still takes every name).
var protectedFlags = []string{
	"configuration-protected-settings", "config-protected", "config-protected-settings",
	"configuration-protected-settings-file", "config-protected-file", "config-protected-settings-file",
}

// ProtectedGiven tells whether any protected-settings flag was given, even with no
// pairs: on update, an empty set deletes every protected setting.
func ProtectedGiven(changed func(string) bool) bool {
	return slices.ContainsFunc(protectedFlags, changed)
}

// ParsedSettings holds the settings flags' result: nil maps mean "not given".
type ParsedSettings struct {
	Settings, Protected map[string]string
}

// Parse reads the flags. Inline pairs and a file are mutually exclusive, on create and
// on update alike, as az documents them (for settings and protected settings each);
// the check is on the flags given, so an empty file or pair list counts. Errors never
// quote a value.
func (s *Settings) Parse(create bool, protectedGiven bool) (ParsedSettings, error) {
	var out ParsedSettings
	read := func(kind string, inline []string, file string) (map[string]string, error) {
		if len(inline) > 0 && file != "" {
			return nil, fmt.Errorf("--%s and --%s-file are mutually exclusive: give the settings inline or in a file, not both", kind, kind)
		}
		in, err := settings.ParsePairs(inline)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", kind, err)
		}
		var fromFile map[string]string
		if file != "" {
			if fromFile, err = settings.ParseFile(file); err != nil {
				return nil, fmt.Errorf("--%s-file: %w", kind, err)
			}
		}
		if create {
			return settings.ForCreate(in, fromFile)
		}
		return settings.ForUpdate(in, fromFile), nil
	}
	var err error
	if out.Settings, err = read("configuration-settings", s.Inline, s.File); err != nil {
		return out, err
	}
	if out.Protected, err = read("configuration-protected-settings", s.Protected, s.ProtectedFile); err != nil {
		return out, err
	}
	switch {
	case !protectedGiven:
		out.Protected = nil // not given: no Secret on create, unchanged on update
	case out.Protected == nil:
		out.Protected = map[string]string{}
	}
	return out, nil
}

// Wait is --no-wait and --timeout.
type Wait struct {
	NoWait  bool
	Timeout time.Duration
}

// AddFlags registers --no-wait and --timeout on fs.
func (w *Wait) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&w.NoWait, "no-wait", false, "Do not wait for the extension's workloads to become ready; return once Helm has applied the release.")
	fs.DurationVar(&w.Timeout, "timeout", 5*time.Minute, "How long to wait for the Helm operation and, without --no-wait, for readiness.")
}

// Validate refuses a timeout that would end every wait at once.
func (w *Wait) Validate() error {
	if w.Timeout <= 0 {
		return fmt.Errorf("--timeout must be positive, not %s", w.Timeout)
	}
	return nil
}

// ParseDryRun reads --dry-run the way kubectl does.
func ParseDryRun(v string) (lifecycle.DryRun, error) {
	switch strings.ToLower(v) {
	case "", "none", "false":
		return lifecycle.DryRunNone, nil
	case "client", "true":
		return lifecycle.DryRunClient, nil
	case "server":
		return lifecycle.DryRunServer, nil
	}
	return "", fmt.Errorf(`--dry-run must be "none", "client" or "server", not %q`, v)
}

// ParseBool reads az-style true/false flag values.
func ParseBool(flag, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "1":
		return true, nil
	case "false", "no", "0":
		return false, nil
	}
	return false, fmt.Errorf("--%s must be true or false, not %q", flag, v)
}
