package lifecycle

import (
	"context"
	"errors"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// Verdict judges an extension's current spec as the policies would judge it written
// again unchanged now: an UPDATE of e with e itself, against the cluster's version, e's
// type and the other extensions as they are today. A stored spec can fall foul of the
// policies after it was admitted (the type's catalog dropped its version, the cluster
// moved on, the configuration changed), and then every write of it, even one that
// only changes a setting, is refused; troubleshoot reports that before the user meets
// it. The whole decision is returned (deny, warn and dryrun results); the error is
// only a failure to judge. Rules that read what the writer may do (the webhook asks the
// API server) are not judged, as in every check the plugin makes itself.
func (m *Manager) Verdict(ctx context.Context, e *v1alpha1.Extension) (policy.Decision, error) {
	if e == nil {
		return policy.Decision{}, errors.New("verdict: no extension to judge")
	}
	req := policy.Request{
		Operation: policy.OperationUpdate,
		UserInfo:  policy.UserInfo{Username: m.holder},
		Object:    e.DeepCopy(),
		OldObject: e.DeepCopy(),
	}
	engine, err := m.policies(ctx)
	if err != nil {
		return policy.Decision{}, err
	}
	in, err := m.gatherer.Input(ctx, req)
	if err != nil {
		return policy.Decision{}, err
	}
	// As in verdict: the inventory loaded is the one judged with.
	m.judgeMu.Lock()
	defer m.judgeMu.Unlock()
	if err := m.gatherer.Load(ctx, engine); err != nil {
		return policy.Decision{}, err
	}
	return engine.Evaluate(ctx, in)
}
