package scale

import (
	"fmt"
	"time"
)

// FilterOptions tune the stable-weight filter. Zero values take the
// defaults, which suit a parcel bench.
type FilterOptions struct {
	// MinWeight is the lightest parcel that triggers, in mg (default 20 g).
	MinWeight int64 `toml:"min_weight_mg" json:"min_weight_mg"`
	// ZeroThreshold: a steady reading below it (mg) means the scale is
	// empty again and re-arms the filter (default 10 g; must be below MinWeight).
	ZeroThreshold int64 `toml:"zero_threshold_mg" json:"zero_threshold_mg"`
	// Settle is how long the weight must stay within tolerance (default 300 ms).
	Settle Duration `toml:"settle" json:"settle"`
	// ToleranceMg and TolerancePPM: the weight may move by the larger of the
	// two during Settle (defaults ±2 g and 2000 ppm = 0.2 %).
	ToleranceMg  int64 `toml:"tolerance_mg" json:"tolerance_mg"`
	TolerancePPM int64 `toml:"tolerance_ppm" json:"tolerance_ppm"`
	// MaxGap: readings further apart than this do not vouch for each other;
	// the settle window restarts (default 1 s).
	MaxGap Duration `toml:"max_gap" json:"max_gap"`
}

// Filter defaults.
const (
	DefaultMinWeight     = 20_000 // mg
	DefaultZeroThreshold = 10_000 // mg
	DefaultSettle        = 300 * time.Millisecond
	DefaultToleranceMg   = 2_000
	DefaultTolerancePPM  = 2_000
	DefaultMaxGap        = time.Second
)

// EventKind says what the filter decided.
type EventKind uint8

// Event kinds.
const (
	EventNone    EventKind = iota
	EventPlaced            // a parcel settled: print its label
	EventRemoved           // the scale is empty again: the filter is re-armed
)

func (k EventKind) String() string {
	switch k {
	case EventPlaced:
		return "placed"
	case EventRemoved:
		return "removed"
	}
	return "none"
}

// Event is the filter's decision for one reading; Reading is that reading.
type Event struct {
	Kind    EventKind
	Reading Reading
}

// FilterState is where the filter is, for display.
type FilterState uint8

// Filter states.
const (
	StateEmpty    FilterState = iota // armed, nothing (or too little) on the scale
	StateSettling                    // a weight is settling
	StatePlaced                      // Placed was sent; waiting for the scale to empty
	StateUnknown                     // the last reading had no weight (fault, over, no value)
	// StateTooLight: a weight above zero but below MinWeight has settled.
	// It never prints (Feed sends no event for it); a display polls the
	// state after each Feed to tell the packer why nothing happens.
	StateTooLight
)

func (s FilterState) String() string {
	return [...]string{"empty", "settling", "placed", "unknown", "too_light"}[s]
}

// Filter turns readings into one Placed event per parcel.
//
// A reading triggers Placed when the scale's motion flag is clear, the
// weight is at least MinWeight and it has stayed within tolerance of the
// first reading of the window for Settle (measured on the readings' own
// timestamps, so the filter is pure and needs no clock). After Placed the
// filter stays quiet until a reading without motion falls below
// ZeroThreshold (or the scale reports under zero): only then does it send
// Removed and re-arm.
//
// Readings without a weight (fault, over capacity, a scale that stopped
// answering, which the Link turns into fault readings) are "unknown": they
// restart the settle window and never count as removal. So a scale that
// goes silent or powers off with the parcel on it never re-arms and never
// reports 0 g, and a gap longer than MaxGap restarts the window too.
//
// A Filter is not safe for concurrent use; feed it from one goroutine.
type Filter struct {
	opt FilterOptions

	placed   bool
	unknown  bool
	settling bool
	light    bool // the settling window is below MinWeight
	settled  bool // the light window has settled: StateTooLight
	anchor   int64
	start    time.Time
	last     time.Time
}

