package firmware

import (
	"context"
	"fmt"
	"time"

	"github.com/packbench/packbench/internal/clock"
)

// Gate defaults.
const (
	DefaultWindow = 5 * time.Minute
	DefaultPoll   = 2 * time.Second
)

// GateOptions tune Gate; nil means defaults.
type GateOptions struct {
	Clock  clock.Clock   // nil: clock.Real
	Window time.Duration // how long the new version has to become healthy
	Poll   time.Duration // how often health is asked
}

// Gate commits version once healthy reports nil, or rolls it back when
// the window closes first and returns ErrRolledBack: the caller then
// exits, and the restart runs the previous version. The window is
// measured on the clock's timers only (monotonic), never against the
// wall clock, which a Pi without RTC has at 1970 until NTP sets it.
// A cancelled ctx leaves the version pending: the next start goes on
// counting.
func (s *Store) Gate(ctx context.Context, version string, healthy func() error, o *GateOptions) error {
	var opts GateOptions
	if o != nil {
		opts = *o
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	deadline := opts.Clock.After(opts.Window)
	last := fmt.Errorf("never asked")
	for {
		if last = healthy(); last == nil {
			if _, err := s.MarkGood(version); err != nil {
				return err
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			reason := fmt.Sprintf("not healthy within %s: %v", opts.Window, last)
			if err := s.Rollback(reason); err != nil {
				return err
			}
			return fmt.Errorf("%w: %s: %s", ErrRolledBack, version, reason)
		case <-opts.Clock.After(opts.Poll):
		}
	}
}
