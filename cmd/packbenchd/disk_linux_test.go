package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDiskFullDaemon runs the real daemon with a floor above the free
// space of the test machine's disk (its whole size, read with the real
// statfs): a new order is refused with 507 disk_full, plainly, and the
// health (without a key) says the disk is full.
func TestDiskFullDaemon(t *testing.T) {
	dir := t.TempDir()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	// A floor larger than the whole filesystem: no free space reaches it,
	// however empty the disk is.
	floor := (uint64(st.Blocks)*uint64(st.Bsize))>>20 + 1
	conf := filepath.Join(dir, "bench.toml")
	if err := os.WriteFile(conf, []byte(minimalTOML+fmt.Sprintf("[disk]\nmin_free = \"%dMiB\"\nwarn_free = \"%dMiB\"\n", floor, floor+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=disk-key-0123456789abcdef-0123456789"}, "--config", conf)
	d.key = "disk-key-0123456789abcdef-0123456789"
	order := map[string]any{"id": "SO1", "ship_to": map[string]string{"name": "A", "street1": "1 St", "city": "C", "zip": "1", "country": "US"}}
	code, err := d.call("POST", "/api/v1/orders", order, nil)
	if code != 507 || err == nil || !strings.Contains(err.Error(), `"code":"disk_full"`) || !strings.Contains(err.Error(), "free on the data file's filesystem, new work needs at least") {
		t.Fatalf("order on a full disk: %d %v; want 507 disk_full with the sizes", code, err)
	}
	var h struct {
		Status   string   `json:"status"`
		Problems []string `json:"problems"`
	}
	if _, err := d.callKey("", "GET", "/api/v1/health", nil, &h); err != nil {
		t.Fatal(err)
	}
	if h.Status != "degraded" || !strings.Contains(strings.Join(h.Problems, ";"), "disk: full: new orders, labels and jobs are refused") {
		t.Fatalf("health %+v: want degraded with the disk full", h)
	}
	d.stop()
}
