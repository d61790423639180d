package cli_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/release"
)

// TestCreateAgain: create of an extension that exists, Succeeded, with the very spec
// asked for (type, scope and namespaces, version, train, auto-upgrade, settings, and
// the protected settings by their digest) does nothing and exits 0, as az's create (an
// ARM PUT) does, so a create can be run again after a partial failure; with any other
// spec it is refused and points at update, and the extension is left as it was.
func TestCreateAgain(t *testing.T) {
	typ := httpType(t, chartsourcetest.Podinfo())
	first := []string{"--config", "a=1", "--config-protected", "p=secret", "--no-wait"}
	for _, tt := range []struct {
		row   string
		again []string
		// noop: the second create does nothing and succeeds; else it is refused.
		noop bool
	}{
		{row: "same-spec", again: first, noop: true},
		{row: "same-spec-flags-reordered", again: []string{"--no-wait", "--config-protected", "p=secret", "--config", "a=1"}, noop: true},
		{row: "another-setting", again: []string{"--config", "a=2", "--config-protected", "p=secret", "--no-wait"}},
		{row: "one-setting-fewer", again: []string{"--config-protected", "p=secret", "--no-wait"}},
		{row: "another-protected-value", again: []string{"--config", "a=1", "--config-protected", "p=xyzzy", "--no-wait"}},
		{row: "no-protected-settings", again: []string{"--config", "a=1", "--no-wait"}},
		{row: "pinned-version", again: []string{"--config", "a=1", "--config-protected", "p=secret", "--version", "1.4.1", "--auto-upgrade-minor-version", "false", "--no-wait"}},
	} {
		t.Run(tt.row, func(t *testing.T) {
			t.Parallel()
			name := uniq("again")
			mustKext(t, append([]string{"create", name, "-t", typ}, first...)...)
			before := &v1alpha1.Extension{}
			if err := env.Client.Get(testCtx(t), nameKey(name), before); err != nil {
				t.Fatal(err)
			}

			res := kext(t, append([]string{"create", name, "-t", typ}, tt.again...)...)
			if tt.noop {
				if res.ExitCode != 0 || !strings.Contains(res.Stderr, "Extension "+name+" already exists with this spec: nothing to do") {
					t.Errorf("create again with the same spec: exit %d, want 0 saying there is nothing to do:\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
				}
			} else {
				wantExit1(t, res, "with another spec than this create asks for; change it with `kubectl ext update "+name+"`")
			}
			after := &v1alpha1.Extension{}
			if err := env.Client.Get(testCtx(t), nameKey(name), after); err != nil {
				t.Fatal(err)
			}
			// Nothing was written: no spec or status write, no new revision.
			if after.ResourceVersion != before.ResourceVersion || after.Status.Release.Revision != 1 ||
				after.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded {
				t.Errorf("the extension changed: resourceVersion %s to %s, %s at revision %d",
					before.ResourceVersion, after.ResourceVersion, after.Status.ProvisioningState, after.Status.Release.Revision)
			}
		})
	}
}

// TestCreateDryRunOfFailedExtension: a dry run of create over a Failed extension, which
// the real create would recover and install again, writes nothing and installs
// nothing. Before, --dry-run=server of such a create ran the real recovery and install.
func TestCreateDryRunOfFailedExtension(t *testing.T) {
	typ := httpType(t, chartsourcetest.Podinfo())
	for _, mode := range []string{"server", "client"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			name, ns := uniq("dryagain"), uniq("dryagain")
			res := kext(t, "create", name, "-t", typ, "--release-namespace", ns, "--config", "fail=true", "--no-wait")
			wantExit1(t, res, "was told to fail")
			before := &v1alpha1.Extension{}
			if err := env.Client.Get(testCtx(t), nameKey(name), before); err != nil {
				t.Fatal(err)
			}
			if before.Status.ProvisioningState != v1alpha1.ProvisioningFailed {
				t.Fatalf("the failing create left %q, want Failed", before.Status.ProvisioningState)
			}

			res = mustKext(t, "create", name, "-t", typ, "--release-namespace", ns, "--config", "fail=false", "--no-wait", "--dry-run="+mode, "-o", "yaml")
			if !strings.Contains(res.Stdout, "fail: \"false\"") {
				t.Errorf("the dry run does not show the extension it would record:\n%s", res.Stdout)
			}
			after := &v1alpha1.Extension{}
			if err := env.Client.Get(testCtx(t), nameKey(name), after); err != nil {
				t.Fatal(err)
			}
			if after.ResourceVersion != before.ResourceVersion || after.Status.ProvisioningState != v1alpha1.ProvisioningFailed {
				t.Errorf("the dry run changed the extension: resourceVersion %s to %s, state %s", before.ResourceVersion, after.ResourceVersion, after.Status.ProvisioningState)
			}
			if _, err := helmClient().Last(name, ns); !errors.Is(err, release.ErrNotFound) {
				t.Errorf("the dry run installed a release: %v", err)
			}
		})
	}
}
