package station

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/packbench/packbench/queue"
)

// BenchmarkFulfilLabel is the station's share of POST /label: a new
// reference per call (one package, ZPL), with the order, the number, the
// label and the print job committed; no HTTP, no printer. Run with -cpu to
// vary the concurrent callers.
func BenchmarkFulfilLabel(b *testing.B) {
	db, err := queue.Open(filepath.Join(b.TempDir(), "packbench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	st, err := New(db, &Options{Config: fulfilConfig(), Printers: []string{testPrinter}})
	if err != nil {
		b.Fatal(err)
	}
	req := seedLabelRequest(b)
	req.Options.LabelType = FulfilZPL
	req.Packages = req.Packages[:1]
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		r := req
		r.Packages = []FulfilPackage{req.Packages[0]}
		for pb.Next() {
			r.Packages[0].Reference = fmt.Sprintf("BENCH-%d", n.Add(1))
			if _, err := st.FulfilLabel(context.Background(), r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "labels/s")
}
