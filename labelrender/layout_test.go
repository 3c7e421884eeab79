package labelrender

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/boombuler/barcode/qr"
)

// TestQRSizeBound: the byte-mode bound used for layout is never smaller
// than what the encoder produces, and equal for byte-mode data.
func TestQRSizeBound(t *testing.T) {
	for _, n := range []int{1, 14, 15, 40, 100, 213, 214, 500, 1000} {
		for _, data := range []string{strings.Repeat("a", n), strings.Repeat("7", n), strings.Repeat("é", n/2+1)} {
			sym, err := qr.Encode(data, qr.M, qr.Auto)
			if err != nil {
				t.Fatal(err)
			}
			bound := qrModulesM(len(data))
			if got := sym.Bounds().Dx(); got > bound {
				t.Fatalf("%d bytes: encoder %d modules > bound %d", len(data), got, bound)
			}
			if data[0] == 'a' && sym.Bounds().Dx() != bound {
				t.Fatalf("%d byte-mode bytes: encoder %d modules, bound %d", n, sym.Bounds().Dx(), bound)
			}
		}
	}
}

// TestEverySizeStaysInside lays the reference label (and a long-text,
// every-option variant) out on many sizes and resolutions: each either fits,
// with every element inside the printable area, or fails with ErrNoRoom.
func TestEverySizeStaysInside(t *testing.T) {
	long := referenceLabel(t)
	long.To.Name = strings.Repeat("Long Name ", 50)
	long.From.Street1 = strings.Repeat("Street ", 70)
	long.Service = strings.Repeat("Service ", 60)
	long.Return = true
	long.Code2D = &Code2D{Type: PDF417, Data: strings.Repeat("pdf417 ", 40)}
	labels := []Label{referenceLabel(t), long}
	fitted := 0
	for _, dpi := range []int{152, 203, 300, 600} {
		for _, w := range []float64{2, 3, 4, 4.5} {
			for _, h := range []float64{2, 3, 4, 5, 6, 8} {
				for i, l := range labels {
					wd, hd := SizeDots(dpi, w, h)
					o := &Options{DPI: dpi, WidthDots: wd, HeightDots: hd, Date: refDate}
					r, err := o.resolve()
					if err != nil {
						t.Fatal(err)
					}
					for _, raster := range []bool{false, true} {
						els, err := layout(&l, r, raster)
						if err != nil {
							if !errors.Is(err, ErrNoRoom) {
								t.Fatalf("%d dpi %gx%g label %d: %v", dpi, w, h, i, err)
							}
							continue
						}
						fitted++
						m := r.scale(16)
						for _, e := range els {
							if e.x < m || e.y < m || e.x+e.w > wd-m || e.y+e.h > hd-m+1 || e.w < 0 || e.h < 0 {
								t.Fatalf("%d dpi %gx%g label %d: element %v (%d) outside %dx%d", dpi, w, h, i, e.rect(), e.kind, wd, hd)
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d layouts fitted", fitted)
	if fitted < 100 {
		t.Fatalf("only %d layouts fitted", fitted)
	}
}

// TestConcurrentRendering: the package holds no mutable state; renders in
// parallel give identical output (run with -race).
func TestConcurrentRendering(t *testing.T) {
	l := referenceLabel(t)
	o := &Options{Date: refDate}
	want, err := RenderPNG(l, o)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			got, err := RenderPNG(l, o)
			if err == nil && !bytes.Equal(got, want) {
				err = errors.New("concurrent render differs")
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
