package scale_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/packbench/packbench/internal/clocktest"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/scale/scaletest"
)

// With an injected clock: a failing opener gives fault readings and
// retries after a jittered, growing backoff; the link never exits on its
// own; a later success resumes readings.
func TestLinkBackoffAndRecovery(t *testing.T) {
	clk := clocktest.NewClock(t0)
	sim := scale.NewSimulator(&scale.SimOptions{Clock: clk, Interval: time.Hour})
	sim.Place(1_500_000)
	var attempts atomic.Int32
	open := func(ctx context.Context) (scale.Conn, error) {
		if attempts.Add(1) <= 3 {
			return nil, scale.ErrNoScale
		}
		return sim.Open(ctx)
	}
	link := scale.NewLink(open, &scale.LinkOptions{Clock: clk, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	sub, unsub := link.Subscribe(16)
	defer unsub()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() { done <- link.Run(ctx); close(exited) }()

	for i := 1; i <= 3; i++ {
		r := <-sub
		if r.Status != scale.StatusFault || !errors.Is(r.Err, scale.ErrNoScale) || r.HasWeight() {
			t.Fatalf("attempt %d: %v", i, r)
		}
		if clk.WaitWaiters(untilClosed(exited), 1) != nil {
			t.Fatal("link exited")
		}
		if n := attempts.Load(); n != int32(i) {
			t.Fatalf("retried before the backoff ran out: %d attempts", n)
		}
		// Backoff with jitter lies in [b/2, b), b = 100, 200, 400 ms.
		b := 100 * time.Millisecond << (i - 1)
		clk.Advance(b/2 - time.Millisecond)
		if clk.Waiters() == 0 {
			t.Fatalf("attempt %d: backoff shorter than %v", i, b/2)
		}
		clk.Advance(b/2 + time.Millisecond)
	}
	r := <-sub
	if r.Milligrams != 1_500_000 || r.Status != scale.StatusStable {
		t.Fatalf("after recovery: %v", r)
	}
	sim.Remove()
	if r = <-sub; r.Status != scale.StatusZero {
		t.Fatalf("after remove: %v", r)
	}
	if err := link.Tare(context.Background()); err != nil {
		t.Errorf("Tare: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
	if err := link.Zero(context.Background()); !errors.Is(err, scale.ErrNotConnected) {
		t.Errorf("Zero after stop: %v, want ErrNotConnected", err)
	}
}

// A slow subscriber sees the newest reading, never a queue of stale ones.
func TestLinkSlowSubscriberGetsNewest(t *testing.T) {
	clk := clocktest.NewClock(t0)
	sim := scale.NewSimulator(&scale.SimOptions{Clock: clk, Interval: time.Hour})
	link := scale.NewLink(sim.Open, &scale.LinkOptions{Clock: clk})
	fast, unsubFast := link.Subscribe(1)
	defer unsubFast()
	slow, unsubSlow := link.Subscribe(1)
	defer unsubSlow()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- link.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-fast // the initial zero
	for _, mg := range []int64{100_000, 200_000, 300_000} {
		sim.Place(mg)
		for r := <-fast; r.Milligrams != mg; r = <-fast {
		}
	}
	// publish offers a reading to every subscriber under the link's lock,
	// in map order: Latest takes that lock, so once it returns the newest
	// reading has reached the slow subscriber too.
	link.Latest()
	if r := <-slow; r.Milligrams != 300_000 {
		t.Errorf("slow subscriber got %v, want the newest 300 g", r)
	}
}

func TestSimulatorPowerOffGivesFault(t *testing.T) {
	clk := clocktest.NewClock(t0)
	sim := scale.NewSimulator(&scale.SimOptions{Clock: clk, Interval: time.Hour})
	link := scale.NewLink(sim.Open, &scale.LinkOptions{Clock: clk})
	sub, unsub := link.Subscribe(8)
	defer unsub()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- link.Run(ctx) }()
	defer func() { cancel(); <-done }()
	sim.Place(900_000)
	for r := <-sub; r.Milligrams != 900_000; r = <-sub {
	}
	sim.Power(false)
	r := <-sub
	if r.Status != scale.StatusFault || r.HasWeight() || !errors.Is(r.Err, scale.ErrTimeout) {
		t.Fatalf("power off: %v", r)
	}
	f := mustFilter(t, nil)
	if ev := f.Feed(r); ev.Kind != scale.EventNone || f.State() != scale.StateUnknown {
		t.Errorf("filter on fault: %v %v", ev.Kind, f.State())
	}
}

func TestSimulatorScript(t *testing.T) {
	clk := clocktest.NewClock(t0)
	sim := scale.NewSimulator(&scale.SimOptions{Clock: clk, Interval: time.Hour})
	sc := mustScript(t, "place 7.8oz; bounce; settle; remove")
	if sc.Duration() != 100*time.Millisecond+300*time.Millisecond+time.Second+100*time.Millisecond+time.Second {
		t.Errorf("duration %v", sc.Duration())
	}
	done := make(chan error, 1)
	go func() { done <- sim.Run(context.Background(), sc) }()
	var seen []scale.Reading
	for len(seen) < len(sc) {
		if clk.WaitWaiters(context.Background(), 1) != nil {
			t.Fatal("no timer")
		}
		seen = append(seen, sim.Current())
		clk.Advance(sc[len(seen)-1].For)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if seen[0].Milligrams != 221_126 || seen[0].Status != scale.StatusMotion || seen[0].Display() != "7.8 oz" {
		t.Errorf("landing %v", seen[0])
	}
	if s := seen[4]; s.Milligrams != 221_126 || s.Status != scale.StatusStable || s.Display() != "7.8 oz" {
		t.Errorf("settled %v", s)
	}
	if seen[1].Display() == "7.8 oz" || seen[1].Unit != scale.UnitGram {
		t.Errorf("a bounce is not the placed weight; shown as %q", seen[1].Display())
	}
	if s := sim.Current(); s.Status != scale.StatusZero || s.Milligrams != 0 {
		t.Errorf("end %v", s)
	}
	for _, bad := range []string{"", "place", "place 12 furlongs", "jump", "wait soon", "set 1g wobbly", "bounce 3"} {
		if _, err := scale.ParseScript(bad); !errors.Is(err, scale.ErrConfig) && !errors.Is(err, scale.ErrUnknownUnit) && !errors.Is(err, scale.ErrMalformed) {
			t.Errorf("ParseScript(%q): %v", bad, err)
		}
	}
}

func TestHX711(t *testing.T) {
	chip := scaletest.NewHX711(0)
	pins := &scale.HX711Pins{Data: chip, Clock: chip}
	cfg := scale.Config{Driver: "hx711", HX711: scale.HX711Config{DataPin: "GPIO5", ClockPin: "GPIO6", Calibration: 420, Tare: 8_400}}
	open, err := scale.NewOpener(cfg, &scale.Options{HX711Pins: pins})
	if err != nil {
		t.Fatal(err)
	}
	c, err := open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		raw    int32
		mg     int64
		status scale.Status
	}{
		{8_400 + 420*1200, 1_200_000, scale.StatusStable}, // 1200 g
		{8_400, 0, scale.StatusZero},
		{8_400 - 42, -100, scale.StatusUnder},
		{-0x123456 + 8_400, -2_840_586, scale.StatusUnder}, // negative 24-bit value: -1193046 / 420 g
		{0x7fffff, 0, scale.StatusOver},                    // saturated
	} {
		chip.Set(tc.raw)
		r, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Milligrams != tc.mg || r.Status != tc.status {
			t.Errorf("raw %d: got %d mg %s, want %d mg %s", tc.raw, r.Milligrams, r.Status, tc.mg, tc.status)
		}
		if chip.LastPulses() != 25 {
			t.Errorf("raw %d: %d clock pulses, want 25 (channel A, gain 128)", tc.raw, chip.LastPulses())
		}
	}
	chip.Set(100_000)
	if err := c.Tare(ctx); err != nil {
		t.Fatal(err)
	}
	chip.Set(100_000 + 4_200)
	if r, _ := c.Next(ctx); r.Milligrams != 10_000 {
		t.Errorf("after tare: %v", r)
	}
	// A chip that never gets ready: a timeout error, not a weight.
	chip.Stall(true)
	clk := clocktest.NewClock(t0)
	cfg.ReplyTimeout = scale.Duration(time.Second)
	open, _ = scale.NewOpener(cfg, &scale.Options{HX711Pins: pins, Clock: clk})
	c, _ = open(ctx)
	errc := make(chan error, 1)
	exited := make(chan struct{})
	go func() { _, err := c.Next(ctx); errc <- err; close(exited) }()
	for clk.WaitWaiters(untilClosed(exited), 1) == nil {
		clk.Advance(100 * time.Millisecond)
	}
	if err := <-errc; !errors.Is(err, scale.ErrTimeout) {
		t.Fatalf("stalled chip: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  scale.Config
		want string
	}{
		{scale.Config{Driver: "scalomatic"}, "driver"},
		{scale.Config{Driver: "nci"}, "device"},
		{scale.Config{Driver: "toledo", Device: "/dev/ttyS0"}, "unit"},
		{scale.Config{Driver: "mt-sics", Device: "/dev/ttyS0", Line: scale.LineSettings{Parity: "mark"}}, "line.parity"},
		{scale.Config{Driver: "mt-sics", Device: "/dev/ttyS0", Line: scale.LineSettings{DataBits: 6}}, "line.data_bits"},
		{scale.Config{Driver: "hx711", HX711: scale.HX711Config{DataPin: "GPIO5", ClockPin: "GPIO6"}}, "hx711.calibration"},
		{scale.Config{Driver: "hx711"}, "hx711.data_pin"},
	} {
		_, err := scale.NewOpener(tc.cfg, nil)
		if !errors.Is(err, scale.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want ErrConfig naming %s", tc.cfg, err, tc.want)
		}
	}
	if got := (scale.Config{}).Source(); got != "hid:auto" {
		t.Errorf("Source %q", got)
	}
}

// The daemon reads Config from TOML; durations and units are text.
func TestConfigFromTOML(t *testing.T) {
	var file struct {
		Scale scale.Config `toml:"scale"`
	}
	src := `
[scale]
driver = "toledo"
device = "/dev/ttyS0"
unit = "oz"
poll_interval = "150ms"
checksum = false
[scale.line]
baud = 4800
parity = "odd"
[scale.filter]
min_weight_mg = 50000
settle = "500ms"
`
	if err := toml.Unmarshal([]byte(src), &file); err != nil {
		t.Fatal(err)
	}
	c := file.Scale
	if c.Driver != "toledo" || c.Unit != "oz" || time.Duration(c.PollInterval) != 150*time.Millisecond ||
		c.Line.Baud != 4800 || c.Line.Parity != "odd" || c.Checksum == nil || *c.Checksum ||
		c.Filter.MinWeight != 50_000 || time.Duration(c.Filter.Settle) != 500*time.Millisecond {
		t.Fatalf("decoded %+v", c)
	}
	if _, err := scale.NewOpener(c, nil); err != nil {
		t.Errorf("NewOpener: %v", err)
	}
	if _, err := scale.NewFilter(&c.Filter); err != nil {
		t.Errorf("NewFilter: %v", err)
	}
	bad := "[scale]\npoll_interval = \"soon\"\n"
	if err := toml.Unmarshal([]byte(bad), &file); err == nil || !strings.Contains(err.Error(), "soon") {
		t.Errorf("bad duration: %v", err)
	}
}

// untilClosed is a context that ends when done is closed: waiting for a
// timer stops when the goroutine that would set one has exited.
func untilClosed(done <-chan struct{}) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-done; cancel() }()
	return ctx
}
