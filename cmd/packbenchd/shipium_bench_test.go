package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/packbench/packbench/internal/httpload"
)

const shipiumBenchOrders = 1000

// shipiumBenchDaemon starts the real packbenchd (its own process, log
// level info as shipped) with shipiumBenchOrders Shipium orders, partner
// ids po-0…, created over HTTP.
func shipiumBenchDaemon(b *testing.B) *daemon {
	b.Helper()
	_, addr := emulator(b, nil)
	dir := b.TempDir()
	key := "shipium-bench-key-0123456789abcdef"
	d := startDaemon(b, dir, []string{"PACKBENCH_API_KEY=" + key}, "--config", benchConfig(b, dir, addr, ""))
	d.key = key
	var wg sync.WaitGroup
	var next atomic.Int64
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < shipiumBenchOrders; i = next.Add(1) - 1 {
				order := map[string]any{
					"fulfillmentType": "customer", "orderSource": "external", "partnerOrderId": fmt.Sprintf("po-%d", i),
					"associatedIdentifiers": []string{fmt.Sprintf("lpn:%d", i)}, "tenantId": "A", "orderedDateTime": "2025-03-15T10:10:00Z",
					"orderItemQuantities": []any{map[string]any{"orderItemReferenceIdentifier": fmt.Sprintf("po-%d_item:1", i), "productId": "P1", "quantity": 1}},
					"originId":            "origin-1",
					"destinationAddress": map[string]any{"name": "Wile E. Coyote", "phoneNumber": "9995551234", "phoneNumberCountryCode": "+1",
						"emailAddress": "wile@example.com", "company": "ACME", "street1": "123 Main St.", "street2": "", "city": "Albuquerque",
						"state": "NM", "countryCode": "US", "postalCode": "87121", "addressType": "residential"},
				}
				if _, err := d.call("POST", "/api/v1/packShip/order", order, nil); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return d
}

// BenchmarkShipiumGetDaemon: GET /api/v1/packShip/order/{partnerOrderId}
// against the real daemon in its own process, from 16 keep-alive Go
// clients in this process, among 1,000 orders. -benchtime sets the number
// of requests; req/s is the figure.
func BenchmarkShipiumGetDaemon(b *testing.B) {
	d := shipiumBenchDaemon(b)
	// × GOMAXPROCS (2 here): 16 clients
	httpload.Get(b, 8, func(i int64) string {
		return d.url + "/api/v1/packShip/order/po-" + strconv.FormatInt(i%shipiumBenchOrders, 10)
	},
		http.Header{"Authorization": {"Bearer " + d.key}})
}

var (
	reWrkRate    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reWrkLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)$`)
	reWrkErrors  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)|Socket errors: .*`)
)

// BenchmarkShipiumGetDaemonWrk: the same GETs from wrk (Debian's wrk,
// one thread, 16 connections, 10 s), a C load tool in a third process,
// so the daemon has most of a core of its own. Each iteration is one wrk
// run: use -benchtime 1x. Skipped without wrk in PATH.
func BenchmarkShipiumGetDaemonWrk(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk not installed (apt-get install wrk)")
	}
	d := shipiumBenchDaemon(b)
	script := filepath.Join(b.TempDir(), "get.lua")
	// Each connection walks the orders from its own offset.
	if err := os.WriteFile(script, fmt.Appendf(nil, `
local n = 0
wrk.headers["Authorization"] = "Bearer %s"
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v1/packShip/order/po-" .. (n %% %d))
end
response = function(status, headers, body)
  if status ~= 200 then error("status " .. status) end
end
`, d.key, shipiumBenchOrders), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		out, err := exec.Command(wrk, "-t1", "-c16", "-d10s", "--latency", "-s", script, d.url).CombinedOutput()
		if err != nil {
			b.Fatalf("wrk: %v\n%s", err, out)
		}
		if m := reWrkErrors.FindSubmatch(out); m != nil {
			b.Fatalf("wrk saw errors:\n%s", out)
		}
		m := reWrkRate.FindSubmatch(out)
		if m == nil {
			b.Fatalf("no Requests/sec in wrk's output:\n%s", out)
		}
		rate, _ := strconv.ParseFloat(string(m[1]), 64)
		b.ReportMetric(rate, "req/s")
		for _, l := range reWrkLatency.FindAllSubmatch(out, -1) {
			v, _ := strconv.ParseFloat(string(l[2]), 64)
			scale := map[string]float64{"us": 1e-3, "ms": 1, "s": 1e3}[string(l[3])]
			b.ReportMetric(v*scale, "p"+string(l[1])+"-ms")
		}
		b.Logf("wrk:\n%s", out)
	}
}
