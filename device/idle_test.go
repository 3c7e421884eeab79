package device_test

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/internal/clocktest"
)

// blockingPrinter's Status is entered by the idle monitor and, once its
// context ended, stays inside until release is closed: a slow printer call
// the monitor is still in when the worker is stopped.
type blockingPrinter struct {
	entered chan struct{}
	release chan struct{}
	inside  atomic.Int32
}

func (p *blockingPrinter) Name() string { return "blocking" }
func (p *blockingPrinter) Send(ctx context.Context, data []byte) (int, error) {
	return 0, device.Permanent(context.Canceled)
}
func (p *blockingPrinter) Close() error { return nil }
func (p *blockingPrinter) Status(ctx context.Context) (device.Status, error) {
	p.inside.Add(1)
	defer p.inside.Add(-1)
	select {
	case p.entered <- struct{}{}:
	default:
	}
	<-ctx.Done()
	<-p.release
	return device.Status{State: device.StateOffline}, ctx.Err()
}

// runJoining reports whether a goroutine is parked in a function literal
// of Worker.Run on a channel receive: Run waiting for its idle monitor.
func runJoining() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		lines := strings.SplitN(g, "\n", 3)
		if len(lines) >= 2 && strings.Contains(lines[0], "[chan receive") &&
			strings.Contains(lines[1], "device.(*Worker).Run.func") {
			return true
		}
	}
	return false
}

// The idle monitor is joined: Run returns only after the monitor left the
// printer, so no goroutine of the worker outlives Run.
func TestWorkerRunJoinsIdleMonitor(t *testing.T) {
	ctx := testCtx(t)
	clk := clocktest.NewClock(time.Unix(1_700_000_000, 0))
	p := &blockingPrinter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	w := device.NewWorker(p, devicetest.NewSource(), &device.WorkerOptions{Clock: clk, IdlePoll: time.Second})
	wctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(wctx) }()
	if err := clk.WaitWaiters(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	select {
	case <-p.entered:
	case <-ctx.Done():
		t.Fatal("the idle monitor never read the status")
	}
	stop()
	// Either Run is seen waiting for the monitor (then the monitor may go),
	// or Run returned while the monitor was still inside the printer.
	for !runJoining() {
		select {
		case <-ran:
			t.Fatalf("Run returned while its idle monitor was still in Printer.Status (%d inside)", p.inside.Load())
		case <-ctx.Done():
			t.Fatal("Run neither returned nor waited for its idle monitor")
		default:
			runtime.Gosched()
		}
	}
	close(p.release)
	<-ran
	if n := p.inside.Load(); n != 0 {
		t.Fatalf("%d status calls still running after Run returned", n)
	}
}
