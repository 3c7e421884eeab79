package uplink

import (
	"math/rand/v2"
	"time"

	"github.com/packbench/packbench/internal/clock"
)

// Clock is the time the link waits on (internal/clock's); tests inject
// internal/clocktest's manual clock.
type Clock = clock.Clock

// backoff doubles from min to max; each wait is jittered to [d/2, d) so a
// fleet that lost its broker does not come back in lockstep.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	half := b.cur / 2
	return half + rand.N(half+1)
}

func (b *backoff) reset() { b.cur = 0 }
