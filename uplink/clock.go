package uplink

import "github.com/packbench/packbench/internal/clock"

// Clock is the time the link waits on (internal/clock's); tests inject
// internal/clocktest's manual clock.
type Clock = clock.Clock
