package sfn

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Clock is the engine's only source of time. Wait states, retry back-off,
// task and heartbeat timeouts, execution timeouts and every timestamp go
// through it, so tests can substitute a [FakeClock] and never sleep.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that delivers the current time on its channel
	// once d has elapsed. A non-positive d fires immediately.
	NewTimer(d time.Duration) Timer
}

// Timer is a stoppable, resettable one-shot timer, like *time.Timer.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing. It reports whether the call
	// stopped the timer (false if it had already fired or been stopped).
	Stop() bool
	// Reset re-arms the timer to fire d from now, discarding any undelivered
	// expiry. It reports whether the timer had been active.
	Reset(d time.Duration) bool
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

// FakeClock is a manually advanced [Clock] for tests. Time stands still until
// Advance or AdvanceToNext moves it; timers whose deadline is reached fire in
// deadline order. WaitForTimers lets a test block, without sleeping, until the
// code under test has armed the timers it expects, which is what makes
// timing assertions deterministic.
//
// The zero value is not usable; call NewFakeClock.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	seq     uint64
	pending map[*fakeTimer]struct{}
	// changed is closed and replaced whenever the set of pending timers
	// changes, waking WaitForTimers callers.
	changed chan struct{}
}

// NewFakeClock returns a FakeClock reading start.
func NewFakeClock(start time.Time) *FakeClock {
	return &FakeClock{now: start, pending: map[*fakeTimer]struct{}{}, changed: make(chan struct{})}
}

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when the fake time reaches Now()+d.
func (c *FakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{clock: c, c: make(chan time.Time, 1)}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.arm(t, d)
	return t
}

// arm schedules t at now+d, or fires it at once for d <= 0. c.mu is held.
func (c *FakeClock) arm(t *fakeTimer, d time.Duration) {
	if d <= 0 {
		t.fire(c.now)
		return
	}
	c.seq++
	t.deadline, t.seq = c.now.Add(d), c.seq
	c.pending[t] = struct{}{}
	c.notify()
}

// notify wakes WaitForTimers callers. c.mu is held.
func (c *FakeClock) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Advance moves the fake time forward by d, firing every timer whose
// deadline is reached.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for t := range c.pending {
		if !t.deadline.After(c.now) {
			due = append(due, t)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].deadline.Equal(due[j].deadline) {
			return due[i].deadline.Before(due[j].deadline)
		}
		return due[i].seq < due[j].seq
	})
	for _, t := range due {
		delete(c.pending, t)
		t.fire(c.now)
	}
	if len(due) > 0 {
		c.notify()
	}
}

// AdvanceToNext moves the fake time to the earliest pending deadline, firing
// the timers due then, and returns how far time moved. With no pending timer
// it does nothing and returns false.
func (c *FakeClock) AdvanceToNext() (time.Duration, bool) {
	c.mu.Lock()
	var next time.Time
	found := false
	for t := range c.pending {
		if !found || t.deadline.Before(next) {
			next, found = t.deadline, true
		}
	}
	d := next.Sub(c.now)
	c.mu.Unlock()
	if !found {
		return 0, false
	}
	c.Advance(d)
	return d, true
}

// PendingTimers returns the number of armed, unfired timers.
func (c *FakeClock) PendingTimers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// PendingDurations returns, in ascending order, how long each armed timer
// has left to run.
func (c *FakeClock) PendingDurations() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Duration, 0, len(c.pending))
	for t := range c.pending {
		out = append(out, t.deadline.Sub(c.now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// WaitForTimers blocks until at least n timers are pending or ctx is done.
func (c *FakeClock) WaitForTimers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if len(c.pending) >= n {
			c.mu.Unlock()
			return nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

type fakeTimer struct {
	clock    *FakeClock
	c        chan time.Time
	deadline time.Time
	seq      uint64
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

// fire delivers now without blocking; the channel has room for exactly one
// expiry, as a one-shot timer needs.
func (t *fakeTimer) fire(now time.Time) {
	select {
	case t.c <- now:
	default:
	}
}

func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pending[t]; !ok {
		return false
	}
	delete(c.pending, t)
	c.notify()
	return true
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	_, active := c.pending[t]
	delete(c.pending, t)
	select { // discard an expiry nobody has received yet, as time.Timer does
	case <-t.c:
	default:
	}
	c.arm(t, d)
	if active && d <= 0 {
		c.notify()
	}
	return active
}
