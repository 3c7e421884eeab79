package pdfrender_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/pdfrender"
	"github.com/packbench/packbench/pdfrender/pdftest"
)

// needEngine fails (not skips) without pdftoppm: scripts/test installs it.
func needEngine(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Fatal("pdftoppm is not installed: run scripts/test (it installs poppler-utils)")
	}
}

var reText = regexp.MustCompile(`(?m)^Text:\s+"(.*)"$`)

// zxing reads the Code 128 symbols of a bitmap with ZXingReader (Debian's
// zxing-cpp-tools, installed by scripts/test), an outside reader.
func zxing(t testing.TB, bm *labelrender.Bitmap) []string {
	t.Helper()
	bin, err := exec.LookPath("ZXingReader")
	if err != nil {
		t.Fatal("ZXingReader is not installed: run scripts/test (it installs zxing-cpp-tools)")
	}
	data, err := bm.PNG()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "label.png")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-format", "Code128", path).Output()
	if err != nil {
		t.Fatalf("ZXingReader: %v", err)
	}
	var got []string
	for _, m := range reText.FindAllStringSubmatch(string(out), -1) {
		got = append(got, m[1])
	}
	return got
}

func fourBySix() *pdfrender.PDFOptions {
	return &pdfrender.PDFOptions{Options: labelrender.Options{DPI: 203, WidthDots: 812, HeightDots: 1218}}
}

func darkShare(bm *labelrender.Bitmap, r image.Rectangle) float64 {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if bm.Black(x, y) {
				n++
			}
		}
	}
	return float64(n) / float64(r.Dx()*r.Dy())
}

// TestCarrierPDF: a 4x6 label PDF becomes one 812x1218 Z64 label whose
// barcode decodes to the tracking number.
func TestCarrierPDF(t *testing.T) {
	needEngine(t)
	const tracking = "1Z999AA10123456784"
	pdf := pdftest.PDF(pdftest.Label(tracking))
	zpls, err := pdfrender.PDFToZPL(context.Background(), pdf, fourBySix())
	if err != nil {
		t.Fatal(err)
	}
	if len(zpls) != 1 || !bytes.HasPrefix(zpls[0], []byte("^XA")) || !bytes.Contains(zpls[0], []byte(":Z64:")) {
		t.Fatalf("got %d labels, first %.60q: want one Z64 ^GF label", len(zpls), zpls[0])
	}
	bms, err := pdfrender.PDFToBitmaps(context.Background(), pdf, fourBySix())
	if err != nil {
		t.Fatal(err)
	}
	bm := bms[0]
	if bm.Width != 812 || bm.Height != 1218 {
		t.Fatalf("page is %dx%d dots, want 812x1218", bm.Width, bm.Height)
	}
	if want := labelrender.GraphicLabel(bm, labelrender.Z64); !bytes.Equal(zpls[0], want) {
		t.Fatal("PDFToZPL is not the Z64 graphic of PDFToBitmaps' page")
	}
	if got := zxing(t, bm); len(got) != 1 || got[0] != tracking {
		t.Fatalf("barcodes %q, want [%s]", got, tracking)
	}
	// The frame drawn 2 pt inside the page edge is on the label's edge.
	if s := darkShare(bm, image.Rect(0, 600, 16, 620)); s < 0.2 {
		t.Fatalf("left frame edge %.2f dark, want the frame there", s)
	}
}

// TestTwoPages: every page is one label, in order.
func TestTwoPages(t *testing.T) {
	needEngine(t)
	pdf := pdftest.PDF(pdftest.Label("1Z0000000000000001"), pdftest.Label("1Z0000000000000002"))
	bms, err := pdfrender.PDFToBitmaps(context.Background(), pdf, fourBySix())
	if err != nil {
		t.Fatal(err)
	}
	if len(bms) != 2 {
		t.Fatalf("%d labels, want 2", len(bms))
	}
	for i, want := range []string{"1Z0000000000000001", "1Z0000000000000002"} {
		if got := zxing(t, bms[i]); len(got) != 1 || got[0] != want {
			t.Fatalf("page %d: barcodes %q, want [%s]", i+1, got, want)
		}
	}
}

