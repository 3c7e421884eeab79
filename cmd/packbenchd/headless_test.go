package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/internal/clocktest"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// level is one level a pin was driven to, at the injected clock's time.
type level struct {
	l  gpio.Level
	at time.Time
}

// recordingPin is a gpiotest pin that records every level written with the
// injected clock's time.
type recordingPin struct {
	*gpiotest.Pin
	clk    *clocktest.Clock
	levels chan level
}

func (p *recordingPin) Out(l gpio.Level) error {
	p.Pin.Out(l)
	p.levels <- level{l, p.clk.Now()}
	return nil
}

// headlessBench is the daemon's own wiring (newBench, run) in-process with
// gpiotest pins on an injected clock, a TCP printer emulator and the
// simulated scale.
type headlessBench struct {
	t      *testing.T
	ctx    context.Context
	b      *bench
	clk    *clocktest.Clock
	pins   map[string]*recordingPin
	labels chan []byte
	url    string
}

const headlessKey = "headless-key-0123456789abcdef0123456789abcdef"

func startHeadless(t *testing.T, g device.GPIOConfig) *headlessBench {
	t.Helper()
	ctx, cancelCtx := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancelCtx)
	h := &headlessBench{t: t, ctx: ctx, clk: clocktest.NewClock(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)),
		pins: map[string]*recordingPin{}, labels: make(chan []byte, 16)}
	emu := devicetest.NewEmulator(&devicetest.Options{OnLabel: func(_ int, l []byte) { h.labels <- bytes.Clone(l) }})
	t.Cleanup(func() { emu.Close() })
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig("", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Printers = []device.PrinterConfig{{Name: "zebra", Transport: "tcp", Address: addr}}
	cfg.GPIO = g
	if err := cfg.finish(flagValues{dataDir: t.TempDir(), listen: "127.0.0.1:0"}, envMap(nil), noHome, host); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{g.Button, g.LED, g.Buzzer} {
		if name != "" {
			h.pins[name] = &recordingPin{Pin: &gpiotest.Pin{N: name}, clk: h.clk, levels: make(chan level, 256)}
		}
	}
	lookup := func(name string) (gpio.PinIO, error) {
		if p, ok := h.pins[name]; ok {
			return p, nil
		}
		return nil, fmt.Errorf("%w: %s", device.ErrNoGPIO, name)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.url = "http://" + ln.Addr().String()
	h.b, err = newBench(cfg, headlessKey, slog.New(slog.DiscardHandler), &benchOptions{Listener: ln,
		GPIO: &device.GPIOOptions{Pin: lookup, Clock: h.clk}})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.b.run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return h
}

// scan posts a code to the flow's scan route, as a scanner's driver or
// the page does; it returns the status and the flow state.
func (h *headlessBench) scan(code string) (int, station.FlowState) {
	h.t.Helper()
	body, _ := json.Marshal(map[string]string{"code": code})
	req, _ := http.NewRequestWithContext(h.ctx, "POST", h.url+"/api/v1/flow/scan", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+headlessKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var fs station.FlowState
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(data, &fs); err != nil {
			h.t.Fatalf("scan %q: %v: %s", code, err, data)
		}
	}
	return resp.StatusCode, fs
}

// next is the pin's next recorded level.
func (h *headlessBench) next(pin string) level {
	h.t.Helper()
	select {
	case l := <-h.pins[pin].levels:
		return l
	case <-h.ctx.Done():
		h.t.Fatalf("pin %s: no level written", pin)
	}
	return level{}
}

// skipTo reads the pin's levels until want (the part's start-up writes are
// off levels whose number depends on which goroutine runs first).
func (h *headlessBench) skipTo(pin string, want gpio.Level) level {
	h.t.Helper()
	for {
		if l := h.next(pin); l.l == want {
			return l
		} else if l.l != gpio.Low {
			h.t.Fatalf("pin %s: %v before %v", pin, l.l, want)
		}
	}
}

// play checks that the only part on the clock plays steps: each level is
// written, then the part waits exactly the step's time on the injected
// clock, which the test then lets pass. It returns the levels recorded.
func (h *headlessBench) play(pin string, steps []device.Step) []level {
	h.t.Helper()
	var got []level
	for i, st := range steps {
		l := h.next(pin)
		if l.l != gpio.Level(st.On) {
			h.t.Fatalf("pin %s step %d: level %v, want %v", pin, i, l.l, st.On)
		}
		got = append(got, l)
		if st.For == 0 {
			continue
		}
		if err := h.clk.WaitWaiters(h.ctx, 1); err != nil {
			h.t.Fatal(err)
		}
		if p := h.clk.Pending(); !slices.Equal(p, []time.Duration{st.For}) {
			h.t.Fatalf("pin %s step %d: waits %v, want %v", pin, i, p, st.For)
		}
		h.clk.Advance(st.For)
	}
	return got
}

// timeline is the recorded levels as "H@0ms L@150ms …" from the first.
func timeline(ls []level) string {
	var b bytes.Buffer
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(' ')
		}
		c := "L"
		if l.l == gpio.High {
			c = "H"
		}
		fmt.Fprintf(&b, "%s@%dms", c, l.at.Sub(ls[0].at).Milliseconds())
	}
	return b.String()
}

