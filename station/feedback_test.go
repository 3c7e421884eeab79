package station

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
)

func TestLEDMode(t *testing.T) {
	for _, tc := range []struct {
		flow      string
		attention []string
		mode      string
		blinks    int
		pattern   string
	}{
		{FlowIdle, nil, LEDReady, 0, "ready"},
		{FlowPrinted, nil, LEDReady, 0, "ready"},
		{FlowArmed, nil, LEDArmed, 0, "armed"},
		{FlowLabelling, nil, LEDWorking, 0, "working"},
		{FlowPrinting, nil, LEDWorking, 0, "working"},
		{FlowIdle, []string{ProblemNoOrder}, LEDAttention, 1, "attention-1"},
		{FlowArmed, []string{ProblemBadWeight}, LEDAttention, 2, "attention-2"},
		{FlowIdle, []string{ProblemNotArmed}, LEDAttention, 2, "attention-2"},
		{FlowPrinting, []string{AttentionPaperOut}, LEDAttention, 3, "attention-3"},
		{FlowArmed, []string{AttentionPrinterOffline, ProblemNoOrder}, LEDAttention, 4, "attention-4"},
		{FlowIdle, []string{AttentionPrinterError}, LEDAttention, 5, "attention-5"},
		{FlowArmed, []string{ProblemPrinter}, LEDAttention, 5, "attention-5"},
		{FlowArmed, []string{ProblemCarrier}, LEDAttention, 6, "attention-6"},
		{FlowIdle, []string{ProblemCommand}, LEDAttention, 7, "attention-7"},
		{FlowIdle, []string{"something_new"}, LEDAttention, 7, "attention-7"},
	} {
		mode, blinks := LEDMode(tc.flow, tc.attention)
		if mode != tc.mode || blinks != tc.blinks {
			t.Errorf("%s %v: %s %d, want %s %d", tc.flow, tc.attention, mode, blinks, tc.mode, tc.blinks)
		}
		if p := LEDPattern(mode, blinks); p.Name != tc.pattern {
			t.Errorf("%s %v: pattern %s, want %s", tc.flow, tc.attention, p.Name, tc.pattern)
		}
	}
	// Attention N: N flashes then the long pause, repeated.
	p := LEDPattern(LEDAttention, 3)
	want := []device.Step{{On: true, For: blinkOn}, {On: false, For: blinkOff}, {On: true, For: blinkOn}, {On: false, For: blinkOff},
		{On: true, For: blinkOn}, {On: false, For: blinkPause}}
	if !p.Repeat || !slices.Equal(p.Steps, want) {
		t.Fatalf("attention-3: %+v", p)
	}
	if p := LEDPattern(LEDReady, 0); p.Repeat || len(p.Steps) != 1 || !p.Steps[0].On || p.Steps[0].For != 0 {
		t.Fatalf("ready is steady on: %+v", p)
	}
}

