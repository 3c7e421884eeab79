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

// TestInteropNativeZPLScans: our native labels, drawn by the independent
// renderer, scan: every barcode case at 203 and 300 dpi, the at600 cases at
// 600 dpi (a 600 dpi label takes zpl-renderer-js seconds).
func TestInteropNativeZPLScans(t *testing.T) {
	type nativeCase struct {
		name   string
		bc     barcodeCase
		o      *Options
		r      resolved
		l      Label
		render *zebrashRender
	}
	var cases []nativeCase
	// Queue every render before pausing: node draws them while other tests run.
	for _, dpi := range goldenDPIs {
		for _, bc := range barcodeCases {
			if dpi == 600 && !at600[bc.name] {
				continue
			}
			o := &Options{DPI: dpi, Date: refDate}
			r, err := o.resolve()
			if err != nil {
				t.Fatal(err)
			}
			l := bc.label(t)
			z, err := RenderZPL(l, o)
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, nativeCase{strconv.Itoa(dpi) + "/" + bc.name, bc, o, r, l, queueZebrash(t, z, r.w, r.h, dpi)})
		}
	}
	t.Parallel()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bc, r := c.bc, c.r
			_, img := c.render.wait(t)
			els := elementsOf(t, c.l, c.o, false)
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

// TestInteropHostileText renders hostile text natively and checks that the
// label still holds exactly its own barcodes: the tracking number, the QR
// with the hostile text as data, and nothing else anywhere.
func TestInteropHostileText(t *testing.T) {
	o := &Options{Date: refDate}
	r, _ := o.resolve()
	texts := []string{"Bob^FS^FO50,400^BQN,2,10^FDQA,pwned", "^XZ~JR^XA^FO0,0^BCN,100^FDEVIL^FS", "_5E_7E\\&\r\n\x00😀"}
	var labels []Label
	var renders []*zebrashRender
	for _, s := range texts {
		l := hostileLabel(t, s)
		z, err := RenderZPL(l, o)
		if err != nil {
			t.Fatal(err)
		}
		labels = append(labels, l)
		renders = append(renders, queueZebrash(t, z, r.w, r.h, 203))
	}
	t.Parallel()
	for i, l := range labels {
		s := texts[i]
		_, img := renders[i].wait(t)
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
		rest := toGray(img)
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
	type gfCase struct {
		name   string
		bm     *Bitmap
		render *zebrashRender
	}
	var cases []gfCase
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
			cases = append(cases, gfCase{strconv.Itoa(dpi) + "/" + enc.String(), bm, queueZebrash(t, GraphicLabel(bm, enc), bm.Width, bm.Height, dpi)})
		}
	}
	t.Parallel()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, img := c.render.wait(t)
			assertSamePixels(t, img, c.bm)
		})
	}
}

// inkOf thresholds an image exactly as darkAt does, with a fast path for the
// independent renderer's *image.Gray (grey y is dark when y < 0x80).
func inkOf(img image.Image) *Bitmap {
	b := img.Bounds()
	bm := NewBitmap(b.Dx(), b.Dy())
	if g, ok := img.(*image.Gray); ok {
		for y := 0; y < bm.Height; y++ {
			row := g.Pix[g.PixOffset(b.Min.X, b.Min.Y+y):][:bm.Width]
			bits := bm.Bits[y*bm.Stride:]
			for x, v := range row {
				if v < 0x80 {
					bits[x>>3] |= 0x80 >> (x & 7)
				}
			}
		}
		return bm
	}
	for y := 0; y < bm.Height; y++ {
		for x := 0; x < bm.Width; x++ {
			bm.Set(x, y, darkAt(img, b.Min.X+x, b.Min.Y+y))
		}
	}
	return bm
}

func assertSamePixels(t *testing.T, img image.Image, bm *Bitmap) {
	t.Helper()
	ink := inkOf(img)
	if ink.Width != bm.Width || ink.Height != bm.Height {
		t.Fatalf("image is %dx%d, bitmap %dx%d", ink.Width, ink.Height, bm.Width, bm.Height)
	}
	if bytes.Equal(ink.Bits, bm.Bits) {
		return // the bits past the width are clear in both
	}
	diff := 0
	first := image.Point{-1, -1}
	for y := 0; y < bm.Height; y++ {
		for x := 0; x < bm.Width; x++ {
			if ink.Black(x, y) != bm.Black(x, y) {
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
	t.Fatal("the bitmaps differ past their width") // cannot happen: both are built clear
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
	first := queueZebrash(t, z, 812, 1218, 203)
	t.Parallel()
	_, carrier := first.wait(t)
	var buf bytes.Buffer
	if err := png.Encode(&buf, carrier); err != nil {
		t.Fatal(err)
	}
	// The benchmarks use this render as their carrier PNG (-update refreshes it).
	if *update {
		checkGolden(t, carrierPNG, buf.Bytes())
	}
	want := thresholdGray(toGray(carrier), 128)
	encs := []Encoding{Z64, ACS}
	renders := make([]*zebrashRender, len(encs))
	for i, enc := range encs {
		doc, err := PNGToZPL(buf.Bytes(), &ImageOptions{Encoding: enc})
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckZPL(doc, nil); err != nil {
			t.Fatal(err)
		}
		renders[i] = queueZebrash(t, doc, 812, 1218, 203)
	}
	lin := findElem(elementsOf(t, l, o, false), linearElem)
	for i, enc := range encs {
		_, img := renders[i].wait(t)
		assertSamePixels(t, img, want)
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
	dpis := []int{203, 300}
	renders := make([]*zebrashRender, len(dpis))
	for i, dpi := range dpis {
		o := &Options{DPI: dpi, Date: refDate}
		r, _ := o.resolve()
		z, err := RenderZPL(l, o)
		if err != nil {
			t.Fatal(err)
		}
		renders[i] = queueZebrash(t, z, r.w, r.h, dpi)
	}
	t.Parallel()
	for i, dpi := range dpis {
		r, _ := (&Options{DPI: dpi, Date: refDate}).resolve()
		_, img := renders[i].wait(t)
		ink := inkOf(img)
		edge := r.scale(16) / 2
		for y := 0; y < r.h; y++ {
			for x := 0; x < r.w; x++ {
				if (x < edge || y < edge || x >= r.w-edge || y >= r.h-edge) && ink.Black(x, y) {
					t.Fatalf("%d dpi: ink at %d,%d in the margin", dpi, x, y)
				}
			}
		}
	}
}

// TestRasterHostileTextNoExtraBarcode: in the PNG, hostile text is only
// glyphs: our two symbols scan and nothing else does.
func TestRasterHostileTextNoExtraBarcode(t *testing.T) {
	t.Parallel()
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
