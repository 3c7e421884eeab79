package labelrender

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// refDate is the caller's clock in every test: goldens must not move.
var refDate = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

// referenceLabel is the label of the golden files and most tests.
func referenceLabel(t testing.TB) Label {
	t.Helper()
	data, err := os.ReadFile("../docs/examples/label.json")
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseLabel(data)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// ---- ^FH field data -------------------------------------------------------

// unescapeFieldData reverses AppendFieldData the way a printer reads ^FH data.
func unescapeFieldData(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '_' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("truncated escape at %d", i)
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape %q", s[i:i+3])
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

// ---- ^GF decoding ---------------------------------------------------------

// decodeGraphicField parses "^GFA,b,c,d,data" (data up to ^FS or the end)
// back into a bitmap of the given width, checking the byte counts and, for
// Z64, the CRC as a real printer does.
func decodeGraphicField(field string, width int) (*Bitmap, error) {
	rest, ok := strings.CutPrefix(field, "^GFA,")
	if !ok {
		return nil, errors.New("not ^GFA")
	}
	rest, _, _ = strings.Cut(rest, "^FS")
	parts := strings.SplitN(rest, ",", 4)
	if len(parts) != 4 {
		return nil, errors.New("want 4 parameters")
	}
	b, err1 := strconv.Atoi(parts[0])
	c, err2 := strconv.Atoi(parts[1])
	d, err3 := strconv.Atoi(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	if b != c || d != (width+7)/8 || c%d != 0 {
		return nil, fmt.Errorf("counts b=%d c=%d d=%d for width %d", b, c, d, width)
	}
	bm := NewBitmap(width, c/d)
	data := parts[3]
	if z, ok := strings.CutPrefix(data, ":Z64:"); ok {
		raw, err := decodeZ64(z)
		if err != nil {
			return nil, err
		}
		if len(raw) != c {
			return nil, fmt.Errorf("z64 holds %d bytes, want %d", len(raw), c)
		}
		copy(bm.Bits, raw)
		return bm, nil
	}
	if err := decodeACS(data, bm); err != nil {
		return nil, err
	}
	return bm, nil
}

func decodeZ64(z string) ([]byte, error) {
	b64, crcHex, ok := strings.Cut(z, ":")
	if !ok || len(crcHex) != 4 {
		return nil, errors.New("z64: want :<base64>:<crc4>")
	}
	want, err := strconv.ParseUint(crcHex, 16, 16)
	if err != nil {
		return nil, err
	}
	if got := CRC16XMODEM([]byte(b64)); uint64(got) != want {
		return nil, fmt.Errorf("z64: crc %04X, computed %04X", want, got)
	}
	zb, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, err
	}
	r, err := zlib.NewReader(bytes.NewReader(zb))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// decodeACS reads ZPL compressed hex into bm (rows of bm.Stride bytes).
func decodeACS(s string, bm *Bitmap) error {
	rowHex := 2 * bm.Stride
	row := make([]byte, 0, rowHex)
	var rows [][]byte
	count := 0
	endRow := func() {
		buf := make([]byte, bm.Stride)
		for i := range buf {
			v, _ := strconv.ParseUint(string(row[2*i:2*i+2]), 16, 8)
			buf[i] = byte(v)
		}
		rows = append(rows, buf)
		row = row[:0]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'G' && c <= 'Y':
			count += int(c-'G') + 1
		case c >= 'g' && c <= 'z':
			count += (int(c-'g') + 1) * 20
		case c == ',':
			if count != 0 {
				return fmt.Errorf("acs: count before ',' at %d", i)
			}
			for len(row) < rowHex {
				row = append(row, '0')
			}
			endRow()
		case c == ':':
			if count != 0 || len(row) != 0 || len(rows) == 0 {
				return fmt.Errorf("acs: ':' not at the start of a row after a row, at %d", i)
			}
			rows = append(rows, rows[len(rows)-1])
		case c == '!':
			return fmt.Errorf("acs: '!' at %d (we never emit it)", i)
		case strings.IndexByte(hexDigits, c) >= 0:
			n := max(count, 1)
			count = 0
			for range n {
				if len(row) == rowHex {
					return fmt.Errorf("acs: run crosses a row end at %d", i)
				}
				row = append(row, c)
			}
			if len(row) == rowHex {
				endRow()
			}
		default:
			return fmt.Errorf("acs: unexpected %q at %d", c, i)
		}
	}
	if len(row) != 0 || count != 0 {
		return errors.New("acs: unfinished row")
	}
	if len(rows) != bm.Height {
		return fmt.Errorf("acs: %d rows, want %d", len(rows), bm.Height)
	}
	for y, r := range rows {
		copy(bm.Bits[y*bm.Stride:], r)
	}
	return nil
}

// ---- barcode decoding (gozxing) -------------------------------------------

type subImager interface {
	SubImage(image.Rectangle) image.Image
}

// crop cuts a region out of img with a white margin (the quiet zone) of pad dots.
func crop(img image.Image, r image.Rectangle, pad int) image.Image {
	r = image.Rect(r.Min.X-pad, r.Min.Y-pad, r.Max.X+pad, r.Max.Y+pad).Intersect(img.Bounds())
	if bm, ok := img.(*Bitmap); ok {
		return bitmapWindow{bm, r}
	}
	return img.(subImager).SubImage(r)
}

// bitmapWindow is a region of a bitmap, read in place.
type bitmapWindow struct {
	*Bitmap
	rect image.Rectangle
}

func (w bitmapWindow) Bounds() image.Rectangle { return w.rect }

func decodeWith(img image.Image, reader gozxing.Reader, hints map[gozxing.DecodeHintType]any) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", err
	}
	res, err := reader.Decode(bmp, hints)
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// decodeLinear reads a Code 128 symbol. GS1-128 comes back as gozxing
// reports it: "]C1" then the elements with GS (0x1D) after variable ones.
func decodeLinear(img image.Image) (string, error) {
	return decodeWith(img, oned.NewCode128Reader(), map[gozxing.DecodeHintType]any{
		gozxing.DecodeHintType_TRY_HARDER: true, gozxing.DecodeHintType_ASSUME_GS1: true,
	})
}

func decode2D(img image.Image, typ Code2DType) (string, error) {
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	switch typ {
	case QR:
		return decodeWith(img, qrcode.NewQRCodeReader(), hints)
	case DataMatrix:
		return decodeWith(img, datamatrix.NewDataMatrixReader(), hints)
	}
	return "", fmt.Errorf("no Go decoder for %s (gozxing v0.1.1 has none)", typ)
}

// gs1Decoded is what a scanner reports for a GS1-128 tracking number.
func gs1Decoded(t testing.TB, tracking string) string {
	parts, err := gs1Parts(tracking)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("]C1")
	for i, p := range parts {
		b.WriteString(p.ai + p.value)
		if _, fixed := gs1Fixed[p.ai]; !fixed && i < len(parts)-1 {
			b.WriteByte(0x1d)
		}
	}
	return b.String()
}

// ---- the independent renderer (zpl-renderer-js under node) ----------------

// repoRoot is the module root: tests run in labelrender/.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// interopTool returns the node binary and the interop directory, failing
// (never skipping) when they are missing: CI installs them.
func interopTool(t testing.TB) (node, dir string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: run scripts/test, which installs nodejs and the interop packages")
	}
	dir = filepath.Join(repoRoot(t), "tools", "interop")
	for _, pkg := range []string{"zpl-renderer-js", "zpl-image", "pngjs"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg)); err != nil {
			t.Fatalf("tools/interop/node_modules/%s is missing: run scripts/test (it runs npm ci in tools/interop)", pkg)
		}
	}
	return node, dir
}

// darkAt reports whether a pixel of any image is darker than half grey.
func darkAt(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return (r+g+b)/3 < 0x8000
}

// elementsOf returns the laid-out elements of a label (for crop boxes).
func elementsOf(t testing.TB, l Label, o *Options, raster bool) []element {
	t.Helper()
	r, err := o.resolve()
	if err != nil {
		t.Fatal(err)
	}
	els, err := layout(&l, r, raster)
	if err != nil {
		t.Fatal(err)
	}
	return els
}

func findElem(els []element, kind elemKind) *element {
	for i := range els {
		if els[i].kind == kind {
			return &els[i]
		}
	}
	return nil
}

func (e *element) rect() image.Rectangle { return image.Rect(e.x, e.y, e.x+e.w, e.y+e.h) }