func TestBuzzerPattern(t *testing.T) {
	ms := time.Millisecond
	on := func(d time.Duration) device.Step { return device.Step{On: true, For: d} }
	off := func(d time.Duration) device.Step { return device.Step{On: false, For: d} }
	seen := map[string]string{}
	for _, tc := range []struct {
		sig   Signal
		name  string
		steps []device.Step
	}{
		{Signal{Kind: SignalOK, Code: SignalScan}, "scan-ok", []device.Step{on(80 * ms), off(0)}},
		{Signal{Kind: SignalOK, Code: CommandReprint}, "command-ok", []device.Step{on(60 * ms), off(80 * ms), on(60 * ms), off(0)}},
		{Signal{Kind: SignalOK, Code: CommandTare}, "command-ok", nil},
		{Signal{Kind: SignalError, Code: ProblemNoOrder}, "unknown-code", []device.Step{on(150 * ms), off(100 * ms), on(150 * ms), off(100 * ms), on(150 * ms), off(0)}},
		{Signal{Kind: SignalError, Code: ProblemBadWeight}, "weight", []device.Step{on(400 * ms), off(150 * ms), on(400 * ms), off(0)}},
		{Signal{Kind: SignalError, Code: ProblemNotArmed}, "weight", nil},
		{Signal{Kind: SignalError, Code: AttentionPaperOut}, "paper-out", []device.Step{on(1000 * ms), off(0)}},
		{Signal{Kind: SignalError, Code: AttentionPrinterOffline}, "printer-offline", []device.Step{on(600 * ms), off(100 * ms), on(150 * ms), off(100 * ms), on(150 * ms), off(0)}},
		{Signal{Kind: SignalError, Code: AttentionPrinterError}, "printer-error", []device.Step{on(600 * ms), off(100 * ms), on(150 * ms), off(0)}},
		{Signal{Kind: SignalError, Code: ProblemPrinter}, "printer-error", nil},
		{Signal{Kind: SignalError, Code: ProblemCarrier}, "error", nil},
		{Signal{Kind: SignalError, Code: ProblemCommand}, "error", nil},
	} {
		p := BuzzerPattern(tc.sig)
		if p.Name != tc.name || p.Repeat {
			t.Errorf("%+v: %s (repeat %v), want %s once", tc.sig, p.Name, p.Repeat, tc.name)
		}
		if tc.steps != nil && !slices.Equal(p.Steps, tc.steps) {
			t.Errorf("%+v: steps %+v, want %+v", tc.sig, p.Steps, tc.steps)
		}
		if last := p.Steps[len(p.Steps)-1]; last.On {
			t.Errorf("%s ends with the buzzer on", p.Name)
		}
		// Distinct patterns for distinct names: no two names share steps.
		key := ""
		for _, s := range p.Steps {
			key += s.For.String() + map[bool]string{true: "+", false: "-"}[s.On]
		}
		if other, ok := seen[key]; ok && other != p.Name {
			t.Errorf("%s sounds like %s", p.Name, other)
		}
		seen[key] = p.Name
	}
}

// The station's headless fields follow the flow and the printers: a
// printer problem sounds once and blinks first; a new problem sounds once.
func TestFeedbackState(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	ctx := context.Background()
	if s := st.State(); s.LED != LEDReady || s.Signal != nil || len(s.Attention) != 0 {
		t.Fatalf("new station: %+v", s)
	}
	// An unknown code: one error signal, attention no_order, blink 1.
	s, _ := st.Scan(ctx, "NOPE")
	if s.Signal == nil || s.Signal.Kind != SignalError || s.Signal.Code != ProblemNoOrder || s.LED != LEDAttention || s.Blinks != 1 ||
		!slices.Equal(s.Attention, []string{ProblemNoOrder}) {
		t.Fatalf("unknown code: %+v", s)
	}
	if s.Signal.Pattern != "unknown-code" || !slices.Equal(s.Signal.Beep, []int{150, 100, 150, 100, 150}) {
		t.Fatalf("the page's copy of the pattern: %+v", s.Signal)
	}
	first := s.Signal.Seq
	// Publishing again (a printer that is fine) sounds nothing new.
	st.SetPrinterState(testPrinter, device.StatePrinting)
	if s := st.State(); s.Signal.Seq != first {
		t.Fatalf("signal repeated: %+v", s.Signal)
	}
	// The same unknown code again is a new problem: a new signal.
	s, _ = st.Scan(ctx, "NOPE")
	if s.Signal.Seq != first+1 || s.Signal.Code != ProblemNoOrder {
		t.Fatalf("second unknown: %+v", s.Signal)
	}
	// Paper out: sounds, ranks before the scan problem.
	st.SetPrinterState(testPrinter, device.StatePaperOut)
	s = st.State()
	if s.Signal.Seq != first+2 || s.Signal.Code != AttentionPaperOut || s.Blinks != 3 ||
		!slices.Equal(s.Attention, []string{AttentionPaperOut, ProblemNoOrder}) {
		t.Fatalf("paper out: %+v %+v", s, s.Signal)
	}
	st.SetPrinterState(testPrinter, device.StatePaperOut) // reported again: no new sound
	st.SetPrinterState("other", device.StateOffline)
	s = st.State()
	if s.Signal.Seq != first+3 || s.Signal.Code != AttentionPrinterOffline || s.Blinks != 4 ||
		!slices.Equal(s.Attention, []string{AttentionPrinterOffline, AttentionPaperOut, ProblemNoOrder}) {
		t.Fatalf("offline: %+v %+v", s, s.Signal)
	}
	st.SetPrinterState("other", device.StateReady)
	st.SetPrinterState(testPrinter, device.StateReady)
	if _, err := st.Disarm(ctx); err != nil {
		t.Fatal(err)
	}
	if s := st.State(); s.LED != LEDReady || len(s.Attention) != 0 || s.Signal.Seq != first+3 {
		t.Fatalf("all clear: %+v", s)
	}
}

