package device_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/internal/clocktest"
)

// testStatusTimeout is long enough for a loaded CI machine to answer ~HS,
// short enough that paper-out polls stay quick.
const testStatusTimeout = 250 * time.Millisecond

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// label is a short native label carrying its job id, so order and
// duplicates can be read back from what the emulator received.
func label(id string, dots int) []byte {
	return fmt.Appendf(nil, "^XA^PW812^LL%d^FO20,20^A0N,30,30^FD%s^FS^XZ", dots, id)
}

var reFD = regexp.MustCompile(`\^FD([^^]*)\^FS`)

func labelIDs(labels [][]byte) []string {
	var ids []string
	for _, l := range labels {
		m := reFD.FindSubmatch(l)
		if m == nil {
			ids = append(ids, "?")
			continue
		}
		ids = append(ids, string(m[1]))
	}
	return ids
}

func jobIDs(from, to int) []string {
	var ids []string
	for i := from; i <= to; i++ {
		ids = append(ids, fmt.Sprintf("job-%02d", i))
	}
	return ids
}

func addJobs(src *devicetest.Source, from, to, dots int) {
	for _, id := range jobIDs(from, to) {
		src.Add(device.Job{ID: id, Data: label(id, dots), Copies: 1})
	}
}

func fastOpts(onStatus func(device.Status)) *device.WorkerOptions {
	return &device.WorkerOptions{MinBackoff: 2 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		PollInterval: 2 * time.Millisecond, IdlePoll: -1, ConfirmTimeout: 20 * time.Second, OnStatus: onStatus}
}

