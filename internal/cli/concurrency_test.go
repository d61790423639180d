package cli_test

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	helmrelease "helm.sh/helm/v3/pkg/release"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/chartsource/chartsourcetest"
	"github.com/kubeext/kubectl-ext/internal/release"
	"github.com/kubeext/kubectl-ext/internal/testenv"
)

// Reliability matrix: ten concurrent updates of one extension
func TestTenConcurrentUpdates(t *testing.T) {
	requireEnv(t)
	typ := httpType(t, chartsourcetest.Podinfo())
	for _, tt := range []struct {
		row string
		// timeout is the updates' --timeout, which also bounds how long one waits for
		// the lock: a waiter that sees the holder renew is told to retry at once, one
		// that sees the lease released takes it.
		timeout string
		// busy is what a refused update says, besides "another operation is in progress".
		busy []string
	}{
		// Shorter than a lease: a waiter gives up before it could judge the lease stale.
		{"short-timeout", "3s", []string{"retry"}},
		// Long enough to queue, were waiters queued: they are not. A waiter takes the
		// lock only when it finds it released between two of its reads; seeing the
		// holder renew, or the lock pass to another waiter, it is refused at once. So
		// about as few land as with a short timeout (two or three of ten here).
		{"long-timeout", "2m", []string{"retry"}},
	} {
		t.Run(tt.row, func(t *testing.T) {
			t.Parallel()
			name, ns := uniq("ten"), uniq("ten")
			mustKext(t, "create", name, "--extension-type", typ, "--release-namespace", ns, "--no-wait",
				"--config", "original=kept", "--config", "replicaCount=1")
			original := map[string]string{"original": "kept", "replicaCount": "1"}

			const n = 10
			results := make([]testenv.Result, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					r, err := env.Kubectl(context.Background(), binDir, "ext", "update", name,
						"--config", fmt.Sprintf("k%d=v%d", i, i), "--no-wait", "--timeout", tt.timeout)
					if err != nil {
						t.Error(err)
					}
					results[i] = r
				}()
			}
			close(start)
			wg.Wait()

			want := maps.Clone(original)
			var refused []int
			for i, r := range results {
				switch {
				case r.ExitCode == 0:
					want[fmt.Sprintf("k%d", i)] = fmt.Sprintf("v%d", i)
				case r.ExitCode == 1 && strings.Contains(r.Stderr, "another operation is in progress") && containsAll(r.Stderr, tt.busy):
					refused = append(refused, i)
					if err := truthfulBusy(r.Stderr); err != nil {
						t.Errorf("update %d: %v\n%s", i, err, r.Stderr)
					}
				default:
					t.Errorf("update %d neither landed nor was told to retry: exit %d\n%s", i, r.ExitCode, r.Stderr)
				}
			}
			t.Logf("%s: %d of %d updates landed, %v were told to retry", tt.row, n-len(refused), n, refused)
			if len(refused) == n {
				t.Fatalf("no update landed")
			}
			assertSettled(t, name, ns, want)

			// Each refused update, retried alone, lands: nothing was left held.
			for _, i := range refused {
				mustKext(t, "update", name, "--config", fmt.Sprintf("k%d=v%d", i, i), "--no-wait", "--timeout", tt.timeout)
				want[fmt.Sprintf("k%d", i)] = fmt.Sprintf("v%d", i)
			}
			assertSettled(t, name, ns, want)
		})
	}
}

// assertSettled: the extension is Succeeded with exactly the settings want, its release
// deployed with those values, and no revision is left pending or failed.
func assertSettled(t *testing.T, name, ns string, want map[string]string) {
	t.Helper()
	settledWith(t, "the cluster", env, name, ns, want)
}

// settledWith is assertSettled on the control plane e, called cluster in messages.
func settledWith(t *testing.T, cluster string, e *testenv.Env, name, ns string, want map[string]string) {
	t.Helper()
	got := &v1alpha1.Extension{}
	if err := e.Client.Get(testCtx(t), nameKey(name), got); err != nil {
		t.Errorf("on %s: %v", cluster, err)
		return
	}
	if got.Status.ProvisioningState != v1alpha1.ProvisioningSucceeded || got.Status.ErrorInfo != nil {
		t.Errorf("on %s: extension %s: %s %+v, want Succeeded", cluster, name, got.Status.ProvisioningState, got.Status.ErrorInfo)
	}
	if !maps.Equal(got.Spec.ConfigurationSettings, want) {
		t.Errorf("on %s: extension %s's settings:\n got %v\nwant %v", cluster, name, got.Spec.ConfigurationSettings, want)
	}
	h, err := (&release.Client{Getter: &genericclioptions.ConfigFlags{KubeConfig: &e.Kubeconfig}}).History(name, ns)
	if err != nil || len(h) == 0 {
		t.Errorf("on %s: helm history %s/%s: %v", cluster, ns, name, err)
		return
	}
	slices.SortFunc(h, func(a, b *helmrelease.Release) int { return a.Version - b.Version })
	for _, r := range h {
		if r.Info.Status.IsPending() || r.Info.Status == helmrelease.StatusFailed {
			t.Errorf("on %s: revision %d of %s/%s is %s", cluster, r.Version, ns, name, r.Info.Status)
		}
	}
	last := h[len(h)-1]
	if last.Info.Status != helmrelease.StatusDeployed {
		t.Errorf("on %s: the last revision %d is %s, want deployed", cluster, last.Version, last.Info.Status)
	}
	values := map[string]string{}
	for k, v := range last.Config {
		values[k] = fmt.Sprint(v)
	}
	if !maps.Equal(values, want) {
		t.Errorf("on %s: release %s/%s revision %d's values:\n got %v\nwant %v", cluster, ns, name, last.Version, values, want)
	}
	if got.Status.CurrentVersion == "" || got.Status.Release.Revision != last.Version {
		t.Errorf("on %s: extension %s records version %q revision %d, the release is at revision %d", cluster, name, got.Status.CurrentVersion, got.Status.Release.Revision, last.Version)
	}
}

var (
	waitedFor = regexp.MustCompile(`Waiting for the lock of extension \S+, held by (\S+) `)
	refusedBy = regexp.MustCompile(`another operation is in progress on extension \S+ \(held by (\S+), which renewed its lease while we watched`)
	passedOn  = regexp.MustCompile(`another operation is in progress on extension \S+ \(held by (\S+), which took it from (\S+) while we watched`)
)

// truthfulBusy checks a refused update's story: a refusal that says the holder renewed
// names the holder it waited for; when the lock passed to another waiter meanwhile,
// it says so, naming both.
func truthfulBusy(stderr string) error {
	w := waitedFor.FindStringSubmatch(stderr)
	if m := refusedBy.FindStringSubmatch(stderr); m != nil && w != nil && m[1] != w[1] {
		return fmt.Errorf("it waited for %s, but the refusal says %s renewed the lease", w[1], m[1])
	}
	if m := passedOn.FindStringSubmatch(stderr); m != nil && (w == nil || m[2] != w[1] || m[1] == m[2]) {
		return fmt.Errorf("the refusal says the lock passed from %s to %s, but it waited for %v", m[2], m[1], w)
	}
	return nil
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
