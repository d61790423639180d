package policy

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    Config
		wantErr string
	}{
		{
			name: "an empty document is the default configuration",
			yaml: "",
			want: Config{},
		},
		{
			name: "every field of a full configuration is read",
			yaml: `
enforcement:
  EXT-UPGRADE-001: warn
  EXT-SCOPE-008: dryrun
  EXT-VERSION-001: deny
protectedNamespaces: [kube-system, platform]
versionConstraints:
  example.podinfo:
    requirePinned: true
    constraint: "~1.4"
`,
			want: Config{
				Enforcement:         map[string]Mode{"EXT-UPGRADE-001": ModeWarn, "EXT-SCOPE-008": ModeDryRun, "EXT-VERSION-001": ModeDeny},
				ProtectedNamespaces: []string{"kube-system", "platform"},
				VersionConstraints:  map[string]VersionConstraint{"example.podinfo": {RequirePinned: true, Constraint: "~1.4"}},
			},
		},
		{
			name: "an explicit empty protectedNamespaces list is kept apart from an absent one",
			yaml: "protectedNamespaces: []",
			want: Config{ProtectedNamespaces: []string{}},
		},
		{name: "an unknown rule id is an error", yaml: "enforcement: {EXT-NOPE-001: warn}", wantErr: `unknown rule "EXT-NOPE-001"`},
		{name: "a warning id cannot be enforced", yaml: "enforcement: {EXT-WARN-001: deny}", wantErr: "EXT-WARN-001 is a warning"},
		{name: "a bad mode is an error", yaml: "enforcement: {EXT-VERSION-001: loud}", wantErr: `mode "loud" is not one of deny, warn, dryrun`},
		{name: "a YAML boolean mode is an error that says why", yaml: "enforcement: {EXT-VERSION-001: off}", wantErr: "as booleans"},
		{name: "a mode in the wrong case is an error", yaml: "enforcement: {EXT-VERSION-001: Warn}", wantErr: `mode "Warn"`},
		{name: "an unknown field is an error", yaml: "enforcment: {}", wantErr: "enforcment"},
		{name: "a constraint that does not parse is an error", yaml: "versionConstraints: {example.podinfo: {constraint: '~>>1'}}", wantErr: "example.podinfo: constraint"},
		{name: "a protected namespace that is no namespace name is an error", yaml: "protectedNamespaces: [Kube_System]", wantErr: "protectedNamespaces[0]"},
		{name: "YAML that does not parse is an error", yaml: "enforcement: [", wantErr: "parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseConfig: %v, want an error mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestLoadConfigNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, "enforcement: {EXT-NOPE-001: warn}")
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadConfig: %v", err)
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("LoadConfig of a missing file succeeded")
	}
}

func TestProtectedNamespacesFollowTheConfiguration(t *testing.T) {
	tests := []struct {
		name      string
		own       string // the webhook's namespace; the default when empty
		protected []string
		namespace string
		wantDeny  bool
	}{
		{name: "kube-system is protected by default", protected: nil, namespace: "kube-system", wantDeny: true},
		{name: "the webhook's namespace is protected by default", protected: nil, namespace: "kubeext-system", wantDeny: true},
		{name: "a configured list replaces the defaults", protected: []string{"platform"}, namespace: "kube-public", wantDeny: false},
		{name: "a configured namespace is protected", protected: []string{"platform"}, namespace: "platform", wantDeny: true},
		{name: "a configured list still protects kube-system", protected: []string{"platform"}, namespace: "kube-system", wantDeny: true},
		{name: "a configured list still protects the webhook's namespace", protected: []string{"platform"}, namespace: "kubeext-system", wantDeny: true},
		{name: "an empty list protects only kube-system and the webhook's namespace", protected: []string{}, namespace: "kube-public", wantDeny: false},
		{name: "an empty list still protects kube-system", protected: []string{}, namespace: "kube-system", wantDeny: true},
		{name: "the webhook's own namespace, when not the default, is protected", own: "policy-webhook", protected: []string{"platform"}, namespace: "policy-webhook", wantDeny: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, Options{OwnNamespace: tt.own, Config: Config{ProtectedNamespaces: tt.protected}})
			d, err := evaluate(e, context.Background(), createInput(newExtension(targetNamespace(tt.namespace))))
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(ids(d.Deny), "EXT-SCOPE-007"); got != tt.wantDeny {
				t.Errorf("EXT-SCOPE-007 denied = %v, want %v (%v)", got, tt.wantDeny, d.Deny)
			}
		})
	}
}

func TestVersionConstraintsFollowTheConfiguration(t *testing.T) {
	e := newEngine(t, Options{Config: Config{VersionConstraints: map[string]VersionConstraint{
		"example.podinfo": {RequirePinned: true, Constraint: "~1.4"},
	}}})
	tests := []struct {
		name string
		ext  *scenario
		want []string
	}{
		{name: "a pinned version matching the constraint is allowed", ext: ptr(createInput(newExtension(version("1.4.1"))))},
		{name: "a pinned version outside the constraint is denied", ext: ptr(createInput(newExtension(version("1.5.0")))), want: []string{"EXT-VERSION-007"}},
		{name: "an auto-upgrading extension of a type that must be pinned is denied", ext: ptr(createInput(newExtension(autoUpgrade(true)))), want: []string{"EXT-VERSION-006"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := evaluate(e, context.Background(), *tt.ext)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(d.Deny), orEmpty(tt.want)) {
				t.Errorf("deny = %v, want %v", d.Deny, tt.want)
			}
		})
	}
}

