package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name     string
		input    func() scenario
		deny     []string
		warn     []string
		denyLine string // when set, the exact "[ID] message" of the only denial
	}{
		{
			name:  "a pinned cluster-scoped create with a version of its train is allowed",
			input: func() scenario { return createInput(newExtension()) },
		},
		{
			name:  "an auto-upgrading namespace-scoped create is allowed",
			input: func() scenario { return createInput(newExtension(autoUpgrade(true), targetNamespace("team-a"))) },
		},
		{
			name:     "a create with auto-upgrade off and no version is denied by EXT-VERSION-002 with the versions to pick from",
			input:    func() scenario { return createInput(newExtension(version(""))) },
			deny:     []string{"EXT-VERSION-002"},
			denyLine: "[EXT-VERSION-002] autoUpgradeMinorVersion is false but spec.version is empty: set spec.version to the version to pin (the Stable train offers 2.0.0, 1.5.0, 1.4.2, 1.4.1, 1.3.0), or set autoUpgradeMinorVersion to true",
		},
		{
			name: "a create of an unknown type is denied naming the type",
			input: func() scenario {
				in := createInput(newExtension())
				in.ExtensionType = nil
				return in
			},
			deny:     []string{"EXT-TYPE-001"},
			denyLine: "[EXT-TYPE-001] extension type \"example.podinfo\" does not exist: check spec.extensionType (`kubectl ext type list` shows the catalog)",
		},
		{
			name: "a create with a leading v, a bad name and a protected namespace collects every denial",
			input: func() scenario {
				return createInput(newExtension(version("v1.4.2"), named("Pod_Info"), releaseNamespace("kube-system")))
			},
			deny: []string{"EXT-NAME-001", "EXT-SCOPE-007", "EXT-VERSION-004"},
		},
		{
			name: "a create that clashes with an installed extension of a single-instance type is denied",
			input: func() scenario {
				in := createInput(newExtension(named("podinfo-2"), releaseNamespace("podinfo-2")))
				in.Extensions = []v1alpha1.Extension{*newExtension(installedAt("1.4.2"))}
				return in
			},
			deny: []string{"EXT-SCOPE-008"},
		},
		{
			name: "a minor upgrade of a pinned version inside one Kubernetes minor is denied",
			input: func() scenario {
				old := newExtension(version("1.4.1"), installedAt("1.4.1"))
				return updateInput(old, newExtension(version("1.5.0"), installedAt("1.4.1")))
			},
			deny: []string{"EXT-UPGRADE-001"},
		},
		{
			name: "a minor upgrade with the exception annotation is allowed and echoes the reason",
			input: func() scenario {
				old := newExtension(version("1.4.1"), installedAt("1.4.1"))
				obj := newExtension(version("1.5.0"), installedAt("1.4.1"), annotated(v1alpha1.AnnotationUpgradeException, "CVE-2026-1234"))
				return updateInput(old, obj)
			},
			warn: []string{"EXT-WARN-001"},
		},
		{
			name: "a minor upgrade is allowed once the cluster moved to the next Kubernetes minor",
			input: func() scenario {
				old := newExtension(version("1.4.1"), installedAt("1.4.1"))
				in := updateInput(old, newExtension(version("1.5.0"), installedAt("1.4.1")))
				in.Cluster = ClusterInfo{KubernetesVersion: "1.37.0", Minor: "1.37"}
				return in
			},
		},
		{
			name: "a status write naming a new major target version is denied by the upgrade and kubeVersion rules",
			input: func() scenario {
				old := newExtension(autoUpgrade(true), installedAt("1.4.2"))
				return statusInput(old, newExtension(autoUpgrade(true), installedAt("1.4.2"), targeting("2.0.0")))
			},
			deny: []string{"EXT-UPGRADE-001", "EXT-UPGRADE-003"},
		},
		{
			name: "a status write recording failure of an extension whose type is gone is allowed",
			input: func() scenario {
				old := newExtension(installedAt("1.4.2"))
				obj := newExtension(installedAt("1.4.2"))
				obj.Status.ProvisioningState = v1alpha1.ProvisioningFailed
				in := statusInput(old, obj)
				in.ExtensionType = nil
				return in
			},
		},
		{
			name: "an update removing the finalizer of an extension being deleted is allowed whatever its spec",
			input: func() scenario {
				old := newExtension(version("garbage"), installedAt("1.4.2"))
				obj := old.DeepCopy()
				obj.DeletionTimestamp = &metav1.Time{Time: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
				return updateInput(old, obj)
			},
		},
	}
	e := engine(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := evaluate(e, context.Background(), tt.input())
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if got := ids(d.Deny); !slices.Equal(got, orEmpty(tt.deny)) {
				t.Errorf("deny = %v, want %v\n%s", got, tt.deny, strings.Join(Lines(d.Deny), "\n"))
			}
			if got := ids(d.Warn); !slices.Equal(got, orEmpty(tt.warn)) {
				t.Errorf("warn = %v, want %v\n%s", got, tt.warn, strings.Join(Lines(d.Warn), "\n"))
			}
			if d.Allowed() != (len(tt.deny) == 0) {
				t.Errorf("Allowed() = %v with deny %v", d.Allowed(), d.Deny)
			}
			if tt.denyLine != "" && (len(d.Deny) != 1 || d.Deny[0].String() != tt.denyLine) {
				t.Errorf("denial =\n%s\nwant\n%s", strings.Join(Lines(d.Deny), "\n"), tt.denyLine)
			}
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestEnforcementMovesViolations(t *testing.T) {
	tests := []struct {
		name                 string
		mode                 Mode
		wantDeny, wantWarn   int
		wantDryRun           int
		wantAllowed          bool
		wantErrMentionsRules bool
	}{
		{name: "deny refuses the write", mode: ModeDeny, wantDeny: 1},
		{name: "warn lets the write through and shows the violation", mode: ModeWarn, wantWarn: 1, wantAllowed: true},
		{name: "dryrun lets the write through and only records the violation", mode: ModeDryRun, wantDryRun: 1, wantAllowed: true},
	}
	in := createInput(newExtension(version("")))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, Options{Config: Config{Enforcement: map[string]Mode{"EXT-VERSION-002": tt.mode}}})
			d, err := evaluate(e, context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Deny) != tt.wantDeny || len(d.Warn) != tt.wantWarn || len(d.DryRun) != tt.wantDryRun {
				t.Errorf("got deny %v warn %v dryrun %v", d.Deny, d.Warn, d.DryRun)
			}
			if d.Allowed() != tt.wantAllowed {
				t.Errorf("Allowed() = %v", d.Allowed())
			}
			var denied *DeniedError
			if err := d.Err(); tt.wantAllowed != (err == nil) || (err != nil && !errors.As(err, &denied)) {
				t.Errorf("Err() = %v", err)
			}
		})
	}
}

