package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
)

// benchBench runs the daemon's own wiring (newBench, run) in-process with a
// TCP printer at the emulator; onLabel receives the time each label's last
// byte arrived.
func benchBench(b *testing.B, carrier station.CarrierConfig) (*bench, chan time.Time) {
	b.Helper()
	arrived := make(chan time.Time, 16)
	emu := devicetest.NewEmulator(&devicetest.Options{OnLabel: func(int, []byte) { arrived <- time.Now() }})
	b.Cleanup(func() { emu.Close() })
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := loadConfig("", envMap(nil))
	if err != nil {
		b.Fatal(err)
	}
	cfg.Printers = []device.PrinterConfig{{Name: "zebra", Transport: "tcp", Address: addr}}
	cfg.Carrier = carrier
	if err := cfg.finish(flagValues{dataDir: b.TempDir(), listen: "127.0.0.1:0"}, envMap(nil), noHome, host); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	bn, err := newBench(cfg, "bench-key-0123456789abcdef0123456789abcdef", slog.New(slog.DiscardHandler), &benchOptions{Listener: ln})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bn.run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	return bn, arrived
}

// benchLatency measures stable weight (the filter's placement event handed
// to the station) → last byte of the label at the emulator, per parcel.
func benchLatency(b *testing.B, bn *bench, arrived chan time.Time) {
	ctx := context.Background()
	st := bn.station
	var lat, feed []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		o, err := st.CreateOrder(ctx, station.Order{Packages: 1, ShipTo: station.Address{
			Name: "Ada Lovelace", Street1: "10 Downing Street", City: "London", Zip: "SW1A 1AA", Country: "GB"}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Arm(ctx, o.ID); err != nil {
			b.Fatal(err)
		}
		placed := scale.Reading{Milligrams: 2_300_000, Unit: scale.UnitGram, Value: 2300, Status: scale.StatusStable, Time: time.Now(), Source: "sim"}
		b.StartTimer()
		t0 := time.Now()
		f := st.Feed(ctx, scale.Event{Kind: scale.EventPlaced, Reading: placed})
		tf := time.Now()
		t1 := <-arrived
		b.StopTimer()
		if f.Problem != nil {
			b.Fatalf("flow problem: %+v", f.Problem)
		}
		lat = append(lat, t1.Sub(t0))
		feed = append(feed, tf.Sub(t0))
		waitJob(b, bn.db, f.JobID, queue.StatePrinted)
		st.Feed(ctx, scale.Event{Kind: scale.EventRemoved, Reading: scale.Reading{Unit: scale.UnitGram, Status: scale.StatusZero, Time: time.Now(), Source: "sim"}})
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	slices.Sort(feed)
	pct := func(d []time.Duration, p float64) float64 {
		return float64(d[min(len(d)-1, int(float64(len(d))*p))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(lat, 0.50), "p50-ms")
	b.ReportMetric(pct(lat, 0.99), "p99-ms")
	// The station's share (carrier, render, durable enqueue); the rest is
	// the worker: claim, status read, send over TCP.
	b.ReportMetric(pct(feed, 0.50), "station-p50-ms")
	b.ReportMetric(pct(feed, 0.99), "station-p99-ms")
}

func waitJob(b testing.TB, db *queue.DB, id queue.JobID, want queue.State) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ch := db.WaitEvents()
		j, err := db.Job(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if j.State == want {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			b.Fatalf("job %s: %s, want %s", id, j.State, want)
		}
	}
}

// BenchmarkWeightToLabelNative: the local carrier and a native ZPL label
// (target p99 ≤ 15 ms).
func BenchmarkWeightToLabelNative(b *testing.B) {
	bn, arrived := benchBench(b, station.CarrierConfig{Kind: "local", Scheme: "sequence", Prefix: "PB"})
	benchLatency(b, bn, arrived)
}

// BenchmarkWeightToLabelCarrierPNG: an http carrier (a local Fulfil
// server) answering with a 4x6 PNG, printed as a ^GF Z64 graphic (target
// p99 ≤ 40 ms; issue 20: ≤ 15 ms).
func BenchmarkWeightToLabelCarrierPNG(b *testing.B) {
	pngLabel := carrierPNG(b)
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		tracking := fmt.Sprintf("1Z999AA1%010d", n)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"tracking_number": tracking, "tracking_url": "https://track.example.com/" + tracking,
			"carrier_identifier": "ups", "amount": "7.10", "currency": "USD",
			"packages": []map[string]string{{"tracking_number": tracking, "label": base64.StdEncoding.EncodeToString(pngLabel)}},
		})
	}))
	b.Cleanup(srv.Close)
	bn, arrived := benchBench(b, station.CarrierConfig{Kind: "http", HTTP: station.HTTPCarrierConfig{URL: srv.URL + "/label"}})
	benchLatency(b, bn, arrived)
}

// carrierPNG is a realistic carrier label: a 4x6 label at 203 dpi drawn by
// labelrender (text, a Code 128 barcode), as a PNG.
func carrierPNG(b testing.TB) []byte {
	spec := `{"to":{"name":"Ada Lovelace","street1":"10 Downing Street","city":"London","zip":"SW1A 1AA","country":"GB"},
"from":{"name":"Example Co","street1":"1 Bench Street","city":"Springfield","state":"IL","zip":"62701","country":"US"},
"carrier":"UPS","service":"GROUND","tracking_number":"1Z999AA10123456784","barcode":"code128","weight":{"value":2.3,"unit":"kg"}}`
	l, err := labelrender.ParseLabel([]byte(spec))
	if err != nil {
		b.Fatal(err)
	}
	png, err := labelrender.RenderPNG(l, &labelrender.Options{DPI: 203})
	if err != nil {
		b.Fatal(err)
	}
	return png
}

// BenchmarkStartToReady: exec of the real binary → READY=1 on the notify
// socket, with a fresh data dir each time (target ≤ 300 ms).
func BenchmarkStartToReady(b *testing.B) {
	var total, worst time.Duration
	for i := 0; i < b.N; i++ {
		d := startDaemon(b, b.TempDir(), nil)
		total += d.readyAt
		worst = max(worst, d.readyAt)
		b.StopTimer()
		d.stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(total)/float64(b.N)/float64(time.Millisecond), "ready-ms")
	b.ReportMetric(float64(worst)/float64(time.Millisecond), "worst-ready-ms")
}

// BenchmarkIdle: the embedded default daemon after READY, left idle: its
// resident memory (target ≤ 25 MB) and CPU over a 10 s window (target ≤
// 0.5 % of one core). The waits are the measurement windows.
func BenchmarkIdle(b *testing.B) {
	for i := 0; i < b.N; i++ {
		d := startDaemon(b, b.TempDir(), nil)
		pid := d.cmd.Process.Pid
		time.Sleep(3 * time.Second) // let start-up garbage settle before measuring idle
		cpu0, t0 := procCPU(b, pid), time.Now()
		time.Sleep(10 * time.Second)
		cpu1, t1 := procCPU(b, pid), time.Now()
		rss := procRSS(b, pid)
		b.ReportMetric(float64(rss)/1024, "rss-MB")
		b.ReportMetric(100*float64(cpu1-cpu0)/float64(t1.Sub(t0)), "cpu-%")
		d.stop()
	}
}

// procRSS is VmRSS of a process in kB.
func procRSS(b testing.TB, pid int) int64 {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// procCPU is utime+stime of a process.
func procCPU(b testing.TB, pid int) time.Duration {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14 of stat(5)
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	const clkTck = 100                       // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck
}
