package station

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/packbench/packbench/queue"
)

// await receives from ch, failing the test if nothing comes within a
// generous bound: the bound only turns a hang (the bug) into a failure.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still waiting after 10s", what)
		panic("unreachable")
	}
}

// gate is a one-shot barrier a test opens; opening twice is harmless.
type gate struct {
	ch   chan struct{}
	once sync.Once
}

func newGate(t *testing.T) *gate {
	g := &gate{ch: make(chan struct{})}
	t.Cleanup(g.open) // a failing test must not leave a handler or a Ship hanging
	return g
}

func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }

// slowCarrier is a real HTTP carrier (the Fulfil contract) that holds every
// request for the reference slowRef until release opens; the others are
// answered at once. arrived receives the held references.
type slowCarrier struct {
	f       *fulfil
	url     string
	slowRef atomic.Value // string
	release *gate
	arrived chan string
}

func startSlowCarrier(t *testing.T) *slowCarrier {
	c := &slowCarrier{release: newGate(t), arrived: make(chan string, 8)}
	c.slowRef.Store("")
	ok := okAnswer(base64.StdEncoding.EncodeToString(carrierPNG(t, 400, 600)))
	var f atomic.Pointer[fulfil]
	fl, url := startFulfil(t, func(w http.ResponseWriter, r *http.Request, attempt int) {
		refs, _ := f.Load().seen()
		if ref := refs[attempt-1]; ref == c.slowRef.Load().(string) {
			c.arrived <- ref
			select {
			case <-c.release.ch:
			case <-r.Context().Done():
				return
			}
		}
		ok(w, r, attempt)
	})
	f.Store(fl)
	c.f, c.url = fl, url
	// Registered after the server's Close, so it runs first: handlers
	// still held are let go before the server waits for them.
	t.Cleanup(c.release.open)
	return c
}

type shipResult struct {
	p   Package
	err error
}

func shipAsync(st *Station, ctx context.Context, orderID string) <-chan shipResult {
	ch := make(chan shipResult, 1)
	go func() {
		p, err := st.Ship(ctx, ShipRequest{OrderID: orderID, Weight: Weight{Milligrams: 700_000}})
		ch <- shipResult{p, err}
	}()
	return ch
}

// notDone fails if ch already has a result.
func notDone(t *testing.T, ch <-chan shipResult, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s returned early: %+v, %v", what, r.p, r.err)
	default:
	}
}

// watchedCtx tells the test when the code under test starts waiting on
// it (its first call of Done).
type watchedCtx struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func newWatchedCtx(parent context.Context) (*watchedCtx, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	return &watchedCtx{Context: ctx, waiting: make(chan struct{})}, cancel
}

func (c *watchedCtx) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) })
	return c.Context.Done()
}

// eventually waits until cond holds: a condition wait for a state that no
// channel announces (it yields between reads), bounded like await.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after 10s", what)
		}
		runtime.Gosched()
	}
}

func lockedOrders(st *Station) int {
	st.shipLocks.mu.Lock()
	defer st.shipLocks.mu.Unlock()
	return len(st.shipLocks.held)
}

// A carrier that hangs for order A's parcel does not hold up order B's:
// labelling is serialised per order, not for the whole bench.
func TestSlowCarrierForOneOrderDoesNotHoldUpAnother(t *testing.T) {
	c := startSlowCarrier(t)
	st, db := httpStation(t, c.url, HTTPCarrierConfig{}, newClock())
	a := mustCreate(t, st, Order{})
	b := mustCreate(t, st, Order{})
	c.slowRef.Store(a.ID + "-1")
	ctx := context.Background()

	aDone := shipAsync(st, ctx, a.ID)
	await(t, c.arrived, "the carrier asked for A's label")
	rb := await(t, shipAsync(st, ctx, b.ID), "Ship of order B while A's carrier call hangs")
	if rb.err != nil || rb.p.Reference != b.ID+"-1" || rb.p.Status != PackageLabelled {
		t.Fatalf("B: %+v, %v", rb.p, rb.err)
	}
	notDone(t, aDone, "A's Ship (its carrier has not answered)")
	c.release.open()
	if ra := await(t, aDone, "A's Ship after its carrier answered"); ra.err != nil || ra.p.Reference != a.ID+"-1" {
		t.Fatalf("A: %+v, %v", ra.p, ra.err)
	}
	js := jobs(t, db)
	if len(js) != 2 || js[0].Key != b.ID+"-1" || js[1].Key != a.ID+"-1" {
		t.Errorf("jobs %+v, want B's then A's", js)
	}
	if n := lockedOrders(st); n != 0 {
		t.Errorf("%d order locks left behind", n)
	}
}

