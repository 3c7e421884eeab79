package pdfrender_test

import (
	"context"
	"image"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/packbench/packbench/pdfrender"
	"github.com/packbench/packbench/pdfrender/pdftest"
)

// benchPDF converts pdf b.N times and reports the p50 and p99 of one
// conversion (engine start included), per page, and the engine's peak RSS
// (the largest child this test binary has waited for: only pdftoppm).
func benchPDF(b *testing.B, pdf []byte, pages int) {
	needEngine(b)
	ctx := context.Background()
	ds := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		zpls, err := pdfrender.PDFToZPL(ctx, pdf, fourBySix())
		if err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
		if len(zpls) != pages {
			b.Fatalf("%d labels, want %d", len(zpls), pages)
		}
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(ds[len(ds)/2]), "p50-ms")
	b.ReportMetric(ms(ds[len(ds)*99/100]), "p99-ms")
	b.ReportMetric(ms(ds[len(ds)/2])/float64(pages), "p50-ms/page")
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "engine-peak-MB")
	}
}

// BenchmarkPDFPageToZ64: one 4x6 carrier label page (vector text and a
// Code 128) → one Z64 ^GF label at 203 dpi, pdftoppm started each time.
func BenchmarkPDFPageToZ64(b *testing.B) {
	benchPDF(b, pdftest.PDF(pdftest.Label("1Z999AA10123456784")), 1)
}

// BenchmarkPDFPhotoPageToZ64: the same page with a greyscale photo, so
// part of it is dithered.
func BenchmarkPDFPhotoPageToZ64(b *testing.B) {
	photo := image.NewGray(image.Rect(0, 0, 256, 256))
	for i := range photo.Pix {
		photo.Pix[i] = uint8(i*7 + i/256)
	}
	page := pdftest.Label("1Z999AA10123456784")
	page.Photo = photo
	page.Content += "q 144 0 0 144 144 288 cm /Im1 Do Q\n"
	benchPDF(b, pdftest.PDF(page), 1)
}

// BenchmarkPDF10PagesToZ64: ten label pages in one document, one engine
// start for all.
func BenchmarkPDF10PagesToZ64(b *testing.B) {
	var pages []pdftest.Page
	for range 10 {
		pages = append(pages, pdftest.Label("1Z999AA10123456784"))
	}
	benchPDF(b, pdftest.PDF(pages...), 10)
}
