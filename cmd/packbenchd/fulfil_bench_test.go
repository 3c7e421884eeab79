package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/packbench/packbench/device/devicetest"
)

// BenchmarkFulfilLabelZPL drives the real daemon's POST /label over HTTP
// with the seed's request (two packages, label_type ZPL, new references
// every call) from 32 clients, and counts the labels that reach the printer
// emulator over TCP: labels/s is b.N labels over the time from the first
// request to the last label's arrival, so printing is included (target
// ≥ 1,000 labels/s).
func BenchmarkFulfilLabelZPL(b *testing.B) {
	const clients = 32
	var arrived atomic.Int64
	var target atomic.Int64
	all := make(chan time.Time, 1)
	emu := devicetest.NewEmulator(&devicetest.Options{OnLabel: func(int, []byte) {
		if arrived.Add(1) == target.Load() {
			all <- time.Now()
		}
	}})
	b.Cleanup(func() { emu.Close() })
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	cfg := benchConfig(b, dir, addr, "[fulfil]\nservice_codes = [\"S1\"]\n")
	d := startDaemon(b, dir, []string{"PACKBENCH_API_KEY=" + fulfilKey}, "--config", cfg)
	d.key = fulfilKey
	b.Cleanup(d.stop)
	seed, err := os.ReadFile("../../station/testdata/fulfil_label_request.json")
	if err != nil {
		b.Fatal(err)
	}
	seed = bytes.Replace(seed, []byte(`"label_type": "PNG"`), []byte(`"label_type": "ZPL"`), 1)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}

	requests := (b.N + 1) / 2
	target.Store(int64(requests * 2))
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(requests) {
					return
				}
				body := bytes.ReplaceAll(seed, []byte("CS123PKG23"), fmt.Appendf(nil, "BENCH-%d-", i))
				req, _ := http.NewRequest("POST", d.url+"/label", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Api-Key", fulfilKey)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("POST /label: %d %s", resp.StatusCode, data)
					return
				}
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	answered := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var last time.Time
	select {
	case last = <-all:
	case <-ctx.Done():
		b.Fatalf("%d of %d labels reached the printer", arrived.Load(), target.Load())
	}
	b.StopTimer()
	var flat []time.Duration
	for _, l := range lat {
		flat = append(flat, l...)
	}
	slices.Sort(flat)
	pct := func(p float64) float64 {
		return float64(flat[min(len(flat)-1, int(float64(len(flat))*p))]) / float64(time.Millisecond)
	}
	labels := float64(target.Load())
	b.ReportMetric(labels/last.Sub(start).Seconds(), "labels/s")
	b.ReportMetric(labels/answered.Sub(start).Seconds(), "answered-labels/s")
	b.ReportMetric(pct(0.50), "req-p50-ms")
	b.ReportMetric(pct(0.99), "req-p99-ms")
}
