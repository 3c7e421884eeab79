package station

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/packbench/packbench/queue"
)

// Jobs queued for a printer that a restart's config no longer has are
// reported (log and Unprintable) and followed through the outbox until
// they leave the queue; they stay queued and print once the printer is
// configured again.
func TestUnprintableJobsReported(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	ctx := context.Background()
	db := openDB(t, dir, clk)
	old := newStation(t, db, clk, Config{}, func(o *Options) { o.Printers = []string{"old", "keep"} })
	var jobs []queue.JobID
	for range 3 {
		o := mustCreate(t, old, Order{})
		p, err := old.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 500_000}})
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, p.JobID)
	}
	if _, _, err := db.Enqueue(ctx, queue.NewJob{Key: "k", Source: queue.SourceHTTP, Printer: "keep",
		ContentType: queue.ContentZPL, Payload: []byte("^XA^XZ")}); err != nil {
		t.Fatal(err)
	}
	if u := old.Unprintable(); u != nil {
		t.Fatalf("with every printer configured: %v", u)
	}
	db.Close()

	// Restart with "old" gone from the config.
	db = openDB(t, dir, clk)
	var log bytes.Buffer
	st := newStation(t, db, clk, Config{}, func(o *Options) {
		o.Printers = []string{"keep"}
		o.Logger = slog.New(slog.NewTextHandler(&log, nil))
	})
	want := []Unprintable{{Printer: "old", Jobs: 3}}
	if u := st.Unprintable(); len(u) != 1 || u[0] != want[0] {
		t.Fatalf("unprintable after restart: %v, want %v", u, want)
	}
	if !strings.Contains(log.String(), `3 jobs cannot print: printer \"old\" is not configured`) {
		t.Fatalf("no warning at start:\n%s", log.String())
	}
	for _, id := range jobs {
		if j, err := db.Job(ctx, id); err != nil || j.State != queue.StateQueued {
			t.Fatalf("job %s: %+v %v, want it still queued", id, j.State, err)
		}
	}
	// Cancelled jobs leave the count; a queued one stays in it.
	for _, id := range jobs[:2] {
		if _, err := db.Cancel(ctx, id, "operator"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.drainEvents(ctx); err != nil {
		t.Fatal(err)
	}
	if u := st.Unprintable(); len(u) != 1 || u[0] != (Unprintable{"old", 1}) {
		t.Fatalf("after cancelling two: %v", u)
	}
	if s := st.Unprintable()[0].String(); s != `1 jobs cannot print: printer "old" is not configured` {
		t.Fatalf("problem text %q", s)
	}
	// A job enqueued for an unknown printer later (by any path) is seen too.
	if _, _, err := db.Enqueue(ctx, queue.NewJob{Key: "k2", Source: queue.SourceMQTT, Printer: "elsewhere",
		ContentType: queue.ContentZPL, Payload: []byte("^XA^XZ")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.drainEvents(ctx); err != nil {
		t.Fatal(err)
	}
	if u := st.Unprintable(); len(u) != 2 || u[0] != (Unprintable{"elsewhere", 1}) {
		t.Fatalf("after a job for another unknown printer: %v", u)
	}
	// Configured again: nothing is unprintable, and the job is still there to print.
	again := newStation(t, db, clk, Config{}, func(o *Options) { o.Printers = []string{"keep", "old", "elsewhere"} })
	if u := again.Unprintable(); u != nil {
		t.Fatalf("with the printers back: %v", u)
	}
}
