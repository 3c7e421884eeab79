package labelrender

// Interop: our ZPL rendered by an independent renderer (zpl-renderer-js,
// zebrash compiled to WebAssembly, run under node). A render proves nothing
// by itself, so every check decodes or compares pixels.

import (
	"bytes"
	"image"
	"image/draw"
	"image/png"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	multiqr "github.com/makiuchi-d/gozxing/multi/qrcode"
	"github.com/makiuchi-d/gozxing/oned"
)

// band is the full-width horizontal strip around an element: the printer's
// own Code 128 encoding may be a little wider or narrower than ours.
func band(e *element, w, pad int) image.Rectangle {
	return image.Rect(0, e.y-pad, w, e.y+e.h+pad)
}

func TestInteropNativeZPLScans(t *testing.T) {
	for _, dpi := range goldenDPIs {
		for _, bc := range barcodeCases {
			t.Run(strconv.Itoa(dpi)+"/"+bc.name, func(t *testing.T) {
				o := &Options{DPI: dpi, Date: refDate}
				r, _ := o.resolve()
				l := bc.label(t)
				z, err := RenderZPL(l, o)
				if err != nil {
					t.Fatal(err)
				}
				img := renderWithZebrash(t, z, r.w, r.h, dpi)
				els := elementsOf(t, l, o, false)
				lin := findElem(els, linearElem)
				got, err := decodeLinear(crop(img, band(lin, r.w, 0), r.scale(8)))
				if err != nil || got != bc.wantLinear(t) {
					t.Fatalf("tracking barcode: %q, %v; want %q", got, err, bc.wantLinear(t))
				}
				if bc.code2d == nil {
					return
				}
				m := findElem(els, matrixElem)
				// ^BQ sits a few dots lower than ^FO on Zebra printers and here.
				box := image.Rect(m.x, m.y, m.x+m.w, m.y+m.h+r.scale(12))
				got, err = decode2D(crop(img, box, r.scale(10)), bc.code2d.Type)
				if err != nil || got != bc.code2d.Data {
					t.Fatalf("%s: %q, %v; want %q", bc.code2d.Type, got, err, bc.code2d.Data)
				}
			})
		}
	}
}

// TestInteropHostileText renders hostile text natively and checks that the
// label still holds exactly its own barcodes: the tracking number, the QR
// with the hostile text as data, and nothing else anywhere.
func TestInteropHostileText(t *testing.T) {
	for _, s := range []string{"Bob^FS^FO50,400^BQN,2,10^FDQA,pwned", "^XZ~JR^XA^FO0,0^BCN,100^FDEVIL^FS", "_5E_7E\\&\r\n\x00😀"} {
		l := hostileLabel(t, s)
		o := &Options{Date: refDate}
		r, _ := o.resolve()
		z, err := RenderZPL(l, o)
		if err != nil {
			t.Fatal(err)
		}
		img := renderWithZebrash(t, z, r.w, r.h, 203)
		els := elementsOf(t, l, o, false)
		lin, m := findElem(els, linearElem), findElem(els, matrixElem)
		if got, err := decodeLinear(crop(img, band(lin, r.w, 0), 8)); err != nil || got != l.TrackingNumber {
			t.Fatalf("%q: tracking %q, %v", s, got, err)
		}
		qrBox := image.Rect(m.x, m.y, m.x+m.w, m.y+m.h+12)
		if got, err := decode2D(crop(img, qrBox, 10), QR); err != nil || got != l.Code2D.Data {
			t.Fatalf("%q: QR %q, %v; want %q", s, got, err, l.Code2D.Data)
		}
		// Paint out our two symbols; nothing scannable may remain.
		rest := image.NewGray(img.Bounds())
		draw.Draw(rest, rest.Bounds(), img, image.Point{}, draw.Src)
		for _, rr := range []image.Rectangle{band(lin, r.w, 8), qrBox.Inset(-10)} {
			draw.Draw(rest, rr, image.White, image.Point{}, draw.Src)
		}
		assertNoBarcode(t, s, rest)
	}
}

func assertNoBarcode(t *testing.T, what string, img image.Image) {
	t.Helper()
	if kind, text := anyBarcode(t, img); kind != "" {
		t.Fatalf("%q: an extra %s %q was printed", what, kind, text)
	}
}

// anyBarcode looks for a QR code, a Code 128 or a DataMatrix anywhere.
func anyBarcode(t *testing.T, img image.Image) (kind, text string) {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	if res, err := multiqr.NewQRCodeMultiReader().DecodeMultiple(bmp, hints); err == nil && len(res) > 0 {
		return "QR code", res[0].GetText()
	}
	if res, err := oned.NewCode128Reader().Decode(bmp, hints); err == nil {
		return "Code 128", res.GetText()
	}
	if res, err := datamatrix.NewDataMatrixReader().Decode(bmp, hints); err == nil {
		return "DataMatrix", res.GetText()
	}
	return "", ""
}

// TestInteropGraphicPixelIdentical: our Z64 and ACS ^GF fields render, in
// the independent renderer, to exactly the bitmap we encoded.
func TestInteropGraphicPixelIdentical(t *testing.T) {
	l := referenceLabel(t)
	rng := rand.New(rand.NewPCG(7, 9))
	for _, dpi := range []int{203, 300} {
		bm, err := RenderImage(l, &Options{DPI: dpi, Date: refDate})
		if err != nil {
			t.Fatal(err)
		}
		// Noise stresses the encoders more than a tidy label does.
		for range 300 {
			x, y := rng.IntN(bm.Width), rng.IntN(bm.Height)
			bm.Set(x, y, !bm.Black(x, y))
		}
		for _, enc := range []Encoding{Z64, ACS} {
			t.Run(strconv.Itoa(dpi)+"/"+enc.String(), func(t *testing.T) {
				img := renderWithZebrash(t, GraphicLabel(bm, enc), bm.Width, bm.Height, dpi)
				assertSamePixels(t, img, bm)
			})
		}
	}
}

