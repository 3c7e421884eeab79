package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// postKeyed sends a JSON POST with an Idempotency-Key and returns the raw answer.
func postKeyed(t *testing.T, d *daemon, path, idemKey string, body any) (int, http.Header, []byte) {
	t.Helper()
	status, data, h := d.post(t, path, "application/json", mustJSON(t, body), api.HeaderIdempotencyKey, idemKey)
	return status, h, data
}

// The red team's double label: the same POST /api/v1/shipments sent twice
// (and once more after a SIGKILL and restart) makes one package, one
// tracking number and one job.
func TestIdempotentShipmentThroughTheDaemon(t *testing.T) {
	dir := t.TempDir()
	key := "idem-key-0123456789abcdef0123456789"
	env := []string{"PACKBENCH_API_KEY=" + key}
	d := startDaemon(t, dir, env)
	d.key = key
	o := createOrder(t, d, "LPN-IDEM-1", 2) // room for a second package: only the key stops one
	body := map[string]any{"order_id": o.ID, "weight": map[string]any{"milligrams": 750000}}
	status, hdr, first := postKeyed(t, d, "/api/v1/shipments", "ship-"+o.ID, body)
	if status != 201 || hdr.Get(api.HeaderReplayed) != "" {
		t.Fatalf("first shipment: %d %s", status, first)
	}
	check := func(d *daemon, what string) {
		t.Helper()
		status, hdr, again := postKeyed(t, d, "/api/v1/shipments", "ship-"+o.ID, body)
		if status != 201 || hdr.Get(api.HeaderReplayed) != "true" || !bytes.Equal(again, first) {
			t.Fatalf("%s: %d replayed=%q\n%s\nwant\n%s", what, status, hdr.Get(api.HeaderReplayed), again, first)
		}
		var sh station.Shipment
		d.must("GET", "/api/v1/shipments/"+o.ID, nil, &sh)
		var jobs struct {
			Jobs []queue.Job `json:"jobs"`
		}
		d.must("GET", "/api/v1/jobs", nil, &jobs)
		if len(sh.Packages) != 1 || len(jobs.Jobs) != 1 {
			t.Fatalf("%s: %d packages, %d jobs; want 1 and 1", what, len(sh.Packages), len(jobs.Jobs))
		}
	}
	check(d, "sent twice")
	d.kill()
	d2 := startDaemon(t, dir, env)
	d2.key = key
	check(d2, "after SIGKILL and restart")
	d2.stop()
}

// Jobs queued for a printer the config no longer has are reported in the
// health (without a key) and the log, and stay queued.
func TestUnconfiguredPrinterJobsInHealth(t *testing.T) {
	dir := t.TempDir()
	db, err := queue.Open(filepath.Join(dir, datadir.DataFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	j, _, err := db.Enqueue(context.Background(), queue.NewJob{Key: "left-behind", Source: queue.SourceHTTP, Printer: "gone",
		ContentType: queue.ContentZPL, Payload: []byte("^XA^FDleft behind^FS^XZ")})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	key := "health-key-0123456789abcdef0123456789"
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + key})
	d.key = key
	var h api.Health
	code, err := d.callKey("", "GET", "/api/v1/health", nil, &h)
	if err != nil || code != 200 {
		t.Fatalf("health: %d %v", code, err)
	}
	want := `1 jobs cannot print: printer "gone" is not configured`
	if h.Status != api.HealthDegraded || !strings.Contains(strings.Join(h.Problems, "\n"), want) {
		t.Fatalf("health %s %q, want degraded with %q", h.Status, h.Problems, want)
	}
	if !strings.Contains(d.log(), `1 jobs cannot print: printer \"gone\" is not configured`) {
		t.Fatalf("no warning in the log:\n%s", d.log())
	}
	var got queue.Job
	d.must("GET", "/api/v1/jobs/"+j.ID.String(), nil, &got)
	if got.State != queue.StateQueued {
		t.Fatalf("job %s, want queued", got.State)
	}
	d.stop()
}
