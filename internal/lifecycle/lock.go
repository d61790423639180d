package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ErrBusy: another kubectl ext command holds the extension's lock.
var ErrBusy = errors.New("another operation is in progress")

const (
	leaseDuration = 20 * time.Second
	leaseRenew    = 5 * time.Second
)

// lock is one command's hold on one extension: a coordination.k8s.io Lease in the
// release namespace, renewed while the command runs. A command killed mid-way stops
// renewing, so the next command finds the lease expired and knows the extension's
// Creating/Updating/Deleting state is stale.
type lock struct {
	c      client.Client
	key    types.NamespacedName
	holder string
	stop   context.CancelFunc
	done   sync.WaitGroup
	// stale is true when the lock was taken over from a holder that stopped renewing.
	stale bool
}

func leaseName(extension string) string { return "kubeext-" + extension }

// acquire takes the extension's lock or fails with ErrBusy naming the holder.
func acquire(ctx context.Context, c client.Client, namespace, extension, holder string, now func() time.Time) (*lock, error) {
	l := &lock{c: c, key: types.NamespacedName{Namespace: namespace, Name: leaseName(extension)}, holder: holder}
	lease := &coordinationv1.Lease{}
	err := c.Get(ctx, l.key, lease)
	switch {
	case apierrors.IsNotFound(err):
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: l.key.Name,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "kubectl-ext"}},
			Spec: l.spec(now()),
		}
		if err := c.Create(ctx, lease); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return nil, busy(extension, "another command", 0)
			}
			return nil, fmt.Errorf("taking the lock of extension %s: %w", extension, err)
		}
	case err != nil:
		return nil, fmt.Errorf("reading the lock of extension %s: %w", extension, err)
	default:
		if h := ptr.Deref(lease.Spec.HolderIdentity, ""); h != "" && h != holder && !expired(lease, now()) && !holderGone(h) {
			age := time.Duration(0)
			if lease.Spec.RenewTime != nil {
				age = now().Sub(lease.Spec.RenewTime.Time).Round(time.Second)
			}
			return nil, busy(extension, h, age)
		}
		l.stale = ptr.Deref(lease.Spec.HolderIdentity, "") != ""
		lease.Spec = l.spec(now())
		if err := c.Update(ctx, lease); err != nil {
			if apierrors.IsConflict(err) {
				return nil, busy(extension, "another command", 0)
			}
			return nil, fmt.Errorf("taking the lock of extension %s: %w", extension, err)
		}
	}
	renewCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.stop = cancel
	l.done.Add(1)
	go l.renew(renewCtx, now)
	return l, nil
}

func busy(extension, holder string, age time.Duration) error {
	if age > 0 {
		return fmt.Errorf("%w on extension %s (held by %s, renewed %s ago): retry when it finishes", ErrBusy, extension, holder, age)
	}
	return fmt.Errorf("%w on extension %s (held by %s): retry when it finishes", ErrBusy, extension, holder)
}

func expired(l *coordinationv1.Lease, now time.Time) bool {
	if l.Spec.RenewTime == nil {
		return true
	}
	d := time.Duration(ptr.Deref(l.Spec.LeaseDurationSeconds, int32(leaseDuration/time.Second))) * time.Second
	return now.After(l.Spec.RenewTime.Add(d))
}

func (l *lock) spec(now time.Time) coordinationv1.LeaseSpec {
	t := metav1.NewMicroTime(now)
	return coordinationv1.LeaseSpec{
		HolderIdentity:       ptr.To(l.holder),
		LeaseDurationSeconds: ptr.To(int32(leaseDuration / time.Second)),
		AcquireTime:          &t,
		RenewTime:            &t,
	}
}

func (l *lock) renew(ctx context.Context, now func() time.Time) {
	defer l.done.Done()
	t := time.NewTicker(leaseRenew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		lease := &coordinationv1.Lease{}
		if err := l.c.Get(ctx, l.key, lease); err != nil {
			continue
		}
		if ptr.Deref(lease.Spec.HolderIdentity, "") != l.holder {
			return
		}
		rt := metav1.NewMicroTime(now())
		lease.Spec.RenewTime = &rt
		_ = l.c.Update(ctx, lease) // a missed renewal is retried at the next tick
	}
}

// release stops renewing and deletes the lease.
func (l *lock) release(ctx context.Context) {
	if l == nil {
		return
	}
	l.stop()
	l.done.Wait()
	lease := &coordinationv1.Lease{}
	if err := l.c.Get(ctx, l.key, lease); err == nil && ptr.Deref(lease.Spec.HolderIdentity, "") == l.holder {
		_ = l.c.Delete(ctx, lease, client.Preconditions{ResourceVersion: &lease.ResourceVersion})
	}
}
