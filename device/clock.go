package device

import (
	"math/rand/v2"
	"time"
)

// Clock is the time the worker and the GPIO debouncer wait on; tests inject
// their own.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// After implements Clock.
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// backoff doubles from min to max with ±20% jitter, so printers that came
// back at the same moment are not all polled in lock-step.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur *= 2
	}
	if b.cur > b.max {
		b.cur = b.max
	}
	j := time.Duration(float64(b.cur) * (0.8 + 0.4*rand.Float64()))
	if j <= 0 {
		j = b.cur
	}
	return j
}

func (b *backoff) reset() { b.cur = 0 }
