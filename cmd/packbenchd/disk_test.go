package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/internal/duration"
	"github.com/packbench/packbench/queue"
)

// TestRetentionAndDiskConfig: [retention] and [disk] decode, reach the
// queue's options, show in the config view, and bad values are refused
// naming the key.
func TestRetentionAndDiskConfig(t *testing.T) {
	p := writeConfig(t, minimalTOML+`
[retention]
jobs = "48h"
events = "72h"
labels = "240h"
orders = "2160h"
spool = "168h"
spool_max_size = "1.5GiB"
[disk]
min_free = "5%"
warn_free = "1GiB"
`)
	cfg, err := loadConfig(p, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.finish(flagValues{dataDir: t.TempDir()}, envMap(nil), noHome, host); err != nil {
		t.Fatal(err)
	}
	r := cfg.Retention
	if r.Jobs.Std() != 48*time.Hour || r.Orders.Std() != 90*24*time.Hour || r.Spool.Std() != 7*24*time.Hour || r.SpoolMaxSize != 3<<29 {
		t.Errorf("retention %+v", r)
	}
	q := cfg.queueOptions()
	if q.Retention != 48*time.Hour || q.EventRetention != 72*time.Hour ||
		q.MinFree != (queue.Floor{Percent: 5}) || q.WarnFree != (queue.Floor{Bytes: 1 << 30}) {
		t.Errorf("queue options %+v", q)
	}
	view, err := json.Marshal(cfg.view())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"spool_max_size":"1.5 GiB"`, `"min_free":"5%"`, `"warn_free":"1.0 GiB"`, `"orders":"2160h0m0s"`} {
		if !strings.Contains(string(view), want) {
			t.Errorf("config view lacks %s: %s", want, view)
		}
	}

	for _, tc := range []struct{ toml, want string }{
		{"[retention]\norders = \"30s\"\n", "retention.orders \"30s\": at least 1h0m0s"},
		{"[retention]\nspool_max_size = \"lots\"\n", `size "lots": want a number with B, KiB`},
		{"[retention]\nspool_max_size = \"5 parsecs\"\n", `size "5 parsecs"`},
		{"[disk]\nmin_free = \"150%\"\n", `free space "150%": want a share above 0 and under 100%`},
		{"[disk]\nmin_free = \"0\"\n", `free space "0"`},
		{"[disk]\nmin_free = \"1GiB\"\nwarn_free = \"100MiB\"\n", "disk.warn_free 100.0 MiB is under disk.min_free 1.0 GiB"},
		{"[disk]\nmin_free = \"10%\"\nwarn_free = \"5%\"\n", "disk.warn_free 5% is under disk.min_free 10%"},
		{"[retention]\nkeep = \"1h\"\n", "unknown key retention.keep"},
	} {
		p := writeConfig(t, minimalTOML+tc.toml)
		cfg, err := loadConfig(p, envMap(nil))
		if err == nil {
			err = cfg.finish(flagValues{dataDir: t.TempDir()}, envMap(nil), noHome, host)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.toml, err, tc.want)
		}
	}
}

// TestHousekeepPrunesSpool runs the daemon's housekeeping in-process: the
// spool folder loses files older than [retention] spool, but not the
// file of a job still queued, nor a recent one.
func TestHousekeepPrunesSpool(t *testing.T) {
	cfg, dir := embeddedConfig(t)
	cfg.Retention.Spool = duration.Duration(24 * time.Hour)
	var logs lockedBuffer
	b, err := newBench(cfg, "test-key-0123456789abcdef-0123456789", newLogger(&logs, slog.LevelDebug), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	ctx := context.Background()
	// A job the printer worker has not taken (the bench does not run).
	queued, _, err := b.db.Enqueue(ctx, queue.NewJob{Key: "k1", Source: queue.SourceHTTP, Printer: "spool",
		ContentType: queue.ContentZPL, Payload: []byte("^XA^XZ")})
	if err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(dir, "spool")
	old := time.Now().Add(-48 * time.Hour)
	for name, age := range map[string]time.Time{
		"j00000099.zpl":             old, // finished long ago (the queue no longer has it)
		"j00000099.png":             old,
		queued.ID.String() + ".zpl": old, // a retry of a queued job: in flight
		"j00000100.zpl":             time.Now(),
	} {
		p := filepath.Join(spool, name)
		if err := os.WriteFile(p, []byte("^XA^XZ"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, age, age); err != nil {
			t.Fatal(err)
		}
	}
	b.housekeepOnce(ctx)
	got := spoolNames(t, spool)
	if want := []string{queued.ID.String() + ".zpl", "j00000100.zpl"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("spool after housekeeping: %v, want %v\n%s", got, want, logs.String())
	}
	if !strings.Contains(logs.String(), "housekeeping: spool files deleted") || strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("log:\n%s", logs.String())
	}
}

// embeddedConfig is the embedded default, finished for an in-process
// bench on a fresh data dir and a loopback port.
func embeddedConfig(t *testing.T) (Config, string) {
	t.Helper()
	cfg, err := loadConfig("", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := cfg.finish(flagValues{dataDir: dir, listen: "127.0.0.1:0"}, envMap(nil), noHome, host); err != nil {
		t.Fatal(err)
	}
	return cfg, dir
}

func spoolNames(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		paths[i] = filepath.Base(p)
	}
	return paths
}
