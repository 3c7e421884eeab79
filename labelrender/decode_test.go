package labelrender

import (
	"bytes"
	"image"
	"image/png"
	"strconv"
	"testing"
)

// barcodeCase is a label variant whose barcodes must scan back exactly.
type barcodeCase struct {
	name     string
	barcode  BarcodeType
	tracking string
	code2d   *Code2D
}

var barcodeCases = []barcodeCase{
	{"usps-qr", Code128, "9400111899223197428490", &Code2D{Type: QR, Data: "https://example.com/t/9400111899223197428490"}},
	{"ups-utf8-qr", Code128, "1Z999AA10123456784", &Code2D{Type: QR, Data: "Zürich → 東京 😀 ^FS~JR_"}},
	{"sscc-datamatrix", GS1128, "(00)340123450000000000", &Code2D{Type: DataMatrix, Data: "SO123/CS123PKG231"}},
	{"impb-gs1-variable", GS1128, "(420)10019(92)612345678901234567890", &Code2D{Type: DataMatrix, Data: "^XA^FDpwned^FS^XZ"}},
	{"dhl-dash", Code128, "JD-0146-0000-1234-5678", nil},
}

func (bc barcodeCase) label(t testing.TB) Label {
	l := referenceLabel(t)
	l.Barcode, l.TrackingNumber, l.Code2D = bc.barcode, bc.tracking, bc.code2d
	return l
}

func (bc barcodeCase) wantLinear(t testing.TB) string {
	if bc.barcode == GS1128 {
		return gs1Decoded(t, bc.tracking)
	}
	return bc.tracking
}

// at600 are the barcode cases also checked at 600 dpi, where every label
// costs seconds under -race: together every symbology (Code 128, GS1-128,
// QR, DataMatrix) and both layouts (with and without a 2-D code). The others
// vary only the data, which does not depend on the resolution; 203 and
// 300 dpi check every case.
var at600 = map[string]bool{"usps-qr": true, "impb-gs1-variable": true, "dhl-dash": true}

// pngDecodedAt600 is the one case per label size whose 600 dpi PNG is
// decoded whole with image/png: its 1-bit path costs seconds per 600 dpi
// label under -race, and TestBitmapPNG proves our writer exact for any
// bitmap. The other 600 dpi cases scan the bitmap the PNG is written from
// and check the PNG's header.
const pngDecodedAt600 = "usps-qr"

// TestRasterBarcodesScan decodes every barcode of the rendered labels with
// gozxing at 203, 300 and 600 dpi, on 4×6 and 4×4 labels.
func TestRasterBarcodesScan(t *testing.T) {
	t.Parallel()
	for _, dpi := range goldenDPIs {
		for _, size := range [][2]float64{{4, 6}, {4, 4}} {
			for _, bc := range barcodeCases {
				if dpi == 600 && !at600[bc.name] {
					continue
				}
				name := strconv.Itoa(dpi) + "/" + strconv.FormatFloat(size[1], 'f', -1, 64) + "/" + bc.name
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					w, h := SizeDots(dpi, size[0], size[1])
					o := &Options{DPI: dpi, WidthDots: w, HeightDots: h, Date: refDate}
					l := bc.label(t)
					var img image.Image
					if dpi != 600 || bc.name == pngDecodedAt600 {
						data, err := RenderPNG(l, o)
						if err != nil {
							t.Fatal(err)
						}
						if img, err = png.Decode(bytes.NewReader(data)); err != nil {
							t.Fatal(err)
						}
						if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
							t.Fatalf("PNG is %v, want %dx%d", b, w, h)
						}
					} else {
						bm, err := RenderImage(l, o)
						if err != nil {
							t.Fatal(err)
						}
						data, err := bm.PNG()
						if err != nil {
							t.Fatal(err)
						}
						cfg, err := png.DecodeConfig(bytes.NewReader(data))
						if err != nil {
							t.Fatal(err)
						}
						if cfg.Width != w || cfg.Height != h {
							t.Fatalf("PNG is %dx%d, want %dx%d", cfg.Width, cfg.Height, w, h)
						}
						img = bm
					}
					els := elementsOf(t, l, o, true)
					lin := findElem(els, linearElem)
					got, err := decodeLinear(crop(img, lin.rect(), 12*lin.module))
					if err != nil || got != bc.wantLinear(t) {
						t.Fatalf("tracking barcode: %q, %v; want %q", got, err, bc.wantLinear(t))
					}
					if bc.code2d == nil {
						return
					}
					m := findElem(els, matrixElem)
					got, err = decode2D(crop(img, m.rect(), 4*m.module), bc.code2d.Type)
					if err != nil || got != bc.code2d.Data {
						t.Fatalf("%s: %q, %v; want %q", bc.code2d.Type, got, err, bc.code2d.Data)
					}
				})
			}
		}
	}
}

// TestRasterPDF417Placement: gozxing v0.1.1 has no PDF417 reader, so the
// raster symbol is compared module by module with the encoder's symbol.
// (Checked by hand with ZXingReader from zxing-cpp-tools: 140 of 140 random
// payloads at 203/300/600 dpi scan, 101 of them with repaired row
// indicators; without the repair those do not scan.)
func TestRasterPDF417Placement(t *testing.T) {
	t.Parallel()
	l := referenceLabel(t)
	l.Code2D = &Code2D{Type: PDF417, Data: "PDF417 payload: SO123 CS123PKG231"}
	for _, dpi := range goldenDPIs {
		o := &Options{DPI: dpi, Date: refDate}
		bm, err := RenderImage(l, o)
		if err != nil {
			t.Fatal(err)
		}
		e := findElem(elementsOf(t, l, o, true), matrixElem)
		b := e.symbol.Bounds()

		rowH := pdf417RowModules * e.module
		for row := 0; row < e.rows; row++ {
			for m := 0; m < b.Dx(); m++ {
				// Sample the centre of each module.
				x, y := e.x+m*e.module+e.module/2, e.y+row*rowH+rowH/2
				if bm.Black(x, y) != isDark(e.symbol, m, 2*row) {
					t.Fatalf("%d dpi: module %d of row %d differs", dpi, m, row)
				}
			}
		}
		if !image.Rect(0, 0, bm.Width, bm.Height).Inset(o.DPI / 20).Intersect(e.rect()).Eq(e.rect()) {
			t.Fatalf("PDF417 %v leaves the printable area", e.rect())
		}
	}
}

// TestPDF417IndicatorDonors: every row count boombuler gets wrong (not a
// multiple of three; it makes 2 to 30 rows) has a donor whose cluster-0 left
// indicators are right, and the donor's row count is the one the formula needs.
func TestPDF417IndicatorDonors(t *testing.T) {
	for rows := 2; rows <= 30; rows++ {
		if rows%3 == 0 {
			continue
		}
		d := pdf417IndicatorDonor(rows)
		if d == nil {
			t.Fatalf("no donor for %d rows", rows)
		}
		if dr := d.Bounds().Dy() / 2; dr < rows || (dr-3)/3 != (rows-1)/3 {
			t.Fatalf("donor for %d rows has %d rows", rows, dr)
		}
	}
}
