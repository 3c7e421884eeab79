package device

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"

	"github.com/packbench/packbench/internal/clock"
)

// GPIOConfig names the bench's pins (periph names such as "GPIO17"). An
// empty name means that part is not fitted.
type GPIOConfig struct {
	Button string `toml:"button" json:"button,omitempty"` // a push button or foot pedal
	LED    string `toml:"led" json:"led,omitempty"`       // the status LED
	Buzzer string `toml:"buzzer" json:"buzzer,omitempty"` // an active buzzer
	// ButtonActiveLow: the button pulls the pin to ground (internal
	// pull-up); default true. False: it pulls to 3.3 V (pull-down).
	ButtonActiveLow *bool `toml:"button_active_low" json:"button_active_low,omitempty"`
	// LEDActiveLow and BuzzerActiveLow: the part is on when the pin is low
	// (wired from 3.3 V to the pin); default false (on when high).
	LEDActiveLow    bool `toml:"led_active_low" json:"led_active_low,omitempty"`
	BuzzerActiveLow bool `toml:"buzzer_active_low" json:"buzzer_active_low,omitempty"`
	// Debounce: how long the button level must hold; default 30ms.
	Debounce Duration `toml:"debounce" json:"debounce,omitempty"`
	// LongPress: a press held this long is a long press; default 1s.
	LongPress Duration `toml:"long_press" json:"long_press,omitempty"`
}

// Fitted reports whether any part has a pin.
func (c GPIOConfig) Fitted() bool { return c.Button != "" || c.LED != "" || c.Buzzer != "" }

// Validate checks the section: no pin used twice, no negative times.
func (c GPIOConfig) Validate() error {
	seen := map[string]string{}
	for _, p := range []struct{ part, pin string }{{"button", c.Button}, {"led", c.LED}, {"buzzer", c.Buzzer}} {
		if p.pin == "" {
			continue
		}
		if other, ok := seen[p.pin]; ok {
			return fmt.Errorf("gpio.%s: pin %q is also gpio.%s", p.part, p.pin, other)
		}
		seen[p.pin] = p.part
	}
	if c.Debounce < 0 || c.LongPress < 0 {
		return errors.New("gpio: debounce and long_press must not be negative")
	}
	if c.LongPress > 0 && c.LongPress <= c.Debounce {
		return errors.New("gpio.long_press: must be longer than gpio.debounce")
	}
	return nil
}

// GPIOOptions are OpenGPIO's dependencies; nil or zero fields mean the real ones.
type GPIOOptions struct {
	// Clock times debouncing and patterns; nil means the real clock.
	Clock Clock
	// Pin finds a pin by name; nil means periph's host drivers and
	// registry (LookupPin). Tests pass gpiotest pins.
	Pin func(name string) (gpio.PinIO, error)
}

// GPIO is the bench's opened pins. Parts whose pin is absent are nil.
type GPIO struct {
	Button *Button
	LED    *Output
	Buzzer *Output
}

// OpenGPIO initialises periph (host.Init on Linux) and opens the configured
// pins. It returns what it could open together with an error naming every
// part that failed (wrapping ErrNoGPIO or ErrNotSupported): the caller logs
// it once and carries on without those parts. Never panics.
func OpenGPIO(cfg GPIOConfig, opts *GPIOOptions) (*GPIO, error) {
	var o GPIOOptions
	if opts != nil {
		o = *opts
	}
	g := &GPIO{}
	if !cfg.Fitted() {
		return g, nil
	}
	if o.Pin == nil {
		if err := hostInit(); err != nil {
			return g, fmt.Errorf("gpio: %w", err)
		}
		o.Pin = LookupPin
	}
	var errs []error
	if cfg.Button != "" {
		p, err := o.Pin(cfg.Button)
		if err == nil {
			g.Button, err = NewButton(p, &ButtonOptions{Clock: o.Clock, ActiveLow: cfg.ButtonActiveLow,
				Debounce: time.Duration(cfg.Debounce), LongPress: time.Duration(cfg.LongPress)})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("button: %w", err))
		}
	}
	if cfg.LED != "" {
		p, err := o.Pin(cfg.LED)
		if err == nil {
			g.LED, err = NewOutputWith(p, &OutputOptions{Clock: o.Clock, ActiveLow: cfg.LEDActiveLow})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("led: %w", err))
		}
	}
	if cfg.Buzzer != "" {
		p, err := o.Pin(cfg.Buzzer)
		if err == nil {
			g.Buzzer, err = NewOutputWith(p, &OutputOptions{Clock: o.Clock, ActiveLow: cfg.BuzzerActiveLow})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("buzzer: %w", err))
		}
	}
	if len(errs) > 0 {
		return g, fmt.Errorf("gpio: %w", joinErrs(errs))
	}
	return g, nil
}

