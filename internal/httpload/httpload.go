// Package httpload is the load tool of the HTTP benchmarks: keep-alive
// clients in the benchmark's process sending GETs.
package httpload

import (
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// Get sends b.N GETs from parallelism × GOMAXPROCS keep-alive clients
// (b.SetParallelism), the i-th (from 1) to url(i) with header, and reports
// the requests answered per second of wall time as "req/s". An answer
// other than 200 fails the benchmark.
func Get(b *testing.B, parallelism int, url func(i int64) string, header http.Header) {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var n atomic.Int64
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, err := http.NewRequest("GET", url(n.Add(1)), nil)
			if err != nil {
				b.Error(err)
				return
			}
			for k, v := range header {
				req.Header[k] = v // shared, read only
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("GET %s: status %d", req.URL, resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
