package queue

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeDisk is a filesystem whose free space the test sets: a nearly full
// disk without filling one.
type fakeDisk struct {
	free, total atomic.Uint64
	dirs        atomic.Value // last dir asked about
}

func newFakeDisk(free, total uint64) *fakeDisk {
	f := &fakeDisk{}
	f.free.Store(free)
	f.total.Store(total)
	return f
}

func (f *fakeDisk) space(dir string) (Space, error) {
	f.dirs.Store(dir)
	return Space{Free: f.free.Load(), Total: f.total.Load()}, nil
}

func TestFloorOf(t *testing.T) {
	const gib = 1 << 30
	for _, tc := range []struct {
		f     Floor
		total uint64
		want  uint64
	}{
		{DefaultMinFree, 32 * gib, 64 << 20},               // big card: the size
		{DefaultMinFree, 200 << 20, 10 << 20},              // small disk: 5 %
		{Floor{Bytes: 1000}, 10, 1000},                     // size only
		{Floor{Percent: 10}, 1000, 100},                    // percent only
		{Floor{Bytes: 50, Percent: 10}, 1000, 50},          // the smaller
		{DefaultWarnFree, 32 * gib, 256 << 20},             // warn: the size
		{DefaultWarnFree, 1 * gib, uint64(gib * 20 / 100)}, // warn: 20 %
	} {
		if got := tc.f.Of(tc.total); got != tc.want {
			t.Errorf("%+v.Of(%d) = %d, want %d", tc.f, tc.total, got, tc.want)
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "q.db"), &Options{MinFree: Floor{Percent: 100}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open with MinFree 100 %%: %v, want ErrInvalid", err)
	}
}

// TestEnqueueRefusedUnderFreeSpaceFloor: with the disk under its floor a
// new job is refused with ErrDiskFull saying how much is free and what
// the floor is, and nothing is stored; a repeated key still answers with
// its job; once space is back, jobs are taken again.
func TestEnqueueRefusedUnderFreeSpaceFloor(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "q.db")
	disk := newFakeDisk(1<<30, 8<<30)
	o := &Options{DiskSpace: disk.space, MinFree: Floor{Bytes: 64 << 20}, WarnFree: Floor{Bytes: 256 << 20}}
	d := openT(t, path, o)
	first := mustEnqueue(t, d, zpl("before", "p"))
	if got, _ := disk.dirs.Load().(string); got != dir {
		t.Errorf("free space measured on %q, want the data file's folder %q", got, dir)
	}

	disk.free.Store(40 << 20)
	s, err := d.DiskSpace()
	if err != nil || !s.Full() || !s.Low() || s.MinFree != 64<<20 || s.WarnFree != 256<<20 {
		t.Fatalf("DiskSpace = %+v, %v; want full and low", s, err)
	}
	_, _, err = d.Enqueue(ctx, zpl("after", "p"))
	var dfe *DiskFullError
	if !errors.Is(err, ErrDiskFull) || !errors.As(err, &dfe) || dfe.Free != 40<<20 || dfe.MinFree != 64<<20 {
		t.Fatalf("Enqueue on a full disk: %v, want a DiskFullError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "40.0 MiB free") || !strings.Contains(msg, "at least 64.0 MiB") {
		t.Errorf("message %q: want the free space and the floor", msg)
	}
	// Inside a transaction too (the station's creates).
	if err := d.Update(func(tx *Tx) error { _, _, err := tx.Enqueue(zpl("tx", "p")); return err }); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("tx.Enqueue on a full disk: %v", err)
	}
	// A retry of accepted work answers as before.
	if j, created, err := d.Enqueue(ctx, zpl("before", "p")); err != nil || created || j.ID != first.ID {
		t.Fatalf("repeat of an accepted key on a full disk: %+v created=%v err=%v", j, created, err)
	}
	// Work already accepted goes on: the job can be claimed and finished.
	if _, err := d.Claim(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetState(ctx, first.ID, StatePrinted, ""); err != nil {
		t.Fatalf("finishing a job on a full disk: %v", err)
	}

	disk.free.Store(100 << 20) // above the floor, under the warning
	if s, _ := d.DiskSpace(); s.Full() || !s.Low() {
		t.Fatalf("DiskSpace at 100 MiB = %+v; want low, not full", s)
	}
	again := mustEnqueue(t, d, zpl("after", "p"))
	d.Close()

	d = openT(t, path, o)
	js, err := d.List(ctx, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, j := range js {
		keys = append(keys, j.Key)
	}
	if len(js) != 2 || js[1].ID != again.ID || strings.Join(keys, ",") != "before,after" {
		t.Fatalf("jobs after reopen: %v; the refused ones must not be stored", keys)
	}
}

// TestWarnLevelNeverUnderFloor: a floor raised above the default warning
// level still warns (low) whenever it refuses (full).
func TestWarnLevelNeverUnderFloor(t *testing.T) {
	disk := newFakeDisk(400<<20, 32<<30)
	d := openT(t, filepath.Join(t.TempDir(), "q.db"), &Options{DiskSpace: disk.space, MinFree: Floor{Bytes: 512 << 20}})
	s, err := d.DiskSpace()
	if err != nil || !s.Full() || !s.Low() || s.WarnFree != 512<<20 {
		t.Fatalf("DiskSpace = %+v, %v; want full and low, warning level at the floor", s, err)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 64 << 20: "64.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
