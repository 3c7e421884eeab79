// Package clock is the one time source the packages wait on. Code that
// waits (reconnect backoff, debouncing, polling, timeouts) takes a Clock so
// tests inject internal/clocktest's manual clock and never sleep.
package clock

import "time"

// Clock is what the packages need of time: the current instant and a
// channel that fires once a duration has passed. It is the union of what
// scale, device and uplink use; internal/clocktest implements it for tests.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Real is the wall clock.
type Real struct{}

var _ Clock = Real{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }
