package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

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
	logs := &watchedLog{want: "stopping: waiting for the printer to finish its job", written: make(chan struct{})}
	hurry := make(chan struct{})
	// A grace far longer than the test: only Hurry can end the stop in time.
	_, cfg, j, stop, done := stalledPrinterBench(ctx, t, newLogger(logs, slog.LevelInfo), &benchOptions{PrinterGrace: time.Hour, Hurry: hurry})
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
	got := jobAfterStop(t, cfg, j.ID)
	if got.State != queue.StateUncertain {
		t.Fatalf("job after a hurried stop: %s %q, want uncertain", got.State, got.LastError)
	}
}
