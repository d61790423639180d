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

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/policy"
)

// ClusterVersioner tells the cluster's effective Kubernetes version.
type ClusterVersioner interface {
	ClusterInfo(ctx context.Context) (policy.ClusterInfo, error)
}

// Gatherer builds policy inputs from a client.Reader and a ClusterVersioner.
type Gatherer struct {
	Reader  client.Reader
	Cluster ClusterVersioner
}

// Input completes req (an Extension write) into the policies' input. The object's own
// record is left out of the other extensions.
func (g Gatherer) Input(ctx context.Context, req policy.Request) (policy.Input, error) {
	if req.Object == nil {
		return policy.Input{}, fmt.Errorf("the request has no object")
	}
	cluster, err := g.Cluster.ClusterInfo(ctx)
	if err != nil {
		return policy.Input{}, err
	}
	in := policy.Input{Request: req, Cluster: cluster, Extensions: []v1alpha1.Extension{}}

	if name := req.Object.Spec.ExtensionType; name != "" {
		t := &v1alpha1.ExtensionType{}
		switch err := g.Reader.Get(ctx, types.NamespacedName{Name: name}, t); {
		case err == nil:
			in.ExtensionType = t
		case apierrors.IsNotFound(err):
			// Unknown type: the policies say so (EXT-TYPE-001).
		default:
			return policy.Input{}, fmt.Errorf("reading extension type %q: %w", name, err)
		}
	}

	list := &v1alpha1.ExtensionList{}
	if err := g.Reader.List(ctx, list); err != nil {
		return policy.Input{}, fmt.Errorf("listing extensions: %w", err)
	}
	for i := range list.Items {
		if list.Items[i].Name != req.Object.Name {
			in.Extensions = append(in.Extensions, list.Items[i])
		}
	}
	return in, nil
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
