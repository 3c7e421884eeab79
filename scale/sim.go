package scale

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/packbench/packbench/internal/clock"
)

// SimOptions tune a Simulator; nil means defaults.
type SimOptions struct {
	Clock Clock // default the wall clock
	// Interval is how often an unchanged weight is reported (default 100 ms).
	Interval time.Duration
}

// Simulator is a scale in software: the daemon's default when no scale is
// configured, driven from the API, the CLI and the bench page, and the
// source of scripted sequences (place, bounce, settle, remove) in tests and
// demos. It is safe for concurrent use.
type Simulator struct {
	clock    Clock
	interval time.Duration

	mu      sync.Mutex
	cur     Reading
	off     bool
	changed chan struct{} // closed and replaced on every change
}

// NewSimulator returns a simulator showing a stable zero.
func NewSimulator(opts *SimOptions) *Simulator {
	var o SimOptions
	if opts != nil {
		o = *opts
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Interval <= 0 {
		o.Interval = 100 * time.Millisecond
	}
	s := &Simulator{clock: o.Clock, interval: o.Interval, changed: make(chan struct{})}
	s.cur = Reading{Status: StatusZero, Unit: UnitGram, Source: "sim"}
	return s
}

// Set shows mg with status st, displayed in grams.
func (s *Simulator) Set(mg int64, st Status) {
	v, exp := gramsDisplay(mg)
	s.set(Reading{Milligrams: mg, Unit: UnitGram, Value: v, Exp: exp, Status: st, NoValue: !st.HasWeight() && st != StatusUnder})
}

// SetWeight shows value × 10^exp unit exactly as given (7.8 oz stays
// "7.8 oz" on the label), with status st.
func (s *Simulator) SetWeight(value int64, exp int, unit Unit, st Status) error {
	mg, err := ToMilligrams(value, exp, unit)
	if err != nil {
		return err
	}
	s.set(Reading{Milligrams: mg, Unit: unit, Value: value, Exp: exp, Status: st})
	return nil
}

// Place shows a stable weight of mg; Remove shows a stable zero.
func (s *Simulator) Place(mg int64) { s.Set(mg, StatusStable) }

// Remove empties the simulated scale.
func (s *Simulator) Remove() { s.Set(0, StatusZero) }

// Power switches the simulated scale on or off. Off, it stops answering:
// connections fail with ErrTimeout, as a real scale that powers down does.
func (s *Simulator) Power(on bool) {
	s.mu.Lock()
	s.off = !on
	s.notifyLocked()
	s.mu.Unlock()
}

// Current returns what the scale shows now.
func (s *Simulator) Current() Reading {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.cur
	r.Time = s.clock.Now()
	return r
}

func (s *Simulator) set(r Reading) {
	if r.Status == StatusStable && r.Milligrams == 0 {
		r.Status = StatusZero
	}
	r.Source = "sim"
	s.mu.Lock()
	s.cur = r
	s.notifyLocked()
	s.mu.Unlock()
}

func (s *Simulator) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func gramsDisplay(mg int64) (int64, int) {
	exp := -3
	for exp < 0 && mg%10 == 0 && mg != 0 {
		mg /= 10
		exp++
	}
	if mg == 0 {
		return 0, 0
	}
	return mg, exp
}

// Open connects to the simulator: the Opener for driver "sim".
func (s *Simulator) Open(ctx context.Context) (Conn, error) {
	s.mu.Lock()
	off := s.off
	s.mu.Unlock()
	if off {
		return nil, fmt.Errorf("sim: %w (powered off)", ErrTimeout)
	}
	return &simConn{s: s}, nil
}

type simConn struct {
	s    *Simulator
	seen chan struct{}
}

// Next reports immediately after a change, else every Interval.
func (c *simConn) Next(ctx context.Context) (Reading, error) {
	s := c.s
	s.mu.Lock()
	changed := s.changed
	s.mu.Unlock()
	if c.seen != nil && c.seen == changed {
		select {
		case <-ctx.Done():
			return Reading{}, ctx.Err()
		case <-changed:
		case <-s.clock.After(s.interval):
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.seen = s.changed
	if s.off {
		return Reading{}, fmt.Errorf("sim: %w (powered off)", ErrTimeout)
	}
	r := s.cur
	r.Time = s.clock.Now()
	return r, nil
}

func (c *simConn) Zero(context.Context) error { c.s.Remove(); return nil }
func (c *simConn) Tare(context.Context) error { c.s.Remove(); return nil }
func (c *simConn) Close() error               { return nil }

// Step is one held state of a script: what the scale shows, for how long.
type Step struct {
	Milligrams int64
	// Value × 10^Exp Unit is how the scale shows the weight when it is the
	// weight the script placed ("7.8 oz"); Unit is UnitNone otherwise, and
	// the weight shows in grams.
	Value  int64
	Exp    int
	Unit   Unit
	Status Status
	Off    bool // the scale is powered off for this step
	For    time.Duration
}

// Script is a parsed simulator script.
type Script []Step

// Script timing: how long each phase of the commands lasts.
const (
	scriptTick   = 100 * time.Millisecond // one bounce swing
	scriptSettle = time.Second            // "settle" holds the weight this long
)

// ParseScript reads a script of ";"-separated commands:
//
//	place 1200g     parcel lands: motion at the weight
//	bounce          it bounces: +3 %, -2 %, +1 % in motion, 100 ms each
//	settle          stable at the weight for 1 s
//	creep 5g        stable, drifting up by 5 g over 1 s in 10 steps
//	remove          lifted: motion at half, then stable zero
//	wait 500ms      hold what is shown
//	set 250g motion show a weight and status (stable, motion, zero, over, fault, needs-zero)
//	off / on        power off (stops answering) and on (zero)
//
// Weights take any unit: 1200g, 1.2kg, 7.8oz, 2.5lb.
func ParseScript(src string) (Script, error) {
	var sc Script
	var w int64
	var shown Step // how the placed weight is displayed
	// step builds a step at mg, displayed in the placed unit when mg is
	// exactly the placed weight.
	step := func(mg int64, st Status, d time.Duration) Step {
		s := Step{Milligrams: mg, Status: st, For: d}
		if mg == w && shown.Unit.Valid() {
			s.Value, s.Exp, s.Unit = shown.Value, shown.Exp, shown.Unit
		}
		return s
	}
	for i, cmd := range strings.Split(src, ";") {
		f := strings.Fields(cmd)
		if len(f) == 0 {
			continue
		}
		bad := func(why string) error {
			return fmt.Errorf("%w: script command %d %q: %s", ErrConfig, i+1, strings.TrimSpace(cmd), why)
		}
		arg := func(n int) error {
			if len(f) != n+1 {
				return bad(fmt.Sprintf("want %d argument(s)", n))
			}
			return nil
		}
		switch f[0] {
		case "place", "creep", "set":
			if len(f) < 2 {
				return nil, bad("want a weight like 1200g")
			}
			v, exp, u, err := parseWeight(f[1])
			if err != nil {
				return nil, bad(err.Error())
			}
			mg, err := ToMilligrams(v, exp, u)
			if err != nil {
				return nil, bad(err.Error())
			}
			switch f[0] {
			case "place":
				if err := arg(1); err != nil {
					return nil, err
				}
				w, shown = mg, Step{Value: v, Exp: exp, Unit: u}
				sc = append(sc, step(w, StatusMotion, scriptTick))
			case "creep":
				if err := arg(1); err != nil {
					return nil, err
				}
				for k := int64(1); k <= 10; k++ {
					sc = append(sc, step(w+mg*k/10, StatusStable, scriptSettle/10))
				}
				w, shown = w+mg, Step{}
			case "set":
				st := StatusStable
				if len(f) == 3 {
					if err := st.UnmarshalText([]byte(f[2])); err != nil {
						return nil, bad(err.Error())
					}
				} else if err := arg(1); err != nil {
					return nil, err
				}
				w, shown = mg, Step{Value: v, Exp: exp, Unit: u}
				sc = append(sc, step(w, st, scriptTick))
			}
		case "bounce":
			if err := arg(0); err != nil {
				return nil, err
			}
			for _, pct := range []int64{3, -2, 1} {
				sc = append(sc, Step{Milligrams: w + w*pct/100, Status: StatusMotion, For: scriptTick})
			}
		case "settle":
			if err := arg(0); err != nil {
				return nil, err
			}
			sc = append(sc, step(w, StatusStable, scriptSettle))
		case "remove":
			if err := arg(0); err != nil {
				return nil, err
			}
			sc = append(sc, Step{Milligrams: w / 2, Status: StatusMotion, For: scriptTick},
				Step{Milligrams: 0, Status: StatusZero, For: scriptSettle})
			w, shown = 0, Step{}
		case "wait":
			if err := arg(1); err != nil {
				return nil, err
			}
			d, err := time.ParseDuration(f[1])
			if err != nil || d < 0 {
				return nil, bad("want a duration like 500ms")
			}
			if len(sc) == 0 {
				sc = append(sc, Step{Status: StatusZero})
			}
			last := sc[len(sc)-1]
			last.For = d
			sc = append(sc, last)
		case "off":
			if err := arg(0); err != nil {
				return nil, err
			}
			sc = append(sc, Step{Off: true, Status: StatusFault, For: scriptSettle})
		case "on":
			if err := arg(0); err != nil {
				return nil, err
			}
			w, shown = 0, Step{} // scales zero themselves at power-on
			sc = append(sc, Step{Status: StatusZero, For: scriptTick})
		default:
			return nil, bad("unknown command (place, bounce, settle, creep, remove, wait, set, off, on)")
		}
	}
	if len(sc) == 0 {
		return nil, fmt.Errorf("%w: empty script", ErrConfig)
	}
	return sc, nil
}

// ParseWeight reads "1200g", "1.2 kg", "7.8oz" into exact milligrams.
func ParseWeight(s string) (int64, error) {
	v, exp, u, err := parseWeight(s)
	if err != nil {
		return 0, err
	}
	return ToMilligrams(v, exp, u)
}

func parseWeight(s string) (v int64, exp int, u Unit, err error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(c rune) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' })
	if i <= 0 {
		return 0, 0, 0, fmt.Errorf("%w: weight %q: want a number and a unit, like 1200g", ErrConfig, s)
	}
	if v, exp, err = ParseDecimal(s[:i]); err != nil {
		return 0, 0, 0, fmt.Errorf("weight %q: %w", s, err)
	}
	if u, err = ParseUnit(s[i:]); err != nil {
		return 0, 0, 0, fmt.Errorf("weight %q: %w", s, err)
	}
	return v, exp, u, nil
}

// reading is what the scale shows during the step (without time).
func (st Step) reading() Reading {
	r := Reading{Milligrams: st.Milligrams, Status: st.Status, Source: "sim",
		Unit: st.Unit, Value: st.Value, Exp: st.Exp}
	if !st.Unit.Valid() {
		r.Unit = UnitGram
		r.Value, r.Exp = gramsDisplay(st.Milligrams)
	}
	r.NoValue = !st.Status.HasWeight() && st.Status != StatusUnder
	return r
}

// Duration is the script's total running time.
func (sc Script) Duration() time.Duration {
	var d time.Duration
	for _, st := range sc {
		d += st.For
	}
	return d
}

// Readings returns what a scale reporting every `every` shows while the
// script runs from start: the readings a filter sees, for tests and
// benchmarks. Powered-off steps produce no readings (a gap).
func (sc Script) Readings(start time.Time, every time.Duration) []Reading {
	var out []Reading
	t := start
	for _, st := range sc {
		end := t.Add(st.For)
		for ; t.Before(end); t = t.Add(every) {
			if st.Off {
				continue
			}
			r := st.reading()
			r.Time = t
			out = append(out, r)
		}
	}
	return out
}

// Run plays the script on the simulator on its clock; ctx stops it early.
func (s *Simulator) Run(ctx context.Context, sc Script) error {
	for _, st := range sc {
		if st.Off {
			s.Power(false)
		} else {
			s.mu.Lock()
			wasOff := s.off
			s.off = false
			s.mu.Unlock()
			if wasOff {
				s.Power(true)
			}
			s.set(st.reading())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.clock.After(st.For):
		}
	}
	return nil
}
