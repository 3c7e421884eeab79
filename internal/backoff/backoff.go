// Package backoff is the one wait rule of every reconnect and retry loop
// (scale link, printer worker, MQTT link, HTTP carrier): exponential growth
// from Min to Max with equal jitter.
//
// Equal jitter draws each wait uniformly from [d/2, d), d being the doubled
// step. Half of the step is kept as a floor so a dead broker, printer or
// carrier is never hammered in a near-zero loop (full jitter can draw 0);
// the other half is random so benches that lost the same broker at the
// same moment do not come back in lock-step.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Backoff hands out the waits of one retry loop. The zero value waits
// nothing; set Min and Max. Not safe for concurrent use: each loop owns one.
type Backoff struct {
	Min, Max time.Duration
	// Jitter returns a number in [0, 1); nil means math/rand/v2. Tests
	// inject a fixed one.
	Jitter func() float64

	step time.Duration // the last un-jittered step; 0 before the first Next
}

// New returns a Backoff from min to max with random jitter.
func New(min, max time.Duration) Backoff { return Backoff{Min: min, Max: max} }

// Next returns the next wait: the step (Min, then doubled each call up to
// Max) jittered into [step/2, step).
func (b *Backoff) Next() time.Duration {
	b.step = b.Step()
	half := b.step / 2
	j := rand.Float64
	if b.Jitter != nil {
		j = b.Jitter
	}
	r := j()
	if r < 0 || r >= 1 { // a bad injected source must not escape the range
		r = 0
	}
	return half + time.Duration(r*float64(b.step-half))
}

// Step returns the un-jittered step the next call to Next will use.
func (b *Backoff) Step() time.Duration {
	maxStep := max(b.Max, b.Min)
	switch {
	case b.Min <= 0:
		return 0
	case b.step == 0:
		return min(b.Min, maxStep)
	case b.step > maxStep/2: // doubling would pass Max (or overflow)
		return maxStep
	}
	return b.step * 2
}

// Reset starts again from Min, after a success.
func (b *Backoff) Reset() { b.step = 0 }
