package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/packbench/packbench/device/devicetest"
)

// BenchmarkPrintAPIToLabel drives the real daemon's POST /api/v1/print one
// request at a time and times each from the request's first byte to the
// arrival of the label's last byte at the printer emulator (TCP,
// confirming with ~HS): what a web app waits for between "Print" and the
// printer having the label. Each job is committed before its 202, then
// claimed, marked and sent by the worker (fsyncs included). The answer's
// own time (request → 202) is reported beside it.
func BenchmarkPrintAPIToLabel(b *testing.B) {
	png, err := os.ReadFile("../../labelrender/testdata/carrier-4x6-203.png")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		body func(i int) []byte
	}{
		{"zpl", func(i int) []byte {
			j, _ := json.Marshal(map[string]any{"zpl": fmt.Sprintf("^XA^FO50,50^A0N,40,40^FDAPI-%d^FS^FO50,120^BCN,80^FDAPI-%d^FS^XZ", i, i)})
			return j
		}},
		{"png", func(i int) []byte {
			j, _ := json.Marshal(map[string]any{"png": png, "title": fmt.Sprint("carrier ", i)})
			return j
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			arrived := make(chan time.Time, 1)
			_, addr := emulator(b, &devicetest.Options{OnLabel: func(int, []byte) { arrived <- time.Now() }})
			dir := b.TempDir()
			d := startDaemon(b, dir, []string{"PACKBENCH_API_KEY=" + printAPIKey}, "--config", benchConfig(b, dir, addr, ""))
			b.Cleanup(d.stop)
			client := &http.Client{}
			bodies := make([][]byte, b.N)
			for i := range bodies {
				bodies[i] = bc.body(i)
			}
			accepted := make([]time.Duration, 0, b.N)
			printed := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				req, _ := http.NewRequest("POST", d.url+"/api/v1/print", bytes.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+printAPIKey)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				acc := time.Since(t0)
				if resp.StatusCode != http.StatusAccepted {
					b.Fatalf("POST /api/v1/print: %d %s", resp.StatusCode, data)
				}
				select {
				case at := <-arrived:
					printed = append(printed, at.Sub(t0))
				case <-time.After(30 * time.Second):
					b.Fatalf("label %d did not reach the printer", i)
				}
				accepted = append(accepted, acc)
			}
			b.StopTimer()
			pct := func(xs []time.Duration, p float64) float64 {
				slices.Sort(xs)
				return float64(xs[min(len(xs)-1, int(float64(len(xs))*p))]) / float64(time.Millisecond)
			}
			b.ReportMetric(pct(printed, 0.50), "label-p50-ms")
			b.ReportMetric(pct(printed, 0.99), "label-p99-ms")
			b.ReportMetric(pct(accepted, 0.50), "202-p50-ms")
			b.ReportMetric(pct(accepted, 0.99), "202-p99-ms")
		})
	}
}
