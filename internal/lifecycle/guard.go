package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/kubeext/kubectl-ext/internal/api/v1alpha1"
	"github.com/kubeext/kubectl-ext/internal/settings"
)

// Every operation (Create, Update, Delete) carries an operation through its context:
// the protected values it has seen, so that no error, status message or progress line
// quotes one, and the lock it holds, so that it stops before its next step once the
// lease is lost.

// maxMessage is the maxLength of every message the status holds: metav1.Condition's
// message, and errorInfo.message and statuses[].message in the CRD.
const maxMessage = 32768

// statusWriteTimeout bounds a status write made after the command's own context was
// cancelled (SIGINT), so a failure is still recorded but a dead API server cannot hold
// the command forever.
const statusWriteTimeout = 15 * time.Second

// ErrBeingDeleted: the Extension has a deletionTimestamp; only its deletion may go on.
var ErrBeingDeleted = errors.New("extension is being deleted")

type operationKey struct{}

type operation struct {
	mu      sync.Mutex
	secrets []string
	lock    *lock
}

// startOperation returns ctx carrying a new operation that redacts the values of
// protected, or the operation ctx carries already (Upgrade runs Update within its own).
func startOperation(ctx context.Context, protected map[string]string) (context.Context, *operation) {
	if o := operationOf(ctx); o != nil {
		o.protect(protected)
		return ctx, o
	}
	o := &operation{}
	o.protect(protected)
	return context.WithValue(ctx, operationKey{}, o), o
}

func operationOf(ctx context.Context) *operation {
	o, _ := ctx.Value(operationKey{}).(*operation)
	return o
}

// protect adds values to redact.
func (o *operation) protect(p map[string]string) {
	if o == nil || len(p) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.secrets = append(o.secrets, slices.Collect(maps.Values(p))...)
}

func (o *operation) hold(l *lock) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lock = l
}

// redact removes every protected value from s.
func (o *operation) redact(s string) string {
	if o == nil {
		return s
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return settings.Redact(s, o.secrets)
}

// redactErr returns err with every protected value removed from its message; errors.Is
// and errors.As still see the original chain.
func (o *operation) redactErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if r := o.redact(msg); r != msg {
		return &redactedError{msg: r, err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// statusMessage is a message fit for the status: redacted, then truncated to the
// schema's limit.
func statusMessage(ctx context.Context, msg string) string {
	return settings.Truncate(operationOf(ctx).redact(msg), maxMessage)
}

// stillHeld returns the lock's error once the operation has lost its lease: the
// operation stops before its next step and says so. It is nil without a lock (dry
// runs, delete --force).
func stillHeld(ctx context.Context) error {
	o := operationOf(ctx)
	if o == nil {
		return nil
	}
	o.mu.Lock()
	l := o.lock
	o.mu.Unlock()
	if l == nil {
		return nil
	}
	return l.Lost()
}

// detached is ctx without its cancellation and with statusWriteTimeout: a failure is
// recorded even after the user pressed Ctrl-C.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), statusWriteTimeout)
}

// beingDeleted refuses any operation but delete on an Extension being deleted.
func beingDeleted(e *v1alpha1.Extension) error {
	if e.DeletionTimestamp == nil {
		return nil
	}
	return fmt.Errorf("%w: %s (deletion requested at %s): kubectl ext only finishes its deletion, with `kubectl ext delete %s`",
		ErrBeingDeleted, e.Name, e.DeletionTimestamp.UTC().Format(time.RFC3339), e.Name)
}
