package station

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/packbench/packbench/internal/clocktest"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

const testPrinter = "bench"

// testClock is the manual clock shared by the queue and the station.
type testClock = clocktest.Clock

func newClock() *testClock {
	return clocktest.NewClock(time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC))
}

// openDB opens (or reopens) the bbolt file in dir; closed at cleanup
// unless the test closes it first.
func openDB(t *testing.T, dir string, clk *testClock) *queue.DB {
	t.Helper()
	db, err := queue.Open(filepath.Join(dir, "packbench.db"), &queue.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newStation(t *testing.T, db *queue.DB, clk *testClock, cfg Config, opts ...func(*Options)) *Station {
	t.Helper()
	o := &Options{Config: cfg, Clock: clk, Printers: []string{testPrinter}}
	for _, f := range opts {
		f(o)
	}
	st, err := New(db, o)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

var tonyDouglas = Address{Name: "Tony Douglas", Street1: "157 W 57th St", Street2: "Suite 1200",
	City: "New York", State: "NY", Zip: "10019", Country: "US", Email: "tony@example.com", Phone: "+18979671111"}

func mustCreate(t *testing.T, st *Station, o Order) Order {
	t.Helper()
	if o.ShipTo == (Address{}) {
		o.ShipTo = tonyDouglas
	}
	got, err := st.CreateOrder(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// jobs lists every job in the file (no payloads).
func jobs(t *testing.T, db *queue.DB) []queue.Job {
	t.Helper()
	js, err := db.List(context.Background(), queue.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// scaleFeeder drives the real stable-weight filter with readings spaced
// like a real scale's (every 100 ms of the test clock).
type scaleFeeder struct {
	t   *testing.T
	st  *Station
	f   *scale.Filter
	clk *testClock
}

func newFeeder(t *testing.T, st *Station, clk *testClock) *scaleFeeder {
	f, err := scale.NewFilter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &scaleFeeder{t: t, st: st, f: f, clk: clk}
}

// hold feeds n readings of grams with status, 100 ms apart; it returns
// the events the filter produced.
func (s *scaleFeeder) hold(grams int64, status scale.Status, n int) []scale.EventKind {
	var kinds []scale.EventKind
	for range n {
		r := scale.Reading{Milligrams: grams * 1000, Unit: scale.UnitGram, Value: grams, Status: status,
			Time: s.clk.Advance(100 * time.Millisecond), Source: "test"}
		if ev := s.f.Feed(r); ev.Kind != scale.EventNone {
			kinds = append(kinds, ev.Kind)
			s.st.Feed(context.Background(), ev)
		}
	}
	return kinds
}

// place puts a parcel down: a little motion, then a steady weight long
// enough to settle.
func (s *scaleFeeder) place(grams int64) []scale.EventKind {
	k := s.hold(grams+15, scale.StatusMotion, 2)
	return append(k, s.hold(grams, scale.StatusStable, 6)...)
}

// lift takes it off: motion, then a steady zero.
func (s *scaleFeeder) lift() []scale.EventKind {
	k := s.hold(300, scale.StatusMotion, 2)
	return append(k, s.hold(0, scale.StatusZero, 3)...)
}

// waitState waits (on the subscription, with a deadline) for a flow
// state satisfying ok.
func waitState(t *testing.T, ch <-chan FlowState, ok func(FlowState) bool) FlowState {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case st := <-ch:
			if ok(st) {
				return st
			}
		case <-deadline:
			t.Fatal("timed out waiting for the flow state")
		}
	}
}

// printAll plays the printer worker: claims every queued job for the
// printer and marks it with state.
func printAll(t *testing.T, db *queue.DB, to queue.State) []queue.Job {
	t.Helper()
	var done []queue.Job
	for {
		j, err := db.Claim(context.Background(), testPrinter)
		if err != nil {
			if errors.Is(err, queue.ErrEmpty) {
				return done
			}
			t.Fatal(err)
		}
		j, err = db.SetState(context.Background(), j.ID, to, "test printer")
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, j)
	}
}