// NewFilter checks the options and returns an armed filter.
func NewFilter(opts *FilterOptions) (*Filter, error) {
	var o FilterOptions
	if opts != nil {
		o = *opts
	}
	if o.MinWeight == 0 {
		o.MinWeight = DefaultMinWeight
	}
	if o.ZeroThreshold == 0 {
		o.ZeroThreshold = min(DefaultZeroThreshold, o.MinWeight/2)
	}
	if o.Settle == 0 {
		o.Settle = Duration(DefaultSettle)
	}
	if o.ToleranceMg == 0 {
		o.ToleranceMg = DefaultToleranceMg
	}
	if o.TolerancePPM == 0 {
		o.TolerancePPM = DefaultTolerancePPM
	}
	if o.MaxGap == 0 {
		o.MaxGap = Duration(DefaultMaxGap)
	}
	switch {
	case o.MinWeight < 0:
		return nil, fmt.Errorf("%w: filter min_weight_mg %d: must be positive", ErrConfig, o.MinWeight)
	case o.ZeroThreshold < 0 || o.ZeroThreshold >= o.MinWeight:
		return nil, fmt.Errorf("%w: filter zero_threshold_mg %d: must be positive and below min_weight_mg %d", ErrConfig, o.ZeroThreshold, o.MinWeight)
	case o.Settle < 0 || o.MaxGap < 0:
		return nil, fmt.Errorf("%w: filter settle and max_gap must be positive", ErrConfig)
	case o.ToleranceMg < 0 || o.TolerancePPM < 0 || o.TolerancePPM >= 1_000_000:
		return nil, fmt.Errorf("%w: filter tolerance_mg must be positive and tolerance_ppm in 0..999999", ErrConfig)
	}
	return &Filter{opt: o}, nil
}

// Options returns the options in force, defaults filled in.
func (f *Filter) Options() FilterOptions { return f.opt }

// State reports where the filter is.
func (f *Filter) State() FilterState {
	switch {
	case f.placed:
		return StatePlaced
	case f.unknown:
		return StateUnknown
	case f.settled:
		return StateTooLight
	case f.settling:
		return StateSettling
	}
	return StateEmpty
}

// Reset forgets everything, including a placed parcel: the next stable
// weight triggers again. For an operator's "reprint/next parcel" button.
func (f *Filter) Reset() { *f = Filter{opt: f.opt} }

func (f *Filter) tolerance(w int64) int64 {
	rel := w / 1_000_000 * f.opt.TolerancePPM // split to avoid overflow
	rel += w % 1_000_000 * f.opt.TolerancePPM / 1_000_000
	return max(f.opt.ToleranceMg, rel)
}

// Feed takes the next reading and returns the decision.
func (f *Filter) Feed(r Reading) Event {
	gap := !f.last.IsZero() && (r.Time.Before(f.last) || r.Time.Sub(f.last) > time.Duration(f.opt.MaxGap))
	f.last = r.Time
	empty := r.Status == StatusUnder || (r.HasWeight() && r.Milligrams < f.opt.ZeroThreshold)
	if !r.HasWeight() && !empty {
		f.settling, f.unknown = false, true
		return Event{}
	}
	f.unknown = false
	if empty {
		f.settling, f.settled = false, false
		if r.Status == StatusMotion || !f.placed {
			return Event{}
		}
		f.placed = false
		return Event{Kind: EventRemoved, Reading: r}
	}
	if f.placed {
		return Event{}
	}
	if r.Status == StatusMotion {
		f.settling, f.settled = false, false
		return Event{}
	}
	// A light weight settles like a parcel (so the state can say "too
	// light") but never sends Placed: one label per placement still holds.
	light := r.Milligrams < f.opt.MinWeight
	if gap || !f.settling || light != f.light || absDiff(r.Milligrams, f.anchor) > f.tolerance(f.anchor) {
		f.settling, f.settled, f.light, f.anchor, f.start = true, false, light, r.Milligrams, r.Time
	}
	if r.Time.Sub(f.start) < time.Duration(f.opt.Settle) {
		return Event{}
	}
	if light {
		f.settled = true
		return Event{}
	}
	f.settling, f.placed = false, true
	return Event{Kind: EventPlaced, Reading: r}
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}
