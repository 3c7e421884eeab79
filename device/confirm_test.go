package device_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/internal/clocktest"
)

// busyPrinter reports ready before a send, then "printing" for busyReads
// status reads after it, then idle.
type busyPrinter struct {
	mu        sync.Mutex
	sent      bool
	busyReads int
}

func (p *busyPrinter) Name() string { return "busy" }
func (p *busyPrinter) Close() error { return nil }
func (p *busyPrinter) Send(ctx context.Context, data []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = true
	return len(data), nil
}
func (p *busyPrinter) Status(ctx context.Context) (device.Status, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := device.Status{State: device.StateReady, Known: true}
	if p.sent && p.busyReads > 0 {
		p.busyReads--
		st.State, st.FormatsInBuffer = device.StatePrinting, 1
	}
	return st, nil
}

// TestConfirmPollsFastThenBacksOff: after the send the worker reads status
// at 5 ms, then doubles the wait up to PollInterval, so a fast printer is
// confirmed in milliseconds and a slow one is not polled in a tight loop.
func TestConfirmPollsFastThenBacksOff(t *testing.T) {
	p := &busyPrinter{busyReads: 8}
	clock := clocktest.NewClock(time.Unix(1_800_000_000, 0))
	clock.SetAuto(true) // every wait passes at once; only their lengths matter
	src := devicetest.NewSource()
	src.Add(device.Job{ID: "j1", Data: []byte("^XA^XZ"), Copies: 1})
	w := device.NewWorker(p, src, &device.WorkerOptions{Clock: clock, PollInterval: 200 * time.Millisecond,
		IdlePoll: -1, ConfirmTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	ev, err := src.WaitJob(ctx, "done", "j1")
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if ev.Result.Outcome != device.Printed {
		t.Fatalf("outcome %v (%s), want printed", ev.Result.Outcome, ev.Result.Reason)
	}
	ms := time.Millisecond
	want := []time.Duration{5 * ms, 10 * ms, 20 * ms, 40 * ms, 80 * ms, 160 * ms, 200 * ms, 200 * ms}
	got := clock.Waited()
	if !slices.Equal(got, want) {
		t.Fatalf("confirm waits %v, want %v", got, want)
	}
}
