package station

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"path/filepath"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/queue"
)

func openJobQueue(t *testing.T) *queue.DB {
	t.Helper()
	db, err := queue.Open(filepath.Join(t.TempDir(), "packbench.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func enqueueJob(t *testing.T, db *queue.DB, key, printer, ct string, payload []byte) queue.Job {
	t.Helper()
	j, _, err := db.Enqueue(context.Background(), queue.NewJob{Key: key, Source: queue.SourceHTTP, Printer: printer, ContentType: ct, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// waitState polls the queue (the worker runs in goroutines of this test;
// the queue has no per-job notification) until the job reaches want.
func waitJobState(t *testing.T, db *queue.DB, id queue.JobID, want queue.State) queue.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ch := db.WaitEvents()
		j, err := db.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == want {
			return j
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("job %s: state %s, want %s (history %+v)", id, j.State, want, j.History)
		}
	}
}

// TestJobSourceToEmulator runs the adapter with a real worker, a real TCP
// printer and the real queue: jobs print in order and end "printed"; a
// job that is not ZPL fails without reaching the printer; a paper-out
// printer holds the queue and the job prints once paper is back.
func TestJobSourceToEmulator(t *testing.T) {
	db := openJobQueue(t)
	emu := devicetest.NewEmulator(nil)
	t.Cleanup(func() { emu.Close() })
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p, err := device.Open(device.PrinterConfig{Name: "z", Transport: "tcp", Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	stop := make(chan struct{})
	src := NewJobSource(db, "z", &JobSourceOptions{Stop: stop})
	w := device.NewWorker(p, src, &device.WorkerOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	a := enqueueJob(t, db, "a", "z", queue.ContentZPL, []byte("^XA^FDone^FS^XZ"))
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	bad := enqueueJob(t, db, "bad", "z", queue.ContentPNG, pngBuf.Bytes())
	b := enqueueJob(t, db, "b", "z", queue.ContentZPL, []byte("^XA^FDtwo^FS^XZ"))
	waitJobState(t, db, a.ID, queue.StatePrinted)
	if j := waitJobState(t, db, bad.ID, queue.StateFailed); j.LastError == "" {
		t.Error("non-ZPL job failed without a reason")
	}
	waitJobState(t, db, b.ID, queue.StatePrinted)
	labels := emu.Labels()
	if len(labels) != 2 || !bytes.Contains(labels[0], []byte("one")) || !bytes.Contains(labels[1], []byte("two")) {
		t.Fatalf("emulator got %q, want one then two", labels)
	}

	emu.SetPaperOut(true)
	c := enqueueJob(t, db, "c", "z", queue.ContentZPL, []byte("^XA^FDthree^FS^XZ"))
	// The worker reads ~HS (no answer in paper out), holds: the job goes
	// back to queued with the reason, never to failed.
	ctxw, cw := context.WithTimeout(context.Background(), 10*time.Second)
	defer cw()
	for {
		ch := db.WaitEvents()
		j, _ := db.Job(ctxw, c.ID)
		if j.State == queue.StateQueued && j.LastError != "" {
			break
		}
		if j.State == queue.StateFailed || j.State == queue.StatePrinted {
			t.Fatalf("paper out: job went %s", j.State)
		}
		select {
		case <-ch:
		case <-ctxw.Done():
			t.Fatalf("paper out: job never held: %+v", j)
		}
	}
	emu.SetPaperOut(false)
	waitJobState(t, db, c.ID, queue.StatePrinted)
	if n := len(emu.Labels()); n != 3 {
		t.Fatalf("%d labels after paper out, want 3", n)
	}
	// Done records the state, then marks the source idle.
	select {
	case <-src.Idle():
	case <-time.After(10 * time.Second):
		t.Fatal("source busy after every job ended")
	}
}

// TestJobSourceDrain: once intake stops, Next hands out nothing more, and
// idle tracks a claimed job until its outcome is recorded, even when the
// worker's context has already ended.
func TestJobSourceDrain(t *testing.T) {
	db := openJobQueue(t)
	stop := make(chan struct{})
	src := NewJobSource(db, "p", &JobSourceOptions{Stop: stop})
	j := enqueueJob(t, db, "k", "p", queue.ContentZPL, []byte("^XA^XZ"))
	ctx, cancel := context.WithCancel(context.Background())
	got, err := src.Next(ctx)
	if err != nil || got.ID != j.ID.String() {
		t.Fatalf("next: %+v %v", got, err)
	}
	select {
	case <-src.Idle():
		t.Fatal("idle while a job is claimed")
	default:
	}
	close(stop)
	enqueueJob(t, db, "k2", "p", queue.ContentZPL, []byte("^XA^XZ"))
	cancel() // the worker was stopped; the outcome still lands
	if err := src.Done(ctx, got.ID, device.Result{Outcome: device.Sent, Reason: "not confirmed: worker stopped"}); err != nil {
		t.Fatal(err)
	}
	if jj, _ := db.Job(context.Background(), j.ID); jj.State != queue.StateSent {
		t.Fatalf("state %s, want sent", jj.State)
	}
	<-src.Idle()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := src.Next(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("next after stop: %v, want to wait for the context", err)
	}
	if n, _ := db.Counts(context.Background()); n[queue.StateQueued] != 1 {
		t.Fatalf("counts %v: the second job must stay queued", n)
	}

	// Each outcome maps to its queue state; Hold requeues.
	for i, tc := range []struct {
		o    device.Outcome
		want queue.State
	}{{device.Printed, queue.StatePrinted}, {device.Failed, queue.StateFailed}, {device.Uncertain, queue.StateUncertain}} {
		src := NewJobSource(db, "q", nil)
		jj := enqueueJob(t, db, "o"+string(rune('a'+i)), "q", queue.ContentZPL, []byte("^XA^XZ"))
		got, err := src.Next(context.Background())
		if err != nil || got.ID != jj.ID.String() {
			t.Fatalf("next: %v", err)
		}
		if err := src.Done(context.Background(), got.ID, device.Result{Outcome: tc.o}); err != nil {
			t.Fatal(err)
		}
		if s, _ := db.Job(context.Background(), jj.ID); s.State != tc.want {
			t.Errorf("%s → %s, want %s", tc.o, s.State, tc.want)
		}
	}
	src2 := NewJobSource(db, "h", nil)
	jh := enqueueJob(t, db, "held", "h", queue.ContentZPL, []byte("^XA^XZ"))
	if _, err := src2.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := src2.Hold(context.Background(), jh.ID.String(), "paper out"); err != nil {
		t.Fatal(err)
	}
	if s, _ := db.Job(context.Background(), jh.ID); s.State != queue.StateQueued || s.Attempts != 0 {
		t.Errorf("hold: %s attempts %d, want queued with the attempt given back", s.State, s.Attempts)
	}
}
