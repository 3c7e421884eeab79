package station

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

// runStation runs st.Run until the test ends.
func runStation(t *testing.T, st *Station) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	})
}

func TestFlowScanWeighPrint(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, Config{})
	runStation(t, st)
	sub, unsub := st.Subscribe()
	defer unsub()
	ctx := context.Background()
	o := mustCreate(t, st, Order{Packages: 3, AssociatedIdentifiers: []string{"LPN-1"}, PartnerOrderID: "P-77"})
	sc := newFeeder(t, st, clk)

	if ev := sc.hold(0, scale.StatusZero, 3); len(ev) != 0 {
		t.Fatalf("empty scale gave %v", ev)
	}
	// A parcel with nothing armed: no label, a problem the page can show.
	if ev := sc.place(1200); !slices.Equal(ev, []scale.EventKind{scale.EventPlaced}) {
		t.Fatalf("place gave %v", ev)
	}
	if s := st.State(); s.State != FlowIdle || s.Problem == nil || s.Problem.Code != ProblemNotArmed {
		t.Errorf("placed while idle: %+v", s)
	}
	sc.lift()
	if s := st.State(); s.Problem != nil || s.AwaitRemoval {
		t.Errorf("after lifting: %+v", s)
	}

	// An unknown barcode: a clear error, the flow as it was.
	before := st.State()
	s, err := st.Scan(ctx, "LPN-404\r\n")
	if !errors.Is(err, ErrNoOrder) || s.State != before.State || s.Problem == nil || s.Problem.Code != ProblemNoOrder ||
		!strings.Contains(s.Problem.Message, "no order for this barcode") {
		t.Fatalf("unknown scan: %+v, %v", s, err)
	}

	s, err = st.Scan(ctx, "LPN-1\r")
	if err != nil || s.State != FlowArmed || s.Order == nil || s.Order.ID != o.ID || s.Package != 1 || s.Count != 3 || s.Problem != nil {
		t.Fatalf("scan: %+v, %v", s, err)
	}

	// Package 1 of 3: one job, keyed by the package reference.
	sc.place(1200)
	s = st.State()
	if s.State != FlowPrinting || s.Package != 1 || s.Count != 3 || s.JobID == 0 || !s.AwaitRemoval || s.Weight != "1200 g" {
		t.Fatalf("after placing: %+v", s)
	}
	// A bounce: the weight moves and settles again; the filter stays placed.
	if ev := append(sc.hold(1260, scale.StatusMotion, 3), sc.hold(1201, scale.StatusStable, 10)...); len(ev) != 0 {
		t.Fatalf("bounce gave %v", ev)
	}
	js := jobs(t, db)
	if len(js) != 1 || js[0].Key != o.ID+"-1" || js[0].Source != queue.SourceFlow || js[0].ContentType != queue.ContentZPL || js[0].Printer != testPrinter {
		t.Fatalf("jobs after a bounce: %+v", js)
	}
	// The printer confirms: the flow says printed.
	printAll(t, db, queue.StatePrinted)
	waitState(t, sub, func(f FlowState) bool {
		return f.State == FlowPrinted && f.JobID == js[0].ID && f.JobState == queue.StatePrinted
	})

	// Lift: the same order stays armed for package 2.
	if ev := sc.lift(); !slices.Equal(ev, []scale.EventKind{scale.EventRemoved}) {
		t.Fatalf("lift gave %v", ev)
	}
	if s := st.State(); s.State != FlowArmed || s.Order.ID != o.ID || s.Package != 2 || s.AwaitRemoval {
		t.Fatalf("after lift: %+v", s)
	}
	sc.place(800)
	if s := st.State(); s.State != FlowPrinting || s.Package != 2 || s.Count != 3 {
		t.Fatalf("package 2: %+v", s)
	}
	sc.lift()
	sc.place(450)
	sc.lift()
	if s := st.State(); s.State != FlowIdle || s.Order != nil {
		t.Fatalf("after the last package: %+v", s)
	}
	sc.place(300) // nothing armed any more
	if s := st.State(); s.Problem == nil || s.Problem.Code != ProblemNotArmed {
		t.Errorf("placing after the order is done: %+v", s)
	}

	js = jobs(t, db)
	if len(js) != 3 {
		t.Fatalf("%d jobs, want 3", len(js))
	}
	sh, err := st.Shipment(ctx, "LPN-1")
	if err != nil || len(sh.Packages) != 3 || sh.Order.Status != OrderShipped || sh.Order.Labelled != 3 {
		t.Fatalf("shipment %+v, %v", sh, err)
	}
	tracking := map[string]bool{}
	for i, p := range sh.Packages {
		wantMg := []int64{1_200_000, 800_000, 450_000}[i]
		if p.Index != i+1 || p.Count != 3 || p.Weight.Milligrams != wantMg || p.Status != PackageLabelled || p.JobID != js[i].ID {
			t.Errorf("package %d: %+v", i+1, p)
		}
		if len(p.TrackingNumber) != 18 || tracking[p.TrackingNumber] {
			t.Errorf("package %d tracking %q (SSCC-18, unique)", i+1, p.TrackingNumber)
		}
		tracking[p.TrackingNumber] = true
		j, err := db.Job(ctx, p.JobID)
		if err != nil {
			t.Fatal(err)
		}
		zpl, err := st.LabelZPL(ctx, p.LabelID)
		if err != nil || !bytes.Equal(zpl, j.Payload) {
			t.Errorf("label %s: stored ZPL differs from the job's payload (%v)", p.LabelID, err)
		}
		for _, want := range []string{"^XA", "PKG " + string(rune('1'+i)) + " OF 3", "ORDER: " + o.ID, "REF: " + p.Reference, p.TrackingNumber[2:], "Tony Douglas", strings.ToUpper(p.Weight.Display), "^XZ"} {
			if !bytes.Contains(zpl, []byte(want)) && !bytes.Contains(zpl, []byte(EscapeForTest(want))) {
				t.Errorf("label %d lacks %q", i+1, want)
			}
		}
		png, err := st.LabelPNG(ctx, p.JobID.String())
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Errorf("preview by job id: %d bytes, %v", len(png), err)
		}
	}
	if got := sh.Packages[0].JobState; got != queue.StatePrinted {
		t.Errorf("package 1 job state %q, want printed (followed through the outbox)", got)
	}
}