func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	e := errs[0]
	for _, x := range errs[1:] {
		e = fmt.Errorf("%w; %w", e, x)
	}
	return e
}

// LookupPin finds a pin by its periph name; an unknown name wraps ErrNoGPIO.
func LookupPin(name string) (gpio.PinIO, error) {
	p := gpioreg.ByName(name)
	if p == nil {
		return nil, fmt.Errorf("%w: no pin named %q", ErrNoGPIO, name)
	}
	return p, nil
}

// Press is what a button press meant.
type Press int

// Presses.
const (
	PressShort Press = iota + 1 // released before LongPress (the station: print now, else reprint)
	PressLong                   // held LongPress or longer (the station: reprint)
)

func (p Press) String() string {
	switch p {
	case PressShort:
		return "short"
	case PressLong:
		return "long"
	}
	return "none"
}

// ButtonOptions tune a Button; nil means defaults.
type ButtonOptions struct {
	Clock     Clock
	Debounce  time.Duration // default 30ms
	LongPress time.Duration // default 1s
	Poll      time.Duration // sampling period; default 5ms
	ActiveLow *bool         // default true: the button pulls the pin to ground
}

// Button is a debounced push button, sampled on a clock.
type Button struct {
	pin gpio.PinIn
	o   ButtonOptions
	db  Debouncer
}

// NewButton sets pin as an input with a pull-up (pull-down when active high).
func NewButton(pin gpio.PinIn, opts *ButtonOptions) (*Button, error) {
	var o ButtonOptions
	if opts != nil {
		o = *opts
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Debounce <= 0 {
		o.Debounce = 30 * time.Millisecond
	}
	if o.LongPress <= 0 {
		o.LongPress = time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Millisecond
	}
	if o.ActiveLow == nil {
		t := true
		o.ActiveLow = &t
	}
	pull := gpio.PullUp
	if !*o.ActiveLow {
		pull = gpio.PullDown
	}
	if err := pin.In(pull, gpio.NoEdge); err != nil {
		return nil, fmt.Errorf("button %s: set input: %w", pin, err)
	}
	return &Button{pin: pin, o: o, db: Debouncer{Hold: o.Debounce}}, nil
}

// Run samples the button until ctx ends, calling onPress once per debounced
// release with how long it was held.
func (b *Button) Run(ctx context.Context, onPress func(Press)) error {
	var downAt time.Time
	pressed := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-b.o.Clock.After(b.o.Poll):
		}
		now := b.o.Clock.Now()
		level := b.pin.Read()
		down := (level == gpio.Low) == *b.o.ActiveLow
		changed, stable := b.db.Sample(down, now)
		if !changed {
			continue
		}
		switch {
		case stable && !pressed:
			pressed, downAt = true, b.db.Since()
		case !stable && pressed:
			pressed = false
			if b.db.Since().Sub(downAt) >= b.o.LongPress {
				onPress(PressLong)
			} else {
				onPress(PressShort)
			}
		}
	}
}

// Debouncer turns noisy samples into a stable level: the level must read the
// same for Hold before it counts. Zero value: level false (released).
type Debouncer struct {
	Hold time.Duration

	stable    bool
	candidate bool
	since     time.Time // when candidate was first seen
	have      bool
	changedAt time.Time // when stable last changed, backdated to its first sample
}

// Sample feeds one reading; it reports whether the stable level changed and
// the stable level.
func (d *Debouncer) Sample(v bool, now time.Time) (changed, stable bool) {
	if !d.have || v != d.candidate {
		d.candidate, d.since, d.have = v, now, true
	}
	if d.candidate != d.stable && now.Sub(d.since) >= d.Hold {
		d.stable = d.candidate
		d.changedAt = d.since
		return true, d.stable
	}
	return false, d.stable
}

// Since is when the stable level last changed (the first sample of the new
// level, so a press's length does not include the debounce delay).
func (d *Debouncer) Since() time.Time { return d.changedAt }

// Step is one part of a Pattern: the pin's level for a time.
type Step struct {
	On  bool
	For time.Duration
}

