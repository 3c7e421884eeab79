package main

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/queue"
)

// TestQueueBrokenStopsDaemon: when a compaction cannot make its new file
// durable (the directory sync fails, injected through the queue's test
// hook), the queue breaks and the daemon stops with an error naming the
// cause and the file, instead of serving on a dead queue; main prints
// that error and exits 1.
func TestQueueBrokenStopsDaemon(t *testing.T) {
	injected := errors.New("injected: input/output error")
	cfg, dir := embeddedConfig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	bn, err := newBench(cfg, "bench-key-0123456789abcdef0123456789abcdef", newLogger(&logs, 0), &benchOptions{
		Listener: ln, Getenv: envMap(nil),
		CompactHook: func(step string) error {
			if step == "renamed" {
				return injected
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- bn.run(ctx) }()

	ctx0 := context.Background()
	if _, _, err := bn.db.Enqueue(ctx0, queue.NewJob{Key: "k1", Source: queue.SourceHTTP, Printer: "nowhere", ContentType: queue.ContentZPL, Payload: []byte("^XA^XZ")}); err != nil {
		t.Fatal(err)
	}
	if err := bn.db.Compact(ctx0); !errors.Is(err, injected) {
		t.Fatalf("Compact = %v, want the injected failure", err)
	}
	guard := time.NewTimer(time.Minute) // a hang detector, not a speed check
	defer guard.Stop()
	select {
	case err = <-done:
	case <-guard.C:
		t.Fatalf("the daemon kept running on a broken queue\n%s", logs.String())
	}
	path := filepath.Join(dir, datadir.DataFile)
	if err == nil {
		t.Fatalf("run returned nil after the queue broke: main would exit 0\n%s", logs.String())
	}
	for _, want := range []string{"queue broken", "stopping", path, injected.Error(), "restart"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("run error %q lacks %q", err, want)
		}
	}
	if !errors.Is(err, injected) {
		t.Errorf("run error %v does not wrap the cause", err)
	}
	if !strings.Contains(logs.String(), `level=ERROR msg="queue broken: stopping the bench"`) {
		t.Errorf("no error logged:\n%s", logs.String())
	}
	// The file is whole and free again: a restart opens it with the job.
	db, err := queue.Open(path, nil)
	if err != nil {
		t.Fatalf("reopen after the daemon stopped: %v", err)
	}
	defer db.Close()
	if j, err := db.JobByKey(ctx0, "k1"); err != nil || j.Key != "k1" {
		t.Fatalf("job after restart = %+v, %v", j, err)
	}
}
