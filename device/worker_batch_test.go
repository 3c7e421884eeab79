package device_test

import (
	"bytes"
	"net"
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

// moreSource says another job is at hand although TryNext then finds
// none (as when intake stops between the two).
type moreSource struct{ *devicetest.Source }

func (m moreSource) TryNext() (device.Job, bool) { return device.Job{}, false }
func (m moreSource) More() bool                  { return true }

// A status asked early, before a job's bytes, for the next job's check is
// never taken as that job's confirmation: the printer here answers each
// ~HS with the formats in its buffer, a label counting as one until one
// reply was given after it. The job may end printed only after a reply
// given once its label was in.
func TestWorkerNeverConfirmsWithAStatusAskedBeforeTheJob(t *testing.T) {
	ctx := testCtx(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	repliesAfterLabel := 0
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var in []byte
		labels, pending := 0, false
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			in = append(in, buf[:n]...)
			for {
				hs, xz := bytes.Index(in, []byte("~HS")), bytes.Index(in, []byte("^XZ"))
				switch {
				case hs >= 0 && (xz < 0 || hs < xz):
					in = in[hs+3:]
					formats := 0
					if pending {
						formats, pending = 1, false
					}
					mu.Lock()
					if labels > 0 {
						repliesAfterLabel++
					}
					mu.Unlock()
					c.Write(device.FormatHostStatus(device.Status{FormatsInBuffer: formats}))
					continue
				case xz >= 0:
					in = in[xz+3:]
					labels, pending = labels+1, true
					continue
				}
				break
			}
		}
	}()
	src := moreSource{devicetest.NewSource()}
	addJobs(src.Source, 1, 1, 40)
	runWorker(t, device.NewWorker(tcpPrinter(t, ln.Addr().String()), src, fastOpts(nil)))
	ev, err := src.WaitJob(ctx, "done", "job-01")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if ev.Result.Outcome != device.Printed || repliesAfterLabel < 2 {
		t.Fatalf("job ended %s after %d replies given once its label was in; want printed after 2 (buffer 1, then empty)", ev.Result.Outcome, repliesAfterLabel)
	}
}
