// Package pdftest writes small, valid PDFs for tests and benchmarks: pages
// of vector text and Code 128 bars, as carriers' label PDFs are, and
// optionally a greyscale photo. It is written by hand (objects, xref,
// trailer) so the tests depend on no PDF library.
package pdftest

import (
	"bytes"
	"fmt"
	"image"
	"strings"

	"github.com/boombuler/barcode/code128"
)

// Points per inch: PDF page sizes are in points.
const Inch = 72

// Page is one page of a PDF.
type Page struct {
	Width, Height float64 // in points (a 4x6 label is 288 x 432)
	Content       string  // the content stream; font /F1 is Helvetica, image /Im1 is Photo
	Photo         *image.Gray
}

// Bars returns content that draws s as Code 128 at (x, y) (bottom left, in
// points), each module module points wide, height tall.
func Bars(s string, x, y, module, height float64) string {
	bc, err := code128.Encode(s)
	if err != nil {
		panic(fmt.Sprintf("pdftest: code128 %q: %v", s, err))
	}
	var b strings.Builder
	b.WriteString("0 g\n")
	w := bc.Bounds().Dx()
	for i := 0; i < w; {
		if r, _, _, _ := bc.At(i, 0).RGBA(); r != 0 {
			i++
			continue
		}
		j := i
		for j < w {
			if r, _, _, _ := bc.At(j, 0).RGBA(); r != 0 {
				break
			}
			j++
		}
		fmt.Fprintf(&b, "%.3f %.3f %.3f %.3f re\n", x+float64(i)*module, y, float64(j-i)*module, height)
		i = j
	}
	b.WriteString("f\n")
	return b.String()
}

// Text returns content that writes s at (x, y) in Helvetica of size pt.
func Text(s string, x, y, pt float64) string {
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	return fmt.Sprintf("BT /F1 %.1f Tf %.2f %.2f Td (%s) Tj ET\n", pt, x, y, r.Replace(s))
}

// Label is a 4x6 portrait carrier label page: a heading, an address, the
// tracking number as Code 128 (0.75 pt modules, about 2 dots at 203 dpi) and
// in text, and a thick frame.
func Label(tracking string) Page {
	var b strings.Builder
	b.WriteString("4 w 2 2 284 428 re S\n")
	b.WriteString(Text("UPS GROUND", 18, 390, 28))
	b.WriteString(Text("SHIP TO: Ada Lovelace", 18, 350, 11))
	b.WriteString(Text("10 Downing Street, London SW1A 1AA GB", 18, 336, 11))
	b.WriteString(Bars(tracking, 18, 220, 1, 90))
	b.WriteString(Text("TRACKING #: "+tracking, 18, 200, 12))
	return Page{Width: 4 * Inch, Height: 6 * Inch, Content: b.String()}
}

// Landscape is a 6x4 landscape label page with the tracking number as Code
// 128 along its long side and a solid 36 pt square in its top left corner
// (to tell which way it was turned).
func Landscape(tracking string) Page {
	var b strings.Builder
	b.WriteString("0 g 0 252 36 36 re f\n")
	b.WriteString(Text("FEDEX HOME", 60, 250, 20))
	b.WriteString(Bars(tracking, 60, 90, 1.2, 100))
	b.WriteString(Text(tracking, 60, 70, 12))
	return Page{Width: 6 * Inch, Height: 4 * Inch, Content: b.String()}
}

// PDF writes the pages as one PDF document.
func PDF(pages ...Page) []byte {
	var buf bytes.Buffer
	var offsets []int
	obj := func(body string, stream []byte) int {
		offsets = append(offsets, buf.Len())
		n := len(offsets)
		fmt.Fprintf(&buf, "%d 0 obj\n%s", n, body)
		if stream != nil {
			fmt.Fprintf(&buf, "\nstream\n%s\nendstream", stream)
		}
		buf.WriteString("\nendobj\n")
		return n
	}
	buf.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	// Objects 1 and 2 are the catalog and the page tree; their bodies name
	// objects written later, so their numbers are fixed here.
	kids := make([]string, len(pages))
	next := 4 // 1 catalog, 2 pages, 3 font
	for i, p := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", next)
		next += 2
		if p.Photo != nil {
			next++
		}
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>", nil)
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)), nil)
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", nil)
	for _, p := range pages {
		self := len(offsets) + 1
		res := "/Font << /F1 3 0 R >>"
		if p.Photo != nil {
			res += fmt.Sprintf(" /XObject << /Im1 %d 0 R >>", self+2)
		}
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Resources << %s >> /Contents %d 0 R >>",
			p.Width, p.Height, res, self+1), nil)
		obj(fmt.Sprintf("<< /Length %d >>", len(p.Content)), []byte(p.Content))
		if g := p.Photo; g != nil {
			w, h := g.Rect.Dx(), g.Rect.Dy()
			pix := make([]byte, 0, w*h)
			for y := 0; y < h; y++ {
				pix = append(pix, g.Pix[y*g.Stride:y*g.Stride+w]...)
			}
			obj(fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Length %d >>", w, h, len(pix)), pix)
		}
	}
	xref := buf.Len()
	fmt.Fprintf(&buf, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, off := range offsets {
		fmt.Fprintf(&buf, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&buf, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return buf.Bytes()
}
