// Package clocktest holds the manual clock the packages' tests inject where
// code waits (internal/clock.Clock: Now and After), so backoffs, debouncing
// and timeouts are tested without sleeping.
package clocktest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/packbench/packbench/internal/clock"
)

var _ clock.Clock = (*Clock)(nil)

// Clock is a manual clock for tests: time moves only when Advance is called.
// WaitWaiters lets a test know the code under test is blocked on After
// before it advances, so nothing sleeps.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []clockWaiter
	changed chan struct{}
	auto    bool            // every After fires at once, moving now forward
	waited  []time.Duration // every After's duration, in call order
}

type clockWaiter struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t, changed: make(chan struct{})} }

// Now returns the manual time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives once the clock reaches now+d.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waited = append(c.waited, d)
	ch := make(chan time.Time, 1)
	if c.auto && d > 0 {
		c.now = c.now.Add(d)
	}
	if d <= 0 || c.auto {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, clockWaiter{at: c.now.Add(d), ch: ch})
	close(c.changed)
	c.changed = make(chan struct{})
	return ch
}

// SetAuto makes every later After fire at once, moving the clock forward by
// its duration: for code whose waits a test only observes (with Waited).
func (c *Clock) SetAuto(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.auto = on
}

// Waited returns the duration of every After call so far, in call order.
func (c *Clock) Waited() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waited...)
}

// Advance moves the clock, fires every After that is due and returns the
// new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
	close(c.changed)
	c.changed = make(chan struct{})
	return c.now
}

// WaitWaiters blocks until at least n After calls are pending.
func (c *Clock) WaitWaiters(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		have, ch := len(c.waiters), c.changed
		c.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("clock: %d of %d waiters: %w", have, n, ctx.Err())
		}
	}
}

// Waiters returns how many After calls are pending.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// Pending returns how long until each pending After fires, in call order.
func (c *Clock) Pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Duration, len(c.waiters))
	for i, w := range c.waiters {
		out[i] = w.at.Sub(c.now)
	}
	return out
}