// Pattern is a sequence of steps played on an output; Repeat plays it in a
// loop until another pattern is set.
type Pattern struct {
	Name   string
	Steps  []Step
	Repeat bool
}

// LED patterns for the printer states, and buzzer patterns.
var (
	PatternOff     = Pattern{Name: "off", Steps: []Step{{false, 0}}}
	PatternReady   = Pattern{Name: "ready", Steps: []Step{{true, 0}}}
	PatternWorking = Pattern{Name: "working", Repeat: true, Steps: []Step{{true, 500 * time.Millisecond}, {false, 500 * time.Millisecond}}}
	PatternError   = Pattern{Name: "error", Repeat: true, Steps: []Step{{true, 100 * time.Millisecond}, {false, 100 * time.Millisecond}}}
	PatternOffline = Pattern{Name: "offline", Repeat: true, Steps: []Step{
		{true, 100 * time.Millisecond}, {false, 100 * time.Millisecond}, {true, 100 * time.Millisecond}, {false, 700 * time.Millisecond}}}
	BeepOK    = Pattern{Name: "beep-ok", Steps: []Step{{true, 80 * time.Millisecond}, {false, 0}}}
	BeepError = Pattern{Name: "beep-error", Steps: []Step{
		{true, 150 * time.Millisecond}, {false, 100 * time.Millisecond}, {true, 150 * time.Millisecond},
		{false, 100 * time.Millisecond}, {true, 150 * time.Millisecond}, {false, 0}}}
)

// LEDPattern is the LED's pattern for a printer state: steady when ready,
// slow blink while working, fast blink when a person is needed, double blink
// when the printer cannot be reached.
func LEDPattern(s State) Pattern {
	switch s {
	case StateReady, StateUnknown:
		return PatternReady
	case StatePrinting:
		return PatternWorking
	case StateOffline:
		return PatternOffline
	}
	return PatternError
}

// Output plays patterns on an output pin (LED or buzzer).
type Output struct {
	pin       gpio.PinOut
	clock     Clock
	activeLow bool

	mu      sync.Mutex
	pattern Pattern
	wake    chan struct{}
}

// NewOutput drives pin low (off) and returns it ready for Run.
func NewOutput(pin gpio.PinOut, clk Clock) (*Output, error) {
	return NewOutputWith(pin, &OutputOptions{Clock: clk})
}

// OutputOptions tune an Output; nil means defaults.
type OutputOptions struct {
	Clock Clock // nil: the real clock
	// ActiveLow: the part is on while the pin is low.
	ActiveLow bool
}

// NewOutputWith drives pin off and returns it ready for Run.
func NewOutputWith(pin gpio.PinOut, opts *OutputOptions) (*Output, error) {
	var o OutputOptions
	if opts != nil {
		o = *opts
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	out := &Output{pin: pin, clock: o.Clock, activeLow: o.ActiveLow, pattern: PatternOff, wake: make(chan struct{}, 1)}
	if err := pin.Out(out.level(false)); err != nil {
		return nil, fmt.Errorf("output %s: %w", pin, err)
	}
	return out, nil
}

// level is the pin level that turns the part on or off.
func (o *Output) level(on bool) gpio.Level { return gpio.Level(on != o.activeLow) }

// Set switches to p (from its first step) unless it is already playing.
func (o *Output) Set(p Pattern) {
	o.mu.Lock()
	same := o.pattern.Name == p.Name && p.Repeat
	if !same {
		o.pattern = p
	}
	o.mu.Unlock()
	if !same {
		select {
		case o.wake <- struct{}{}:
		default:
		}
	}
}

// Pattern is the pattern set last.
func (o *Output) Pattern() Pattern {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.pattern
}

// Run plays patterns until ctx ends, then turns the part off.
func (o *Output) Run(ctx context.Context) error {
	defer o.pin.Out(o.level(false))
	for {
		p := o.Pattern()
		interrupted := false
		for _, st := range p.Steps {
			if err := o.pin.Out(o.level(st.On)); err != nil {
				return fmt.Errorf("output %s: %w", o.pin, err)
			}
			var after <-chan time.Time
			if st.For > 0 {
				after = o.clock.After(st.For)
			}
			if after == nil {
				continue // a held level: stays until the next Set
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-o.wake:
				interrupted = true
			case <-after:
			}
			if interrupted {
				break
			}
		}
		if interrupted || p.Repeat {
			continue
		}
		// Played once (or a steady level): wait for the next pattern.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-o.wake:
		}
	}
}
