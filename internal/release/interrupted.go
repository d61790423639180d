package release

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// What a kubectl ext command interrupted after Helm finished, but before the outcome
// was recorded in the Extension's status, leaves behind; RecoverPending covers what
// one interrupted while Helm was at work leaves (a pending-* revision).

// interruptedUninstall reports whether stored is the recorded revision left
// uninstalling by an uninstall that never finished (Helm marks the record so before
// it deletes anything): the same revision, manifest and values as recorded, so
// uninstalling it again deletes only what kubectl ext recorded.
func interruptedUninstall(stored *helmrelease.Release, expect Record) bool {
	return stored.Info != nil && stored.Info.Status == helmrelease.StatusUninstalling &&
		stored.Version == expect.Revision && len(contentDiffs(stored, expect)) == 0
}

// recoverUnrecorded repairs a deployed revision an interrupted command stored but
// never recorded: Helm deployed it, and the command was killed before its status
// write. It must be the revision after the recorded one, the Extension must show a
// command that never finished, and the recorded revision (which Helm marked
// superseded) must still match the record; then, as for a pending revision, the
// unrecorded one is not trusted: its record is deleted and the recorded revision is
// marked deployed again. Nothing in the cluster is touched (but see uninstall below):
// the next upgrade diffs against the recorded revision and the next install takes
// over, by Helm's ownership annotations, what the interrupted one created. Anything
// else is left for Verify to report.
//
// by is the identity of the interrupted command, whose lock this one took over: the
// revision must carry its stamp (OperationLabel).
//
// With uninstall (the command that follows uninstalls the release), what the
// unrecorded revision created is deleted first (deleteOwned): no later install would
// take it over.
func recoverUnrecorded(cfg *action.Configuration, name, namespace string, newest *helmrelease.Release, expect Record, interrupted bool, by string, uninstall bool) (string, error) {
	if !interrupted || newest.Info.Status != helmrelease.StatusDeployed || newest.Version != expect.Revision+1 {
		return "", nil
	}
	// The revision must be the interrupted command's own, by its stamp: a deployed
	// revision anyone else stored (`helm upgrade` of the same name, say) is drift.
	if !storedBy(newest, by) {
		return "", &DriftError{Name: name, Namespace: namespace, Differences: []string{notStoredBy(newest, by)}}
	}
	var recorded *helmrelease.Release
	if !expect.IsZero() {
		var err error
		recorded, err = cfg.Releases.Get(name, expect.Revision)
		if errors.Is(err, driver.ErrReleaseNotFound) {
			return "", &DriftError{Name: name, Namespace: namespace, Differences: []string{fmt.Sprintf("the recorded revision %d no longer exists", expect.Revision)}}
		}
		if err != nil {
			return "", err
		}
		if recorded.Info == nil {
			return "", &DriftError{Name: name, Namespace: namespace, Differences: []string{fmt.Sprintf("the recorded revision %d has no status", expect.Revision)}}
		}
		if diffs := contentDiffs(recorded, expect); len(diffs) > 0 {
			return "", &DriftError{Name: name, Namespace: namespace, Differences: diffs}
		}
	}
	deleted := ""
	if uninstall {
		var err error
		if deleted, err = deleteOwned(cfg, name, namespace, newest); err != nil {
			return "", err
		}
	}
	// The recorded revision is marked deployed before the unrecorded one is dropped: a
	// recovery killed between the two writes leaves both deployed, which the next
	// command recovers the same way; the other order would leave only a superseded
	// revision, which nothing but --adopt-release clears.
	if recorded != nil && recorded.Info.Status != helmrelease.StatusDeployed {
		recorded.Info.Status = helmrelease.StatusDeployed
		if err := cfg.Releases.Update(recorded); err != nil {
			return "", fmt.Errorf("marking the recorded revision %d deployed again: %w", recorded.Version, err)
		}
	}
	if _, err := cfg.Releases.Delete(name, newest.Version); err != nil {
		return "", fmt.Errorf("removing the unrecorded revision %d: %w", newest.Version, err)
	}
	if uninstall {
		return fmt.Sprintf("release %s/%s revision %d was deployed by an interrupted command that never recorded it: %sremoved its record",
			namespace, name, newest.Version, deleted), nil
	}
	if recorded == nil {
		return fmt.Sprintf("release %s/%s revision %d was deployed by an interrupted command that never recorded it: removed its record; the next install takes over what it created",
			namespace, name, newest.Version), nil
	}
	return fmt.Sprintf("release %s/%s revision %d was deployed by an interrupted command that never recorded it: removed its record; recorded revision %d is the deployed one again",
		namespace, name, newest.Version, expect.Revision), nil
}