func tcpPrinter(t *testing.T, addr string) device.Printer {
	t.Helper()
	p, err := device.Open(device.PrinterConfig{Name: "emu", Transport: "tcp", Address: addr,
		StatusTimeout: device.Duration(testStatusTimeout)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// runWorker starts w and stops it at cleanup, failing if Run returned early.
func runWorker(t *testing.T, w *device.Worker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	})
}

// statusLog collects OnStatus calls race-safely and lets a test wait for one.
type statusLog struct {
	mu      sync.Mutex
	states  []device.State
	changed chan struct{}
}

func newStatusLog() *statusLog { return &statusLog{changed: make(chan struct{})} }

func (l *statusLog) on(s device.Status) {
	l.mu.Lock()
	l.states = append(l.states, s.State)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

func (l *statusLog) wait(ctx context.Context, st device.State) error {
	for {
		l.mu.Lock()
		for _, s := range l.states {
			if s == st {
				l.mu.Unlock()
				return nil
			}
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for status %s: %w", st, ctx.Err())
		}
	}
}

func assertAllPrinted(t *testing.T, src *devicetest.Source, ids []string) {
	t.Helper()
	var done []string
	for _, e := range src.Events() {
		if e.Kind == "done" {
			if e.Result.Outcome != device.Printed {
				t.Errorf("job %s: %s (%s), want printed", e.ID, e.Result.Outcome, e.Result.Reason)
			}
			done = append(done, e.ID)
		}
	}
	if strings.Join(done, " ") != strings.Join(ids, " ") {
		t.Errorf("done order %v, want %v", done, ids)
	}
}

func TestWorkerPaperOutHoldsQueue(t *testing.T) {
	ctx := testCtx(t)
	emu := devicetest.NewEmulator(nil)
	defer emu.Close()
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	src := devicetest.NewSource()
	statuses := newStatusLog()
	runWorker(t, device.NewWorker(tcpPrinter(t, addr), src, fastOpts(statuses.on)))

	addJobs(src, 1, 10, 40)
	if err := src.WaitDone(ctx, 10); err != nil {
		t.Fatal(err)
	}
	emu.SetPaperOut(true)
	addJobs(src, 11, 20, 40)
	// The worker must give job 11 back, not send it, and keep holding.
	if _, err := src.WaitJob(ctx, "hold", "job-11"); err != nil {
		t.Fatal(err)
	}
	if err := statuses.wait(ctx, device.StatePaperOut); err != nil {
		t.Fatal(err)
	}
	// It keeps asking the printer (with backoff) and sends nothing.
	n0 := emu.Snapshot().StatusRequests
	if err := emu.Wait(ctx, "3 more status requests", func(s devicetest.State) bool { return s.StatusRequests >= n0+3 }); err != nil {
		t.Fatal(err)
	}
	if n := emu.Snapshot().Received; n != 10 {
		t.Fatalf("emulator received %d labels while paper out, want 10", n)
	}
	if q := src.Queued(); q != 10 {
		t.Fatalf("queued %d, want the 10 held jobs", q)
	}
	if n := devicetest.Count(src.Events(), "hold"); n != 1 {
		t.Fatalf("%d holds, want 1: a held job stays in the queue until the printer is ready", n)
	}
	emu.SetPaperOut(false)
	if err := src.WaitDone(ctx, 20); err != nil {
		t.Fatal(err)
	}
	if got := labelIDs(emu.Labels()); strings.Join(got, " ") != strings.Join(jobIDs(1, 20), " ") {
		t.Fatalf("labels received %v, want each of job-01..job-20 once, in order", got)
	}
	assertAllPrinted(t, src, jobIDs(1, 20))
	for _, e := range src.Events() {
		if e.Kind == "hold" && !strings.Contains(e.Reason, "paper out") {
			t.Errorf("hold reason %q does not say paper out", e.Reason)
		}
		if e.Kind == "done" && e.Result.Attempts != 1 {
			t.Errorf("job %s took %d attempts: holds must not burn retries", e.ID, e.Result.Attempts)
		}
	}
	if err := statuses.wait(ctx, device.StateReady); err != nil {
		t.Fatal(err)
	}
}

// All 20 jobs queued up front; the paper runs out while job 10 is in the
// printer. Job 10 is not reported until the paper is back, jobs 11-20 wait
// in the queue, and then all print once, in order.
func TestWorkerPaperOutWhilePrintingConfirmsAfterFix(t *testing.T) {
	ctx := testCtx(t)
	var emu *devicetest.Emulator
	emu = devicetest.NewEmulator(&devicetest.Options{OnLabel: func(n int, _ []byte) {
		if n == 10 {
			emu.SetPaperOut(true) // runs out while job 10 is in the printer
		}
	}})
	defer emu.Close()
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	src := devicetest.NewSource()
	statuses := newStatusLog()
	runWorker(t, device.NewWorker(tcpPrinter(t, addr), src, fastOpts(statuses.on)))
	addJobs(src, 1, 20, 40)
	if err := statuses.wait(ctx, device.StatePaperOut); err != nil {
		t.Fatal(err)
	}
	if err := src.WaitDone(ctx, 9); err != nil {
		t.Fatal(err)
	}
	n0 := emu.Snapshot().StatusRequests
	if err := emu.Wait(ctx, "3 more status requests", func(s devicetest.State) bool { return s.StatusRequests >= n0+3 }); err != nil {
		t.Fatal(err)
	}
	for _, e := range src.Events() {
		if e.Kind == "done" && e.ID == "job-10" {
			t.Fatalf("job 10 reported %s while its label sat in a printer without paper", e.Result.Outcome)
		}
	}
	if s := emu.Snapshot(); s.Received != 10 || s.Printed != 9 {
		t.Fatalf("emulator %+v, want 10 received, 9 printed", s)
	}
	if q := src.Queued(); q != 10 {
		t.Fatalf("%d jobs queued, want 10 (jobs 11-20)", q)
	}
	emu.SetPaperOut(false)
	if err := src.WaitDone(ctx, 20); err != nil {
		t.Fatal(err)
	}
	assertAllPrinted(t, src, jobIDs(1, 20))
	if got := labelIDs(emu.Labels()); strings.Join(got, " ") != strings.Join(jobIDs(1, 20), " ") {
		t.Fatalf("labels %v", got)
	}
}

func TestWorkerHeadOpenAndPausedHold(t *testing.T) {
	ctx := testCtx(t)
	emu := devicetest.NewEmulator(nil)
	defer emu.Close()
	addr, _ := emu.ListenTCP("127.0.0.1:0")
	src := devicetest.NewSource()
	runWorker(t, device.NewWorker(tcpPrinter(t, addr), src, fastOpts(nil)))
	for i, tc := range []struct {
		set    func(bool)
		reason string
	}{{emu.SetHeadOpen, "head open"}, {emu.SetPaused, "paused"}} {
		tc.set(true)
		id := fmt.Sprintf("job-%02d", i+1)
		src.Add(device.Job{ID: id, Data: label(id, 40)})
		ev, err := src.WaitJob(ctx, "hold", id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(ev.Reason, tc.reason) {
			t.Fatalf("hold reason %q, want %q", ev.Reason, tc.reason)
		}
		if n := emu.Snapshot().Received; n != i {
			t.Fatalf("received %d labels while %s", n, tc.reason)
		}
		tc.set(false)
		if _, err := src.WaitJob(ctx, "done", id); err != nil {
			t.Fatal(err)
		}
	}
	assertAllPrinted(t, src, jobIDs(1, 2))
}

func TestWorkerReconnectsAfterPrinterRestart(t *testing.T) {
	ctx := testCtx(t)
	emu := devicetest.NewEmulator(nil)
	defer emu.Close()
	addr, _ := emu.ListenTCP("127.0.0.1:0")
	src := devicetest.NewSource()
	statuses := newStatusLog()
	runWorker(t, device.NewWorker(tcpPrinter(t, addr), src, fastOpts(statuses.on)))
	addJobs(src, 1, 5, 40)
	if err := src.WaitDone(ctx, 5); err != nil {
		t.Fatal(err)
	}
	emu.PowerOff()
	addJobs(src, 6, 10, 40)
	if _, err := src.WaitJob(ctx, "hold", "job-06"); err != nil {
		t.Fatal(err)
	}
	if err := statuses.wait(ctx, device.StateOffline); err != nil {
		t.Fatal(err)
	}
	if err := emu.PowerOn(); err != nil {
		t.Fatal(err)
	}
	if err := src.WaitDone(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if got := labelIDs(emu.Labels()); strings.Join(got, " ") != strings.Join(jobIDs(1, 10), " ") {
		t.Fatalf("labels %v", got)
	}
	assertAllPrinted(t, src, jobIDs(1, 10))
}

func TestWorkerSlowPrinterKeepsOrder(t *testing.T) {
	ctx := testCtx(t)
	emu := devicetest.NewEmulator(&devicetest.Options{Speed: 6})
	defer emu.Close()
	addr, _ := emu.ListenTCP("127.0.0.1:0")
	src := devicetest.NewSource()
	p := tcpPrinter(t, addr)
	// While a 6 ips printer is still printing, ~HS must say so.
	var sawPrinting sync.Once
	printing := make(chan struct{})
	opts := fastOpts(func(s device.Status) {
		if s.State == device.StatePrinting && s.FormatsInBuffer+s.LabelsRemaining > 0 {
			sawPrinting.Do(func() { close(printing) })
		}
	})
	runWorker(t, device.NewWorker(p, src, opts))
	// 100 dots at 203 dpi and 6 ips is about 82 ms of printing per label.
	addJobs(src, 1, 12, 100)
	if err := src.WaitDone(ctx, 12); err != nil {
		t.Fatal(err)
	}
	select {
	case <-printing:
	default:
		t.Fatal("the worker never saw the printer busy printing at 6 ips")
	}
	if got := labelIDs(emu.Labels()); strings.Join(got, " ") != strings.Join(jobIDs(1, 12), " ") {
		t.Fatalf("labels %v", got)
	}
	if s := emu.Snapshot(); s.Printed != 12 {
		t.Fatalf("printed %d of 12 when all were reported printed", s.Printed)
	}
	assertAllPrinted(t, src, jobIDs(1, 12))
}

func TestWorkerSerialPTY(t *testing.T) {
	ctx := testCtx(t)
	emu := devicetest.NewEmulator(nil)
	defer emu.Close()
	path, err := emu.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	p, err := device.Open(device.PrinterConfig{Name: "serial", Transport: "serial", Device: path,
		StatusTimeout: device.Duration(500 * time.Millisecond),
		Serial:        device.SerialConfig{Baud: 115200, Parity: "none", FlowControl: "xonxoff"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	src := devicetest.NewSource()
	runWorker(t, device.NewWorker(p, src, fastOpts(nil)))
	addJobs(src, 1, 6, 40)
	if err := src.WaitDone(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if got := labelIDs(emu.Labels()); strings.Join(got, " ") != strings.Join(jobIDs(1, 6), " ") {
		t.Fatalf("labels %v", got)
	}
	assertAllPrinted(t, src, jobIDs(1, 6))
	// Paper out over serial: held, then printed.
	emu.SetPaperOut(true)
	addJobs(src, 7, 7, 40)
	if _, err := src.WaitJob(ctx, "hold", "job-07"); err != nil {
		t.Fatal(err)
	}
	emu.SetPaperOut(false)
	if err := src.WaitDone(ctx, 7); err != nil {
		t.Fatal(err)
	}
	assertAllPrinted(t, src, jobIDs(1, 7))
}

func TestWorkerCopiesAndNoStatus(t *testing.T) {
	ctx := testCtx(t)
	emu := devicetest.NewEmulator(nil)
	defer emu.Close()
	addr, _ := emu.ListenTCP("127.0.0.1:0")
	p, err := device.Open(device.PrinterConfig{Name: "dumb", Transport: "tcp", Address: addr, NoStatus: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	src := devicetest.NewSource()
	runWorker(t, device.NewWorker(p, src, fastOpts(nil)))
	src.Add(device.Job{ID: "c", Data: label("c", 40), Copies: 3})
	ev, err := src.WaitJob(ctx, "done", "c")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Result.Outcome != device.Sent || ev.Result.Attempts != 3 || ev.Result.Bytes != 3*len(label("c", 40)) {
		t.Fatalf("result %+v, want sent after 3 copies", ev.Result)
	}
	if err := emu.WaitLabels(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if s := emu.Snapshot(); s.StatusRequests != 0 {
		t.Fatalf("a printer configured without status was asked %d times", s.StatusRequests)
	}
}

func TestWorkerSpool(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	p, err := device.Open(device.PrinterConfig{Name: "default", Transport: "spool", Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	src := devicetest.NewSource()
	runWorker(t, device.NewWorker(p, src, fastOpts(nil)))
	src.Add(device.Job{ID: "a", Data: label("a", 40), Copies: 2}, device.Job{ID: "b", Data: label("b", 40)})
	if err := src.WaitDone(ctx, 2); err != nil {
		t.Fatal(err)
	}
	assertAllPrinted(t, src, []string{"a", "b"})
	got, err := os.ReadFile(filepath.Join(dir, "a.zpl"))
	if err != nil || !bytes.Equal(got, bytes.Repeat(label("a", 40), 2)) {
		t.Fatalf("a.zpl = %q, %v", got, err)
	}
	// A job id that cannot become a file name fails permanently, once.
	src.Add(device.Job{ID: "", Data: label("x", 40)})
	ev, err := src.WaitJob(ctx, "done", "")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Result.Outcome != device.Failed || ev.Result.Attempts != 1 || !strings.Contains(ev.Result.Reason, "job id") {
		t.Fatalf("result %+v, want failed after one attempt", ev.Result)
	}
}

// dropPrinter is a TCP "printer" that answers ~HS ready and then resets the
// connection after reading a little of the job.
func dropPrinter(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if bytes.Contains(buf[:n], []byte("~HS")) {
						c.Write(device.FormatHostStatus(device.Status{Password: "1234"}))
						continue
					}
					c.(*net.TCPConn).SetLinger(0) // RST, like a printer losing power
					return
				}
			}(c)
		}
	}()
	return ln.Addr().String()
}

func TestWorkerConnectionLostMidSendIsUncertain(t *testing.T) {
	ctx := testCtx(t)
	addr := dropPrinter(t)
	src := devicetest.NewSource()
	runWorker(t, device.NewWorker(tcpPrinter(t, addr), src, fastOpts(nil)))
	// Larger than the loopback socket buffers, so the write is cut short.
	big := append([]byte("^XA^FDbig^FS^GFA,"), bytes.Repeat([]byte("F"), 64<<20)...)
	big = append(big, "^XZ"...)
	src.Add(device.Job{ID: "big", Data: big})
	ev, err := src.WaitJob(ctx, "done", "big")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Result.Outcome != device.Uncertain || ev.Result.Bytes <= 0 || ev.Result.Bytes >= len(big) {
		t.Fatalf("result %+v, want uncertain with a partial byte count", ev.Result)
	}
	if devicetest.Count(src.Events(), "claim") != 1 {
		t.Fatal("an uncertain job was sent again")
	}
}

func TestWorkerHoldBacksOffOnInjectedClock(t *testing.T) {
	ctx := testCtx(t)
	emu := devicetest.NewEmulator(nil)
	defer emu.Close()
	addr, _ := emu.ListenTCP("127.0.0.1:0")
	src := devicetest.NewSource()
	clk := clocktest.NewClock(time.Unix(1_700_000_000, 0))
	runWorker(t, device.NewWorker(tcpPrinter(t, addr), src, &device.WorkerOptions{Clock: clk,
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 800 * time.Millisecond, PollInterval: 10 * time.Millisecond, IdlePoll: -1}))
	emu.SetPaperOut(true)
	src.Add(device.Job{ID: "held", Data: label("held", 40)})
	if _, err := src.WaitJob(ctx, "hold", "held"); err != nil {
		t.Fatal(err)
	}
	// Each wait doubles up to the maximum, jittered into [step/2, step)
	// (internal/backoff's equal jitter).
	bases := []time.Duration{100, 200, 400, 800, 800, 800}
	for i, base := range bases {
		if err := clk.WaitWaiters(ctx, 1); err != nil {
			t.Fatal(err)
		}
		d := clk.Pending()[0]
		lo, hi := base*time.Millisecond/2, base*time.Millisecond
		if d < lo || d >= hi {
			t.Fatalf("wait %d = %v, want %v..%v", i, d, lo, hi)
		}
		n := emu.Snapshot().StatusRequests
		clk.Advance(d)
		// Every wait ends in a status poll, never a send.
		if err := emu.Wait(ctx, "a status poll", func(s devicetest.State) bool { return s.StatusRequests > n }); err != nil {
			t.Fatal(err)
		}
	}
	if emu.Snapshot().Received != 0 {
		t.Fatal("sent while paper out")
	}
	emu.SetPaperOut(false)
	dctx, dcancel := context.WithCancel(ctx)
	go func() { src.WaitDone(ctx, 1); dcancel() }()
	for clk.WaitWaiters(dctx, 1) == nil {
		clk.Advance(clk.Pending()[0])
	}
	ev, err := src.WaitJob(ctx, "done", "held")
	if err != nil || ev.Result.Outcome != device.Printed || ev.Result.Attempts != 1 {
		t.Fatalf("after paper back: %+v, %v", ev.Result, err)
	}
}

func TestWorkerRetriesThenFails(t *testing.T) {
	ctx := testCtx(t)
	dir := t.TempDir()
	// A directory where the job's file must go makes every write fail
	// before the job is in place: a transient error as far as the worker
	// can tell, retried with backoff until MaxAttempts.
	if err := os.MkdirAll(filepath.Join(dir, "stuck.zpl", "inside"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := device.Open(device.PrinterConfig{Name: "spool", Transport: "spool", Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	src := devicetest.NewSource()
	opts := fastOpts(nil)
	opts.MaxAttempts = 3
	runWorker(t, device.NewWorker(p, src, opts))
	src.Add(device.Job{ID: "stuck", Data: label("stuck", 40)}, device.Job{ID: "next", Data: label("next", 40)})
	ev, err := src.WaitJob(ctx, "done", "stuck")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Result.Outcome != device.Failed || ev.Result.Attempts != 3 || !strings.Contains(ev.Result.Reason, "gave up after 3 attempts") {
		t.Fatalf("result %+v", ev.Result)
	}
	if ev, err = src.WaitJob(ctx, "done", "next"); err != nil || ev.Result.Outcome != device.Printed {
		t.Fatalf("next job: %+v, %v", ev.Result, err)
	}
}

// refusingSource is the in-memory queue with Done refused for one job, as a
// queue that lost track of it would.
type refusingSource struct {
	*devicetest.Source
	refuse string
	mu     sync.Mutex
	tries  int
}

func (s *refusingSource) Done(ctx context.Context, id string, r device.Result) error {
	if id == s.refuse {
		s.mu.Lock()
		s.tries++
		s.mu.Unlock()
		return errors.New("queue: job is not sending")
	}
	return s.Source.Done(ctx, id, r)
}

func TestWorkerMovesOnWhenOutcomeRefused(t *testing.T) {
	ctx := testCtx(t)
	emu := devicetest.NewEmulator(nil)
	defer emu.Close()
	addr, _ := emu.ListenTCP("127.0.0.1:0")
	src := &refusingSource{Source: devicetest.NewSource(), refuse: "job-01"}
	runWorker(t, device.NewWorker(tcpPrinter(t, addr), src, fastOpts(nil)))
	addJobs(src.Source, 1, 2, 40)
	if _, err := src.WaitJob(ctx, "done", "job-02"); err != nil {
		t.Fatal(err)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.tries != 5 {
		t.Fatalf("Done tried %d times, want 5", src.tries)
	}
	if got := labelIDs(emu.Labels()); strings.Join(got, " ") != "job-01 job-02" {
		t.Fatalf("labels %v: a refused outcome must not resend", got)
	}
}

// With no job to print, the worker still watches the printer so the page can
// show "paper out" before the next parcel.
func TestWorkerReportsStatusWhileIdle(t *testing.T) {
	ctx := testCtx(t)
	emu := devicetest.NewEmulator(nil)
	defer emu.Close()
	addr, _ := emu.ListenTCP("127.0.0.1:0")
	statuses := newStatusLog()
	opts := fastOpts(statuses.on)
	opts.IdlePoll = 5 * time.Millisecond
	w := device.NewWorker(tcpPrinter(t, addr), devicetest.NewSource(), opts)
	runWorker(t, w)
	if err := statuses.wait(ctx, device.StateReady); err != nil {
		t.Fatal(err)
	}
	emu.SetPaperOut(true)
	if err := statuses.wait(ctx, device.StatePaperOut); err != nil {
		t.Fatal(err)
	}
	if st, ok := w.Status(); !ok || st.State != device.StatePaperOut || st.Time.IsZero() {
		t.Fatalf("Worker.Status = %+v, %v", st, ok)
	}
}
