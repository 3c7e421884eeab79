package scale

import (
	"github.com/packbench/packbench/internal/clock"
	"github.com/packbench/packbench/internal/duration"
)

// Clock is the time source of links and drivers (internal/clock's); tests
// inject internal/clocktest's manual clock so backoff and polling need no
// sleeps.
type Clock = clock.Clock

// Duration is the one config duration type (internal/duration): "300ms"
// or "5s" in TOML and JSON.
type Duration = duration.Duration
