package api_test

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/queue"
)

// TestDiskLowAndFull: the health warns (degraded) when free space is
// under the warning level, in status words without a key and with the
// sizes with one; under the floor a create answers 507 disk_full saying
// how much is free and what the floor is.
func TestDiskLowAndFull(t *testing.T) {
	var free atomic.Uint64
	free.Store(4 << 30)
	disk := func(string) (queue.Space, error) { return queue.Space{Free: free.Load(), Total: 16 << 30}, nil }
	b := newBench(t, &benchOptions{queue: &queue.Options{DiskSpace: disk}})
	health := func(headers ...string) api.Health {
		t.Helper()
		var h struct {
			api.Health
			Scale json.RawMessage `json:"scale"`
		}
		a := b.do("GET", "/api/v1/health", nil, headers...)
		if a.status != 200 {
			t.Fatalf("health: %d %s", a.status, a.body)
		}
		a.decode(t, &h)
		return h.Health
	}
	diskProblem := func(h api.Health) string {
		for _, p := range h.Problems {
			if strings.HasPrefix(p, "disk:") {
				return p
			}
		}
		return ""
	}
	if p := diskProblem(health()); p != "" {
		t.Fatalf("plenty of space: problem %q", p)
	}
	b.ok("POST", "/api/v1/orders", validOrder("SO1"), nil)

	free.Store(100 << 20) // under the 256 MiB warning, over the 64 MiB floor
	h := health("Authorization", "")
	if h.Status != api.HealthDegraded || diskProblem(h) != "disk: low on space" {
		t.Fatalf("low disk without a key: %s %q", h.Status, h.Problems)
	}
	if p := diskProblem(health()); !strings.Contains(p, "100.0 MiB free") || !strings.Contains(p, "64.0 MiB") {
		t.Fatalf("low disk with a key: %q; want the sizes", p)
	}
	b.ok("POST", "/api/v1/orders", validOrder("SO2"), nil) // still taken

	free.Store(20 << 20)
	if p := diskProblem(health("Authorization", "")); p != "disk: full: new orders, labels and jobs are refused" {
		t.Fatalf("full disk without a key: %q", p)
	}
	msg := b.do("POST", "/api/v1/orders", validOrder("SO3")).wantError(t, 507, api.CodeDiskFull, "")
	if !strings.HasPrefix(msg, "disk full: 20.0 MiB free") || !strings.Contains(msg, "at least 64.0 MiB") {
		t.Fatalf("message %q: want the free space and the floor, plainly", msg)
	}
	b.do("POST", "/api/v1/shipments", map[string]any{"order_id": "SO1", "weight": map[string]any{"milligrams": 1000}}).
		wantError(t, 507, api.CodeDiskFull, "")
	b.do("GET", "/api/v1/orders/SO3", nil).wantError(t, 404, api.CodeNotFound, "")

	free.Store(4 << 30)
	b.ok("POST", "/api/v1/orders", validOrder("SO3"), nil)

	// The OpenAPI document names the answer for every create.
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	b.ok("GET", "/api/v1/openapi.json", nil, &doc)
	for _, p := range []string{"/api/v1/orders", "/api/v1/shipments"} {
		if _, ok := doc.Paths[p]["post"].Responses["507"]; !ok {
			t.Errorf("OpenAPI: POST %s does not list 507", p)
		}
	}
}