// waitFlowState waits on the station's own subscription for a state.
func (h *headlessBench) waitFlowState(what string, ok func(station.FlowState) bool) station.FlowState {
	h.t.Helper()
	ch, cancel := h.b.station.Subscribe()
	defer cancel()
	for {
		select {
		case fs := <-ch:
			if ok(fs) {
				return fs
			}
		case <-h.ctx.Done():
			h.t.Fatalf("waiting for %s: last %+v", what, h.b.station.State())
		}
	}
}

func (h *headlessBench) label() []byte {
	h.t.Helper()
	select {
	case l := <-h.labels:
		return l
	case <-h.ctx.Done():
		h.t.Fatal("no label at the printer")
	}
	return nil
}

func (h *headlessBench) order(lpn string) station.Order {
	h.t.Helper()
	o, err := h.b.station.CreateOrder(h.ctx, station.Order{Packages: 1, AssociatedIdentifiers: []string{lpn}, ShipTo: station.Address{
		Name: "Ada Lovelace", Street1: "10 Downing Street", City: "London", Zip: "SW1A 1AA", Country: "GB"}})
	if err != nil {
		h.t.Fatal(err)
	}
	return o
}

var trackingRe = regexp.MustCompile(`\^FD(PB\d+)`)

// The hands-free bench with no screen: a scan beeps once, a parcel on the
// simulated scale gives one label at the printer, the reprint barcode
// prints it again (two beeps), and an unknown code sounds the error
// pattern on the buzzer, all through the daemon's wiring.
func TestHeadlessScanPrintReprint(t *testing.T) {
	h := startHeadless(t, device.GPIOConfig{Buzzer: "GPIO22"})
	ms := time.Millisecond
	on := func(d time.Duration) device.Step { return device.Step{On: true, For: d} }
	off := func(d time.Duration) device.Step { return device.Step{On: false, For: d} }
	// Opened off, then Run's first pattern (off).
	h.next("GPIO22")
	h.next("GPIO22")

	o := h.order("LPN-HEADLESS-1")
	if code, fs := h.scan("LPN-HEADLESS-1"); code != 200 || fs.State != station.FlowArmed {
		t.Fatalf("scan: %d %+v", code, fs)
	}
	if tl := timeline(h.play("GPIO22", []device.Step{on(80 * ms), off(0)})); tl != "H@0ms L@80ms" {
		t.Fatalf("good scan beep %s", tl)
	}

	h.b.sim.Place(1_250_000)
	first := h.label()
	fs := h.waitFlowState("printed", func(f station.FlowState) bool { return f.JobState == queue.StatePrinted })
	if fs.Order == nil || fs.Order.ID != o.ID || !bytes.Contains(first, []byte(fs.TrackingNumber)) {
		t.Fatalf("flow %+v, label %.80q", fs, first)
	}

	// The reprint barcode, the parcel still on the scale: the same label again.
	if code, fs := h.scan("PB-CMD-REPRINT"); code != 200 || fs.Problem != nil {
		t.Fatalf("reprint: %d %+v", code, fs)
	}
	if tl := timeline(h.play("GPIO22", []device.Step{on(60 * ms), off(80 * ms), on(60 * ms), off(0)})); tl != "H@0ms L@60ms H@140ms L@200ms" {
		t.Fatalf("command beep %s", tl)
	}
	second := h.label()
	m1, m2 := trackingRe.FindSubmatch(first), trackingRe.FindSubmatch(second)
	if m1 == nil || m2 == nil || !bytes.Equal(m1[1], m2[1]) || string(m1[1]) != fs.TrackingNumber {
		t.Fatalf("reprint tracking %q, first %q, flow %s", m2, m1, fs.TrackingNumber)
	}

	// An unknown code: 404, the problem in the state, the error pattern.
	if code, _ := h.scan("NOT-AN-ORDER"); code != http.StatusNotFound {
		t.Fatalf("unknown code: %d", code)
	}
	got := h.play("GPIO22", []device.Step{on(150 * ms), off(100 * ms), on(150 * ms), off(100 * ms), on(150 * ms), off(0)})
	if tl := timeline(got); tl != "H@0ms L@150ms H@250ms L@400ms H@500ms L@650ms" {
		t.Fatalf("unknown-code pattern %s", tl)
	}
	if fs := h.b.station.State(); fs.LED != station.LEDAttention || fs.Blinks != 1 || !slices.Equal(fs.Attention, []string{station.ProblemNoOrder}) {
		t.Fatalf("headless health: %+v", fs)
	}
	// Exactly the two labels: the placement printed once.
	h.b.sim.Remove()
	h.waitFlowState("removed", func(f station.FlowState) bool { return !f.AwaitRemoval })
	select {
	case l := <-h.labels:
		t.Fatalf("a third label: %.80q", l)
	default:
	}
}

