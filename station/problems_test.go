package station

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

// goPrefix is an operation chain or a sentinel's text a packer must never
// read: "station: scan: ...", "conflict: ...", "labelrender: ...".
var goPrefix = regexp.MustCompile(`(?i)\b(station|queue|labelrender|scale|device|api|bolt|conflict|not found|invalid):`)

func checkPlain(t *testing.T, what string, p *Problem) {
	t.Helper()
	if p == nil {
		t.Fatalf("%s: no problem", what)
	}
	if goPrefix.MatchString(p.Message) || goPrefix.MatchString(p.Action) {
		t.Errorf("%s: a Go prefix reaches the packer: %q / %q", what, p.Message, p.Action)
	}
	if p.Action == "" {
		t.Errorf("%s: no next action", what)
	}
}

func TestProblemCodesHaveActions(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range ProblemCodes() {
		if seen[c] {
			t.Errorf("code %q twice", c)
		}
		seen[c] = true
		a := ProblemAction(c)
		if a == "" || goPrefix.MatchString(a) {
			t.Errorf("code %q: action %q", c, a)
		}
	}
}

// Re-scanning an order whose parcels are all labelled: the packer reads
// "Already labelled" and is offered a reprint of the last label; the API
// and CLI get the same *Problem as the error.
func TestScanLabelledOrderOffersReprint(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	ctx := context.Background()
	o := mustCreate(t, st, Order{ID: "SO1001", Packages: 1, AssociatedIdentifiers: []string{"LPN0001"}})
	sc := newFeeder(t, st, clk)
	if _, err := st.Scan(ctx, "LPN0001"); err != nil {
		t.Fatal(err)
	}
	sc.place(1200)
	printed := printAll(t, db, queue.StatePrinted)
	if len(printed) != 1 {
		t.Fatalf("%d jobs printed", len(printed))
	}
	sc.lift()

	_, err := st.Scan(ctx, "LPN0001")
	var p *Problem
	if !errors.As(err, &p) || !errors.Is(err, ErrConflict) {
		t.Fatalf("rescan: %v, want a *Problem wrapping ErrConflict", err)
	}
	checkPlain(t, "rescan", p)
	if p.Code != ProblemAlreadyLabelled || p.Offer != OfferReprint || p.JobID != printed[0].ID || p.LabelID != "SO1001-1" {
		t.Errorf("problem %+v, want already_labelled offering a reprint of job %s", p, printed[0].ID)
	}
	if !strings.HasPrefix(p.Message, "Already labelled") || !strings.Contains(p.Message, o.ID) {
		t.Errorf("message %q", p.Message)
	}
	if s := st.State(); s.Problem == nil || s.Problem.Code != ProblemAlreadyLabelled || s.Problem.JobID != printed[0].ID {
		t.Errorf("flow state problem %+v", s.Problem)
	}
	// Arm by id says the same.
	_, err = st.Arm(ctx, o.ID)
	if !errors.As(err, &p) || p.Code != ProblemAlreadyLabelled {
		t.Errorf("arm: %v", err)
	}
}

// A parcel below the minimum weight settles on the scale: no label, and the
// packer is told it is too light, until the weight changes.
func TestTooLightTold(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mustCreate(t, st, Order{ID: "SO7", Packages: 1})
	if _, err := st.Arm(ctx, "SO7"); err != nil {
		t.Fatal(err)
	}
	f, err := scale.NewFilter(nil)
	if err != nil {
		t.Fatal(err)
	}
	readings := make(chan scale.Reading)
	done := make(chan error, 1)
	go func() { done <- st.WatchScale(ctx, readings, f) }()
	sub, unsub := st.Subscribe()
	defer unsub()
	feed := func(grams int64, status scale.Status, n int) {
		for range n {
			readings <- scale.Reading{Milligrams: grams * 1000, Unit: scale.UnitGram, Value: grams, Status: status,
				Time: clk.Advance(100 * time.Millisecond), Source: "test"}
		}
	}
	feed(10, scale.StatusStable, 6)
	s := waitState(t, sub, func(s FlowState) bool { return s.Problem != nil })
	checkPlain(t, "too light", s.Problem)
	if s.Problem.Code != ProblemTooLight || s.Problem.Message != "Too light to ship (minimum 20 g)." || s.State != FlowArmed {
		t.Errorf("state %s, problem %+v", s.State, s.Problem)
	}
	// Lifted: the hint goes; a real parcel then prints once.
	feed(0, scale.StatusZero, 2)
	waitState(t, sub, func(s FlowState) bool { return s.Problem == nil })
	feed(1200, scale.StatusStable, 6)
	s = waitState(t, sub, func(s FlowState) bool { return s.State == FlowPrinting })
	if s.Problem != nil || len(jobs(t, db)) != 1 {
		t.Errorf("after a real parcel: %+v, %d jobs", s.Problem, len(jobs(t, db)))
	}
	cancel()
	<-done
}

