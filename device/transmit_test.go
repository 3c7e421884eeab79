package device_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
)

// orderCheck is a printer that, at every Send, checks against the source's
// events that the job whose label it carries was recorded as transmitting
// since its latest claim: the write-ahead rule, checked at the write
// itself rather than at the emulator, which sees the bytes later.
type orderCheck struct {
	device.Printer
	src *devicetest.Source

	mu       sync.Mutex
	problems []string
}

func (p *orderCheck) Send(ctx context.Context, data []byte) (int, error) {
	id := labelIDs([][]byte{data})[0]
	marked := false
	for _, e := range p.src.Events() {
		switch {
		case e.ID != id:
		case e.Kind == "claim":
			marked = false
		case e.Kind == "transmit":
			marked = true
		}
	}
	if !marked {
		p.mu.Lock()
		p.problems = append(p.problems, "job "+id+" written before it was recorded as transmitting")
		p.mu.Unlock()
	}
	return p.Printer.Send(ctx, data)
}

// checkedWorker runs a worker for src (whose events dsrc records) on an
// emulator, through an orderCheck.
func checkedWorker(t *testing.T, src device.JobSource, dsrc *devicetest.Source) (*devicetest.Emulator, *orderCheck) {
	t.Helper()
	emu := devicetest.NewEmulator(nil)
	t.Cleanup(func() { emu.Close() })
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &orderCheck{Printer: tcpPrinter(t, addr), src: dsrc}
	runWorker(t, device.NewWorker(p, src, fastOpts(nil)))
	return emu, p
}

func (p *orderCheck) check(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.problems) > 0 {
		t.Fatal(strings.Join(p.problems, "; "))
	}
}

// A job claimed while the printer is out of paper is given back without
// being recorded as transmitting (a crash then leaves it queued, not
// uncertain); once the printer is ready, each claim is recorded exactly
// once, before its first byte, however many copies follow.
func TestWorkerRecordsTransmittingBeforeTheFirstByte(t *testing.T) {
	ctx := testCtx(t)
	src := devicetest.NewSource()
	emu, p := checkedWorker(t, src, src)
	emu.SetPaperOut(true)
	addJobs(src, 1, 2, 40)
	src.Add(device.Job{ID: "job-03", Data: label("job-03", 40), Copies: 3})
	if _, err := src.WaitJob(ctx, "hold", "job-01"); err != nil {
		t.Fatal(err)
	}
	// Still out of paper: the worker polls and records nothing.
	n0 := emu.Snapshot().StatusRequests
	if err := emu.Wait(ctx, "2 more status requests", func(s devicetest.State) bool { return s.StatusRequests >= n0+2 }); err != nil {
		t.Fatal(err)
	}
	if n := devicetest.Count(src.Events(), "transmit"); n != 0 {
		t.Fatalf("%d jobs recorded as transmitting while the printer is out of paper, want 0: %+v", n, src.Events())
	}
	emu.SetPaperOut(false)
	if err := src.WaitDone(ctx, 3); err != nil {
		t.Fatal(err)
	}
	p.check(t)
	assertAllPrinted(t, src, jobIDs(1, 3))
	var transmits []string
	for _, e := range src.Events() {
		if e.Kind == "transmit" {
			transmits = append(transmits, e.ID)
		}
	}
	if got := strings.Join(transmits, " "); got != "job-01 job-02 job-03" {
		t.Fatalf("recorded transmitting: %s; want each job once, in order", got)
	}
	if got := labelIDs(emu.Labels()); strings.Join(got, " ") != "job-01 job-02 job-03 job-03 job-03" {
		t.Fatalf("labels %v", got)
	}
}

// flakyTransmit refuses to record Transmitting the first fail times (or
// always, for fail < 0), as a queue that cannot write would.
type flakyTransmit struct {
	*devicetest.Source
	fail  int32
	tries atomic.Int32
}

func (s *flakyTransmit) Transmitting(ctx context.Context, id string) error {
	if n := s.tries.Add(1); s.fail < 0 || n <= s.fail {
		return errors.New("queue: disk full")
	}
	return s.Source.Transmitting(ctx, id)
}

// Without the record on disk nothing is written: the attempt is retried
// like a send that failed before any byte, and the job fails, with no
// label out, when it never can be recorded.
func TestWorkerSendsNothingUntilTransmittingIsRecorded(t *testing.T) {
	for _, c := range []struct {
		fail     int32
		outcome  device.Outcome
		attempts int
		labels   int
	}{
		{fail: 2, outcome: device.Printed, attempts: 3, labels: 1},
		{fail: -1, outcome: device.Failed, attempts: 5, labels: 0},
	} {
		t.Run(fmt.Sprint(c.fail), func(t *testing.T) {
			ctx := testCtx(t)
			src := &flakyTransmit{Source: devicetest.NewSource(), fail: c.fail}
			emu, p := checkedWorker(t, src, src.Source)
			src.Add(device.Job{ID: "a", Data: label("a", 40), Copies: 1})
			ev, err := src.WaitJob(ctx, "done", "a")
			if err != nil {
				t.Fatal(err)
			}
			if ev.Result.Outcome != c.outcome || ev.Result.Attempts != c.attempts {
				t.Fatalf("job a: %+v, want %s after %d attempts", ev.Result, c.outcome, c.attempts)
			}
			if c.outcome == device.Failed && (!strings.Contains(ev.Result.Reason, "disk full") || ev.Result.Bytes != 0) {
				t.Fatalf("job a: %+v, want the recording error and no byte sent", ev.Result)
			}
			p.check(t)
			if n := len(emu.Labels()); n != c.labels {
				t.Fatalf("%d labels, want %d", n, c.labels)
			}
		})
	}
}
