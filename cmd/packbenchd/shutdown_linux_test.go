package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/queue"
)

// TestShutdownWithPrinterNotReading runs the daemon's wiring in-process
// with a serial printer (a pty) that takes the first label and then stops
// reading, mid-job, with a send deadline of an hour: the worker is blocked
// in the kernel's write. Shutdown still ends once its grace is over, and
// the job is recorded as it stands (uncertain: part of it went out).
func TestShutdownWithPrinterNotReading(t *testing.T) {
	ctx, cancelTest := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancelTest()
	var logs lockedBuffer
	_, cfg, j, stop, done := stalledPrinterBench(ctx, t, newLogger(&logs, slog.LevelDebug), &benchOptions{PrinterGrace: 100 * time.Millisecond})
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v, want a clean exit", err)
		}
	case <-ctx.Done():
		t.Fatalf("shutdown never ended with a printer that stopped reading\n%s", logs.String())
	}
	got := jobAfterStop(t, cfg, j.ID)
	if got.State != queue.StateUncertain || !strings.Contains(got.LastError, "bytes") {
		t.Fatalf("job after shutdown: %s %q, want uncertain with the bytes sent", got.State, got.LastError)
	}
}

// stalledPrinterBench runs the daemon's wiring in-process with a serial
// printer (a pty) that takes the first label of a 1 MiB job and then stops
// reading, with a send deadline of an hour: when it returns, the worker is
// blocked in the kernel's write. stop is the first Ctrl-C; done gets run's
// result.
func stalledPrinterBench(ctx context.Context, t *testing.T, log *slog.Logger, opts *benchOptions) (b *bench, cfg Config, j queue.Job, stop func(), done <-chan error) {
	t.Helper()
	var emu *devicetest.Emulator
	emu = devicetest.NewEmulator(&devicetest.Options{OnLabel: func(n int, _ []byte) {
		if n == 1 {
			emu.SetNotReading(true)
		}
	}})
	t.Cleanup(func() { emu.Close() })
	path, err := emu.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err = loadConfig("", envMap(nil)); err != nil {
		t.Fatal(err)
	}
	if err := cfg.finish(flagValues{dataDir: t.TempDir(), listen: "127.0.0.1:0"}, envMap(nil), noHome, host); err != nil {
		t.Fatal(err)
	}
	cfg.Printers = []device.PrinterConfig{{Name: "serial", Transport: "serial", Device: path,
		SendTimeout: device.Duration(time.Hour), StatusTimeout: device.Duration(500 * time.Millisecond),
		Serial: device.SerialConfig{Baud: 115200, DataBits: 8, Parity: "none", StopBits: "1", FlowControl: "none"}, DPI: 203}}
	if b, err = newBench(cfg, "test-key-0123456789abcdef0123456789abcdef", log, opts); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- b.run(runCtx) }()

	data := append([]byte("^XA^FO20,20^A0N,30,30^FDbig^FS^XZ"), bytes.Repeat([]byte(" "), 1<<20)...)
	if j, _, err = b.db.Enqueue(ctx, queue.NewJob{Key: "big", Source: queue.SourceHTTP, Printer: "serial",
		ContentType: queue.ContentZPL, Payload: data}); err != nil {
		t.Fatal(err)
	}
	// The label is in, the rest of the job sits in a full line: the
	// worker is inside its write.
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return b, cfg, j, cancel, ch
}

// jobAfterStop reads a job from the stopped bench's data file.
func jobAfterStop(t *testing.T, cfg Config, id queue.JobID) queue.Job {
	t.Helper()
	db, err := queue.Open(filepath.Join(cfg.Bench.DataDir, datadir.DataFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	j, err := db.Job(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
