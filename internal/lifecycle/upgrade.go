package lifecycle

import (
	"context"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/catalog"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// UpgradeRequest is `kubectl ext upgrade`.
type UpgradeRequest struct {
	Names   []string // empty = every extension
	DryRun  bool
	Wait    bool
	Timeout time.Duration
}

// Upgrade plans every named (or every) extension with PlanUpgrade, which asks the
// policies about each move, and, unless DryRun, applies the moves through Update
// (status.targetVersion first).
// It returns a plan per extension; an extension that failed has Action "failed".
func (m *Manager) Upgrade(ctx context.Context, req UpgradeRequest) ([]Plan, error) {
	var exts []v1alpha1.Extension
	if len(req.Names) == 0 {
		l, err := m.List(ctx)
		if err != nil {
			return nil, err
		}
		exts = l.Items
	} else {
		for _, n := range req.Names {
			e, err := m.Get(ctx, n)
			if err != nil {
				return nil, err
			}
			exts = append(exts, *e)
		}
	}
	// A cluster that cannot tell its version fails the run, not each extension.
	planner, err := m.NewPlanner(ctx)
	if err != nil {
		return nil, err
	}
	// Plan every extension first, on every core (the policies' evaluation is the cost
	// and the engine is safe for concurrent use), then apply the moves in order.
	plans := make([]Plan, len(exts))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range exts {
		e := &exts[i]
		g.Go(func() error {
			if err := beingDeleted(e); err != nil {
				plans[i] = Plan{Name: e.Name, Current: e.Status.CurrentVersion, Action: ActionBlocked, Reason: err.Error()}
				return nil
			}
			p, err := planner.Plan(ctx, e)
			if err != nil {
				p = Plan{Name: e.Name, Current: e.Status.CurrentVersion, Action: ActionBlocked, Reason: err.Error()}
			}
			plans[i] = p
			return nil
		})
	}
	_ = g.Wait() // every error is in its plan
	if req.DryRun {
		return plans, nil
	}
	for i := range plans {
		p := &plans[i]
		if p.Action != ActionUpgrade {
			continue
		}
		m.progress("Upgrading extension %s from %s to %s", p.Name, p.Current, p.Target)
		if _, err := m.Update(ctx, UpdateRequest{Name: p.Name, TargetVersion: p.Target, Wait: req.Wait, Timeout: req.Timeout}); err != nil {
			p.Action, p.Reason = ActionFailed, err.Error()
		} else {
			p.Action = ActionUpgraded
		}
	}
	return plans, nil
}

// Planner plans the upgrades of many extensions from one reading of the cluster: its
// version and the policies' inventory once, each type (synced from its chart source
// when it never was) once. Planning N extensions of T types costs O(T) API requests,
// not O(N). It has an engine of its own (the policies are compiled once per process),
// so it neither sees nor disturbs the Manager's judgements meanwhile, and its Plan may
// be called from many goroutines.
type Planner struct {
	m       *Manager
	engine  *policy.Engine
	cluster policy.ClusterInfo

	mu    sync.Mutex // guards types
	types map[string]*plannedType
}

type plannedType struct {
	once sync.Once
	t    *v1alpha1.ExtensionType
	err  error
}

// NewPlanner reads the cluster's version and loads the inventory of an engine with
// the Manager's policy configuration.
func (m *Manager) NewPlanner(ctx context.Context) (*Planner, error) {
	cluster, err := m.cluster.ClusterInfo(ctx)
	if err != nil {
		return nil, err
	}
	judge, err := m.policies(ctx)
	if err != nil {
		return nil, err
	}
	engine, err := policy.New(ctx, policy.Options{Config: judge.Config()})
	if err != nil {
		return nil, err
	}
	if err := m.gatherer.Load(ctx, engine); err != nil {
		return nil, err
	}
	return &Planner{m: m, engine: engine, cluster: cluster, types: map[string]*plannedType{}}, nil
}

// Plan plans one stored extension's upgrade (PlanUpgrade). The planner asks the
// policies about each candidate with the input the webhook will judge the status
// write with, so its plan needs no second verdict.
func (p *Planner) Plan(ctx context.Context, e *v1alpha1.Extension) (Plan, error) {
	pt := p.typeOf(ctx, e.Spec.ExtensionType)
	if pt.err != nil {
		return Plan{}, pt.err
	}
	in := policy.Input{
		Request: policy.Request{Operation: policy.OperationUpdate, SubResource: policy.SubResourceStatus,
			Object: e, OldObject: e, UserInfo: policy.UserInfo{Username: p.m.holder}},
		Cluster: p.cluster,
	}
	return PlanUpgrade(ctx, p.engine, pt.t, in)
}

// typeOf reads a type (synced when it never was) the first time it is asked for;
// planning of other types goes on meanwhile.
func (p *Planner) typeOf(ctx context.Context, name string) *plannedType {
	p.mu.Lock()
	pt, ok := p.types[name]
	if !ok {
		pt = &plannedType{}
		p.types[name] = pt
	}
	p.mu.Unlock()
	pt.once.Do(func() {
		pt.t, pt.err = p.m.extensionType(ctx, name)
		if pt.err == nil {
			// A type synced just now is newer than the inventory's copy.
			pt.err = p.engine.SetExtensionType(pt.t)
		}
	})
	return pt
}

// Catalog is the catalog of extension types the manager reads versions from; the
// extension manager syncs it on its schedule.
func (m *Manager) Catalog() *catalog.Catalog { return m.catalog }
