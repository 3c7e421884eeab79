package scale_test

import (
	"context"
	"testing"
	"time"

	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/scale/scaletest"
)

func benchParse(b *testing.B, in []byte, parse func([]byte) (scale.Reading, error)) {
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseHIDReport(b *testing.B) {
	benchParse(b, hexb("03 04 0b ff 4e 00"), scale.ParseHIDReport)
}

func BenchmarkParseMTSICS(b *testing.B) {
	benchParse(b, []byte("S S     100.00 g\r\n"), scale.ParseMTSICS)
}

func BenchmarkParseNCI(b *testing.B) {
	benchParse(b, []byte("\n0001.25lb\r\n00\r\x03"), scale.ParseNCI)
}

func BenchmarkParseToledo(b *testing.B) {
	benchParse(b, []byte("\x02001.25\r"), parseToledoLb)
}

func BenchmarkParseToledoContinuous(b *testing.B) {
	benchParse(b, toledoFrame, parseToledoCont)
}

// BenchmarkFilterFeed is the filter's reading → decision latency: one Feed
// per op over a realistic stream (place, bounce, settle, remove, repeated).
func BenchmarkFilterFeed(b *testing.B) {
	sc := mustScript(b, "place 1200g; bounce; settle; remove")
	rs := sc.Readings(t0, 20*time.Millisecond)
	period := sc.Duration()
	f := mustFilter(b, nil)
	placed := 0
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := rs[i%len(rs)]
		r.Time = r.Time.Add(time.Duration(i/len(rs)) * period)
		if f.Feed(r).Kind == scale.EventPlaced {
			placed++
		}
		i++
	}
	if i >= len(rs) && placed != i/len(rs) && placed != i/len(rs)+1 {
		b.Fatalf("%d placed over %d cycles", placed, i/len(rs))
	}
}

// BenchmarkHIDReportToDecision is the whole path for one report: written
// into the (socketpair) hidraw device, read by the driver's goroutine,
// handed to Next, parsed, and decided by the filter.
func BenchmarkHIDReportToDecision(b *testing.B) {
	bench, err := scaletest.NewHIDBench(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	dev, err := bench.Plug(0, scaletest.ScaleDescriptor, "bench")
	if err != nil {
		b.Fatal(err)
	}
	open, err := scale.NewOpener(scale.Config{}, &scale.Options{SysfsRoot: bench.Sysfs, DevRoot: bench.Dev, OpenHID: bench.Open})
	if err != nil {
		b.Fatal(err)
	}
	c, err := open(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	f := mustFilter(b, &scale.FilterOptions{Settle: scale.Duration(time.Nanosecond)})
	ctx := context.Background()
	reports := [][]byte{hexb("03 04 02 00 6e 03"), hexb("03 02 02 00 00 00")} // 878 g, zero
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := dev.Send(reports[i%2]); err != nil {
			b.Fatal(err)
		}
		r, err := c.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		f.Feed(r)
		i++
	}
}
