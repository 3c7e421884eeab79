package device

import "github.com/packbench/packbench/internal/clock"

// Clock is the time the worker and the GPIO debouncer wait on
// (internal/clock's); tests inject internal/clocktest's manual clock.
type Clock = clock.Clock
