// Package duration is the one config duration type: a time.Duration that
// reads and writes as Go text ("300ms", "5s", "1m30s") in TOML and JSON.
//
// Each config package instantiates it with its own Sentinel, so a bad value
// keeps wrapping that package's ErrConfig ("device: invalid config:
// duration \"2 parsecs\" ...") while the parsing rule lives here once.
package duration

import (
	"fmt"
	"time"
)

// Sentinel names the error a bad duration text wraps; its zero value is
// used, so it is typically an empty struct whose Err returns a package's
// ErrConfig.
type Sentinel interface{ Err() error }

// Duration is a time.Duration written as text. Negative durations are
// refused: no setting waits a negative time, and "-1s" is a typo.
type Duration[S Sentinel] time.Duration

// MarshalText writes the duration as Go does ("1m30s").
func (d Duration[S]) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// UnmarshalText reads "500ms", "15s", ...
func (d *Duration[S]) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		var s S
		return fmt.Errorf("%w: %w", s.Err(), err)
	}
	*d = Duration[S](v)
	return nil
}

// Std returns the time.Duration.
func (d Duration[S]) Std() time.Duration { return time.Duration(d) }

// Parse reads a non-negative Go duration; its error names the text.
func Parse(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("duration %q: want a non-negative Go duration like 500ms or 15s", s)
	}
	return v, nil
}
