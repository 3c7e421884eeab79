package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/queue"
)

// watchedLog is a log buffer that tells a waiter when a line containing a
// text has been written.
type watchedLog struct {
	mu      sync.Mutex
	b       bytes.Buffer
	want    string
	written chan struct{}
}

func (w *watchedLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	if w.want != "" && strings.Contains(w.b.String(), w.want) {
		w.want = ""
		close(w.written)
	}
	return n, err
}

func (w *watchedLog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestShutdownSaysWhatItWaitsForAndHurries: the first stop while a label is
// printing logs which printer and job it waits for and for how long; a
// second Ctrl-C (Hurry) stops at once, long before the grace, and the job
// is recorded uncertain (issue 19).
func TestShutdownSaysWhatItWaitsForAndHurries(t *testing.T) {
	ctx, cancelTest := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancelTest()
	var emu *devicetest.Emulator
	emu = devicetest.NewEmulator(&devicetest.Options{OnLabel: func(n int, _ []byte) {
		if n == 1 {
			emu.SetNotReading(true)
		}
	}})
	defer emu.Close()
	path, err := emu.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig("", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.finish(flagValues{dataDir: t.TempDir(), listen: "127.0.0.1:0"}, envMap(nil), noHome, host); err != nil {
		t.Fatal(err)
	}
	cfg.Printers = []device.PrinterConfig{{Name: "serial", Transport: "serial", Device: path,
		SendTimeout: device.Duration(time.Hour), StatusTimeout: device.Duration(500 * time.Millisecond),
		Serial: device.SerialConfig{Baud: 115200, DataBits: 8, Parity: "none", StopBits: "1", FlowControl: "none"}, DPI: 203}}
	logs := &watchedLog{want: "stopping: waiting for the printer to finish its job", written: make(chan struct{})}
	hurry := make(chan struct{})
	// A grace far longer than the test: only Hurry can end the stop in time.
	b, err := newBench(cfg, "test-key-0123456789abcdef0123456789abcdef", newLogger(logs, slog.LevelInfo),
		&benchOptions{PrinterGrace: time.Hour, Hurry: hurry})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.run(runCtx) }()

	data := append([]byte("^XA^FO20,20^A0N,30,30^FDbig^FS^XZ"), bytes.Repeat([]byte(" "), 1<<20)...)
	j, _, err := b.db.Enqueue(ctx, queue.NewJob{Key: "big", Source: queue.SourceHTTP, Printer: "serial",
		ContentType: queue.ContentZPL, Payload: data})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	stop() // the first Ctrl-C
	select {
	case <-logs.written:
	case <-ctx.Done():
		t.Fatalf("the stop never said what it waits for\n%s", logs.String())
	}
	line := ""
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "waiting for the printer") {
			line = l
		}
	}
	for _, want := range []string{"printer=serial", "jobs=[" + j.ID.String() + "]", "up_to=1h0m0s", "Ctrl-C again"} {
		if !strings.Contains(line, want) {
			t.Errorf("stop log %q lacks %q", line, want)
		}
	}
	close(hurry) // the second Ctrl-C
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v, want a clean exit", err)
		}
	case <-ctx.Done():
		t.Fatalf("a second Ctrl-C did not stop the bench\n%s", logs.String())
	}
	db, err := queue.Open(filepath.Join(cfg.Bench.DataDir, datadir.DataFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Job(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != queue.StateUncertain {
		t.Fatalf("job after a hurried stop: %s %q, want uncertain", got.State, got.LastError)
	}
}