// A caller waiting to label an order that another caller is labelling
// gives up as soon as its context ends; the first one goes on and makes
// the order's one label.
func TestShipWaiterLeavesWhenItsContextEnds(t *testing.T) {
	c := startSlowCarrier(t)
	st, db := httpStation(t, c.url, HTTPCarrierConfig{}, newClock())
	a := mustCreate(t, st, Order{})
	c.slowRef.Store(a.ID + "-1")

	first := shipAsync(st, context.Background(), a.ID)
	await(t, c.arrived, "the carrier asked for A's label")
	ctx, cancel := newWatchedCtx(context.Background())
	defer cancel()
	waiter := shipAsync(st, ctx, a.ID)
	await(t, ctx.waiting, "the second Ship waiting on its context")
	cancel()
	r := await(t, waiter, "the waiter after its context was cancelled")
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("waiter: %+v, %v; want context.Canceled", r.p, r.err)
	}
	notDone(t, first, "the first Ship (its carrier has not answered)")
	c.release.open()
	if r := await(t, first, "the first Ship"); r.err != nil || r.p.Reference != a.ID+"-1" {
		t.Fatalf("first: %+v, %v", r.p, r.err)
	}
	if refs, _ := c.f.seen(); len(refs) != 1 {
		t.Errorf("carrier asked %d times (%v), want once", len(refs), refs)
	}
	if js := jobs(t, db); len(js) != 1 {
		t.Errorf("%d jobs, want 1", len(js))
	}
	if n := lockedOrders(st); n != 0 {
		t.Errorf("%d order locks left behind", n)
	}
}

// Two Ships of the same reference at once (an order of one parcel): one
// label, one job, one carrier call; the other caller is told the order
// is done.
func TestConcurrentShipOfOneReferenceMakesOneJob(t *testing.T) {
	c := startSlowCarrier(t)
	st, db := httpStation(t, c.url, HTTPCarrierConfig{}, newClock())
	a := mustCreate(t, st, Order{})
	c.slowRef.Store(a.ID + "-1")

	first := shipAsync(st, context.Background(), a.ID)
	await(t, c.arrived, "the carrier asked for A's label")
	ctx, cancel := newWatchedCtx(context.Background())
	defer cancel()
	second := shipAsync(st, ctx, a.ID)
	await(t, ctx.waiting, "the second Ship waiting for the first")
	c.release.open()
	r1 := await(t, first, "the first Ship")
	r2 := await(t, second, "the second Ship")
	if r1.err != nil || r1.p.Reference != a.ID+"-1" {
		t.Fatalf("first: %+v, %v", r1.p, r1.err)
	}
	if !errors.Is(r2.err, ErrConflict) {
		t.Errorf("second: %+v, %v; want ErrConflict (the order is labelled)", r2.p, r2.err)
	}
	if js := jobs(t, db); len(js) != 1 || js[0].Key != a.ID+"-1" {
		t.Errorf("jobs %+v, want one keyed %s-1", js, a.ID)
	}
	if refs, _ := c.f.seen(); len(refs) != 1 {
		t.Errorf("carrier asked %d times (%v), want once", len(refs), refs)
	}
}

// stallClock is the station's clock that, once armed, stalls when the
// label being rendered asks it for the label's date: it stands in for a
// slow render (a 600 dpi raster) at the point where the render runs.
type stallClock struct {
	*testClock
	armed   atomic.Bool
	once    sync.Once
	stalled chan struct{}
	release *gate
}

func (c *stallClock) Now() time.Time {
	if c.armed.Load() && calledFrom(".(*Station).renderLabel") {
		c.once.Do(func() { close(c.stalled) })
		<-c.release.ch
	}
	return c.testClock.Now()
}

// calledFrom reports whether a function whose name ends in suffix is on
// the caller's stack.
func calledFrom(suffix string) bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, suffix) {
			return true
		}
		if !more {
			return false
		}
	}
}

