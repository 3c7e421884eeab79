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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

// TestNothingOverlaps lays out every combination of the optional parts (2-D
// code, package reference, order reference, multi-package, return) on the
// standard sizes: no two elements may cover each other, so text never runs
// into a rule, a barcode or other text. Frames are left out: the return
// badge's frame holds its text by design.
func TestNothingOverlaps(t *testing.T) {
	t.Parallel()
	base := referenceLabel(t)
	codes := []*Code2D{nil, {Type: QR, Data: "https://example.com/t/1"}, {Type: DataMatrix, Data: "DM-1"}}
	checked := 0
	for _, dpi := range []int{203, 300, 600} {
		for _, size := range []string{"4x6", "4x4"} {
			w, h, err := ParseSize(size, dpi)
			if err != nil {
				t.Fatal(err)
			}
			for _, code := range codes {
				for mask := range 8 {
					l := base
					l.Code2D = code
					l.Reference, l.Order, l.Package = "", "", nil
					if mask&1 != 0 {
						l.Reference = "CS123PKG231-LONGER-REFERENCE"
					}
					if mask&2 != 0 {
						l.Order = "SO123456789"
					}
					l.Return = mask&4 != 0
					if mask&3 == 3 {
						l.Package = &Package{Index: 2, Count: 3}
					}
					for _, raster := range []bool{false, true} {
						r, err := (&Options{DPI: dpi, WidthDots: w, HeightDots: h, Date: refDate}).resolve()
						if err != nil {
							t.Fatal(err)
						}
						els, err := layout(&l, r, raster)
						if err != nil {
							t.Fatalf("%d dpi %s code %v mask %d: %v", dpi, size, code, mask, err)
						}
						checked++
						for i := range els {
							for j := i + 1; j < len(els); j++ {
								a, b := &els[i], &els[j]
								if a.kind == frameElem || b.kind == frameElem {
									continue
								}
								if a.rect().Overlaps(b.rect()) {
									t.Errorf("%d dpi %s code %v mask %d raster %v: %q %v overlaps %q %v",
										dpi, size, code, mask, raster, a.text, a.rect(), b.text, b.rect())
								}
							}
						}
					}
				}
			}
		}
	}
	if checked != 3*2*3*8*2 {
		t.Fatalf("checked %d layouts", checked)
	}
}
