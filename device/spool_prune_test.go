package device

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestSpoolPrune: files older than the cutoff go (with a crash's stale
// temporary file), then the oldest until the folder fits the cap; the
// files of a job in flight and a file being written stay.
func TestSpoolPrune(t *testing.T) {
	dir := t.TempDir()
	s, err := NewSpool("spool", dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	put := func(name string, size int, age time.Duration) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	put("j00000001.zpl", 100, 10*day)
	put("j00000001.png", 100, 10*day)
	put("j00000009.zpl", 100, 11*day) // in flight (a paused printer's retry)
	put("j00000002.zpl", 100, 5*day)
	put("j00000003.zpl", 100, 1*day)
	put(".tmp-j00000004.zpl-123", 100, 10*day) // left by a crash
	put(".tmp-j00000005.zpl-456", 1000, 0)     // being written
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	inFlight := func(id string) bool { return id == "j00000009" }
	ctx := context.Background()

	r, err := s.Prune(ctx, PruneOptions{Before: now.Add(-7 * day), Keep: inFlight})
	if err != nil || r.Deleted != 3 || r.Freed != 300 || r.KeptFlight != 1 || r.Bytes != 1300 {
		t.Fatalf("Prune by age = %+v, %v; want 3 deleted, 1 kept in flight, 1300 bytes left", r, err)
	}
	if got := names(t, dir); !slices.Equal(got, []string{".tmp-j00000005.zpl-456", "j00000002.zpl", "j00000003.zpl", "j00000009.zpl", "sub"}) {
		t.Fatalf("after pruning by age: %q", got)
	}

	r, err = s.Prune(ctx, PruneOptions{MaxBytes: 1200, Keep: inFlight})
	if err != nil || r.Deleted != 1 || r.Bytes != 1200 {
		t.Fatalf("Prune by size = %+v, %v; want the oldest finished file deleted", r, err)
	}
	if got := names(t, dir); !slices.Equal(got, []string{".tmp-j00000005.zpl-456", "j00000003.zpl", "j00000009.zpl", "sub"}) {
		t.Fatalf("after pruning by size: %q", got)
	}
	// The job finished: its file may go now.
	r, err = s.Prune(ctx, PruneOptions{MaxBytes: 1100})
	if err != nil || r.Deleted != 1 || r.Bytes != 1100 {
		t.Fatalf("Prune once the job finished = %+v, %v", r, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "j00000009.zpl")); !os.IsNotExist(err) {
		t.Fatalf("oldest finished file kept: %v", err)
	}
}

// TestSpoolPruneSkipsRewrittenFile: a file written again after Prune
// listed it is the job's new file and stays.
func TestSpoolPruneSkipsRewrittenFile(t *testing.T) {
	dir := t.TempDir()
	s, err := NewSpool("spool", dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.SendJob(ctx, "j00000001", []byte("^XA^XZ")); err != nil {
		t.Fatal(err)
	}
	seen, err := os.Stat(filepath.Join(dir, "j00000001.zpl"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SendJob(ctx, "j00000001", []byte("^XA^FDagain^FS^XZ")); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.removeIfUnchanged("j00000001.zpl", seen); ok || err != nil {
		t.Fatalf("removeIfUnchanged of a rewritten file = %v, %v; want kept", ok, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "j00000001.zpl")); err != nil || string(b) != "^XA^FDagain^FS^XZ" {
		t.Fatalf("file after = %q, %v", b, err)
	}
}

// TestSpoolPruneNeverTakesAFileInFlight runs Prune with a cap that wants
// every file gone while jobs are written: each job's file is there until
// its job leaves the in-flight set.
func TestSpoolPruneNeverTakesAFileInFlight(t *testing.T) {
	dir := t.TempDir()
	s, err := NewSpool("spool", dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	flying := map[string]bool{}
	keep := func(id string) bool { mu.Lock(); defer mu.Unlock(); return flying[id] }
	pruned := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if _, err := s.Prune(ctx, PruneOptions{MaxBytes: 1, Keep: keep}); err != nil && ctx.Err() == nil {
				pruned <- err
				return
			}
		}
		pruned <- nil
	}()
	for i := range 200 {
		id := fmt.Sprintf("j%08d", i+1)
		mu.Lock()
		flying[id] = true // claimed: in flight before its file exists
		mu.Unlock()
		if _, err := s.SendJob(ctx, id, []byte("^XA^FD"+id+"^FS^XZ")); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, id+".zpl")); err != nil || string(b) != "^XA^FD"+id+"^FS^XZ" {
			t.Fatalf("job %s in flight: file %q, %v", id, b, err)
		}
		mu.Lock()
		delete(flying, id) // printed
		mu.Unlock()
	}
	cancel()
	if err := <-pruned; err != nil {
		t.Fatalf("Prune: %v", err)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