// TestLandscape: a 6x4 page is turned a quarter turn clockwise onto the
// 4x6 label: its top left corner mark ends top right, the barcode reads.
func TestLandscape(t *testing.T) {
	needEngine(t)
	const tracking = "794644790132"
	bms, err := pdfrender.PDFToBitmaps(context.Background(), pdftest.PDF(pdftest.Landscape(tracking)), fourBySix())
	if err != nil {
		t.Fatal(err)
	}
	bm := bms[0]
	if bm.Width != 812 || bm.Height != 1218 {
		t.Fatalf("page is %dx%d dots, want 812x1218", bm.Width, bm.Height)
	}
	// The mark is 36 pt (about 101 dots) square.
	if s := darkShare(bm, image.Rect(812-90, 10, 812-10, 90)); s < 0.95 {
		t.Fatalf("top right %.2f dark: want the page's top left mark there", s)
	}
	if s := darkShare(bm, image.Rect(10, 10, 90, 90)); s > 0.05 {
		t.Fatalf("top left %.2f dark: want it blank", s)
	}
	if got := zxing(t, bm); len(got) != 1 || got[0] != tracking {
		t.Fatalf("barcodes %q, want [%s]", got, tracking)
	}
	// Asked not to turn it, the page is fitted across the label instead.
	o := fourBySix()
	o.Rotate = labelrender.Rotate0
	bms, err = pdfrender.PDFToBitmaps(context.Background(), pdftest.PDF(pdftest.Landscape(tracking)), o)
	if err != nil {
		t.Fatal(err)
	}
	if s := darkShare(bms[0], image.Rect(812-90, 10, 812-10, 90)); s > 0.05 {
		t.Fatalf("Rotate0: top right %.2f dark, want blank", s)
	}
}

// TestPhotoDithered: a page holding a grey photo beside a barcode dithers
// the photo (HalftoneAuto) and keeps the barcode sharp; HalftoneThreshold
// does not dither.
func TestPhotoDithered(t *testing.T) {
	needEngine(t)
	const tracking = "1Z999AA10123456784"
	photo := image.NewGray(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			photo.Pix[y*photo.Stride+x] = uint8(40 + 2*x) // grey changes across, not down
		}
	}
	page := pdftest.Label(tracking)
	page.Photo = photo
	// 144 pt square at the top right: dots 406..812 x 0..406.
	page.Content += "q 144 0 0 144 144 288 cm /Im1 Do Q\n"
	pdf := pdftest.PDF(page)
	bms, err := pdfrender.PDFToBitmaps(context.Background(), pdf, fourBySix())
	if err != nil {
		t.Fatal(err)
	}
	photoArea := image.Rect(420, 20, 790, 390)
	mixed := func(bm *labelrender.Bitmap) int {
		n := 0
		for x := photoArea.Min.X; x < photoArea.Max.X; x++ {
			if s := darkShare(bm, image.Rect(x, photoArea.Min.Y, x+1, photoArea.Max.Y)); s > 0.1 && s < 0.9 {
				n++
			}
		}
		return n
	}
	if n := mixed(bms[0]); n < photoArea.Dx()*9/10 {
		t.Fatalf("auto: %d of %d photo columns mix black and white: want it dithered", n, photoArea.Dx())
	}
	if got := zxing(t, bms[0]); len(got) != 1 || got[0] != tracking {
		t.Fatalf("auto: barcodes %q, want [%s]", got, tracking)
	}
	o := fourBySix()
	o.Halftone = pdfrender.HalftoneThreshold
	th, err := pdfrender.PDFToBitmaps(context.Background(), pdf, o)
	if err != nil {
		t.Fatal(err)
	}
	if n := mixed(th[0]); n > photoArea.Dx()/10 {
		t.Fatalf("threshold: %d photo columns mixed, want a plain threshold", n)
	}
}

