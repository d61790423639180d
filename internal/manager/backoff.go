package manager

import (
	"sync"
	"time"
)

// backoff remembers each extension's consecutive failures, so that a failing
// install, upgrade or correction is retried after a delay that doubles per failure,
// up to max, and never in a hot loop: status writes and Events wake the reconciler
// too, and each wake-up within the delay only waits.
type backoff struct {
	base, max time.Duration
	now       func() time.Time

	mu    sync.Mutex
	state map[string]failures
	// running are the keys whose attempt is under way.
	running map[string]bool
}

type failures struct {
	count int
	next  time.Time
}

func newBackoff(base, max time.Duration, now func() time.Time) *backoff {
	if max < base {
		max = base
	}
	return &backoff{base: base, max: max, now: now, state: map[string]failures{}, running: map[string]bool{}}
}

// fail records a failure of key and returns the delay before the next attempt.
func (b *backoff) fail(key string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.state[key]
	d := b.base
	for i := 0; i < f.count && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	f.count++
	f.next = b.now().Add(d)
	b.state[key] = f
	return d
}

// wait is how long key must still wait; 0 when it may act.
func (b *backoff) wait(key string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.state[key]
	if !ok {
		return 0
	}
	return max(f.next.Sub(b.now()), 0)
}

// count is the number of consecutive failures of key.
func (b *backoff) count(key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state[key].count
}

// reset forgets key's failures after a success.
func (b *backoff) reset(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.state, key)
}

// attempt marks an attempt of key as under way until the returned function is called,
// so that what watches its effects (a status write) knows whose attempt it is.
func (b *backoff) attempt(key string) (done func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.running[key] = true
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.running, key)
	}
}

// owns reports whether key has an attempt under way or failures on record.
func (b *backoff) owns(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.running[key] || b.state[key].count > 0
}
