package manager_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
)

// TestDigestAnnotationThatNamesNoSecretSettles (review of issue 12): needsApply
// (reconciler.go) says "apply" whenever the annotation kubeext.dev/protected-settings-
// digest differs from status.protectedSettingsDigest. When no Secret ever has that
// digest (an extension without protected settings, a typo, or, the common case, an
// annotation accepted once and left in Git after a later `kubectl ext update
// --config-protected` recorded a new digest), Converge succeeds without recording it,
// so the two never match: every reconcile runs another Helm upgrade, and each upgrade's
// status writes wake the reconciler again (the controller has no predicate), a hot loop
// of revisions; and checkDrift is never reached, so drift goes unreported. One write of
// an annotation must change the release at most once.
func TestDigestAnnotationThatNamesNoSecretSettles(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	typ, _ := fileType(t, podinfo(t, "1.4.0")...)
	h.startManager()
	d := h.ext(typ, map[string]string{"message": "declared"})
	d.mustApply(t)
	h.waitSettled(d.name, 60*time.Second)

	digest := "sha256:" + strings.Repeat("0", 64)
	if res := kubectl(t, "annotate", "ext", d.name, "--overwrite", v1alpha1.AnnotationProtectedSettingsDigest+"="+digest); res.ExitCode != 0 {
		t.Fatalf("kubectl annotate: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	// Allow the one apply the annotation may cause; then the release must stay put.
	h.steadily("at most one more revision after the annotation", 15*time.Second, func() (bool, string) {
		hist := history(t, d.name, d.namespace)
		return len(hist) <= 2, fmt.Sprintf("%d revisions: %s", len(hist), summary(hist))
	})
}
