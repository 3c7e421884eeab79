package device_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
)

// batchSource is the in-memory source as a device.BatchSource: jobs queued
// behind the one in hand are at hand.
type batchSource struct{ *devicetest.Source }

func (b batchSource) TryNext() (device.Job, bool) { return b.TryClaim() }

var _ device.BatchSource = batchSource{}

// A batch is written back to back and confirmed once: no outcome is
// reported before the last label reached the printer, every job's
// write-ahead mark comes before its own bytes, and all end printed once.
func TestWorkerBatchBackToBack(t *testing.T) {
	ctx := testCtx(t)
	src := batchSource{devicetest.NewSource()}
	var mu sync.Mutex
	var bad []string
	emu := devicetest.NewEmulator(&devicetest.Options{OnLabel: func(n int, l []byte) {
		ev := src.Events()
		mu.Lock()
		defer mu.Unlock()
		if tr := devicetest.Count(ev, "transmit"); tr < n {
			bad = append(bad, "label arrived before its mark")
		}
		if d := devicetest.Count(ev, "done"); d > 0 {
			bad = append(bad, "outcome reported before the batch's last label")
		}
	}})
	defer emu.Close()
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addJobs(src.Source, 1, 5, 40) // queued before the worker starts: one batch
	runWorker(t, device.NewWorker(tcpPrinter(t, addr), src, fastOpts(nil)))
	if err := src.WaitDone(ctx, 5); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("%v", bad)
	}
	if got := labelIDs(emu.Labels()); strings.Join(got, " ") != strings.Join(jobIDs(1, 5), " ") {
		t.Fatalf("labels %v, want job-01..job-05 once each, in order", got)
	}
	assertAllPrinted(t, src.Source, jobIDs(1, 5))
}

// Paper runs out as the second label of a batch arrives (it stays in the
// printer's buffer): the worker sees it before the third job, confirms the
// two written (they print once paper is back) and reports them before it
// holds the third; nothing is written twice, and the rest print after.
func TestWorkerBatchPaperOutMidBatch(t *testing.T) {
	ctx := testCtx(t)
	src := batchSource{devicetest.NewSource()}
	var emu *devicetest.Emulator
	emu = devicetest.NewEmulator(&devicetest.Options{OnLabel: func(n int, _ []byte) {
		if n == 2 {
			emu.SetPaperOut(true)
		}
	}})
	defer emu.Close()
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addJobs(src.Source, 1, 4, 40)
	runWorker(t, device.NewWorker(tcpPrinter(t, addr), src, fastOpts(nil)))
	if err := src.Wait(ctx, "job-03 claimed", func(ev []devicetest.Event) bool {
		return devicetest.Count(ev, "claim") >= 3
	}); err != nil {
		t.Fatal(err)
	}
	// The worker polls while paper is out (confirming jobs 1 and 2).
	n0 := emu.Snapshot().StatusRequests
	if err := emu.Wait(ctx, "3 more status requests", func(s devicetest.State) bool { return s.StatusRequests >= n0+3 }); err != nil {
		t.Fatal(err)
	}
	if n := devicetest.Count(src.Events(), "done"); n != 0 {
		t.Fatalf("%d outcomes while the written labels are still in the printer, want 0", n)
	}
	emu.SetPaperOut(false)
	if err := src.WaitDone(ctx, 4); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range src.Events() {
		if e.Kind == "done" || e.Kind == "hold" {
			order = append(order, e.Kind+" "+e.ID)
		}
	}
	if got := strings.Join(order, ", "); got != "done job-01, done job-02, hold job-03, done job-03, done job-04" {
		t.Fatalf("outcomes %q, want job-01 and job-02 reported before job-03 is held", got)
	}
	assertAllPrinted(t, src.Source, jobIDs(1, 4))
	if got := labelIDs(emu.Labels()); strings.Join(got, " ") != strings.Join(jobIDs(1, 4), " ") {
		t.Fatalf("labels %v, want job-01..job-04 once each, in order", got)
	}
}
