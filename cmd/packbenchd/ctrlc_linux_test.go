package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/queue"
)

// TestSecondCtrlCStopsAtOnce: the real daemon, Ctrl-C while the printer
// holds a label: the log says which printer and job the stop waits for and
// how to stop at once; a second Ctrl-C stops at once (not after the grace).
// The printer has the whole label but never confirmed it: the job is
// recorded as it stands, uncertain or sent unconfirmed (issue 19).
func TestSecondCtrlCStopsAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	emu, addr, pauseAt := pausingEmulator(t)
	pauseAt.Store(1)
	dir := t.TempDir()
	key := "ctrl-c-test-key-0123456789abcdef0123456789abcdef"
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + key}, "--config", benchConfig(t, dir, addr, ""))
	d.key = key
	var j queue.Job
	d.must("POST", "/api/v1/printers/zebra/test", nil, &j)
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	poll(t, "job sending", 10*time.Second, func() (bool, error) {
		var got queue.Job
		_, err := d.call("GET", "/api/v1/jobs/"+j.ID.String(), nil, &got)
		return err == nil && got.State == queue.StateSending, err
	})
	if err := d.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if _, err := d.waitLog(regexp.MustCompile(`stopping: waiting for the printer to finish its job" printer=zebra jobs=\[`+j.ID.String()+`\] up_to=1[45]s hint="press Ctrl-C again`), 20*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, d.log())
	}
	if err := d.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if _, err := d.waitLog(regexp.MustCompile(`stopping now, as asked`), 20*time.Second); err != nil {
		t.Fatalf("a second Ctrl-C did not stop at once: %v\n%s", err, d.log())
	}
	select {
	case <-d.exited:
	case <-ctx.Done():
		t.Fatalf("packbenchd did not exit after the second Ctrl-C\n%s", d.log())
	}
	db, err := queue.Open(filepath.Join(dir, datadir.DataFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Recorded as it stands, never printed nor sent again: the worker is
	// stopped either while its last write is still returning (uncertain,
	// "connection lost after N of N bytes") or while it waits for the
	// printer's confirmation (sent, "not confirmed: ..."); which one is
	// timing, so both count.
	last := got.History[len(got.History)-1].Reason
	if !(got.State == queue.StateUncertain && strings.Contains(last, "connection lost") ||
		got.State == queue.StateSent && strings.HasPrefix(last, "not confirmed: ")) {
		t.Fatalf("job after the second Ctrl-C: %s %+v, want uncertain or sent, not confirmed", got.State, got.History)
	}
}
