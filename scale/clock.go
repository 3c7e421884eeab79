package scale

import (
	"github.com/packbench/packbench/internal/clock"
	"github.com/packbench/packbench/internal/duration"
)

// Clock is the time source of links and drivers (internal/clock's); tests
// inject internal/clocktest's manual clock so backoff and polling need no
// sleeps.
type Clock = clock.Clock

// Duration is a time.Duration written as "300ms" or "5s" in TOML and JSON
// (internal/duration's, shared by every config); a bad value wraps ErrConfig.
type Duration = duration.Duration[durationErr]

type durationErr struct{}

func (durationErr) Err() error { return ErrConfig }
