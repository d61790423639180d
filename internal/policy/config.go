package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/yaml"
)

// Mode is how a rule's violations are enforced.
type Mode string

// The enforcement modes.
const (
	// ModeDeny refuses the write (the default for every rule).
	ModeDeny Mode = "deny"
	// ModeWarn lets the write through and shows the violation as a warning.
	ModeWarn Mode = "warn"
	// ModeDryRun lets the write through and only records the violation.
	ModeDryRun Mode = "dryrun"
)

// DefaultProtectedNamespaces are refused as release or target namespace when the
// configuration names none.
var DefaultProtectedNamespaces = []string{"kube-system", "kube-public", "kube-node-lease", DefaultOwnNamespace}

// DefaultOwnNamespace is the namespace the webhook runs in unless told otherwise
// (manifests/webhook).
const DefaultOwnNamespace = "kubeext-system"

// AlwaysProtectedNamespaces are protected whatever the configuration says, even an
// explicit empty list: kube-system, which holds the cluster's own components, and own,
// the webhook's namespace (DefaultOwnNamespace when empty), where an extension could
// replace the webhook that judges it.
func AlwaysProtectedNamespaces(own string) []string {
	if own == "" {
		own = DefaultOwnNamespace
	}
	if own == "kube-system" {
		return []string{"kube-system"}
	}
	return []string{"kube-system", own}
}

// Config is the policy configuration, read from YAML (a ConfigMap in the cluster):
//
//	enforcement:
//	  EXT-UPGRADE-001: warn        # deny (default) | warn | dryrun
//	protectedNamespaces: [kube-system, kube-public, kube-node-lease, kubeext-system]
//	versionConstraints:
//	  example.podinfo: {requirePinned: true, constraint: "~1.4"}
//
// The zero Config enforces every rule as deny and protects DefaultProtectedNamespaces.
type Config struct {
	// Enforcement sets the mode of a rule by id; rules not named are denied.
	Enforcement map[string]Mode `json:"enforcement,omitempty"`
	// ProtectedNamespaces replaces DefaultProtectedNamespaces when set. Whatever it
	// says, the engine adds AlwaysProtectedNamespaces: kube-system and the webhook's
	// own namespace.
	ProtectedNamespaces []string `json:"protectedNamespaces,omitempty"`
	// VersionConstraints holds per-type version rules, by extension type name.
	VersionConstraints map[string]VersionConstraint `json:"versionConstraints,omitempty"`
}

// VersionConstraint holds the version rules of one extension type.
type VersionConstraint struct {
	// RequirePinned refuses extensions of the type that are not pinned to a version
	// (EXT-VERSION-006).
	RequirePinned bool `json:"requirePinned,omitempty"`
	// Constraint is a Masterminds/semver constraint ("~1.4", ">=1.4.0 <2.0.0") every
	// version of the type must satisfy (EXT-VERSION-007).
	Constraint string `json:"constraint,omitempty"`
}

// LoadConfig reads and validates a configuration file against the embedded policies.
func LoadConfig(path string) (Config, error) {
	data, err := readFile(path)
	if err != nil {
		return Config{}, err
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("policy configuration %s: %w", path, err)
	}
	return cfg, nil
}

func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy configuration: %w", err)
	}
	return data, nil
}

// ParseConfig reads and validates a YAML (or JSON) configuration against the rules
// of the embedded policies. Unknown fields, unknown rule ids, bad modes and bad
// constraints are errors.
func ParseConfig(data []byte) (Config, error) {
	set, err := embeddedModules()
	if err != nil {
		return Config{}, err
	}
	return parseConfig(data, set)
}

func parseConfig(data []byte, set *moduleSet) (Config, error) {
	var cfg Config
	if len(bytes.TrimSpace(data)) == 0 {
		return cfg, nil
	}
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("parse: %w", err)
	}
	if err := cfg.validate(set); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks the configuration against the rules of the embedded policies.
func (c Config) Validate() error {
	set, err := embeddedModules()
	if err != nil {
		return err
	}
	return c.validate(set)
}