func assertSamePixels(t *testing.T, img image.Image, bm *Bitmap) {
	t.Helper()
	diff := 0
	first := image.Point{-1, -1}
	for y := 0; y < bm.Height; y++ {
		for x := 0; x < bm.Width; x++ {
			if darkAt(img, x, y) != bm.Black(x, y) {
				if diff == 0 {
					first = image.Pt(x, y)
				}
				diff++
			}
		}
	}
	if diff != 0 {
		t.Fatalf("%d pixels differ from the source bitmap (first at %v)", diff, first)
	}
}

// carrierPNG is the stand-in for a carrier's label in testdata/.
const carrierPNG = "carrier-4x6-203.png"

// TestInteropCarrierPNG converts a carrier's label PNG (here: an independent
// render of a native label, 8-bit grey as carriers send) into a ^GF label
// and checks the printer would print exactly the thresholded source, with
// its barcodes still scanning.
func TestInteropCarrierPNG(t *testing.T) {
	l := referenceLabel(t)
	o := &Options{Date: refDate}
	z, err := RenderZPL(l, o)
	if err != nil {
		t.Fatal(err)
	}
	carrier := renderWithZebrash(t, z, 812, 1218, 203)
	var buf bytes.Buffer
	if err := png.Encode(&buf, carrier); err != nil {
		t.Fatal(err)
	}
	// The benchmarks use this render as their carrier PNG (-update refreshes it).
	if *update {
		checkGolden(t, carrierPNG, buf.Bytes())
	}
	want := thresholdGray(toGray(carrier), 128)
	for _, enc := range []Encoding{Z64, ACS} {
		doc, err := PNGToZPL(buf.Bytes(), &ImageOptions{Encoding: enc})
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckZPL(doc, nil); err != nil {
			t.Fatal(err)
		}
		img := renderWithZebrash(t, doc, 812, 1218, 203)
		assertSamePixels(t, img, want)
		lin := findElem(elementsOf(t, l, o, false), linearElem)
		if got, err := decodeLinear(crop(img, band(lin, 812, 0), 8)); err != nil || got != l.TrackingNumber {
			t.Fatalf("%v: tracking after conversion: %q, %v", enc, got, err)
		}
	}
}

// TestInteropLongTextStaysInside: with text far too long for its boxes, the
// independent renderer prints nothing in the outer margin of the label.
func TestInteropLongTextStaysInside(t *testing.T) {
	l := referenceLabel(t)
	l.To.Name = strings.Repeat("WWWWWWWWWW MMMMMMMMMM ", 20)
	l.To.Street1 = strings.Repeat("W", 500)
	l.From.Company = strings.Repeat("Wide Wide Wide ", 30)
	l.Carrier = strings.Repeat("W", 100)
	l.Service = strings.Repeat("MW", 100)
	l.Reference = strings.Repeat("W", 300)
	for _, dpi := range []int{203, 300} {
		o := &Options{DPI: dpi, Date: refDate}
		r, _ := o.resolve()
		z, err := RenderZPL(l, o)
		if err != nil {
			t.Fatal(err)
		}
		img := renderWithZebrash(t, z, r.w, r.h, dpi)
		edge := r.scale(16) / 2
		for y := 0; y < r.h; y++ {
			for x := 0; x < r.w; x++ {
				if (x < edge || y < edge || x >= r.w-edge || y >= r.h-edge) && darkAt(img, x, y) {
					t.Fatalf("%d dpi: ink at %d,%d in the margin", dpi, x, y)
				}
			}
		}
	}
}

// TestRasterHostileTextNoExtraBarcode: in the PNG, hostile text is only
// glyphs: our two symbols scan and nothing else does.
func TestRasterHostileTextNoExtraBarcode(t *testing.T) {
	for _, s := range []string{"Bob^FS^FO50,400^BQN,2,10^FDQA,pwned", "_5E_7E\\&\r\n\x00😀"} {
		l := hostileLabel(t, s)
		o := &Options{Date: refDate}
		bm, err := RenderImage(l, o)
		if err != nil {
			t.Fatal(err)
		}
		els := elementsOf(t, l, o, true)
		lin, m := findElem(els, linearElem), findElem(els, matrixElem)
		if got, err := decode2D(crop(bm.Paletted(), m.rect(), 4*m.module), QR); err != nil || got != l.Code2D.Data {
			t.Fatalf("%q: QR %q, %v", s, got, err)
		}
		rest := image.NewGray(bm.Bounds())
		draw.Draw(rest, rest.Bounds(), bm, image.Point{}, draw.Src)
		// Control: the search does find our symbols before they are painted out.
		draw.Draw(rest, band(lin, bm.Width, 8), image.White, image.Point{}, draw.Src)
		if kind, _ := anyBarcode(t, rest); kind != "QR code" {
			t.Fatalf("control: the QR code was not found (%q)", kind)
		}
		for _, rr := range []image.Rectangle{band(lin, bm.Width, 8), m.rect().Inset(-8)} {
			draw.Draw(rest, rr, image.White, image.Point{}, draw.Src)
		}
		assertNoBarcode(t, s, rest)
	}
}