// EscapeForTest is the ^FH form of a text as labelrender writes it.
func EscapeForTest(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' || c == '.' || c == ',' || c == '-' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("_" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
	}
	return b.String()
}

func TestFlowAutoArmNextAndPrinterProblem(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{Flow: FlowConfig{AutoArmNext: true}})
	runStation(t, st)
	sub, unsub := st.Subscribe()
	defer unsub()
	a := mustCreate(t, st, Order{})
	b := mustCreate(t, st, Order{})
	if s := st.State(); s.State != FlowArmed || s.Order.ID != a.ID {
		t.Fatalf("auto-armed %+v, want %s", s, a.ID)
	}
	sc := newFeeder(t, st, clk)
	sc.place(1000)
	js := jobs(t, db)
	if len(js) != 1 || js[0].Ref != a.ID {
		t.Fatalf("jobs %+v", js)
	}
	printAll(t, db, queue.StateFailed)
	s := waitState(t, sub, func(f FlowState) bool { return f.Problem != nil && f.Problem.Code == ProblemPrinter })
	if !strings.Contains(s.Problem.Message, "did not print") {
		t.Errorf("printer problem %q", s.Problem.Message)
	}
	sc.lift()
	s = st.State()
	if s.State != FlowArmed || s.Order.ID != b.ID {
		t.Fatalf("after lift: %+v, want %s armed", s, b.ID)
	}
	if s.Problem == nil || s.Problem.Code != ProblemPrinter {
		t.Errorf("the printer problem should stay visible after an automatic re-arm: %+v", s.Problem)
	}
	// Retrying the job clears it once printed.
	if _, err := db.Retry(context.Background(), js[0].ID, "operator"); err != nil {
		t.Fatal(err)
	}
	printAll(t, db, queue.StatePrinted)
	waitState(t, sub, func(f FlowState) bool { return f.Problem == nil && f.JobState == queue.StatePrinted })

	// Disarm, then a parcel: auto-arm takes the next waiting order.
	if _, err := st.Disarm(context.Background()); err != nil {
		t.Fatal(err)
	}
	sc.place(700)
	if js := jobs(t, db); len(js) != 2 || js[1].Ref != b.ID {
		t.Fatalf("jobs %+v", js)
	}
}

