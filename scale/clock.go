package scale

import (
	"fmt"
	"time"
)

// Clock is the time source of links and drivers; tests inject a fake
// (scaletest.Clock) so backoff and polling need no sleeps.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// SystemClock is the wall clock.
func SystemClock() Clock { return realClock{} }

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
