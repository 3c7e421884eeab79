package station

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/packbench/packbench/queue"
)

// fakeScale counts tare and zero calls; err fails them.
type fakeScale struct {
	mu         sync.Mutex
	tare, zero int
	err        error
}

func (f *fakeScale) Tare(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tare++
	return f.err
}

func (f *fakeScale) Zero(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.zero++
	return f.err
}

var _ ScaleControl = (*fakeScale)(nil)

func TestCommandBarcodes(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	db := openDB(t, dir, clk)
	fs := &fakeScale{}
	st := newStation(t, db, clk, Config{}, func(o *Options) { o.Scale = fs; o.About = "bench-1, version test" })
	ctx := context.Background()

	// Reprint before any label: a problem the packer hears, no job.
	s, err := st.Scan(ctx, "PB-CMD-REPRINT\r\n")
	if !errors.Is(err, ErrConflict) || s.Problem == nil || s.Problem.Code != ProblemCommand ||
		s.Signal == nil || s.Signal.Kind != SignalError || s.Signal.Code != ProblemCommand {
		t.Fatalf("reprint with nothing printed: %+v, %v", s, err)
	}
	if js := jobs(t, db); len(js) != 0 {
		t.Fatalf("jobs: %+v", js)
	}

	o := mustCreate(t, st, Order{Packages: 2, AssociatedIdentifiers: []string{"LPN-9"}})
	s, err = st.Scan(ctx, "LPN-9")
	if err != nil || s.State != FlowArmed || s.Signal == nil || s.Signal.Kind != SignalOK || s.Signal.Code != SignalScan || s.Problem != nil {
		t.Fatalf("scan: %+v, %v", s, err)
	}
	sc := newFeeder(t, st, clk)
	sc.place(900)
	label := st.State().LabelID
	if label != o.ID+"-1" {
		t.Fatalf("label %q", label)
	}

	// Reprint (lower case: a scanner with caps lock on) → a reprint job of the last label.
	seq := st.State().Signal.Seq
	s, err = st.Scan(ctx, "pb-cmd-reprint")
	if err != nil || s.Signal == nil || s.Signal.Seq <= seq || s.Signal.Kind != SignalOK || s.Signal.Code != CommandReprint ||
		!strings.Contains(s.Note, label) {
		t.Fatalf("reprint: %+v, %v", s, err)
	}
	js := jobs(t, db)
	if len(js) != 2 || js[1].Key != label+"-reprint-1" || js[1].Printer != testPrinter {
		t.Fatalf("jobs after reprint: %+v", js)
	}

	// Tare, zero: the scale is told.
	if _, err := st.Scan(ctx, "PB-CMD-TARE"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Scan(ctx, "PB-CMD-ZERO"); err != nil {
		t.Fatal(err)
	}
	if fs.tare != 1 || fs.zero != 1 {
		t.Fatalf("tare %d zero %d", fs.tare, fs.zero)
	}
	fs.err = errors.New("scale busy")
	if s, err := st.Scan(ctx, "PB-CMD-TARE"); err == nil || s.Problem == nil || s.Problem.Code != ProblemCommand || !strings.Contains(s.Problem.Message, "scale busy") {
		t.Fatalf("failing tare: %+v, %v", s, err)
	}

	// Test print: a test job on the flow's printer, from the flow.
	if _, err := st.Scan(ctx, "PB-CMD-TEST-PRINT"); err != nil {
		t.Fatal(err)
	}
	js = jobs(t, db)
	if last := js[len(js)-1]; !strings.HasPrefix(last.Key, "test-print:") || last.Source != queue.SourceFlow {
		t.Fatalf("test print job: %+v", last)
	}

	// Cancel disarms (after the parcel is lifted the order is armed again
	// for package 2); the labelled package stays labelled.
	sc.lift()
	if s := st.State(); s.State != FlowArmed {
		t.Fatalf("after lift: %+v", s)
	}
	s, err = st.Scan(ctx, "PB-CMD-CANCEL")
	if err != nil || s.State != FlowIdle || s.Order != nil || s.Problem != nil {
		t.Fatalf("cancel: %+v, %v", s, err)
	}
	if p, err := st.Package(ctx, label); err != nil || p.Status != PackageLabelled {
		t.Fatalf("package after cancel: %+v, %v", p, err)
	}
	// A command is never looked up as an order, and unknown codes still are.
	if _, err := st.Scan(ctx, "PB-CMD-NOPE"); !errors.Is(err, ErrNoOrder) {
		t.Fatalf("unknown: %v", err)
	}
}

func TestCommandBarcodesConfig(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	// Renamed and turned off.
	st := newStation(t, db, clk, Config{Commands: CommandConfig{Reprint: "RP", Tare: CommandOff}})
	var names []string
	for _, c := range st.Commands() {
		names = append(names, c.Name+"="+c.Code)
	}
	if got := strings.Join(names, ","); got != "reprint=RP,cancel=PB-CMD-CANCEL,zero=PB-CMD-ZERO,test_print=PB-CMD-TEST-PRINT" {
		t.Fatalf("commands %s", got)
	}
	if _, err := st.Scan(context.Background(), "PB-CMD-TARE"); !errors.Is(err, ErrNoOrder) {
		t.Fatalf("a command that is off is an order code: %v", err)
	}
	// Without a scale control, tare/zero are problems, not panics.
	if _, err := st.Scan(context.Background(), "PB-CMD-ZERO"); !errors.Is(err, ErrConflict) {
		t.Fatalf("zero without a scale: %v", err)
	}

	for _, tc := range []struct {
		cfg  CommandConfig
		want string
	}{
		{CommandConfig{Cancel: "PB-CMD-REPRINT"}, "commands.cancel: \"PB-CMD-REPRINT\" is also commands.reprint"},
		{CommandConfig{Zero: "x", Tare: "X"}, "commands.zero: \"x\" is also commands.tare"},
		{CommandConfig{Reprint: " RP"}, "commands.reprint: want 1 to 32 characters"},
		{CommandConfig{Reprint: strings.Repeat("A", 33)}, "commands.reprint: want 1 to 32"},
		{CommandConfig{TestPrint: "TEST\tPRINT"}, "commands.test_print: want printable ASCII"},
		{CommandConfig{TestPrint: "TÉST"}, "commands.test_print: want printable ASCII"},
	} {
		err := Config{Commands: tc.cfg}.WithDefaults().Validate()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
	// Two commands off is no clash.
	if err := (Config{Commands: CommandConfig{Tare: CommandOff, Zero: CommandOff}}).WithDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
}

// A command barcode while a parcel is being labelled: cancel refuses
// (busy), the flow goes on.
func TestCommandCancelWhileLabelling(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	st.mu.Lock()
	st.flow.State = FlowLabelling
	st.mu.Unlock()
	s, err := st.Scan(context.Background(), "PB-CMD-CANCEL")
	if !errors.Is(err, ErrBusy) || s.State != FlowLabelling || s.Problem == nil || s.Problem.Code != ProblemCommand {
		t.Fatalf("cancel while labelling: %+v, %v", s, err)
	}
}
