package scale

import (
	"fmt"
	"time"

	"github.com/packbench/packbench/internal/clock"
)

// Clock is the time source of links and drivers (internal/clock's); tests
// inject internal/clocktest's manual clock so backoff and polling need no
// sleeps.
type Clock = clock.Clock

// Duration is a time.Duration written as "300ms" in TOML and JSON.
type Duration time.Duration

// MarshalText writes the duration as Go does ("300ms").
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads "300ms", "2s", ...
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%w: duration %q: %v", ErrConfig, b, err)
	}
	*d = Duration(v)
	return nil
}