func TestSetConfigRefusesAnInvalidConfigurationAndKeepsTheOldOne(t *testing.T) {
	e := newEngine(t, Options{Config: Config{Enforcement: map[string]Mode{"EXT-VERSION-002": ModeWarn}}})
	if err := e.SetConfig(Config{Enforcement: map[string]Mode{"EXT-VERSION-002": "loud"}}); err == nil {
		t.Fatal("SetConfig accepted a bad mode")
	}
	if got := e.Config().Enforcement["EXT-VERSION-002"]; got != ModeWarn {
		t.Errorf("mode after a refused SetConfig = %q, want warn", got)
	}
	if _, err := New(context.Background(), Options{Config: Config{Enforcement: map[string]Mode{"EXT-NOPE-001": ModeWarn}}}); err == nil {
		t.Error("New accepted an unknown rule id")
	}
}

func TestSetConfigCopiesTheConfiguration(t *testing.T) {
	cfg := Config{Enforcement: map[string]Mode{"EXT-VERSION-002": ModeWarn}}
	e := newEngine(t, Options{Config: cfg})
	cfg.Enforcement["EXT-VERSION-002"] = ModeDryRun
	if got := e.Config().Enforcement["EXT-VERSION-002"]; got != ModeWarn {
		t.Errorf("the engine saw the caller's later change: %q", got)
	}
}

// errRecorder collects the errors Watch reports.
type errRecorder struct {
	mu   sync.Mutex
	errs []error
}

func (r *errRecorder) record(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *errRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatchReloadsTheConfiguration(t *testing.T) {
	modeOf := func(e *Engine) Mode { return e.Config().Enforcement["EXT-UPGRADE-001"] }

	t.Run("a changed file is applied and an invalid one keeps the configuration in force", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "policy.yaml")
		writeFile(t, path, "enforcement: {EXT-UPGRADE-001: warn}")
		e := newEngine(t, Options{})
		rec := &errRecorder{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); e.Watch(ctx, path, 5*time.Millisecond, rec.record) }()
		defer func() { cancel(); <-done }()

		waitFor(t, "the first read is applied", func() bool { return modeOf(e) == ModeWarn })

		writeFile(t, path, "enforcement: {EXT-UPGRADE-001: sometimes}")
		waitFor(t, "the invalid file is reported", func() bool { return rec.count() == 1 })
		if modeOf(e) != ModeWarn {
			t.Errorf("an invalid file replaced the configuration: %q", modeOf(e))
		}
		time.Sleep(30 * time.Millisecond)
		if n := rec.count(); n != 1 {
			t.Errorf("the same invalid file was reported %d times", n)
		}

		writeFile(t, path, "enforcement: {EXT-UPGRADE-001: dryrun}")
		waitFor(t, "the fixed file is applied", func() bool { return modeOf(e) == ModeDryRun })
	})

	t.Run("a ConfigMap volume's symlink swap is followed", func(t *testing.T) {
		// The kubelet writes each version into a new directory and swaps the ..data
		// symlink; the file the pod reads is a symlink through ..data.
		dir := t.TempDir()
		writeVersion := func(name, content string) {
			if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, name, "policy.yaml"), content)
			tmp := filepath.Join(dir, "..data_tmp")
			if err := os.Symlink(name, tmp); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
				t.Fatal(err)
			}
		}
		writeVersion("..2026_11_22_10_00_00.1", "enforcement: {EXT-UPGRADE-001: warn}")
		if err := os.Symlink(filepath.Join("..data", "policy.yaml"), filepath.Join(dir, "policy.yaml")); err != nil {
			t.Fatal(err)
		}
		e := newEngine(t, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); e.Watch(ctx, filepath.Join(dir, "policy.yaml"), 5*time.Millisecond, nil) }()
		defer func() { cancel(); <-done }()

		waitFor(t, "the first version is applied", func() bool { return modeOf(e) == ModeWarn })
		writeVersion("..2026_11_22_10_05_00.2", "enforcement: {EXT-UPGRADE-001: dryrun}")
		waitFor(t, "the swapped version is applied", func() bool { return modeOf(e) == ModeDryRun })
	})

	t.Run("a missing file is reported and the configuration stays", func(t *testing.T) {
		e := newEngine(t, Options{Config: Config{Enforcement: map[string]Mode{"EXT-UPGRADE-001": ModeWarn}}})
		rec := &errRecorder{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.Watch(ctx, filepath.Join(t.TempDir(), "missing.yaml"), 5*time.Millisecond, rec.record)
		}()
		waitFor(t, "the missing file is reported", func() bool { return rec.count() >= 1 })
		cancel()
		<-done
		if modeOf(e) != ModeWarn {
			t.Errorf("configuration changed to %q", modeOf(e))
		}
	})
}

func TestReloadConfigValidatesAgainstTheEnginesRules(t *testing.T) {
	e := newEngine(t, Options{})
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, "versionConstraints: {example.podinfo: {constraint: '>=1.4.0 <2.0.0'}}")
	if err := e.ReloadConfig(path); err != nil {
		t.Fatal(err)
	}
	if got := e.Config().VersionConstraints["example.podinfo"].Constraint; got != ">=1.4.0 <2.0.0" {
		t.Errorf("constraint = %q", got)
	}
	writeFile(t, path, "versionConstraints: {example.podinfo: {constraint: 'nope'}}")
	if err := e.ReloadConfig(path); err == nil {
		t.Error("ReloadConfig accepted a bad constraint")
	}
	if got := e.Config().VersionConstraints["example.podinfo"].Constraint; got != ">=1.4.0 <2.0.0" {
		t.Errorf("constraint after a refused reload = %q", got)
	}
}
