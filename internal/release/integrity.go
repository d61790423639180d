package release

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	helmrelease "helm.sh/helm/v3/pkg/release"
)

// Helm keeps a release's records (one Secret per revision, type helm.sh/release.v1)
// in the release namespace, where that namespace's admins can write them. A forged
// record would be trusted by Helm: an upgrade diffs against the stored manifest and
// deletes what it lists, a rollback or recovery re-applies it, and an uninstall deletes
// what it lists and runs its delete hooks. So the plugin records, in the Extension's
// status (cluster-scoped, out of a namespace admin's reach), what it last applied, and
// every action that reads a stored record checks it against that first.

// Record is what the plugin recorded of the revision it last applied. The zero
// Record means nothing was ever applied.
type Record struct {
	Revision int
	// ManifestDigest is the sha256 of the rendered manifest and hooks; ValuesDigest the
	// sha256 of the user-supplied values Helm stored (canonical JSON).
	ManifestDigest, ValuesDigest string
}

// IsZero reports whether nothing is recorded.
func (r Record) IsZero() bool { return r == Record{} }

// RecordOf digests a stored release.
func RecordOf(rel *helmrelease.Release) Record {
	if rel == nil {
		return Record{}
	}
	return Record{Revision: rel.Version, ManifestDigest: ManifestDigest(rel), ValuesDigest: ValuesDigest(rel.Config)}
}

// ManifestDigest is the sha256 of what a revision applies to the cluster: its
// manifest and every hook (a forged hook runs on rollback and uninstall).
func ManifestDigest(rel *helmrelease.Release) string {
	h := sha256.New()
	h.Write([]byte(rel.Manifest))
	hooks := make([]string, 0, len(rel.Hooks))
	for _, hk := range rel.Hooks {
		if hk == nil {
			continue
		}
		events := make([]string, 0, len(hk.Events))
		for _, e := range hk.Events {
			events = append(events, string(e))
		}
		hooks = append(hooks, fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%s", hk.Path, hk.Kind, strings.Join(events, ","), hk.Weight, hk.Manifest))
	}
	sort.Strings(hooks)
	for _, s := range hooks {
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// ValuesDigest is the sha256 of values as canonical JSON (encoding/json sorts map
// keys); nil and empty values digest alike.
func ValuesDigest(values map[string]any) string {
	if values == nil {
		values = map[string]any{}
	}
	b, err := json.Marshal(values)
	if err != nil {
		// Values Helm stored came from JSON, so they always marshal; a digest that
		// matches nothing makes the check refuse rather than pass.
		b = []byte(err.Error())
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ErrDrift: the stored release is not what the plugin recorded.
var ErrDrift = errors.New("the stored release does not match what kubectl ext recorded")

// DriftError names what differs between the stored release and the record.
type DriftError struct {
	Name, Namespace string
	// Differences, one line each.
	Differences []string
}

func (e *DriftError) Error() string {
	return fmt.Sprintf("%s: release %s/%s: %s. Release records live in namespace %s, where its admins can write them, so "+
		"kubectl ext changes nothing. Inspect the release (helm history %s -n %s; kubectl get secrets -n %s -l owner=helm,name=%s); "+
		"to replace it on purpose with the Extension's own chart and values, run `kubectl ext update %s --adopt-release`",
		ErrDrift, e.Namespace, e.Name, strings.Join(e.Differences, "; "), e.Namespace,
		e.Name, e.Namespace, e.Namespace, e.Name, e.Name)
}

func (e *DriftError) Unwrap() error { return ErrDrift }

// Verify checks the newest stored revision (last, nil when the release does not
// exist) against the record: the same revision, deployed, with the same manifest and
// values. It returns a *DriftError naming every difference.
func Verify(name, namespace string, last *helmrelease.Release, rec Record) error {
	var diffs []string
	switch {
	case last == nil && rec.IsZero():
		return nil
	case last == nil:
		diffs = append(diffs, fmt.Sprintf("the recorded revision %d no longer exists", rec.Revision))
	case rec.IsZero():
		diffs = append(diffs, fmt.Sprintf("revision %d (%s) exists, but kubectl ext never recorded one", last.Version, status(last)))
	default:
		if last.Version != rec.Revision {
			diffs = append(diffs, fmt.Sprintf("the newest revision is %d (%s), but the recorded one is %d", last.Version, status(last), rec.Revision))
		} else if last.Info == nil || last.Info.Status != helmrelease.StatusDeployed {
			diffs = append(diffs, fmt.Sprintf("revision %d is %s, not deployed", last.Version, status(last)))
		}
		diffs = append(diffs, contentDiffs(last, rec)...)
	}
	if len(diffs) == 0 {
		return nil
	}
	return &DriftError{Name: name, Namespace: namespace, Differences: diffs}
}

// contentDiffs compares a stored revision's manifest, hooks and values with the record.
func contentDiffs(rel *helmrelease.Release, rec Record) []string {
	var diffs []string
	got := RecordOf(rel)
	if got.ManifestDigest != rec.ManifestDigest {
		diffs = append(diffs, fmt.Sprintf("the manifest of revision %d differs from the recorded one", rel.Version))
	}
	if got.ValuesDigest != rec.ValuesDigest {
		diffs = append(diffs, fmt.Sprintf("the values of revision %d differ from the recorded ones", rel.Version))
	}
	return diffs
}

func status(rel *helmrelease.Release) string {
	if rel.Info == nil || rel.Info.Status == "" {
		return "no status"
	}
	return rel.Info.Status.String()
}

// VerifyPending checks a pending revision before recovery removes it: a kubectl ext
// command must have been interrupted (the Extension shows it in progress), the pending
// revision must be the one after the recorded one, and the recorded revision (nil
// when it no longer exists) must match the record. It returns a *DriftError naming
// every difference.
func VerifyPending(name, namespace string, pending, recorded *helmrelease.Release, expect Record, interrupted bool) error {
	var diffs []string
	if !interrupted {
		diffs = append(diffs, fmt.Sprintf("revision %d is %s, but no kubectl ext command on it was interrupted", pending.Version, status(pending)))
	}
	if pending.Version != expect.Revision+1 {
		diffs = append(diffs, fmt.Sprintf("the pending revision is %d, but the recorded one is %d", pending.Version, expect.Revision))
	}
	if !expect.IsZero() {
		var d *DriftError
		if recorded == nil {
			diffs = append(diffs, fmt.Sprintf("the recorded revision %d no longer exists", expect.Revision))
		} else if errors.As(Verify(name, namespace, recorded, expect), &d) {
			diffs = append(diffs, d.Differences...)
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	return &DriftError{Name: name, Namespace: namespace, Differences: diffs}
}
