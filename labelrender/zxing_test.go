package labelrender

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// zxingRead decodes the symbols of one format in a PNG with ZXingReader
// (Debian's zxing-cpp-tools, installed by scripts/test): the outside reader
// for the symbologies gozxing v0.1.1 cannot read (PDF417, MaxiCode).
func zxingRead(t testing.TB, img image.Image, format string, extra ...string) string {
	t.Helper()
	bin, err := exec.LookPath("ZXingReader")
	if err != nil {
		t.Fatal("ZXingReader is not installed: run scripts/test (it installs zxing-cpp-tools)")
	}
	path := filepath.Join(t.TempDir(), "label.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// -bytes prints exactly the symbol's content, nothing else.
	args := append([]string{"-format", format, "-bytes"}, extra...)
	out, err := exec.CommandContext(ctx, bin, append(args, path)...).Output()
	if err != nil {
		t.Fatalf("ZXingReader -format %s: %v", format, err)
	}
	return string(out)
}

// pdf417Payloads are payloads of many lengths, so the symbols cover row
// counts boombuler gets right and the ones whose row indicators we repair.
func pdf417Payloads() []string {
	rng := rand.New(rand.NewPCG(2026, 11))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .,:-/"
	payloads := []string{"PDF417 payload: SO123 CS123PKG231"}
	for _, n := range []int{5, 17, 40, 77, 120, 190} {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		payloads = append(payloads, string(b))
	}
	return payloads
}

// TestRasterPDF417Scans: the PDF417 on our PNG labels decodes to exactly its
// input at every resolution.
func TestRasterPDF417Scans(t *testing.T) {
	l := referenceLabel(t)
	for _, dpi := range goldenDPIs {
		for i, data := range pdf417Payloads() {
			t.Run(strconv.Itoa(dpi)+"/"+strconv.Itoa(i), func(t *testing.T) {
				l.Code2D = &Code2D{Type: PDF417, Data: data}
				bm, err := RenderImage(l, &Options{DPI: dpi, Date: refDate})
				if err != nil {
					t.Fatal(err)
				}
				if got := zxingRead(t, bm, "PDF417"); got != data {
					t.Fatalf("PDF417 decodes to %q, want %q", got, data)
				}
			})
		}
	}
}

// TestInteropNativePDF417AndMaxiCode: our native ^B7 and ^BD symbols, drawn
// by the independent renderer, decode to their data.
func TestInteropNativePDF417AndMaxiCode(t *testing.T) {
	l := referenceLabel(t)
	for _, dpi := range goldenDPIs {
		o := &Options{DPI: dpi, Date: refDate}
		r, err := o.resolve()
		if err != nil {
			t.Fatal(err)
		}
		l.Code2D = &Code2D{Type: PDF417, Data: "PDF417 native SO123 CS123PKG231"}
		z, err := RenderZPL(l, o)
		if err != nil {
			t.Fatal(err)
		}
		if got := zxingRead(t, renderWithZebrash(t, z, r.w, r.h, dpi), "PDF417"); got != l.Code2D.Data {
			t.Fatalf("%d dpi: native PDF417 decodes to %q, want %q", dpi, got, l.Code2D.Data)
		}
		// MaxiCode's decoded text is the primary message (postal code,
		// country, service class) followed by the secondary data.
		l.Code2D = &Code2D{Type: MaxiCode, Data: "SO123 CS123PKG231"}
		z, err = RenderZPL(l, o)
		if err != nil {
			t.Fatal(err)
		}
		// zxing-cpp reads MaxiCode only from a "pure" image: the symbol alone.
		m := findElem(elementsOf(t, l, o, false), matrixElem)
		img := renderWithZebrash(t, z, r.w, r.h, dpi)
		got := zxingRead(t, crop(img, m.rect(), r.scale(6)), "MaxiCode", "-ispure")
		for _, want := range []string{l.To.Zip, l.Code2D.Data} {
			if !strings.Contains(got, want) {
				t.Fatalf("%d dpi: MaxiCode decodes to %q, which lacks %q", dpi, got, want)
			}
		}
	}
}