func TestReprintAndVoid(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, Config{})
	ctx := context.Background()
	o := mustCreate(t, st, Order{Packages: 2})
	p1, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 2_350_000, Display: "2.35 kg", Unit: "kg"}})
	if err != nil {
		t.Fatal(err)
	}
	zpl, _ := st.LabelZPL(ctx, p1.Reference)
	if !bytes.Contains(zpl, []byte("2.35 KG")) {
		t.Errorf("label weight: want 2.35 KG as the scale showed it")
	}
	p, job, err := st.Reprint(ctx, p1.TrackingNumber, "")
	if err != nil {
		t.Fatal(err)
	}
	if job.ID == p1.JobID || job.Key != p1.Reference+"-reprint-1" || job.Ref != "reprint of "+p1.Reference || !bytes.Equal(job.Payload, zpl) {
		t.Errorf("reprint job %+v", job)
	}
	if p.TrackingNumber != p1.TrackingNumber || len(p.Reprints) != 1 || p.Reprints[0].JobID != job.ID {
		t.Errorf("package after reprint %+v", p)
	}
	if got, err := st.Package(ctx, job.ID.String()); err != nil || got.Reference != p1.Reference {
		t.Errorf("Package(reprint job id) = %s, %v", got.Reference, err)
	}
	_, job2, _ := st.Reprint(ctx, p1.JobID.String(), "")
	if job2.Key != p1.Reference+"-reprint-2" {
		t.Errorf("second reprint key %q", job2.Key)
	}

	// Void: the queued jobs are cancelled, the package no longer counts.
	v, err := st.VoidPackage(ctx, p1.Reference, "box damaged")
	if err != nil || v.Status != PackageVoided || v.JobState != queue.StateCancelled {
		t.Fatalf("void %+v, %v", v, err)
	}
	for _, id := range []queue.JobID{p1.JobID, job.ID, job2.ID} {
		if j, _ := db.Job(ctx, id); j.State != queue.StateCancelled {
			t.Errorf("job %s is %s after void, want cancelled", id, j.State)
		}
	}
	if _, _, err := st.Reprint(ctx, p1.Reference, ""); !errors.Is(err, ErrConflict) {
		t.Errorf("reprint of a voided package: %v, want ErrConflict", err)
	}
	got, _ := st.Order(ctx, o.ID)
	if got.Labelled != 0 || got.Status != OrderOpen {
		t.Errorf("order after void %+v", got)
	}
	// The next package takes a new reference and index.
	p2, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 900_000}})
	if err != nil || p2.Reference != o.ID+"-2" || p2.TrackingNumber == p1.TrackingNumber {
		t.Fatalf("after void: %+v, %v", p2, err)
	}
	// Everything survives a reopen.
	db.Close()
	db = openDB(t, dir, clk)
	st = newStation(t, db, clk, Config{})
	sh, err := st.Shipment(ctx, o.ID)
	if err != nil || len(sh.Packages) != 2 || sh.Packages[0].Status != PackageVoided || sh.Packages[1].TrackingNumber != p2.TrackingNumber {
		t.Fatalf("after reopen %+v, %v", sh, err)
	}
	if _, err := st.LabelZPL(ctx, p2.TrackingNumber); err != nil {
		t.Errorf("label by tracking number after reopen: %v", err)
	}
	page, err := st.ListShipments(ctx, ListOptions{})
	if err != nil || page.Total != 1 || page.Shipments[0].OrderID != o.ID {
		t.Errorf("shipments %+v, %v", page, err)
	}
	// The SSCC counter is durable: a new order's number continues the sequence.
	o2 := mustCreate(t, st, Order{})
	p3, err := st.Ship(ctx, ShipRequest{OrderID: o2.ID, Weight: Weight{Milligrams: 900_000}})
	if err != nil || p3.TrackingNumber[8:17] != "000000003" {
		t.Errorf("third SSCC %q, %v; want serial 000000003", p3.TrackingNumber, err)
	}
	if _, err := st.Ship(ctx, ShipRequest{OrderID: o2.ID, Weight: Weight{Milligrams: 1}}); !errors.Is(err, ErrConflict) {
		t.Errorf("shipping a done order: %v, want ErrConflict", err)
	}
	if _, err := st.CancelOrder(ctx, o2.ID, "x"); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.Package(ctx, p3.Reference); p.Status != PackageVoided {
		t.Errorf("package of a cancelled order: %s", p.Status)
	}
}

// Two callers labelling the same order at once get different packages.
func TestConcurrentShipTakesDistinctPackages(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	o := mustCreate(t, st, Order{Packages: 4})
	refs := make(chan string, 6)
	errs := make(chan error, 6)
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := st.Ship(context.Background(), ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 100_000}})
			if err != nil {
				errs <- err
				return
			}
			refs <- p.Reference
		}()
	}
	wg.Wait()
	close(refs)
	close(errs)
	seen := map[string]bool{}
	for r := range refs {
		if seen[r] {
			t.Errorf("reference %s given twice", r)
		}
		seen[r] = true
	}
	if len(seen) != 4 {
		t.Errorf("%d packages labelled, want 4", len(seen))
	}
	for err := range errs {
		if !errors.Is(err, ErrConflict) {
			t.Errorf("extra ship: %v, want ErrConflict", err)
		}
	}
	if js := jobs(t, db); len(js) != 4 {
		t.Errorf("%d jobs, want 4", len(js))
	}
}

