package azflags

import (
	"errors"
	"fmt"
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
	fs.StringArrayVar(&s.Inline, "configuration-settings", nil, "Configuration settings as key=value pairs (Helm --set paths); repeatable, several space-separated pairs per flag.")
	fs.StringArrayVar(&s.Inline, "config", nil, "Alias of --configuration-settings.")
	fs.StringVar(&s.File, "configuration-settings-file", "", "JSON or YAML file of configuration settings.")
	fs.StringVar(&s.File, "config-file", "", "Alias of --configuration-settings-file.")
	fs.StringArrayVar(&s.Protected, "configuration-protected-settings", nil, "Protected settings as key=value pairs: kept in a Secret, never shown back.")
	fs.StringArrayVar(&s.Protected, "config-protected", nil, "Alias of --configuration-protected-settings.")
	fs.StringVar(&s.ProtectedFile, "configuration-protected-settings-file", "", "JSON or YAML file of protected settings.")
	fs.StringVar(&s.ProtectedFile, "config-protected-file", "", "Alias of --configuration-protected-settings-file.")
}

// ProtectedGiven tells whether any protected-settings flag was given, even with no
// pairs: on update, an empty set deletes every protected setting.
func ProtectedGiven(changed func(string) bool) bool {
	for _, n := range []string{"configuration-protected-settings", "config-protected", "configuration-protected-settings-file", "config-protected-file"} {
		if changed(n) {
			return true
		}
	}
	return false
}

// ParsedSettings holds the settings flags' result: nil maps mean "not given".
type ParsedSettings struct {
	Settings, Protected map[string]string
}

// Parse reads the flags. On create, inline pairs and a file are mutually exclusive;
// on update the file is read first and inline keys override it. Errors never quote a
// value.
func (s *Settings) Parse(create bool, protectedGiven bool) (ParsedSettings, error) {
	var out ParsedSettings
	read := func(kind string, inline []string, file string) (map[string]string, error) {
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
			m, err := settings.ForCreate(in, fromFile)
			if errors.Is(err, settings.ErrInlineAndFile) {
				return nil, fmt.Errorf("--%s and --%s-file are mutually exclusive on create: give one of them", kind, kind)
			}
			return m, err
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