// TestRefused: what is not a printable PDF is a clear error, and the
// bounds hold.
func TestRefused(t *testing.T) {
	needEngine(t)
	ctx := context.Background()
	good := pdftest.PDF(pdftest.Label("1Z0000000000000001"))
	three := pdftest.PDF(pdftest.Label("A1"), pdftest.Label("A2"), pdftest.Label("A3"))
	cases := []struct {
		name string
		pdf  []byte
		opts func(*pdfrender.PDFOptions)
		want error
		text string
	}{
		{"not a PDF", []byte("\x89PNG\r\n\x1a\nnot a pdf"), nil, pdfrender.ErrBadPDF, "no %PDF- header"},
		{"garbage after the header", []byte("%PDF-1.4\n" + strings.Repeat("garbage ", 100)), nil, pdfrender.ErrBadPDF, ""},
		{"truncated", good[:len(good)/3], nil, pdfrender.ErrBadPDF, ""},
		{"empty", nil, nil, pdfrender.ErrBadPDF, ""},
		{"too large", good, func(o *pdfrender.PDFOptions) { o.MaxBytes = len(good) - 1 }, pdfrender.ErrTooLarge, ""},
		{"too many pages", three, func(o *pdfrender.PDFOptions) { o.MaxPages = 2 }, pdfrender.ErrTooManyPages, "more than 2"},
		{"engine out of memory", good, func(o *pdfrender.PDFOptions) { o.MaxMemory = 8 << 20 }, pdfrender.ErrBadPDF, ""},
		{"no engine", good, func(o *pdfrender.PDFOptions) { o.Pdftoppm = "/nonexistent/pdftoppm" }, pdfrender.ErrNoEngine, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := fourBySix()
			if c.opts != nil {
				c.opts(o)
			}
			got, err := pdfrender.PDFToZPL(ctx, c.pdf, o)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
				t.Fatalf("got %d labels, err %v; want %v containing %q", len(got), err, c.want, c.text)
			}
		})
	}
	// Exactly MaxPages pages are fine.
	o := fourBySix()
	o.MaxPages = 3
	if got, err := pdfrender.PDFToZPL(ctx, three, o); err != nil || len(got) != 3 {
		t.Fatalf("3 pages with MaxPages 3: %d labels, %v", len(got), err)
	}
}

// TestTimeout: an engine that does not finish is killed at the timeout
// and the PDF refused; a cancelled context is the context's error.
func TestTimeout(t *testing.T) {
	slow := filepath.Join(t.TempDir(), "pdftoppm")
	// An engine that never answers (it ignores its input).
	if err := os.WriteFile(slow, []byte("#!/bin/sh\nexec sleep 600\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	o := fourBySix()
	o.Pdftoppm, o.Timeout = slow, 300*time.Millisecond
	pdf := pdftest.PDF(pdftest.Label("A1"))
	_, err := pdfrender.PDFToZPL(context.Background(), pdf, o)
	if !errors.Is(err, pdfrender.ErrBadPDF) || !strings.Contains(err.Error(), "not rendered within 300ms") {
		t.Fatalf("slow engine: %v, want ErrBadPDF: not rendered within 300ms", err)
	}
	o.Timeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := pdfrender.PDFToZPL(ctx, pdf, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v, want context.Canceled", err)
	}
}

// TestEngineFailures: an engine that dies mid-page is a bad PDF with the
// engine's own complaint; output that is not a PGM is a bad PDF too.
func TestEngineFailures(t *testing.T) {
	dir := t.TempDir()
	pdf := pdftest.PDF(pdftest.Label("A1"))
	for _, c := range []struct{ name, script, want string }{
		{"dies mid-page", "printf 'P5\\n812 1218\\n255\\nabc'; echo 'Syntax Error: boom' >&2; exit 1", "Syntax Error: boom"},
		{"not a PGM", "printf 'P6\\n1 1\\n255\\nabc'", `"P6" is not a PGM`},
		{"page too large", "printf 'P5\\n5000 5000\\n255\\n'", "5000x5000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			engine := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
			if err := os.WriteFile(engine, []byte("#!/bin/sh\n"+c.script+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			o := fourBySix()
			o.Pdftoppm = engine
			_, err := pdfrender.PDFToZPL(context.Background(), pdf, o)
			if !errors.Is(err, pdfrender.ErrBadPDF) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want ErrBadPDF containing %q", err, c.want)
			}
		})
	}
}