// The button: a parcel placed before its scan is labelled by a short
// press without lifting it; then a short press (nothing waiting) and a
// long press each reprint the last label.
func TestPressPrintNowAndReprint(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	ctx := context.Background()
	o := mustCreate(t, st, Order{Packages: 1, AssociatedIdentifiers: []string{"LPN-5"}})
	sc := newFeeder(t, st, clk)
	// Short press with nothing ever labelled: a command problem, no job.
	if _, err := st.Press(ctx, device.PressShort); err == nil {
		t.Fatal("reprint with nothing labelled")
	}
	sc.place(700)
	if s := st.State(); s.Problem == nil || s.Problem.Code != ProblemNotArmed {
		t.Fatalf("placed first: %+v", s)
	}
	if _, err := st.Scan(ctx, "LPN-5"); err != nil {
		t.Fatal(err)
	}
	s, err := st.Press(ctx, device.PressShort)
	if err != nil || s.State != FlowPrinting || s.LabelID != o.ID+"-1" || s.Weight != "700 g" || !s.AwaitRemoval {
		t.Fatalf("print now: %+v, %v", s, err)
	}
	p, err := st.Package(ctx, s.LabelID)
	if err != nil || p.Weight.Milligrams != 700_000 {
		t.Fatalf("package %+v, %v", p, err)
	}
	// The same parcel is not labelled twice: the next presses reprint.
	if _, err := st.Press(ctx, device.PressShort); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Press(ctx, device.PressLong); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, j := range jobs(t, db) {
		keys = append(keys, j.Key)
	}
	if want := []string{o.ID + "-1", o.ID + "-1-reprint-1", o.ID + "-1-reprint-2"}; !slices.Equal(keys, want) {
		t.Fatalf("jobs %v, want %v", keys, want)
	}
}

// recPlayer records the patterns set on it.
type recPlayer struct{ ch chan string }

func (r recPlayer) Set(p device.Pattern) { r.ch <- p.Name }

func TestRunFeedback(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	st.Scan(ctx, "BEFORE") // a signal from before the start is not replayed
	led, buz := recPlayer{make(chan string, 16)}, recPlayer{make(chan string, 16)}
	done := make(chan error, 1)
	go func() { done <- st.RunFeedback(ctx, led, buz) }()
	next := func(r recPlayer, want string) {
		t.Helper()
		select {
		case got := <-r.ch:
			if got != want {
				t.Fatalf("pattern %s, want %s", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no pattern, want %s", want)
		}
	}
	next(led, "attention-1")
	mustCreate(t, st, Order{AssociatedIdentifiers: []string{"LPN-7"}})
	st.Scan(ctx, "LPN-7")
	next(led, "armed")
	next(buz, "scan-ok")
	st.SetPrinterState(testPrinter, device.StateOffline)
	next(led, "attention-4")
	next(buz, "printer-offline")
	st.SetPrinterState(testPrinter, device.StateReady)
	next(led, "armed")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-buz.ch:
		t.Fatalf("extra buzzer pattern %s", p)
	default:
	}
}