var namespaceName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func (c Config) validate(set *moduleSet) error {
	var errs []error
	for _, id := range sortedKeys(c.Enforcement) {
		mode := c.Enforcement[id]
		switch {
		case slices.Contains(set.warningIDs, id):
			errs = append(errs, fmt.Errorf("enforcement: %s is a warning, always shown; only rules can be enforced", id))
		case !slices.Contains(set.ruleIDs, id):
			errs = append(errs, fmt.Errorf("enforcement: unknown rule %q (known rules: %s)", id, strings.Join(set.ruleIDs, ", ")))
		}
		switch mode {
		case ModeDeny, ModeWarn, ModeDryRun:
		case "true", "false":
			errs = append(errs, fmt.Errorf("enforcement: %s: mode %q is not one of deny, warn, dryrun (YAML reads on, off, yes and no as booleans)", id, mode))
		default:
			errs = append(errs, fmt.Errorf("enforcement: %s: mode %q is not one of deny, warn, dryrun", id, mode))
		}
	}
	for i, ns := range c.ProtectedNamespaces {
		if len(ns) > 63 || !namespaceName.MatchString(ns) {
			errs = append(errs, fmt.Errorf("protectedNamespaces[%d]: %q is not a namespace name", i, ns))
		}
	}
	for _, typ := range sortedKeys(c.VersionConstraints) {
		vc := c.VersionConstraints[typ]
		if typ == "" {
			errs = append(errs, errors.New("versionConstraints: empty extension type name"))
		}
		if vc.Constraint != "" {
			if _, err := semver.NewConstraint(vc.Constraint); err != nil {
				errs = append(errs, fmt.Errorf("versionConstraints: %s: constraint %q: %w", typ, vc.Constraint, err))
			}
		}
	}
	return errors.Join(errs...)
}

// document is the configuration as the policies read it at input.config, with the
// always protected namespaces added to the configured (or default) ones.
func (c Config) document(alwaysProtected []string) map[string]any {
	enforcement := make(map[string]any, len(c.Enforcement))
	for id, m := range c.Enforcement {
		enforcement[id] = string(m)
	}
	protected := c.ProtectedNamespaces
	if protected == nil {
		protected = DefaultProtectedNamespaces
	}
	var namespaces []any
	for _, ns := range slices.Concat(alwaysProtected, protected) {
		if !slices.Contains(namespaces, any(ns)) {
			namespaces = append(namespaces, ns)
		}
	}
	constraints := make(map[string]any, len(c.VersionConstraints))
	for typ, vc := range c.VersionConstraints {
		constraints[typ] = map[string]any{"requirePinned": vc.RequirePinned, "constraint": vc.Constraint}
	}
	return map[string]any{
		"enforcement":         enforcement,
		"protectedNamespaces": namespaces,
		"versionConstraints":  constraints,
	}
}

// clone copies the configuration so a caller's later changes do not reach the engine.
func (c Config) clone() Config {
	out := Config{ProtectedNamespaces: slices.Clone(c.ProtectedNamespaces)}
	if c.Enforcement != nil {
		out.Enforcement = make(map[string]Mode, len(c.Enforcement))
		for k, v := range c.Enforcement {
			out.Enforcement[k] = v
		}
	}
	if c.VersionConstraints != nil {
		out.VersionConstraints = make(map[string]VersionConstraint, len(c.VersionConstraints))
		for k, v := range c.VersionConstraints {
			out.VersionConstraints[k] = v
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// DefaultWatchInterval is how often Watch reads the configuration file when the
// caller names no interval.
const DefaultWatchInterval = 10 * time.Second

// Watch keeps the engine's configuration in step with the file at path until ctx is
// done. It reads the file at once and then every interval, and applies it when its
// content changed; a Kubernetes-mounted ConfigMap changes by an atomic symlink swap,
// so reading the content is enough. A file that cannot be read or is invalid leaves
// the configuration in force and is reported to onErr (once per distinct content).
func (e *Engine) Watch(ctx context.Context, path string, interval time.Duration, onErr func(error)) {
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	if onErr == nil {
		onErr = func(error) {}
	}
	w := configWatch{engine: e, path: path, onErr: onErr}
	w.poll()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.poll()
		}
	}
}

type configWatch struct {
	engine  *Engine
	path    string
	onErr   func(error)
	seen    bool
	last    [sha256.Size]byte
	lastErr string
	// readFailing is set while the file cannot be read.
	readFailing bool
}

func (w *configWatch) poll() {
	data, err := os.ReadFile(w.path)
	if err != nil {
		w.readFailing = true
		w.report(fmt.Errorf("read policy configuration (keeping the configuration in force): %w", err))
		return
	}
	if w.readFailing {
		w.readFailing, w.lastErr = false, ""
	}
	sum := sha256.Sum256(data)
	if w.seen && sum == w.last {
		return
	}
	w.seen, w.last = true, sum
	cfg, err := parseConfig(data, w.engine.modules)
	if err != nil {
		w.report(fmt.Errorf("policy configuration %s (keeping the configuration in force): %w", w.path, err))
		return
	}
	if err := w.engine.SetConfig(cfg); err != nil {
		w.report(err)
		return
	}
	w.lastErr = ""
}

func (w *configWatch) report(err error) {
	if err.Error() == w.lastErr {
		return
	}
	w.lastErr = err.Error()
	w.onErr(err)
}