func TestDecisionIsSortedByIDThenMessage(t *testing.T) {
	in := createInput(newExtension(named("Bad"), version("v1"), func(e *v1alpha1.Extension) {
		e.Spec.Scope = v1alpha1.Scope{Cluster: &v1alpha1.ClusterScope{ReleaseNamespace: "kube-system", TargetNamespace: "kube-public"}}
	}))
	d, err := evaluate(engine(t), context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(d.Deny, func(a, b Result) int {
		return strings.Compare(a.ID+"\x00"+a.Msg, b.ID+"\x00"+b.Msg)
	}) {
		t.Errorf("deny not sorted:\n%s", strings.Join(Lines(d.Deny), "\n"))
	}
	if len(d.Deny) < 4 {
		t.Errorf("want several denials, got %v", d.Deny)
	}
	again, _ := evaluate(engine(t), context.Background(), in)
	if !reflect.DeepEqual(d, again) {
		t.Errorf("two evaluations differ:\n%v\n%v", d, again)
	}
}

func TestEvaluateFromManyGoroutinesWhileTheConfigurationChanges(t *testing.T) {
	// 16 goroutines on a loaded 2-core machine can starve one evaluation past the
	// default 2s cut-off; this test is about concurrent configuration swaps, and
	// TestEvaluateFailsInsteadOfHanging covers the cut-off.
	e := newEngine(t, Options{EvalTimeout: time.Minute})
	// Every input has the same inventory (the podinfo type, no other extension), which
	// the first evaluate loads; the goroutines only evaluate.
	inputs := []scenario{
		createInput(newExtension()),
		createInput(newExtension(version(""))),
		updateInput(newExtension(version("1.4.1"), installedAt("1.4.1")), newExtension(version("1.5.0"), installedAt("1.4.1"))),
		statusInput(newExtension(autoUpgrade(true), installedAt("1.4.2")), newExtension(autoUpgrade(true), installedAt("1.4.2"), targeting("2.0.0"))),
	}
	want := make([]Decision, len(inputs))
	for i, in := range inputs {
		d, err := evaluate(e, context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = d
	}

	const goroutines, rounds = 16, 40
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*rounds)
	for g := range goroutines {
		wg.Go(func() {
			for r := range rounds {
				i := (g + r) % len(inputs)
				d, err := e.Evaluate(context.Background(), inputs[i].Input)
				if err != nil {
					errs <- err
					return
				}
				// The configuration below only names a rule none of the inputs break.
				if !reflect.DeepEqual(d, want[i]) {
					errs <- fmt.Errorf("input %d: got %+v, want %+v", i, d, want[i])
					return
				}
			}
		})
	}
	wg.Go(func() {
		for r := range rounds {
			mode := ModeWarn
			if r%2 == 0 {
				mode = ModeDryRun
			}
			if err := e.SetConfig(Config{Enforcement: map[string]Mode{"EXT-SCOPE-009": mode}}); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestEvaluateFailsInsteadOfHanging(t *testing.T) {
	t.Run("a cancelled context is an error, not a decision", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := evaluate(engine(t), ctx, createInput(newExtension())); err == nil {
			t.Fatal("Evaluate with a cancelled context succeeded")
		}
	})
	t.Run("an evaluation longer than EvalTimeout is cut short", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "slow.rego"), `package kubeext.rules.slow

`+metadata("EXT-SLOW-001", "deny")+`
violation contains {"id": "EXT-SLOW-001", "msg": "slow"} if {
	count([x | some x in numbers.range(1, 100000000)]) < 0
}
`)
		e := newEngine(t, Options{ExtraDir: dir, EvalTimeout: 50 * time.Millisecond})
		start := time.Now()
		_, err := evaluate(e, context.Background(), createInput(newExtension()))
		if err == nil {
			t.Fatal("Evaluate of a slow policy succeeded")
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
		}
		if elapsed := time.Since(start); elapsed > 5*time.Second {
			t.Errorf("Evaluate took %v", elapsed)
		}
	})
}

func TestEvaluateSurvivesOddInput(t *testing.T) {
	huge := map[string]string{}
	for i := range 50000 {
		huge[fmt.Sprintf("key%d.sub[%d]", i, i)] = strings.Repeat("v", 64)
	}
	many := make([]v1alpha1.Extension, 2000)
	for i := range many {
		many[i] = *newExtension(named(fmt.Sprintf("ext-%d", i)), targetNamespace(fmt.Sprintf("ns-%d", i)))
	}
	tests := []struct {
		name string
		in   scenario
	}{
		{name: "an empty input", in: scenario{}},
		{name: "a create without object", in: scenario{Input: Input{Request: Request{Operation: OperationCreate}}}},
		{name: "an unknown operation", in: scenario{Input: Input{Request: Request{Operation: "CONNECT", Object: newExtension()}}}},
		{name: "an empty name and type", in: createInput(newExtension(named(""), func(e *v1alpha1.Extension) { e.Spec.ExtensionType = "" }))},
		{name: "non-semver versions everywhere", in: statusInput(
			newExtension(version("x.y.z"), installedAt("1.4"), func(e *v1alpha1.Extension) { e.Status.KubernetesVersion = "one" }),
			newExtension(version("x.y.z"), installedAt("1.4"), targeting("99999999999999999999999.0.0")),
		)},
		{name: "a cluster without a version", in: func() scenario {
			in := updateInput(newExtension(version("1.4.1"), installedAt("1.4.1")), newExtension(version("1.5.0"), installedAt("1.4.1")))
			in.Cluster = ClusterInfo{}
			return in
		}()},
		{name: "a huge settings map", in: createInput(newExtension(func(e *v1alpha1.Extension) { e.Spec.ConfigurationSettings = huge }))},
		{name: "thousands of other extensions", in: func() scenario {
			in := createInput(newExtension(targetNamespace("team-a")))
			in.Extensions = many
			return in
		}()},
		{name: "a type with a garbage catalog", in: func() scenario {
			in := createInput(newExtension())
			in.ExtensionType.Status.Versions = []v1alpha1.TypeVersion{{Version: ""}, {Version: "1.4.2", KubeVersion: ">>>"}, {Version: "1.4.2"}}
			in.ExtensionType.Spec.ReleaseTrains = []v1alpha1.ReleaseTrain{{}}
			return in
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := evaluate(engine(t), context.Background(), tt.in); err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
		})
	}
}

func TestEvaluateLeavesTheCallersObjectsAlone(t *testing.T) {
	obj := newExtension()
	obj.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl-ext"}}
	other := *newExtension(named("other"))
	other.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl-ext"}}
	in := createInput(obj)
	in.Extensions = []v1alpha1.Extension{other}
	if _, err := evaluate(engine(t), context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if len(obj.ManagedFields) != 1 || len(in.Extensions[0].ManagedFields) != 1 {
		t.Error("Evaluate changed the caller's objects")
	}
}

func TestNewCompilesExtraPolicies(t *testing.T) {
	t.Run("extra rules are evaluated, listed and configurable", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "owner.rego"), `package kubeext.rules.owner

import data.kubeext.lib

`+metadata("ACME-OWNER-001", "deny")+`
violation contains {"id": "ACME-OWNER-001", "msg": "set the annotation acme.example/owner"} if {
	lib.is_spec_write
	not lib.has_annotation("acme.example/owner")
}
`)
		writeFile(t, filepath.Join(dir, "owner_test.rego"), "this is not rego, and tests are skipped")
		e := newEngine(t, Options{ExtraDir: dir})
		if !slices.Contains(e.RuleIDs(), "ACME-OWNER-001") || !slices.Contains(e.RuleIDs(), "EXT-VERSION-001") {
			t.Errorf("RuleIDs() = %v", e.RuleIDs())
		}
		d, err := evaluate(e, context.Background(), createInput(newExtension()))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(d.Deny), []string{"ACME-OWNER-001"}) {
			t.Errorf("deny = %v", d.Deny)
		}
		if err := e.SetConfig(Config{Enforcement: map[string]Mode{"ACME-OWNER-001": ModeWarn}}); err != nil {
			t.Errorf("SetConfig naming an extra rule: %v", err)
		}
		if _, err := ParseConfig([]byte("enforcement: {ACME-OWNER-001: warn}")); err == nil {
			t.Error("ParseConfig accepted a rule the embedded policies lack")
		}
	})

	t.Run("a rule's METADATA sets its default enforcement, and the configuration overrides it", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "trial.rego"), `package kubeext.rules.trial

`+metadata("ACME-TRIAL-001", "dryrun")+`
violation contains {"id": "ACME-TRIAL-001", "msg": "on trial"} if input.request.object
`)
		e := newEngine(t, Options{ExtraDir: dir})
		d, err := evaluate(e, context.Background(), createInput(newExtension()))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(d.DryRun), []string{"ACME-TRIAL-001"}) || !d.Allowed() {
			t.Errorf("with the METADATA default: %+v, want ACME-TRIAL-001 in dryrun only", d)
		}
		if err := e.SetConfig(Config{Enforcement: map[string]Mode{"ACME-TRIAL-001": ModeDeny}}); err != nil {
			t.Fatal(err)
		}
		if d, err = evaluate(e, context.Background(), createInput(newExtension())); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(d.Deny), []string{"ACME-TRIAL-001"}) || len(d.DryRun) != 0 {
			t.Errorf("configured deny: %+v, want ACME-TRIAL-001 denied", d)
		}
	})

	refused := []struct {
		name, src, wantErr string
	}{
		{
			name:    "a policy calling http.send is refused at compile time",
			src:     "package kubeext.rules.net\n\n" + metadata("NET-001", "deny") + "violation contains {\"id\": \"NET-001\", \"msg\": \"x\"} if http.send({\"method\": \"GET\", \"url\": \"https://example.org\"})\n",
			wantErr: "http.send",
		},
		{
			name:    "a policy reading the environment through opa.runtime is refused",
			src:     "package kubeext.rules.env\n\n" + metadata("ENV-001", "deny") + "violation contains {\"id\": \"ENV-001\", \"msg\": \"x\"} if opa.runtime().env\n",
			wantErr: "opa.runtime",
		},
		{
			name:    "a violation without a literal id is refused",
			src:     "package kubeext.rules.dyn\n\nviolation contains v if v := {\"id\": \"DYN-001\", \"msg\": \"x\"}\n",
			wantErr: "object literal",
		},
		{
			name:    "a rule without a METADATA block is refused",
			src:     "package kubeext.rules.bare\n\nviolation contains {\"id\": \"BARE-001\", \"msg\": \"x\"} if input.x\n",
			wantErr: "BARE-001 has no METADATA block",
		},
		{
			name:    "a METADATA block naming another id is refused",
			src:     "package kubeext.rules.typo\n\n" + metadata("TYPO-002", "deny") + "violation contains {\"id\": \"TYPO-001\", \"msg\": \"x\"} if input.x\n",
			wantErr: `names custom.id "TYPO-002": make it TYPO-001`,
		},
		{
			name:    "a default enforcement that is no mode is refused",
			src:     "package kubeext.rules.mode\n\n" + metadata("MODE-001", "off") + "violation contains {\"id\": \"MODE-001\", \"msg\": \"x\"} if input.x\n",
			wantErr: `says enforcement "off": write deny, warn or dryrun`,
		},
		{
			name:    "a warning defaulting to deny is refused",
			src:     "package kubeext.rules.loud\n\n" + metadata("LOUD-001", "deny") + "warning contains {\"id\": \"LOUD-001\", \"msg\": \"x\"} if input.x\n",
			wantErr: "a warning is always shown, write warn",
		},
		{
			name: "two METADATA blocks for one id are refused",
			src: "package kubeext.rules.twice\n\n" + metadata("TWICE-001", "deny") + "violation contains {\"id\": \"TWICE-001\", \"msg\": \"x\"} if input.x\n\n" +
				metadata("TWICE-001", "deny") + "violation contains {\"id\": \"TWICE-001\", \"msg\": \"y\"} if input.y\n",
			wantErr: "TWICE-001 has a second METADATA block",
		},
		{
			name:    "a policy outside kubeext.rules is refused",
			src:     "package acme\n\nallow := true\n",
			wantErr: "under kubeext.rules",
		},
		{
			name:    "a policy in a package deeper than kubeext.rules.NAME, which the decision would never collect, is refused",
			src:     "package kubeext.rules.acme.owner\n\n" + metadata("DEEP-001", "deny") + "violation contains {\"id\": \"DEEP-001\", \"msg\": \"x\"} if input.x\n",
			wantErr: "directly under kubeext.rules",
		},
		{
			name: "a policy reading input.extensionType, which the input no longer carries (it would never fire), is refused",
			src: "package kubeext.rules.quota\n\n" + metadata("QUOTA-001", "deny") +
				"violation contains {\"id\": \"QUOTA-001\", \"msg\": \"x\"} if input.extensionType.metadata.labels.deprecated == \"true\"\n",
			wantErr: "input.extensionType is not in the input any more: read data.kubeext.lib.ext_type",
		},
		{
			name: "a policy reading input.extensions is refused",
			src: "package kubeext.rules.count\n\n" + metadata("COUNT-001", "deny") +
				"violation contains {\"id\": \"COUNT-001\", \"msg\": \"x\"} if count(input.extensions) > 100\n",
			wantErr: "input.extensions is not in the input any more",
		},
		{
			name:    "a policy failing strict compilation is refused",
			src:     "package kubeext.rules.strict\n\nimport data.kubeext.lib\n\n" + metadata("STRICT-001", "deny") + "violation contains {\"id\": \"STRICT-001\", \"msg\": \"x\"} if input.x\n",
			wantErr: "unused",
		},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "extra.rego"), tt.src)
			_, err := New(context.Background(), Options{ExtraDir: dir})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New: %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestRuleIDsListEveryRule(t *testing.T) {
	want := []string{
		"EXT-BASELINE-001", "EXT-BASELINE-002", "EXT-BASELINE-003", "EXT-BASELINE-004",
		"EXT-DELETE-001", "EXT-DELETE-002",
		"EXT-IDENTITY-001",
		"EXT-NAME-001",
		"EXT-SCOPE-001", "EXT-SCOPE-002", "EXT-SCOPE-003", "EXT-SCOPE-004", "EXT-SCOPE-005",
		"EXT-SCOPE-006", "EXT-SCOPE-007", "EXT-SCOPE-008", "EXT-SCOPE-009",
		"EXT-SETTINGS-001",
		"EXT-TYPE-001",
		"EXT-TYPEDEF-001", "EXT-TYPEDEF-002", "EXT-TYPEDEF-003", "EXT-TYPEDEF-004",
		"EXT-UPGRADE-001", "EXT-UPGRADE-002", "EXT-UPGRADE-003",
		"EXT-VERSION-001", "EXT-VERSION-002", "EXT-VERSION-003", "EXT-VERSION-004",
		"EXT-VERSION-005", "EXT-VERSION-006", "EXT-VERSION-007",
	}
	if got := RuleIDs(); !slices.Equal(got, want) {
		t.Errorf("RuleIDs() = %v\nwant %v", got, want)
	}
	if got := WarningIDs(); !slices.Equal(got, []string{"EXT-WARN-001", "EXT-WARN-002", "EXT-WARN-003", "EXT-WARN-004"}) {
		t.Errorf("WarningIDs() = %v", got)
	}
	if got := engine(t).RuleIDs(); !slices.Equal(got, want) {
		t.Errorf("(*Engine).RuleIDs() = %v", got)
	}
	var described []string
	for _, r := range Rules() {
		described = append(described, r.ID)
		wantMode := ModeDeny
		if strings.HasPrefix(r.ID, "EXT-WARN-") {
			wantMode = ModeWarn
		}
		if r.Enforcement != wantMode || r.Warning != (wantMode == ModeWarn) || r.Title == "" || !strings.HasPrefix(r.Module, "policies/") {
			t.Errorf("Rules() describes %s as %+v", r.ID, r)
		}
	}
	if all := append(slices.Clone(want), WarningIDs()...); !slices.Equal(described, slices.Sorted(slices.Values(all))) {
		t.Errorf("Rules() = %v, want %v", described, all)
	}
}

func TestDocsNameEveryRule(t *testing.T) {
	docs, err := os.ReadFile(filepath.Join("..", "..", "docs", "policies.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range append(RuleIDs(), WarningIDs()...) {
		if !strings.Contains(string(docs), "### "+id) {
			t.Errorf("docs/policies.md has no section for %s", id)
		}
	}
}

// writeFile replaces path through a rename, as a ConfigMap volume does: a watcher
// polling every few milliseconds would otherwise read the truncated, empty file (a
// valid configuration: all defaults) between the truncate and the write.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// metadata is the METADATA block a rule of an extra policy needs.
func metadata(id, enforcement string) string {
	return "# METADATA\n# title: " + id + "\n# description: A rule of a test.\n# custom:\n#   id: " + id + "\n#   enforcement: " + enforcement + "\n"
}
