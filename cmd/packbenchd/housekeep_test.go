package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestBenchHousekeepAndAlive runs the daemon's wiring in-process: the
// watchdog's check answers, housekeeping runs clean, and a second daemon on
// the same data dir is refused with a clear error.
func TestBenchHousekeepAndAlive(t *testing.T) {
	cfg, _ := embeddedConfig(t)
	var logs lockedBuffer
	log := newLogger(&logs, slog.LevelDebug)
	b, err := newBench(cfg, "test-key-0123456789abcdef0123456789abcdef", log, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.run(ctx) }()
	if err := b.alive(ctx); err != nil {
		t.Fatalf("alive: %v", err)
	}
	b.housekeepOnce(ctx)
	if _, err := newBench(cfg, "test-key-0123456789abcdef0123456789abcdef", log, nil); err == nil || !strings.Contains(err.Error(), "another packbenchd") {
		t.Fatalf("second bench on the same data dir: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run after cancel: %v, want a clean exit", err)
	}
	out := logs.String()
	if !strings.Contains(out, "msg=housekeeping") || strings.Contains(out, "level=ERROR") {
		t.Fatalf("housekeeping log:\n%s", out)
	}
	if err := b.alive(context.Background()); err == nil {
		t.Fatal("alive after the queue closed")
	}
}
