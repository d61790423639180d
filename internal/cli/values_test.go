package cli_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	helmrelease "helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/lifecycle"
)

// TestValuesNotReusedAfterSettingsCleared is issue 11's "values reuse after settings
// are cleared", end to end through the real kubectl and read back with the Helm SDK.
// Helm's upgrade reuses the stored values when asked to (ReuseValues, or the default
// when an upgrade carries no values), so a setting or protected key the user cleared
// would live on in the release. Each step clears something the way a user would
// (`--config KEY=null`, which removes the key as helm --set does; a protected set
// replaced without a key; an empty protected set) and the new revision's values, and
// its rendered manifest, must no longer hold it. Last, the history bound (5 revisions)
// must have rotated the cleared protected values out of every stored record.
func TestValuesNotReusedAfterSettingsCleared(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	name, ns := uniq("values"), uniq("values")
	const (
		message = "message-to-clear-3c1a"
		apiKey  = "api-key-to-clear-81f0"
		token   = "token-to-clear-5d27"
		token2  = "token-second-e94b"
	)
	mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait",
		"--config", "message="+message, "replicaCount=2", "--config-protected", "apiKey="+apiKey, "token="+token)
	h := history(t, name, ns)
	if len(h) != 1 {
		t.Fatalf("history after create: %v", summary(h))
	}
	// The check below is worth something only if the values were there to begin with.
	wantValues(t, h[0], map[string]any{"message": message, "replicaCount": float64(2), "apiKey": apiKey, "token": token})

	steps := []struct {
		name string
		args []string
		// gone are the keys the new revision's values must not hold (absent or null);
		// kept are the values it must still hold.
		gone []string
		kept map[string]any
		// cleared are the values found nowhere in the new revision: values or manifest.
		cleared []string
		// protected are the keys the protected settings Secret must hold, no more.
		protected []string
	}{
		{
			name: "a setting set to null", args: []string{"--config", "message=null"},
			gone: []string{"message"}, kept: map[string]any{"replicaCount": float64(2), "apiKey": apiKey, "token": token},
			cleared: []string{message}, protected: []string{"apiKey", "token"},
		},
		{
			name: "a protected key left out of the replaced set", args: []string{"--config-protected", "token=" + token2, "--yes"},
			gone: []string{"message", "apiKey"}, kept: map[string]any{"replicaCount": float64(2), "token": token2},
			cleared: []string{message, apiKey, token}, protected: []string{"token"},
		},
		{
			name: "every protected setting removed", args: []string{"--config-protected", "", "--yes"},
			gone: []string{"message", "apiKey", "token"}, kept: map[string]any{"replicaCount": float64(2)},
			cleared: []string{message, apiKey, token, token2}, protected: nil,
		},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			mustKext(t, append([]string{"update", name, "--no-wait"}, st.args...)...)
			h := history(t, name, ns)
			if len(h) != i+2 || h[len(h)-1].Info.Status != helmrelease.StatusDeployed {
				t.Fatalf("history %v, want %d revisions, the newest deployed", summary(h), i+2)
			}
			last := h[len(h)-1]
			for _, k := range st.gone {
				if v, ok := last.Config[k]; ok && v != nil {
					t.Errorf("revision %d still holds the cleared %s (%v)", last.Version, k, redactIfSecret(k, v))
				}
			}
			wantValues(t, last, st.kept)
			stored := storedText(t, last)
			for _, v := range st.cleared {
				if strings.Contains(stored, v) {
					t.Errorf("revision %d still holds the cleared value %.10s... in its values or manifest", last.Version, v)
				}
			}
			// An empty set is stored as an empty Secret, not deleted: either way it
			// must hold no key the user cleared.
			s := &corev1.Secret{}
			if err := env.Client.Get(testCtx(t), client.ObjectKey{Namespace: ns, Name: lifecycle.ProtectedSecretName(name)}, s); err != nil {
				t.Fatalf("the protected settings Secret: %v", err)
			}
			p, err := lifecycle.DecodeProtected(s)
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(maps.Keys(p)); !slices.Equal(got, st.protected) {
				t.Errorf("the protected settings Secret holds keys %v, want %v", got, st.protected)
			}
		})
	}

	// The cleared protected values are still in the older revisions' records, in the
	// release namespace. The history bound rotates them out: after enough updates no
	// record Helm keeps holds them.
	h = history(t, name, ns)
	for replicas := 3; h[len(h)-1].Version < 8; replicas++ {
		mustKext(t, "update", name, "--no-wait", "--config", "replicaCount="+strconv.Itoa(replicas))
		h = history(t, name, ns)
	}
	if len(h) > 5 {
		t.Fatalf("at revision %d Helm keeps %d revisions (%v); want at most 5", h[len(h)-1].Version, len(h), summary(h))
	}
	records := &corev1.SecretList{}
	if err := env.Client.List(testCtx(t), records, client.InNamespace(ns), client.MatchingLabels{"owner": "helm", "name": name}); err != nil {
		t.Fatal(err)
	}
	if len(records.Items) != len(h) {
		t.Errorf("%d release records for %d revisions", len(records.Items), len(h))
	}
	for _, r := range h {
		stored := storedText(t, r)
		for _, v := range []string{message, apiKey, token, token2} {
			if strings.Contains(stored, v) {
				t.Errorf("revision %d, kept by Helm, still holds a cleared value %.10s...", r.Version, v)
			}
		}
	}
}

// storedText is what a release record stores that a value can reach: the
// user-supplied values and the rendered manifest.
func storedText(t *testing.T, r *helmrelease.Release) string {
	t.Helper()
	b, err := json.Marshal(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n" + r.Manifest
}