// While the local carrier's label renders, no write transaction is held:
// an unrelated job and a new order commit meanwhile, and the label then
// commits as the order's one job.
func TestRenderHoldsNoTransaction(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	sc := &stallClock{testClock: clk, stalled: make(chan struct{}), release: newGate(t)}
	st := newStation(t, db, clk, Config{Label: LabelConfig{Format: FormatRaster}}, func(o *Options) { o.Clock = sc })
	a := mustCreate(t, st, Order{})
	ctx := context.Background()

	sc.armed.Store(true)
	shipped := shipAsync(st, ctx, a.ID)
	await(t, sc.stalled, "the label's render")

	enq := make(chan error, 1)
	go func() {
		_, _, err := db.Enqueue(ctx, queue.NewJob{Key: "unrelated-1", Source: queue.SourceHTTP, Printer: testPrinter,
			ContentType: queue.ContentZPL, Payload: []byte("^XA^FDx^FS^XZ\n")})
		enq <- err
	}()
	if err := await(t, enq, "an unrelated Enqueue while a label renders"); err != nil {
		t.Fatal(err)
	}
	created := make(chan error, 1)
	go func() {
		_, err := st.CreateOrder(ctx, Order{ShipTo: tonyDouglas})
		created <- err
	}()
	if err := await(t, created, "CreateOrder while a label renders"); err != nil {
		t.Fatal(err)
	}
	notDone(t, shipped, "Ship (its render is stalled)")
	sc.release.open()
	r := await(t, shipped, "Ship after the render")
	if r.err != nil || r.p.Reference != a.ID+"-1" || r.p.LabelForm != FormatRaster {
		t.Fatalf("%+v, %v", r.p, r.err)
	}
	js := jobs(t, db)
	if len(js) != 2 || js[0].Key != "unrelated-1" || js[1].Key != a.ID+"-1" {
		t.Errorf("jobs %+v, want the unrelated job then the label", js)
	}
	zpl, err := st.LabelZPL(ctx, r.p.Reference)
	if err != nil || !strings.Contains(string(zpl), ":Z64:") {
		t.Errorf("label is not a Z64 raster (%d bytes), %v", len(zpl), err)
	}
}

// Voiding or cancelling an order that is being labelled waits for the
// label (so it never lands under a void), honours its context while it
// waits, and then voids the fresh label: its job is cancelled.
func TestVoidAndCancelWaitForTheOrdersLabel(t *testing.T) {
	c := startSlowCarrier(t)
	st, db := httpStation(t, c.url, HTTPCarrierConfig{}, newClock())
	a := mustCreate(t, st, Order{})
	ref := a.ID + "-1"
	c.slowRef.Store(ref)

	shipped := shipAsync(st, context.Background(), a.ID)
	await(t, c.arrived, "the carrier asked for A's label")

	// A cancel whose caller gives up leaves the order alone.
	cctx, ccancel := newWatchedCtx(context.Background())
	cancelled := make(chan error, 1)
	go func() { _, err := st.CancelOrder(cctx, a.ID, "changed my mind"); cancelled <- err }()
	await(t, cctx.waiting, "CancelOrder waiting for the label")
	ccancel()
	if err := await(t, cancelled, "CancelOrder after its context ended"); !errors.Is(err, context.Canceled) {
		t.Fatalf("CancelOrder: %v, want context.Canceled", err)
	}

	vctx, vcancel := newWatchedCtx(context.Background())
	defer vcancel()
	type voidResult struct {
		p   Package
		err error
	}
	voided := make(chan voidResult, 1)
	go func() { p, err := st.VoidPackage(vctx, ref, "wrong parcel"); voided <- voidResult{p, err} }()
	await(t, vctx.waiting, "VoidPackage waiting for the label")
	notDone(t, shipped, "Ship (its carrier has not answered)")
	c.release.open()
	if r := await(t, shipped, "Ship"); r.err != nil || r.p.Status != PackageLabelled {
		t.Fatalf("Ship: %+v, %v", r.p, r.err)
	}
	v := await(t, voided, "VoidPackage after the label")
	if v.err != nil || v.p.Status != PackageVoided || v.p.JobState != queue.StateCancelled {
		t.Fatalf("VoidPackage: %+v, %v; want voided with its job cancelled", v.p, v.err)
	}
	if o, err := st.Order(context.Background(), a.ID); err != nil || o.Status != OrderOpen || o.Labelled != 0 {
		t.Errorf("order after the void: %+v, %v; want open, none labelled", o, err)
	}
	if js := jobs(t, db); len(js) != 1 || js[0].State != queue.StateCancelled {
		t.Errorf("jobs %+v, want the one label's job, cancelled", js)
	}
}
