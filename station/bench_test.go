package station

import (
	"context"
	"encoding/base64"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/packbench/packbench/scale"
)

// benchPlaced measures Feed(Placed) → the print job committed (carrier,
// render, bbolt commit), one parcel per iteration, and reports p50/p99.
func benchPlaced(b *testing.B, st *Station) {
	ctx := context.Background()
	clk := newClock()
	newOrder := func() {
		o, err := st.CreateOrder(ctx, Order{ShipTo: tonyDouglas})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Arm(ctx, o.ID); err != nil {
			b.Fatal(err)
		}
	}
	newOrder()
	placed := scale.Event{Kind: scale.EventPlaced, Reading: scale.Reading{Milligrams: 1_234_000, Unit: scale.UnitGram, Value: 1234, Status: scale.StatusStable}}
	removed := scale.Event{Kind: scale.EventRemoved, Reading: scale.Reading{Status: scale.StatusZero, Unit: scale.UnitGram}}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 {
			b.StopTimer()
			newOrder() // most orders are one parcel
			b.StartTimer()
		}
		placed.Reading.Time = clk.Advance(time.Second)
		t0 := time.Now()
		s := st.Feed(ctx, placed)
		lat = append(lat, time.Since(t0))
		if s.State != FlowPrinting {
			b.Fatalf("state %+v", s)
		}
		b.StopTimer()
		st.Feed(ctx, removed)
		b.StartTimer()
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// Target (issue 6): stable weight → last label byte at the printer p99 ≤ 15 ms
// for native ZPL; this is the station's share (the job committed).
func BenchmarkPlacedNativeZPL(b *testing.B) {
	clk := newClock()
	db := openDB(&testing.T{}, b.TempDir(), clk)
	defer db.Close()
	st, err := New(db, &Options{Printers: []string{testPrinter}})
	if err != nil {
		b.Fatal(err)
	}
	benchPlaced(b, st)
}

// Target: with a carrier PNG through Z64, p99 ≤ 40 ms (upstream on loopback).
func BenchmarkPlacedCarrierPNG(b *testing.B) {
	t := &testing.T{}
	label := base64.StdEncoding.EncodeToString(carrierPNG(t, 812, 1218))
	_, url := startFulfilB(b, okAnswer(label))
	clk := newClock()
	db := openDB(t, b.TempDir(), clk)
	defer db.Close()
	st, err := New(db, &Options{Printers: []string{testPrinter},
		Config: Config{Carrier: CarrierConfig{Kind: CarrierHTTP, HTTP: HTTPCarrierConfig{URL: url}}}})
	if err != nil {
		b.Fatal(err)
	}
	benchPlaced(b, st)
}

func startFulfilB(b *testing.B, answer func(w http.ResponseWriter, r *http.Request, attempt int)) (*fulfil, string) {
	f := &fulfil{answer: answer}
	srv := newLoopbackServer(f)
	b.Cleanup(srv.Close)
	return f, srv.URL + "/label"
}
