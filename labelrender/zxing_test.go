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

// zxingRead decodes the symbols of one format in an image with ZXingReader
// (Debian's zxing-cpp-tools, installed by scripts/test): the outside reader
// for the symbologies gozxing v0.1.1 cannot read (PDF417, MaxiCode).
func zxingRead(t testing.TB, img image.Image, format string, extra ...string) string {
	t.Helper()
	return zxingReadAll(t, format, [][]byte{pngOf(t, img)}, extra...)[0]
}

// pngOf encodes an image for ZXingReader without image/png's generic
// per-pixel path: our bitmaps with their own 1-bit writer, anything else
// (the independent renderer's greyscale) as 8-bit grey.
func pngOf(t testing.TB, img image.Image) []byte {
	t.Helper()
	if bm, ok := img.(*Bitmap); ok {
		data, err := bm.PNG()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, toGray(img)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zxingReadAll reads many PNGs in one ZXingReader run and returns, for each,
// the content of the symbols found (concatenated, as -bytes prints them; ""
// for none). With several files ZXingReader prints a "File:" line per result
// and the content as hex on a "Bytes:" line, which is exact whatever it holds.
func zxingReadAll(t testing.TB, format string, pngs [][]byte, extra ...string) []string {
	t.Helper()
	bin, err := exec.LookPath("ZXingReader")
	if err != nil {
		t.Fatal("ZXingReader is not installed: run scripts/test (it installs zxing-cpp-tools)")
	}
	dir := t.TempDir()
	args := append([]string{"-format", format}, extra...)
	index := map[string]int{}
	for i, data := range pngs {
		path := filepath.Join(dir, strconv.Itoa(i)+".png")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, path)
		index[path] = i
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		t.Fatalf("ZXingReader -format %s: %v", format, err)
	}
	got := make([][]byte, len(pngs))
	cur := -1
	if len(pngs) == 1 {
		cur = 0 // one file: no "File:" lines
	}
	for _, line := range strings.Split(string(out), "\n") {
		if path, ok := strings.CutPrefix(line, "File:"); ok {
			i, known := index[strings.TrimSpace(path)]
			if !known {
				t.Fatalf("ZXingReader names a file it was not given: %q", line)
			}
			cur = i
			continue
		}
		hex, ok := strings.CutPrefix(line, "Bytes:")
		if !ok {
			continue
		}
		if cur < 0 {
			t.Fatalf("ZXingReader printed content before naming its file:\n%s", out)
		}
		for _, h := range strings.Fields(hex) {
			v, err := strconv.ParseUint(h, 16, 8)
			if err != nil {
				t.Fatalf("ZXingReader bytes %q: %v", line, err)
			}
			got[cur] = append(got[cur], byte(v))
		}
	}
	texts := make([]string, len(got))
	for i, b := range got {
		texts[i] = string(b)
	}
	return texts
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

// pdf417At600 are the payloads TestRasterPDF417Scans also reads at 600 dpi:
// the reference payload (10 rows, indicators repaired) and the longest (24
// rows, the largest symbol). The row count, and so the repair, does not
// depend on the resolution; 203 and 300 dpi read every payload.
var pdf417At600 = map[int]bool{0: true, 6: true}

// TestRasterPDF417Scans: the PDF417 on our PNG labels decodes to exactly its
// input at every resolution. All labels go through one ZXingReader run.
func TestRasterPDF417Scans(t *testing.T) {
	t.Parallel()
	type pdfCase struct {
		name, data string
		dpi        int
		png        []byte
	}
	var cases []*pdfCase
	for _, dpi := range goldenDPIs {
		for i, data := range pdf417Payloads() {
			if dpi == 600 && !pdf417At600[i] {
				continue
			}
			cases = append(cases, &pdfCase{name: strconv.Itoa(dpi) + "/" + strconv.Itoa(i), data: data, dpi: dpi})
		}
	}
	// Render in parallel: the renders are independent and pure.
	t.Run("render", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				l := referenceLabel(t)
				l.Code2D = &Code2D{Type: PDF417, Data: c.data}
				data, err := RenderPNG(l, &Options{DPI: c.dpi, Date: refDate})
				if err != nil {
					t.Fatal(err)
				}
				c.png = data
			})
		}
	})
	if t.Failed() {
		return
	}
	pngs := make([][]byte, len(cases))
	for i, c := range cases {
		pngs[i] = c.png
	}
	got := zxingReadAll(t, "PDF417", pngs)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got[i] != c.data {
				t.Fatalf("PDF417 decodes to %q, want %q", got[i], c.data)
			}
		})
	}
}

// TestInteropNativePDF417AndMaxiCode: our native ^B7 and ^BD symbols, drawn
// by the independent renderer at 203, 300 and 600 dpi, decode to their data.
func TestInteropNativePDF417AndMaxiCode(t *testing.T) {
	pdfData, maxiData := "PDF417 native SO123 CS123PKG231", "SO123 CS123PKG231"
	type dpiCase struct {
		o       *Options
		r       resolved
		maxi    Label
		pdf, mc *zebrashRender
	}
	var cases []dpiCase
	// Queue every render before pausing: node draws them while other tests run.
	for _, dpi := range goldenDPIs {
		o := &Options{DPI: dpi, Date: refDate}
		r, err := o.resolve()
		if err != nil {
			t.Fatal(err)
		}
		l := referenceLabel(t)
		l.Code2D = &Code2D{Type: PDF417, Data: pdfData}
		z, err := RenderZPL(l, o)
		if err != nil {
			t.Fatal(err)
		}
		c := dpiCase{o: o, r: r, pdf: queueZebrash(t, z, r.w, r.h, dpi)}
		c.maxi = referenceLabel(t)
		c.maxi.Code2D = &Code2D{Type: MaxiCode, Data: maxiData}
		if z, err = RenderZPL(c.maxi, o); err != nil {
			t.Fatal(err)
		}
		c.mc = queueZebrash(t, z, r.w, r.h, dpi)
		cases = append(cases, c)
	}
	t.Parallel()
	var pdfs, maxis [][]byte
	for _, c := range cases {
		png, _ := c.pdf.wait(t)
		pdfs = append(pdfs, png) // the renderer's own PNG, as it drew it
		// zxing-cpp reads MaxiCode only from a "pure" image: the symbol alone.
		_, img := c.mc.wait(t)
		m := findElem(elementsOf(t, c.maxi, c.o, false), matrixElem)
		maxis = append(maxis, pngOf(t, crop(img, m.rect(), c.r.scale(6))))
	}
	gotPDF := zxingReadAll(t, "PDF417", pdfs)
	gotMaxi := zxingReadAll(t, "MaxiCode", maxis, "-ispure")
	for i, c := range cases {
		if gotPDF[i] != pdfData {
			t.Errorf("%d dpi: native PDF417 decodes to %q, want %q", c.o.DPI, gotPDF[i], pdfData)
		}
		// MaxiCode's decoded text is the primary message (postal code,
		// country, service class) followed by the secondary data.
		for _, want := range []string{c.maxi.To.Zip, maxiData} {
			if !strings.Contains(gotMaxi[i], want) {
				t.Errorf("%d dpi: MaxiCode decodes to %q, which lacks %q", c.o.DPI, gotMaxi[i], want)
			}
		}
	}
}
