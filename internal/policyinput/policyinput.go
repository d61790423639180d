// Package policyinput gathers what the policies judge a write with, besides the write
// itself: the cluster's effective Kubernetes version, the ExtensionType the object
// names, and the other Extensions. The webhook reads them from its informer cache, the
// plugin from the API server; both hand the result to internal/policy.
package policyinput

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// ClusterVersioner tells the cluster's effective Kubernetes version.
type ClusterVersioner interface {
	ClusterInfo(ctx context.Context) (policy.ClusterInfo, error)
}

// Inventory is the policy engine's store of the cluster's types and extensions
// (data.inventory); *policy.Engine is one.
type Inventory interface {
	SetExtension(*v1alpha1.Extension) error
	DeleteExtension(name string) error
	SetExtensionType(*v1alpha1.ExtensionType) error
	DeleteExtensionType(name string) error
	ReplaceInventory(exts []v1alpha1.Extension, types []v1alpha1.ExtensionType) error
}

// Gatherer builds policy inputs, and loads an engine's inventory, from a
// client.Reader and a ClusterVersioner.
type Gatherer struct {
	Reader  client.Reader
	Cluster ClusterVersioner
}

// Input completes req (an Extension write) into the policies' input: the write and the
// cluster's version. The cluster's types and extensions are the engine's inventory
// (Load, or Feed in a process that watches them).
func (g Gatherer) Input(ctx context.Context, req policy.Request) (policy.Input, error) {
	if req.Object == nil {
		return policy.Input{}, fmt.Errorf("the request has no object")
	}
	cluster, err := g.Cluster.ClusterInfo(ctx)
	if err != nil {
		return policy.Input{}, err
	}
	return policy.Input{Request: req, Cluster: cluster}, nil
}

// Load makes the cluster's ExtensionTypes and Extensions, as Reader lists them now, the
// whole of inv: two list requests, whatever the cluster holds.
func (g Gatherer) Load(ctx context.Context, inv Inventory) error {
	types := &v1alpha1.ExtensionTypeList{}
	if err := g.Reader.List(ctx, types); err != nil {
		return fmt.Errorf("listing extension types: %w", err)
	}
	exts := &v1alpha1.ExtensionList{}
	if err := g.Reader.List(ctx, exts); err != nil {
		return fmt.Errorf("listing extensions: %w", err)
	}
	return inv.ReplaceInventory(exts.Items, types.Items)
}

// Discovery reads the version from the API server on every call.
type Discovery struct {
	Client discovery.ServerVersionInterface
}

// ClusterInfo implements ClusterVersioner.
func (d Discovery) ClusterInfo(context.Context) (policy.ClusterInfo, error) {
	v, err := d.Client.ServerVersion()
	if err != nil {
		return policy.ClusterInfo{}, fmt.Errorf("reading the cluster's version: %w", err)
	}
	return policy.ClusterFromVersion(v.GitVersion, v.EmulationMajor, v.EmulationMinor)
}

// CachedVersion keeps the last version read by Source and refreshes it in the
// background (Start). Until the first successful read, ClusterInfo reads through.
type CachedVersion struct {
	Source   ClusterVersioner
	Interval time.Duration
	// OnError is told about failed refreshes; the previous version stays in use.
	OnError func(error)

	mu   sync.RWMutex
	info *policy.ClusterInfo
}

// ClusterInfo implements ClusterVersioner.
func (c *CachedVersion) ClusterInfo(ctx context.Context) (policy.ClusterInfo, error) {
	c.mu.RLock()
	info := c.info
	c.mu.RUnlock()
	if info != nil {
		return *info, nil
	}
	return c.refresh(ctx)
}

func (c *CachedVersion) refresh(ctx context.Context) (policy.ClusterInfo, error) {
	info, err := c.Source.ClusterInfo(ctx)
	if err != nil {
		return policy.ClusterInfo{}, err
	}
	c.mu.Lock()
	c.info = &info
	c.mu.Unlock()
	return info, nil
}

// Start refreshes the version every Interval until ctx ends. It has the signature of a
// controller-runtime Runnable.
func (c *CachedVersion) Start(ctx context.Context) error {
	interval := c.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := c.refresh(ctx); err != nil && c.OnError != nil {
			c.OnError(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