// The status LED follows the flow: steady when ready, the armed blink, the
// attention blink code of an unknown code.
func TestHeadlessLED(t *testing.T) {
	h := startHeadless(t, device.GPIOConfig{LED: "GPIO27"})
	ms := time.Millisecond
	h.skipTo("GPIO27", gpio.High) // ready: steady on, nothing on the clock
	h.order("LPN-LED-1")
	h.scan("LPN-LED-1")
	// Armed: the LED waits 1s on; the levels written so far are all on
	// (ready may be replayed once when it was set before the LED's loop ran).
	if err := h.clk.WaitWaiters(h.ctx, 1); err != nil {
		t.Fatal(err)
	}
	if p := h.clk.Pending(); !slices.Equal(p, []time.Duration{time.Second}) {
		t.Fatalf("armed: waits %v", p)
	}
	for n := 0; ; n++ {
		select {
		case l := <-h.pins["GPIO27"].levels:
			if l.l != gpio.High {
				t.Fatalf("armed starts with %v", l.l)
			}
			continue
		default:
		}
		if n == 0 {
			t.Fatal("armed wrote no level")
		}
		break
	}
	h.clk.Advance(time.Second)
	if tl := timeline(h.play("GPIO27", []device.Step{{On: false, For: time.Second}, {On: true, For: time.Second}, {On: false}})); tl != "L@0ms H@1000ms L@2000ms" {
		t.Fatalf("armed blink %s", tl)
	}
	// An unknown code mid-step: attention-1 starts at once (the armed
	// step's timer is left pending, 1s from its start).
	h.scan("NOT-AN-ORDER")
	if l := h.next("GPIO27"); l.l != gpio.High {
		t.Fatalf("attention starts %v", l.l)
	}
	if err := h.clk.WaitWaiters(h.ctx, 2); err != nil {
		t.Fatal(err)
	}
	if p := h.clk.Pending(); !slices.Equal(p, []time.Duration{time.Second, 150 * ms}) {
		t.Fatalf("attention-1 flash: waits %v", p)
	}
	h.clk.Advance(150 * ms)
	if l := h.next("GPIO27"); l.l != gpio.Low {
		t.Fatalf("attention-1 after the flash: %v", l.l)
	}
	if err := h.clk.WaitWaiters(h.ctx, 2); err != nil {
		t.Fatal(err)
	}
	if p := h.clk.Pending(); !slices.Equal(p, []time.Duration{850 * ms, 1500 * ms}) {
		t.Fatalf("attention-1 pause: waits %v", p)
	}
	if fs := h.b.station.State(); fs.LED != station.LEDAttention || fs.Blinks != 1 {
		t.Fatalf("flow %+v", fs)
	}
}

// The button: a parcel put on the scale before its scan is labelled by a
// short press (print now), and a long press reprints it.
func TestHeadlessButton(t *testing.T) {
	h := startHeadless(t, device.GPIOConfig{Button: "GPIO17"})
	pin := h.pins["GPIO17"]
	// hold sets the level for n polls of 5ms, advancing only while the
	// button loop waits on the clock.
	hold := func(l gpio.Level, n int) {
		for range n {
			if err := h.clk.WaitWaiters(h.ctx, 1); err != nil {
				t.Fatal(err)
			}
			pin.Pin.Out(l)
			h.clk.Advance(5 * time.Millisecond)
		}
	}
	o := h.order("LPN-BUTTON-1")
	h.b.sim.Place(900_000)
	h.waitFlowState("not armed", func(f station.FlowState) bool { return f.Problem != nil && f.Problem.Code == station.ProblemNotArmed })
	if code, _ := h.scan("LPN-BUTTON-1"); code != 200 {
		t.Fatal(code)
	}
	hold(gpio.High, 4)
	hold(gpio.Low, 20) // 100ms: short
	hold(gpio.High, 10)
	first := h.label()
	fs := h.waitFlowState("labelled", func(f station.FlowState) bool { return f.LabelID == o.ID+"-1" })
	if fs.Weight != "900 g" || !bytes.Contains(first, []byte(fs.TrackingNumber)) {
		t.Fatalf("print now: %+v", fs)
	}
	hold(gpio.Low, 220) // 1.1s: long
	hold(gpio.High, 10)
	if second := h.label(); !bytes.Contains(second, []byte(fs.TrackingNumber)) {
		t.Fatalf("long press reprint: %.80q", second)
	}
}