func TestSubscribeCancel(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	ch, cancel := st.Subscribe()
	first := <-ch
	if first.State != FlowIdle {
		t.Errorf("first state %+v", first)
	}
	o := mustCreate(t, st, Order{})
	st.Arm(context.Background(), o.ID)
	st.Disarm(context.Background())
	// Only the newest unread state is kept.
	if s := <-ch; s.State != FlowIdle || s.Seq < 2 {
		t.Errorf("newest state %+v", s)
	}
	cancel()
	cancel() // twice is fine
	if _, ok := <-ch; ok {
		t.Error("channel still open after cancel")
	}
	st.Arm(context.Background(), o.ID) // publishing after cancel must not panic
}

// The daemon's wiring: a simulated scale behind a real scale.Link, its
// readings through WatchScale's filter into the flow, in real time.
func TestWatchScaleWithSimulatedScale(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	o := mustCreate(t, st, Order{Packages: 2, AssociatedIdentifiers: []string{"LPN-SIM"}})
	if _, err := st.Scan(context.Background(), "LPN-SIM"); err != nil {
		t.Fatal(err)
	}
	sim := scale.NewSimulator(&scale.SimOptions{Interval: 20 * time.Millisecond})
	link := scale.NewLink(sim.Open, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); link.Run(ctx) }()
	readings, unsubscribe := link.Subscribe(16)
	defer unsubscribe()
	f, err := scale.NewFilter(nil)
	if err != nil {
		t.Fatal(err)
	}
	watchErr := make(chan error, 1)
	go func() { defer wg.Done(); watchErr <- st.WatchScale(ctx, readings, f) }()
	sub, unsub := st.Subscribe()
	defer unsub()

	sim.Place(1_250_000)
	waitState(t, sub, func(s FlowState) bool { return s.State == FlowPrinting && s.Package == 1 })
	sim.Remove()
	waitState(t, sub, func(s FlowState) bool { return s.State == FlowArmed && s.Package == 2 && !s.AwaitRemoval })
	sim.Place(2_000_000)
	waitState(t, sub, func(s FlowState) bool { return s.State == FlowPrinting && s.Package == 2 })
	cancel()
	wg.Wait()
	if err := <-watchErr; !errors.Is(err, context.Canceled) {
		t.Errorf("WatchScale returned %v", err)
	}
	js := jobs(t, db)
	if len(js) != 2 || js[0].Key != o.ID+"-1" || js[1].Key != o.ID+"-2" {
		t.Fatalf("jobs %+v", js)
	}
	p, _ := st.Package(context.Background(), o.ID+"-1")
	if p.Weight.Milligrams != 1_250_000 || p.Weight.Display != "1250 g" {
		t.Errorf("weight %+v", p.Weight)
	}
}

// A reprint goes to the package's printer, or to the flow printer when
// that printer is no longer configured.
func TestReprintPrinter(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	db := openDB(t, dir, clk)
	// "other" is configured: a reprint may name only a printer the bench has.
	st := newStation(t, db, clk, Config{}, func(o *Options) { o.Printers = []string{testPrinter, "other"} })
	ctx := context.Background()
	o := mustCreate(t, st, Order{})
	p, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 1_000_000}})
	if err != nil || p.Printer != testPrinter {
		t.Fatalf("%+v, %v", p, err)
	}
	if _, j, err := st.Reprint(ctx, p.Reference, ""); err != nil || j.Printer != testPrinter {
		t.Errorf("reprint printer %q, %v", j.Printer, err)
	}
	if _, j, err := st.Reprint(ctx, p.Reference, "other"); err != nil || j.Printer != "other" {
		t.Errorf("reprint to an explicit printer %q, %v", j.Printer, err)
	}
	var fe *FieldError
	if _, _, err := st.Reprint(ctx, p.Reference, "nowhere"); !errors.As(err, &fe) || fe.Field != "printer" {
		t.Errorf("reprint to a printer the bench does not have: %v, want a FieldError naming printer", err)
	}
	st2 := newStation(t, db, clk, Config{}, func(o *Options) { o.Printers = []string{"zebra"} })
	if _, j, err := st2.Reprint(ctx, p.Reference, ""); err != nil || j.Printer != "zebra" {
		t.Errorf("reprint after the printer was renamed: %q, %v", j.Printer, err)
	}
}
