// Package duration is the one config duration type: a time.Duration that
// reads and writes as Go text ("300ms", "5s", "1m30s") in TOML and JSON.
// The config packages (scale, device, station, uplink) name it Duration as an
// alias, so it is one type everywhere. A bad value wraps ErrInvalid; the
// config loader adds where it stands (FILE:LINE:COL).
package duration

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalid is wrapped by every refused duration text.
var ErrInvalid = errors.New("invalid duration")

// Duration is a time.Duration written as text. Negative durations are
// refused: no setting waits a negative time, and "-1s" is a typo.
type Duration time.Duration

// MarshalText writes the duration as Go does ("1m30s").
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).String()), nil
}

// UnmarshalText reads "500ms", "15s", ...
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Std returns the time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Units lists every unit time.ParseDuration reads, as the error says it.
const Units = "h, m, s, ms, us, µs, μs or ns"

// Parse reads a non-negative Go duration; its error names the text and
// lists the units.
func Parse(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%w %q: want a non-negative Go duration like 500ms or 1m30s, with units %s", ErrInvalid, s, Units)
	}
	return v, nil
}
