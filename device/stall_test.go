//go:build linux

package device_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
)

// A printer that stops reading (paused with a full buffer, flow control
// holding the line) fills the kernel's buffer between bench and printer, so
// writes block. These tests assert outcomes, not elapsed time: each call
// must return (returns fails the test if it has not by the test's context,
// long after every deadline involved) with the error the deadline gives.

// returns runs f and fails the test if it does not come back while ctx
// lasts (a hang detector, far above the deadlines under test).
func returns(t *testing.T, ctx context.Context, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("%s never returned: a printer that stops reading hangs it", what)
	}
}

// filler is more than a pty's or a loopback socket's buffers hold.
func filler(n int) []byte { return bytes.Repeat([]byte(" "), n) }

// ptyPrinter serves the emulator on a pty and opens a serial printer on
// it. fill writes into the line until the kernel takes no more, as data the
// printer stopped reading would; it opens its descriptor now, before the
// printer's port takes exclusive access.
func ptyPrinter(t *testing.T, emu *devicetest.Emulator, send time.Duration) (p device.Printer, path string, fill func()) {
	t.Helper()
	path, err := emu.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	fill = func() {
		chunk := filler(4096)
		for len(chunk) > 0 {
			n, err := unix.Write(fd, chunk)
			switch {
			case errors.Is(err, unix.EAGAIN):
				chunk = chunk[:len(chunk)/2] // full for this size: try smaller
			case err != nil:
				t.Fatalf("fill the line: %v", err)
			case n < len(chunk):
				chunk = chunk[:len(chunk)-n]
			}
		}
	}
	p, err = device.Open(device.PrinterConfig{Name: "serial", Transport: "serial", Device: path,
		StatusTimeout: device.Duration(testStatusTimeout), SendTimeout: device.Duration(send),
		Serial: device.SerialConfig{Baud: 115200, Parity: "none", FlowControl: "none"}})
	if err != nil {
		t.Fatal(err)
	}
	return p, path, fill
}

// Over a serial line (a pty): the job's write and then the ~HS request
// written into the full buffer both end at their deadline as timeouts, and
// Close returns while another send is blocked in the kernel.
func TestPrinterStopsReadingSerial(t *testing.T) {
	ctx := testCtx(t)
	emu := devicetest.NewEmulator(nil)
	defer emu.Close()
	p, path, fill := ptyPrinter(t, emu, 400*time.Millisecond)
	defer p.Close()
	if st, err := p.Status(ctx); err != nil || st.State != device.StateReady {
		t.Fatalf("status before: %+v %v", st, err)
	}
	emu.SetNotReading(true)

	data := append(label("big", 40), filler(4<<20)...)
	var n int
	var err error
	returns(t, ctx, "Send", func() { n, err = p.Send(ctx, data) })
	if !errors.Is(err, context.DeadlineExceeded) || n >= len(data) {
		t.Fatalf("send to a printer that stopped reading: %d of %d bytes, %v; want a timeout", n, len(data), err)
	}
	// Reconnected: ~HS goes out, no answer comes.
	var st device.Status
	returns(t, ctx, "Status", func() { st, err = p.Status(ctx) })
	if !errors.Is(err, device.ErrNoReply) || st.State != device.StateNoReply {
		t.Fatalf("status of a printer that stopped reading: %+v, %v; want no reply", st, err)
	}
	// Once the line is full the request itself cannot go out.
	fill()
	returns(t, ctx, "Status", func() { st, err = p.Status(ctx) })
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, device.ErrNoReply) || st.State != device.StateNoReply ||
		!strings.Contains(st.Reason, "not reading") {
		t.Fatalf("status of a printer that stopped reading: %+v, %v; want no reply, a timeout", st, err)
	}

	// A send with a long deadline blocked in the kernel: Close cuts it.
	p2, err := device.Open(device.PrinterConfig{Name: "serial2", Transport: "serial", Device: path,
		StatusTimeout: device.Duration(testStatusTimeout), SendTimeout: device.Duration(time.Hour),
		Serial: device.SerialConfig{Baud: 115200, Parity: "none", FlowControl: "none"}})
	if err != nil {
		t.Fatal(err)
	}
	closeWhileSending(t, ctx, p2, data)
}

