package station

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/packbench/packbench/queue"
)

// stationCursor is the station consumer's acknowledged position.
func stationCursor(t *testing.T, db *queue.DB) uint64 {
	t.Helper()
	cons, err := db.Consumers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cons[Consumer]
}

// ackStation is a station on a fresh file, on a manual clock, and its
// consumer's acknowledged position.
func ackStation(t *testing.T) (*testClock, *queue.DB, *Station, uint64) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	return clk, db, st, stationCursor(t, db)
}

// strandedJob enqueues a job for a printer the station does not know, so
// Run's handling of its event shows in Unprintable.
func strandedJob(t *testing.T, db *queue.DB, key string) queue.Job {
	t.Helper()
	j, _, err := db.Enqueue(context.Background(), queue.NewJob{Key: key, Source: queue.SourceHTTP, Printer: "elsewhere",
		ContentType: queue.ContentZPL, Payload: []byte("^XA^XZ")})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// Run handles job events at once but acknowledges them (a commit of its
// own, which took the database's writer from the printer's claim) only
// once the outbox has been quiet for ackQuiet, after ackEvery events, or
// when it stops; a station started on the same file reads its state from
// the file and does not replay what was not acknowledged.
func TestRunAcknowledgesJobStatesWhenQuiet(t *testing.T) {
	clk, db, st, start := ackStation(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- st.Run(runCtx) }()

	a := strandedJob(t, db, "a")
	// Run arms its quiet timer once it has handled everything and waits.
	if err := clk.WaitWaiters(ctx, 1); err != nil {
		t.Fatalf("Run did not wait to acknowledge: %v", err)
	}
	if p := clk.Pending(); len(p) != 1 || p[0] != ackQuiet {
		t.Fatalf("pending waits %v, want one of %v", p, ackQuiet)
	}
	if u := st.Unprintable(); len(u) != 1 || u[0] != (Unprintable{"elsewhere", 1}) {
		t.Fatalf("job a not handled: %v", u)
	}
	if c := stationCursor(t, db); c != start {
		t.Fatalf("cursor %d right after handling, want %d (no commit yet)", c, start)
	}
	// A second station on the file (a restart after a crash) reads the
	// stranded job from the file and replays no old event over it.
	again := newStation(t, db, clk, Config{})
	if u := again.Unprintable(); len(u) != 1 || u[0] != (Unprintable{"elsewhere", 1}) {
		t.Fatalf("restarted station: unprintable %v", u)
	}
	if n, err := again.drainEvents(ctx); err != nil || n != 0 {
		t.Fatalf("restarted station handled %d old events, %v; want none", n, err)
	}

	clk.Advance(ackQuiet)
	last, err := db.LastEventID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the quiet acknowledgement", func() bool { return stationCursor(t, db) == last })

	// Cancelling a (job event, unacknowledged) and stopping Run: it
	// acknowledges on the way out.
	if _, err := db.Cancel(ctx, a.ID, "operator"); err != nil {
		t.Fatal(err)
	}
	if err := clk.WaitWaiters(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if u := st.Unprintable(); len(u) != 0 {
		t.Fatalf("cancelled job still unprintable: %v", u)
	}
	stop()
	if err := <-ran; err != context.Canceled {
		t.Fatalf("Run: %v", err)
	}
	if last, _ = db.LastEventID(ctx); stationCursor(t, db) != last {
		t.Fatalf("cursor %d after Run stopped, want %d", stationCursor(t, db), last)
	}
}

// Under a steady stream (no quiet moment) Run still acknowledges every
// ackEvery events, so the events it holds back from housekeeping stay few.
func TestRunAcknowledgesEveryAckEveryEvents(t *testing.T) {
	_, db, st, start := ackStation(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := db.Update(func(tx *queue.Tx) error {
		for i := range ackEvery {
			if _, _, err := tx.Enqueue(queue.NewJob{Key: fmt.Sprintf("k%d", i), Source: queue.SourceHTTP,
				Printer: testPrinter, ContentType: queue.ContentZPL, Payload: []byte("^XA^XZ")}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := st.drainEvents(ctx); err != nil || n != ackEvery {
		t.Fatalf("drained %d, %v; want %d", n, err, ackEvery)
	}
	if c := stationCursor(t, db); c != start+ackEvery {
		t.Fatalf("cursor %d after %d events, want %d (no clock moved)", c, ackEvery, start+ackEvery)
	}
}
