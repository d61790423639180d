package release

import (
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeext/kubectl-ext/internal/failpoint"
)

// stopDuringHelm gives a failpoints build (internal/failpoint) two steps inside the
// Helm action cfg is about to run; in a production build it does nothing.
//
//   - during-helm: Helm's kube client stops before its first change to the cluster's
//     objects, which every action makes after it stored its revision (install:
//     pending-install; upgrade: pending-upgrade; uninstall: the record marked
//     uninstalling), until the command's context is done, then makes it: an install's
//     or upgrade's requests carry that context (interrupted_transport.go), so the
//     change fails as a real request would and the action stops there. An uninstall
//     takes no context, so its deletions go on after the interruption, as they would.
//   - during-helm-wait: the objects are applied (uninstall: deleted) and Helm starts
//     to wait for them. After an interruption an install's or upgrade's wait returns
//     (boundWaits); an uninstall's goes on.
//
// Helm's kube client methods take no context, so both steps wait on the command's
// (failpoint.HitProcess). Each stops once, so whatever runs after the interruption
// (the rollback, the uninstall of a failed install) passes them. The client is
// wrapped after any other wrapper (progress.go's, boundWaits), whose methods it calls.
func stopDuringHelm(cfg *action.Configuration) {
	if !failpoint.Enabled {
		return
	}
	if inner, ok := cfg.KubeClient.(fullKube); ok {
		cfg.KubeClient = &stoppingKube{fullKube: inner}
	}
}

// fullKube is Helm's kube client with the optional interfaces Helm's actions look for.
type fullKube interface {
	kube.Interface
	kube.InterfaceExt
	kube.InterfaceThreeWayMerge
	kube.InterfaceLogs
	kube.InterfaceDeletionPropagation
	kube.InterfaceResources
}

type stoppingKube struct{ fullKube }

func (k *stoppingKube) Create(resources kube.ResourceList) (*kube.Result, error) {
	failpoint.HitProcess(failpoint.DuringHelm)
	return k.fullKube.Create(resources)
}

func (k *stoppingKube) Update(original, target kube.ResourceList, force bool) (*kube.Result, error) {
	failpoint.HitProcess(failpoint.DuringHelm)
	return k.fullKube.Update(original, target, force)
}

func (k *stoppingKube) UpdateThreeWayMerge(original, target kube.ResourceList, force bool) (*kube.Result, error) {
	failpoint.HitProcess(failpoint.DuringHelm)
	return k.fullKube.UpdateThreeWayMerge(original, target, force)
}

func (k *stoppingKube) Delete(resources kube.ResourceList) (*kube.Result, []error) {
	failpoint.HitProcess(failpoint.DuringHelm)
	return k.fullKube.Delete(resources)
}

func (k *stoppingKube) DeleteWithPropagationPolicy(resources kube.ResourceList, policy metav1.DeletionPropagation) (*kube.Result, []error) {
	failpoint.HitProcess(failpoint.DuringHelm)
	return k.fullKube.DeleteWithPropagationPolicy(resources, policy)
}

func (k *stoppingKube) Wait(resources kube.ResourceList, timeout time.Duration) error {
	failpoint.HitProcess(failpoint.DuringHelmWait)
	return k.fullKube.Wait(resources, timeout)
}

func (k *stoppingKube) WaitWithJobs(resources kube.ResourceList, timeout time.Duration) error {
	failpoint.HitProcess(failpoint.DuringHelmWait)
	return k.fullKube.WaitWithJobs(resources, timeout)
}

func (k *stoppingKube) WaitForDelete(resources kube.ResourceList, timeout time.Duration) error {
	failpoint.HitProcess(failpoint.DuringHelmWait)
	return k.fullKube.WaitForDelete(resources, timeout)
}