// Helm's ownership annotations: Helm sets them on every object it creates and refuses
// to take over an object whose annotations name another release.
const (
	helmReleaseName      = "meta.helm.sh/release-name"
	helmReleaseNamespace = "meta.helm.sh/release-namespace"
)

// deleteOwned deletes the live objects the manifest of rel (a revision an
// interrupted command stored but never recorded) lists and whose own metadata
// carries this release's ownership annotations, and says what it deleted ("" for
// nothing). The manifest alone is not trusted: a release record is a Secret any
// admin of its namespace can write, so an object is deleted only when the live
// object says Helm created it for this release. Hooks are not run: nobody recorded
// them.
func deleteOwned(cfg *action.Configuration, name, namespace string, rel *helmrelease.Release) (string, error) {
	listed, err := cfg.KubeClient.Build(strings.NewReader(rel.Manifest), false)
	if err != nil {
		return "", fmt.Errorf("reading the manifest of the interrupted revision %d: %w", rel.Version, err)
	}
	var owned kube.ResourceList
	var names []string
	for _, info := range listed {
		if err := info.Get(); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return "", fmt.Errorf("reading %s %s of the interrupted revision %d: %w", info.Mapping.GroupVersionKind.Kind, info.Name, rel.Version, err)
		}
		obj, err := meta.Accessor(info.Object)
		if err != nil {
			return "", err
		}
		if a := obj.GetAnnotations(); a[helmReleaseName] != name || a[helmReleaseNamespace] != namespace {
			continue
		}
		owned = append(owned, info)
		names = append(names, info.Mapping.GroupVersionKind.Kind+" "+info.Name)
	}
	if len(owned) == 0 {
		return "", nil
	}
	if _, errs := cfg.KubeClient.Delete(owned); len(errs) > 0 {
		return "", fmt.Errorf("deleting what the interrupted revision %d created: %w", rel.Version, errors.Join(errs...))
	}
	return fmt.Sprintf("deleted its %d objects (%s); ", len(owned), strings.Join(names, ", ")), nil
}

// OperationLabel is the label of each revision kubectl ext stores, naming (by a digest
// of its lock holder's identity, which a label value cannot hold as it is) the command
// that stored it.
const OperationLabel = "kubeext.dev/operation"

// OperationStamp is the value of OperationLabel for a command whose lock holder
// identity is holder.
func OperationStamp(holder string) string {
	sum := sha256.Sum256([]byte(holder))
	return hex.EncodeToString(sum[:16])
}

func operationLabels(holder string) map[string]string {
	if holder == "" {
		return nil
	}
	return map[string]string{OperationLabel: OperationStamp(holder)}
}

// stamped reports whether rel names the command that stored it.
func stamped(rel *helmrelease.Release) bool { return rel.Labels[OperationLabel] != "" }

// storedBy reports whether rel carries the stamp of the command holder identifies.
func storedBy(rel *helmrelease.Release, holder string) bool {
	return holder != "" && rel.Labels[OperationLabel] == OperationStamp(holder)
}

func notStoredBy(rel *helmrelease.Release, holder string) string {
	if holder == "" {
		return fmt.Sprintf("revision %d is %s, but this command took over no interrupted command's lock to recover it for", rel.Version, status(rel))
	}
	return fmt.Sprintf("revision %d is %s, but the interrupted command (%s) did not store it", rel.Version, status(rel), holder)
}
