package release

import (
	"fmt"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeext/kubectl-ext/internal/failpoint"
)

// stopDuringHelm gives a failpoints build (internal/failpoint) the step during-helm:
// Helm's kube client stops before its first change to the cluster's objects, which
// every action makes after it stored its revision (install: pending-install; upgrade:
// pending-upgrade; uninstall: the record marked uninstalling). Helm's kube client
// takes no context, so the step waits on the command's (failpoint.HitProcess). When
// an interruption ends the wait, that one change is not made and fails: the action
// Helm was running stops there, as one whose command went away would, and whatever
// runs after it (the rollback, the uninstall of a failed install) passes the step.
// The failed change returns an empty Result, as Helm's own client does: Helm reads
// it after an error. In a production build stopDuringHelm does nothing.
func stopDuringHelm(cfg *action.Configuration) {
	if !failpoint.Enabled {
		return
	}
	if kc, ok := cfg.KubeClient.(*kube.Client); ok {
		// Embedding the concrete client keeps the optional interfaces Helm asserts
		// (InterfaceExt, InterfaceDeletionPropagation, ...).
		cfg.KubeClient = &stoppingKube{Client: kc}
	}
}

type stoppingKube struct{ *kube.Client }

func (k *stoppingKube) stop() error {
	if failpoint.HitProcess(failpoint.DuringHelm) {
		return fmt.Errorf("interrupted at failpoint %s", failpoint.DuringHelm)
	}
	return nil
}

func (k *stoppingKube) Create(resources kube.ResourceList) (*kube.Result, error) {
	if err := k.stop(); err != nil {
		return &kube.Result{}, err
	}
	return k.Client.Create(resources)
}

func (k *stoppingKube) Update(original, target kube.ResourceList, force bool) (*kube.Result, error) {
	if err := k.stop(); err != nil {
		return &kube.Result{}, err
	}
	return k.Client.Update(original, target, force)
}

func (k *stoppingKube) UpdateThreeWayMerge(original, target kube.ResourceList, force bool) (*kube.Result, error) {
	if err := k.stop(); err != nil {
		return &kube.Result{}, err
	}
	return k.Client.UpdateThreeWayMerge(original, target, force)
}

func (k *stoppingKube) Delete(resources kube.ResourceList) (*kube.Result, []error) {
	if err := k.stop(); err != nil {
		return &kube.Result{}, []error{err}
	}
	return k.Client.Delete(resources)
}

func (k *stoppingKube) DeleteWithPropagationPolicy(resources kube.ResourceList, policy metav1.DeletionPropagation) (*kube.Result, []error) {
	if err := k.stop(); err != nil {
		return &kube.Result{}, []error{err}
	}
	return k.Client.DeleteWithPropagationPolicy(resources, policy)
}