// closeWhileSending starts a send on p, waits until it holds the printer
// (a status call finds it busy), then closes p: Close returns and so does
// the send.
func closeWhileSending(t *testing.T, ctx context.Context, p device.Printer, data []byte) {
	t.Helper()
	sent := make(chan error, 1)
	go func() { _, err := p.Send(ctx, data); sent <- err }()
	returns(t, ctx, "waiting for the send to hold the printer", func() {
		for ctx.Err() == nil {
			sctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			_, err := p.Status(sctx)
			cancel()
			if err != nil && strings.Contains(err.Error(), "busy") {
				return
			}
		}
	})
	returns(t, ctx, "Close", func() { p.Close() })
	returns(t, ctx, "Send after Close", func() {
		if err := <-sent; err == nil {
			t.Error("send to a printer that stopped reading succeeded after Close")
		}
	})
	if _, err := p.Send(ctx, []byte("^XA^XZ")); !errors.Is(err, device.ErrClosed) {
		t.Fatalf("send after close: %v, want ErrClosed", err)
	}
}

// Over TCP: the write ends at SendTimeout as a timeout, and Close returns
// while a send with a long deadline is blocked on the full socket.
func TestPrinterStopsReadingTCP(t *testing.T) {
	ctx := testCtx(t)
	emu := devicetest.NewEmulator(nil)
	defer emu.Close()
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := func(send time.Duration) device.Printer {
		p, err := device.Open(device.PrinterConfig{Name: "emu", Transport: "tcp", Address: addr,
			StatusTimeout: device.Duration(testStatusTimeout), SendTimeout: device.Duration(send)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	emu.SetNotReading(true)
	// Loopback buffers grow to a few MB; 64 MB never fits.
	data := append(label("big", 40), filler(64<<20)...)
	p := open(400 * time.Millisecond)
	var n int
	returns(t, ctx, "Send", func() { n, err = p.Send(ctx, data) })
	if !errors.Is(err, context.DeadlineExceeded) || n >= len(data) {
		t.Fatalf("send to a printer that stopped reading: %d of %d bytes, %v; want a timeout", n, len(data), err)
	}
	closeWhileSending(t, ctx, open(time.Hour), data)
}

// The worker against a printer that takes the first label and then stops
// reading: the print ends (uncertain: part of it went out), the next job's
// status query ends as "not reading" and holds the queue, and the worker
// and the printer stop when asked.
func TestWorkerPrinterStopsReading(t *testing.T) {
	ctx := testCtx(t)
	var emu *devicetest.Emulator
	emu = devicetest.NewEmulator(&devicetest.Options{OnLabel: func(n int, _ []byte) {
		if n == 1 {
			emu.SetNotReading(true)
		}
	}})
	defer emu.Close()
	p, _, fill := ptyPrinter(t, emu, 400*time.Millisecond)
	src := devicetest.NewSource()
	reasons := make(chan string, 1000)
	w := device.NewWorker(p, src, fastOpts(func(st device.Status) {
		select {
		case reasons <- st.Reason:
		default:
		}
	}))
	wctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(wctx) }()

	src.Add(device.Job{ID: "job-01", Data: append(label("job-01", 40), filler(4<<20)...), Copies: 1},
		device.Job{ID: "job-02", Data: label("job-02", 40), Copies: 1})
	ev, err := src.WaitJob(ctx, "done", "job-01")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Result.Outcome != device.Uncertain || !strings.Contains(ev.Result.Reason, "deadline exceeded") {
		t.Fatalf("job-01: %+v, want uncertain after the send deadline", ev.Result)
	}
	// job-02's status query gets no answer: held.
	if _, err := src.WaitJob(ctx, "hold", "job-02"); err != nil {
		t.Fatal(err)
	}
	// The line fills up: the worker's status polls end at their deadline
	// with the printer "not reading", and the worker keeps polling.
	fill()
	for found := false; !found; {
		select {
		case r := <-reasons:
			found = strings.Contains(r, "not reading")
		case <-ctx.Done():
			t.Fatal("the worker never saw the printer not reading")
		}
	}
	stop()
	returns(t, ctx, "Worker.Run", func() {
		if err := <-ran; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	returns(t, ctx, "Close", func() { p.Close() })
	if got := labelIDs(emu.Labels()); strings.Join(got, " ") != "job-01" {
		t.Fatalf("labels %v, want job-01 only", got)
	}
}