// A flow job being sent when the bench stopped is named on the packer's
// view after the restart, with "Printed? Yes / Print again"; deciding it
// clears the choice.
func TestUncertainJobOfferedAfterRestart(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, Config{})
	ctx := context.Background()
	mustCreate(t, st, Order{ID: "SO9", Packages: 2})
	if _, err := st.Arm(ctx, "SO9"); err != nil {
		t.Fatal(err)
	}
	newFeeder(t, st, clk).place(800)
	j, err := db.Claim(ctx, testPrinter) // sending when the power goes
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = openDB(t, dir, clk)
	if got, err := db.Job(ctx, j.ID); err != nil || got.State != queue.StateUncertain {
		t.Fatalf("after the restart: %v %v", got.State, err)
	}
	st = newStation(t, db, clk, Config{})
	p := st.State().Problem
	checkPlain(t, "uncertain", p)
	if p.Code != ProblemUncertain || p.Offer != OfferConfirmPrinted || p.JobID != j.ID || p.LabelID != "SO9-1" ||
		!strings.Contains(p.Message, "order SO9, package 1 of 2") {
		t.Fatalf("problem %+v", p)
	}
	runStation(t, st)
	sub, unsub := st.Subscribe()
	defer unsub()
	if _, err := db.MarkPrinted(ctx, j.ID, "checked at the bench"); err != nil {
		t.Fatal(err)
	}
	waitState(t, sub, func(s FlowState) bool { return s.Problem == nil })
}

// The weight the last label was made with stays in the state after the
// next placement (which moves Weight); packbench status shows it.
func TestLabelWeightStays(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	mustCreate(t, st, Order{ID: "SO5", Packages: 1})
	if _, err := st.Arm(context.Background(), "SO5"); err != nil {
		t.Fatal(err)
	}
	sc := newFeeder(t, st, clk)
	sc.place(1200)
	sc.lift()
	sc.place(900) // nothing armed: no label
	s := st.State()
	if s.LabelWeight != "1200 g" || s.Weight != "900 g" || s.LabelID != "SO5-1" {
		t.Fatalf("label weight %q, weight %q, label %q", s.LabelWeight, s.Weight, s.LabelID)
	}
}

// Every labelling failure reaches the packer in plain words: the Go
// operation chain stays in the log.
func TestProblemOfHasNoGoPrefix(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("station: ship SO1: %w", &CarrierError{Carrier: "http", Status: 422, Message: "zip code is invalid"}),
		fmt.Errorf("station: ship SO1: render: %w", &labelrender.FieldError{Path: "to.zip", Rule: "required"}),
		fmt.Errorf("station: ship SO1: render: %w: 40 lines", labelrender.ErrNoRoom),
		fmt.Errorf("station: ship SO1: queue: enqueue: %w", errors.New("bolt: database not open")),
		fmt.Errorf("station: ship SO1: %w", context.Canceled),
		fmt.Errorf("station: ship SO1: %w: order SO1 was cancelled while labelling", ErrConflict),
	} {
		code, msg := problemOf(err)
		if goPrefix.MatchString(msg) || msg == "" || ProblemAction(code) == "" {
			t.Errorf("%v → %s %q", err, code, msg)
		}
	}
}

// The new codes blink and beep like their kin on a bench without a screen.
func TestNewProblemsBlinkAndBeep(t *testing.T) {
	for _, tc := range []struct {
		code   string
		blinks int
		beep   string
	}{
		{ProblemTooLight, 2, "weight"},
		{ProblemUncertain, 5, "printer-error"},
		{ProblemAlreadyLabelled, 7, "error"},
	} {
		if n := BlinkCode(tc.code); n != tc.blinks {
			t.Errorf("%s blinks %d, want %d", tc.code, n, tc.blinks)
		}
		if p := BuzzerPattern(Signal{Kind: SignalError, Code: tc.code}); p.Name != tc.beep {
			t.Errorf("%s beeps %q, want %q", tc.code, p.Name, tc.beep)
		}
	}
}

// A flow label cut mid-send asks the packer too, and a re-arm or a light
// weight does not hide the question; confirming it clears it.
func TestLiveUncertainAsksThePacker(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{Flow: FlowConfig{AutoArmNext: true}})
	runStation(t, st)
	sub, unsub := st.Subscribe()
	defer unsub()
	ctx := context.Background()
	mustCreate(t, st, Order{ID: "SO1"})
	mustCreate(t, st, Order{ID: "SO2"})
	sc := newFeeder(t, st, clk)
	sc.place(700)
	j, err := db.Claim(ctx, testPrinter)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetState(ctx, j.ID, queue.StateUncertain, "connection lost after 120 bytes"); err != nil {
		t.Fatal(err)
	}
	s := waitState(t, sub, func(s FlowState) bool { return s.Problem != nil && s.Problem.Code == ProblemUncertain })
	checkPlain(t, "live uncertain", s.Problem)
	if s.Problem.Offer != OfferConfirmPrinted || s.Problem.JobID != j.ID || !strings.Contains(s.Problem.Message, "SO1-1 may not have printed") {
		t.Fatalf("problem %+v", s.Problem)
	}
	sc.lift() // SO2 is armed automatically; the question stays
	if p := st.State().Problem; p == nil || p.Code != ProblemUncertain {
		t.Fatalf("after the re-arm: %+v", p)
	}
	if _, err := db.MarkPrinted(ctx, j.ID, "it printed"); err != nil {
		t.Fatal(err)
	}
	waitState(t, sub, func(s FlowState) bool { return s.Problem == nil })
}
