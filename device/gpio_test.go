package device_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/internal/clocktest"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

func TestDebouncer(t *testing.T) {
	t0 := time.Unix(0, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	d := device.Debouncer{Hold: 30 * time.Millisecond}
	steps := []struct {
		at      int
		v       bool
		changed bool
		stable  bool
	}{
		{0, true, false, false},   // bounce starts
		{5, false, false, false},  // bounced back
		{10, true, false, false},  // down again: the 30ms start here
		{35, true, false, false},  // 25ms
		{40, true, true, true},    // 30ms held: pressed
		{45, false, false, true},  // release bounce
		{50, true, false, true},   // back down
		{80, false, false, true},  // released
		{109, false, false, true}, // 29ms
		{110, false, true, false}, // 30ms: released
	}
	for _, s := range steps {
		changed, stable := d.Sample(s.v, ms(s.at))
		if changed != s.changed || stable != s.stable {
			t.Fatalf("at %dms sample %v: changed %v stable %v, want %v %v", s.at, s.v, changed, stable, s.changed, s.stable)
		}
	}
	if !d.Since().Equal(ms(80)) {
		t.Fatalf("Since = %v, want the first released sample at 80ms", d.Since().Sub(t0))
	}
}

func TestButtonPresses(t *testing.T) {
	ctx := testCtx(t)
	clk := clocktest.NewClock(time.Unix(1000, 0))
	pin := &gpiotest.Pin{N: "GPIO17", Num: 17}
	b, err := device.NewButton(pin, &device.ButtonOptions{Clock: clk, Debounce: 30 * time.Millisecond,
		LongPress: 200 * time.Millisecond, Poll: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if pin.Pull() != gpio.PullUp || pin.Read() != gpio.High {
		t.Fatalf("button pin not pulled up: %v %v", pin.Pull(), pin.Read())
	}
	var mu sync.Mutex
	var presses []device.Press
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- b.Run(runCtx, func(p device.Press) { mu.Lock(); presses = append(presses, p); mu.Unlock() })
	}()
	// hold sets the level for n polls of 5ms, advancing only while the
	// button loop waits on the clock.
	hold := func(l gpio.Level, n int) {
		for i := 0; i < n; i++ {
			if err := clk.WaitWaiters(ctx, 1); err != nil {
				t.Fatal(err)
			}
			pin.Out(l)
			clk.Advance(5 * time.Millisecond)
		}
	}
	hold(gpio.High, 4)
	hold(gpio.Low, 1) // a 5ms glitch is no press
	hold(gpio.High, 10)
	hold(gpio.Low, 2) // bounce
	hold(gpio.High, 1)
	hold(gpio.Low, 12) // 60ms: a short press
	hold(gpio.High, 1) // release bounce
	hold(gpio.Low, 1)
	hold(gpio.High, 10)
	hold(gpio.Low, 50) // 250ms: long
	hold(gpio.High, 10)
	clk.WaitWaiters(ctx, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(presses) != 2 || presses[0] != device.PressShort || presses[1] != device.PressLong {
		t.Fatalf("presses %v, want [short long]", presses)
	}
}

// recPin is a gpiotest pin that also reports every level written.
type recPin struct {
	*gpiotest.Pin
	levels chan gpio.Level
}

func (p *recPin) Out(l gpio.Level) error {
	p.Pin.Out(l)
	p.levels <- l
	return nil
}

func TestOutputPatterns(t *testing.T) {
	ctx := testCtx(t)
	clk := clocktest.NewClock(time.Unix(1000, 0))
	pin := &recPin{Pin: &gpiotest.Pin{N: "GPIO27"}, levels: make(chan gpio.Level, 64)}
	led, err := device.NewOutput(pin, clk)
	if err != nil {
		t.Fatal(err)
	}
	if l := <-pin.levels; l != gpio.Low {
		t.Fatal("output not driven low on open")
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- led.Run(runCtx) }()
	if l := <-pin.levels; l != gpio.Low { // PatternOff
		t.Fatalf("initial level %v", l)
	}
	// expect reads the next level written, then lets the step's time pass
	// once the loop waits on the clock (waiters counts an abandoned timer
	// left by a pattern switch mid-step).
	expect := func(want gpio.Level, advance time.Duration, waiters int) {
		t.Helper()
		select {
		case l := <-pin.levels:
			if l != want {
				t.Fatalf("level %v, want %v", l, want)
			}
		case <-ctx.Done():
			t.Fatal("no level written")
		}
		if advance > 0 {
			if err := clk.WaitWaiters(ctx, waiters); err != nil {
				t.Fatal(err)
			}
			clk.Advance(advance)
		}
	}
	led.Set(device.BeepOK) // once, then off until told otherwise
	expect(gpio.High, 80*time.Millisecond, 1)
	expect(gpio.Low, 0, 0)
	led.Set(device.LEDPattern(device.StateReady)) // steady on
	expect(gpio.High, 0, 0)
	led.Set(device.LEDPattern(device.StatePaperOut)) // fast blink
	for i := 0; i < 3; i++ {
		expect(gpio.High, 100*time.Millisecond, 1)
		expect(gpio.Low, 100*time.Millisecond, 1)
	}
	expect(gpio.High, 0, 0)
	// Switching mid-step starts the new pattern at once.
	led.Set(device.LEDPattern(device.StateOffline)) // double blink
	expect(gpio.High, 100*time.Millisecond, 2)
	expect(gpio.Low, 100*time.Millisecond, 1)
	expect(gpio.High, 100*time.Millisecond, 1)
	expect(gpio.Low, 700*time.Millisecond, 1)
	expect(gpio.High, 0, 0)
	// Setting the pattern that is already playing does not restart it.
	led.Set(device.LEDPattern(device.StateOffline))
	if err := clk.WaitWaiters(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(100 * time.Millisecond)
	expect(gpio.Low, 0, 0)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	if l := <-pin.levels; l != gpio.Low || pin.Read() != gpio.Low {
		t.Fatal("output left on after Run")
	}
	if device.LEDPattern(device.StatePrinting).Name != "working" || device.LEDPattern(device.StateHeadOpen).Name != "error" {
		t.Fatal("state → pattern mapping")
	}
}

func TestGPIOAbsentIsHarmless(t *testing.T) {
	g, err := device.OpenGPIO(device.GPIOConfig{}, nil)
	if err != nil || g.Button != nil || g.LED != nil {
		t.Fatalf("no pins configured: %+v, %v", g, err)
	}
	g, err = device.OpenGPIO(device.GPIOConfig{Button: "GPIO_NOPE_99", LED: "NOPE_LED"}, nil)
	if err == nil {
		t.Fatal("unknown pins opened without error")
	}
	if !errors.Is(err, device.ErrNoGPIO) && !errors.Is(err, device.ErrNotSupported) {
		t.Fatalf("err %v does not wrap ErrNoGPIO", err)
	}
	if g == nil || g.Button != nil || g.LED != nil {
		t.Fatalf("parts opened from unknown pins: %+v", g)
	}
	if _, err := device.LookupPin("GPIO_NOPE_99"); !errors.Is(err, device.ErrNoGPIO) {
		t.Fatalf("LookupPin: %v", err)
	}
}

// OpenGPIO with injected pins: each part on its pin, active-low parts
// inverted (off is high), nothing of periph's host touched.
func TestOpenGPIOInjectedActiveLow(t *testing.T) {
	pins := map[string]*gpiotest.Pin{"B": {N: "B"}, "L": {N: "L"}, "Z": {N: "Z"}}
	lookup := func(name string) (gpio.PinIO, error) {
		if p, ok := pins[name]; ok {
			return p, nil
		}
		return nil, device.ErrNoGPIO
	}
	no := false
	g, err := device.OpenGPIO(device.GPIOConfig{Button: "B", LED: "L", Buzzer: "Z", ButtonActiveLow: &no, LEDActiveLow: true},
		&device.GPIOOptions{Pin: lookup, Clock: clocktest.NewClock(time.Unix(0, 0))})
	if err != nil || g.Button == nil || g.LED == nil || g.Buzzer == nil {
		t.Fatalf("%+v %v", g, err)
	}
	if pins["B"].Pull() != gpio.PullDown {
		t.Fatal("an active-high button needs the pull-down")
	}
	if pins["L"].Read() != gpio.High || pins["Z"].Read() != gpio.Low {
		t.Fatalf("off levels: led %v (active low: want high), buzzer %v", pins["L"].Read(), pins["Z"].Read())
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	led := &recPin{Pin: pins["L"], levels: make(chan gpio.Level, 8)}
	out, err := device.NewOutputWith(led, &device.OutputOptions{ActiveLow: true})
	if err != nil || <-led.levels != gpio.High {
		t.Fatal("active-low output not driven high (off) on open", err)
	}
	done := make(chan error, 1)
	go func() { done <- out.Run(ctx) }()
	<-led.levels // PatternOff: high
	out.Set(device.PatternReady)
	if l := <-led.levels; l != gpio.Low {
		t.Fatalf("active-low LED on: level %v, want low", l)
	}
	cancel()
	<-done
	if l := <-led.levels; l != gpio.High {
		t.Fatalf("active-low LED left on after Run: %v", l)
	}
	if _, err := device.OpenGPIO(device.GPIOConfig{LED: "nope"}, &device.GPIOOptions{Pin: lookup}); !errors.Is(err, device.ErrNoGPIO) {
		t.Fatalf("unknown injected pin: %v", err)
	}
}

func TestGPIOConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  device.GPIOConfig
		want string
	}{
		{device.GPIOConfig{Button: "GPIO17", LED: "GPIO27", Buzzer: "GPIO22"}, ""},
		{device.GPIOConfig{Button: "GPIO17", Buzzer: "GPIO17"}, `gpio.buzzer: pin "GPIO17" is also gpio.button`},
		{device.GPIOConfig{Debounce: device.Duration(-time.Millisecond)}, "must not be negative"},
		{device.GPIOConfig{Debounce: device.Duration(time.Second), LongPress: device.Duration(time.Second)}, "gpio.long_press"},
	} {
		err := tc.cfg.Validate()
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
