package uplink

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/packbench/packbench/internal/clock"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// benchHooks is a real queue file, the store and the worker on the real
// clock, delivering to a local receiver that reports each event id.
func benchHooks(b *testing.B) (*queue.DB, chan uint64) {
	b.Helper()
	db, err := queue.Open(filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan uint64, 1<<16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseUint(r.Header.Get(HeaderEventID), 10, 64)
		got <- id
	}))
	store := station.NewWebhookStore(db, nil)
	if _, err := store.CreateWebhook(context.Background(), station.WebhookRequest{Kind: station.WebhookPackbench, URL: srv.URL, Topics: []string{"*"}}); err != nil {
		b.Fatal(err)
	}
	w, err := NewWebhooks(db, store, &WebhookOptions{Clock: clock.Real{}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done; srv.Close(); db.Close() })
	return db, got
}

func appendN(b *testing.B, db *queue.DB, n int) uint64 {
	var last uint64
	err := db.Update(func(tx *queue.Tx) error {
		for range n {
			ev, err := tx.AppendEvent(queue.Event{Type: "tracking.updated", Key: "SO-1", Data: []byte(`{"status":"in_transit"}`)})
			if err != nil {
				return err
			}
			last = ev.ID
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return last
}

// BenchmarkWebhookThroughput: events already in the outbox, delivered one
// after the other (in order) to a local receiver: deliveries per second.
func BenchmarkWebhookThroughput(b *testing.B) {
	db, got := benchHooks(b)
	b.ResetTimer()
	start := time.Now()
	last := uint64(0)
	for left := b.N; left > 0; left -= min(left, 1000) {
		last = appendN(b, db, min(left, 1000))
	}
	for id := range got {
		if id == last {
			break
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
}

// BenchmarkWebhookLatency: one status change at a time (an outbox append,
// committed with fsync), from the committed append to the receiver
// holding the delivery; p50 and p99.
func BenchmarkWebhookLatency(b *testing.B) {
	db, got := benchHooks(b)
	lat := make([]time.Duration, 0, b.N)  // committed → delivered
	full := make([]time.Duration, 0, b.N) // append started (with its fsync) → delivered
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		id := appendN(b, db, 1)
		t1 := time.Now()
		for g := range got {
			if g == id {
				break
			}
		}
		lat = append(lat, time.Since(t1))
		full = append(full, time.Since(t0))
	}
	b.StopTimer()
	q := func(l []time.Duration, p float64) float64 {
		slices.Sort(l)
		return float64(l[min(len(l)-1, int(p*float64(len(l))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(lat, 0.5), "p50-ms")
	b.ReportMetric(q(lat, 0.99), "p99-ms")
	b.ReportMetric(q(full, 0.99), "p99-with-commit-ms")
}
