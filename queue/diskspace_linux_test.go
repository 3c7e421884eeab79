package queue

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// TestDiskFullOnRealTmpfs fills a real 8 MiB tmpfs and checks that the
// statfs-based check refuses new jobs before bbolt fails a commit. It
// runs in its own user and mount namespace (unshare -rm), so it needs no
// root and leaves no mount behind; where unshare is not allowed it skips.
func TestDiskFullOnRealTmpfs(t *testing.T) {
	if os.Getenv("PACKBENCH_TEST_TMPFS") == "" {
		unshare, err := exec.LookPath("unshare")
		if err != nil {
			t.Skip("no unshare(1): cannot mount a tmpfs without root trouble")
		}
		if err := exec.Command(unshare, "-rm", "true").Run(); err != nil {
			t.Skipf("unshare -rm not allowed here (%v): cannot mount a tmpfs without root trouble", err)
		}
		cmd := exec.Command(unshare, "-rm", os.Args[0], "-test.run=^TestDiskFullOnRealTmpfs$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "PACKBENCH_TEST_TMPFS="+t.TempDir())
		out, err := cmd.CombinedOutput()
		t.Logf("in a mount namespace:\n%s", out)
		if err != nil {
			t.Fatalf("tmpfs test failed: %v", err)
		}
		return
	}
	dir := os.Getenv("PACKBENCH_TEST_TMPFS")
	if err := syscall.Mount("packbench-test", dir, "tmpfs", 0, "size=8m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	defer syscall.Unmount(dir, 0)

	ctx := context.Background()
	// Floor 2 MiB of 8: bbolt's file grows in steps, so it must stay
	// clear of the end of the disk.
	o := &Options{MinFree: Floor{Bytes: 2 << 20}}
	d, err := Open(filepath.Join(dir, "q.db"), o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s, err := d.DiskSpace()
	if err != nil || s.Total < 7<<20 || s.Total > 9<<20 || s.Free > s.Total {
		t.Fatalf("DiskSpace of an 8 MiB tmpfs = %+v, %v", s, err)
	}
	// Fill the disk with another file until the floor is close.
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		s, err := d.DiskSpace()
		if err != nil {
			t.Fatal(err)
		}
		if s.Free < s.MinFree+512<<10 {
			break
		}
		if _, err := filler.Write(chunk); err != nil {
			t.Fatalf("filling: %v", err)
		}
	}
	filler.Close()
	payload := make([]byte, 32<<10)
	for i := range payload {
		payload[i] = 'A' + byte(i%26)
	}
	accepted := 0
	var refused error
	for i := range 200 {
		nj := NewJob{Key: "k" + strconv.Itoa(i), Source: SourceHTTP, Printer: "p", ContentType: ContentZPL, Payload: payload}
		_, _, err := d.Enqueue(ctx, nj)
		if err != nil {
			refused = err
			break
		}
		accepted++
	}
	if !errors.Is(refused, ErrDiskFull) {
		t.Fatalf("after %d jobs: %v; want ErrDiskFull before the disk is full", accepted, refused)
	}
	t.Logf("accepted %d jobs of 32 KiB, then: %v", accepted, refused)
	// The file still takes the work in flight: a job can be finished.
	if accepted > 0 {
		j, err := d.Claim(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.SetState(ctx, j.ID, StatePrinted, ""); err != nil {
			t.Fatalf("finishing a job on the nearly full disk: %v", err)
		}
	}
	// Space back: work is taken again.
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Enqueue(ctx, NewJob{Key: "after", Source: SourceHTTP, Printer: "p", ContentType: ContentZPL, Payload: payload}); err != nil {
		t.Fatalf("after freeing space: %v", err)
	}
}
