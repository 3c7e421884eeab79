package device

import (
	"math/rand/v2"
	"time"

	"github.com/packbench/packbench/internal/clock"
)

// Clock is the time the worker and the GPIO debouncer wait on
// (internal/clock's); tests inject internal/clocktest's manual clock.
type Clock = clock.Clock

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
