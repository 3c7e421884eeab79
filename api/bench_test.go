package api_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// benchServe measures one request through the whole handler stack
// (routing, auth, logging, metrics, the handler) without the network.
func benchServe(b *testing.B, bn *bench, method, path string) {
	b.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Host = "localhost" // httptest's example.com is not the bench's (421)
	req.Header.Set("Authorization", "Bearer "+testKey)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		bn.srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

func BenchmarkGetScale(b *testing.B) {
	benchServe(b, newBench(b, nil), "GET", "/api/v1/scale")
}

func BenchmarkGetHealth(b *testing.B) {
	benchServe(b, newBench(b, nil), "GET", "/api/v1/health")
}

func BenchmarkListJobs50(b *testing.B) {
	bn := newBench(b, nil)
	for i := range 50 {
		bn.enqueue("bench-"+strconv.Itoa(i), "p1")
	}
	benchServe(b, bn, "GET", "/api/v1/jobs?limit=50")
}

func BenchmarkMetricsScrape(b *testing.B) {
	benchServe(b, newBench(b, nil), "GET", "/metrics")
}
