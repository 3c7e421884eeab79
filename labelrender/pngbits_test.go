package labelrender

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// rawPNG writes PNGs the way other encoders do, with what image/png's
// encoder never writes: 2 and 4-bit grey, grey+alpha, every row filter,
// the image data split over several IDAT chunks.
type rawPNG struct {
	ctype, depth byte
	w, h         int
	plte, trns   []byte
	rows         [][]byte // unfiltered scanlines, without the filter byte
	split        int      // IDAT chunk size; 0: one chunk
	extra        bool     // an ancillary chunk before and after the image data
}

func (p rawPNG) bpp() int {
	return int(p.depth) * map[byte]int{pngGray: 1, pngRGB: 3, pngPalette: 1, pngGrayAlpha: 2, pngRGBA: 4}[p.ctype]
}

func pngChunk(b []byte, typ string, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	start := len(b)
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

func (p rawPNG) encode() []byte {
	b := []byte(pngSignature)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(p.w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(p.h))
	ihdr[8], ihdr[9] = p.depth, p.ctype
	b = pngChunk(b, "IHDR", ihdr[:])
	if p.extra {
		b = pngChunk(b, "gAMA", []byte{0, 0, 0xb1, 0x8f})
	}
	if p.plte != nil {
		b = pngChunk(b, "PLTE", p.plte)
	}
	if p.trns != nil {
		b = pngChunk(b, "tRNS", p.trns)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	step := max(p.bpp()/8, 1)
	prev := make([]byte, len(p.rows[0]))
	for y, row := range p.rows {
		f := byte(y % 5) // None, Sub, Up, Average, Paeth in turn
		zw.Write(append([]byte{f}, filterRow(f, row, prev, step)...))
		prev = row
	}
	zw.Close()
	data := z.Bytes()
	for len(data) > 0 {
		n := len(data)
		if p.split > 0 {
			n = min(n, p.split)
		}
		b = pngChunk(b, "IDAT", data[:n])
		data = data[n:]
	}
	if p.extra {
		b = pngChunk(b, "tEXt", []byte("Comment\x00label"))
	}
	return pngChunk(b, "IEND", nil)
}

// filterRow applies a PNG filter (the encoder's side of unfilterRow).
func filterRow(f byte, cur, prev []byte, bpp int) []byte {
	out := make([]byte, len(cur))
	at := func(s []byte, i int) int {
		if i < 0 {
			return 0
		}
		return int(s[i])
	}
	for i := range cur {
		a, b, c := at(cur, i-bpp), int(prev[i]), at(prev, i-bpp)
		var pred int
		switch f {
		case 1:
			pred = a
		case 2:
			pred = b
		case 3:
			pred = (a + b) / 2
		case 4:
			p := a + b - c
			pa, pb, pc := abs(p-a), abs(p-b), abs(p-c)
			switch {
			case pa <= pb && pa <= pc:
				pred = a
			case pb <= pc:
				pred = b
			default:
				pred = c
			}
		}
		out[i] = cur[i] - byte(pred)
	}
	return out
}

func abs(v int) int { return max(v, -v) }

// labelishRows makes w×h scanlines of bpp bits per pixel: runs of a few
// sample values, as labels have, with every value of the depth present.
func labelishRows(rng *rand.Rand, w, h, bpp int) [][]byte {
	rowLen := (w*bpp + 7) / 8
	rows := make([][]byte, h)
	for y := range rows {
		row := make([]byte, rowLen)
		for i := 0; i < rowLen; {
			n := 1 + rng.IntN(12)
			v := byte(rng.IntN(256))
			for ; n > 0 && i < rowLen; n-- {
				row[i] = v
				i++
			}
		}
		if y > 0 && rng.IntN(3) == 0 {
			copy(row, rows[y-1]) // repeated rows, as under a barcode
		}
		rows[y] = row
	}
	return rows
}

// pngCase is one PNG of the table; they are also the fuzz seeds.
type pngCase struct {
	name string
	data []byte
	fast bool // the fast path must take it (not fall back)
}

func pngCases(t testing.TB) []pngCase {
	rng := rand.New(rand.NewPCG(20, 64))
	const w, h = 61, 23 // rows that end mid-byte at every depth
	var cases []pngCase
	add := func(name string, p rawPNG, fast bool) {
		p.w, p.h = w, h
		p.rows = labelishRows(rng, w, h, p.bpp())
		cases = append(cases, pngCase{name, p.encode(), fast})
	}
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	}
	for _, d := range []byte{1, 2, 4, 8} {
		add("gray"+strconv.Itoa(int(d)), rawPNG{ctype: pngGray, depth: d}, true)
		n := 1 << d
		add("palette"+strconv.Itoa(int(d)), rawPNG{ctype: pngPalette, depth: d, plte: randBytes(3 * n)}, true)
		// A short palette (indices past it print black) with transparency.
		add("palette-short-trns"+strconv.Itoa(int(d)), rawPNG{ctype: pngPalette, depth: d,
			plte: randBytes(3 * max(n/2, 1)), trns: randBytes(max(n/2, 1) + 1), split: 37, extra: true}, true)
	}
	add("gray-alpha8", rawPNG{ctype: pngGrayAlpha, depth: 8, split: 100}, true)
	add("rgb8", rawPNG{ctype: pngRGB, depth: 8, extra: true}, true)
	add("rgb8-plte", rawPNG{ctype: pngRGB, depth: 8, plte: randBytes(12)}, true)
	add("rgba8", rawPNG{ctype: pngRGBA, depth: 8, split: 1}, true)
	// 8-bit grey as labels come: long runs of black and white with a little
	// grey at the edges, most rows repeating, 25 whole groups of eight and a
	// tail, under every filter (the shortcuts of unfilterGray8Row).
	blocky := rawPNG{ctype: pngGray, depth: 8, w: 8*25 + 5, h: 200}
	for y := range blocky.h {
		row := make([]byte, blocky.w)
		for i := 0; i < len(row); {
			n := 1 + rng.IntN(30)
			v := [...]byte{0, 255, 255, byte(rng.IntN(256))}[rng.IntN(4)]
			for ; n > 0 && i < len(row); n-- {
				row[i] = v
				i++
			}
		}
		if y > 0 && rng.IntN(2) == 0 {
			copy(row, blocky.rows[y-1])
		}
		if y%5 == 3 && y%2 == 0 {
			// Filtered Average to nothing but zeros, yet unlike the row
			// above: only Up and Paeth rows of zeros repeat the row above.
			a := 0
			for i, b := range blocky.rows[y-1] {
				a = (a + int(b)) / 2
				row[i] = byte(a)
			}
		}
		blocky.rows = append(blocky.rows, row)
	}
	cases = append(cases, pngCase{"gray8-blocky", blocky.encode(), true})
	// Fallbacks: image/png decodes these.
	add("gray16", rawPNG{ctype: pngGray, depth: 16}, false)
	add("rgba16", rawPNG{ctype: pngRGBA, depth: 16}, false)
	add("gray-trns", rawPNG{ctype: pngGray, depth: 8, trns: []byte{0, 255}}, false)
	add("rgb-trns", rawPNG{ctype: pngRGB, depth: 8, trns: []byte{0, 255, 0, 255, 0, 255}}, false)

	// What image/png's encoder writes, from images of every kind.
	src := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range src.Pix {
		src.Pix[i] = byte(rng.IntN(256))
	}
	gray := image.NewGray(src.Rect)
	opaque := image.NewRGBA(src.Rect)
	pal := image.NewPaletted(src.Rect, color.Palette{color.White, color.Black, color.NRGBA{200, 10, 10, 128}, color.Gray{100}})
	for y := range h {
		for x := range w {
			c := src.NRGBAAt(x, y)
			gray.SetGray(x, y, color.Gray{c.R})
			opaque.SetRGBA(x, y, color.RGBA{c.R, c.G, c.B, 0xff})
			pal.SetColorIndex(x, y, c.R%4)
		}
	}
	for _, img := range []image.Image{src, gray, opaque, pal} {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, pngCase{"image/png " + strconv.Quote(typeName(img)), buf.Bytes(), true})
	}
	// Our own 1-bit writer, and the carrier label of the benchmarks.
	bm := NewBitmap(w, h)
	copy(bm.Bits, randBytes(len(bm.Bits)))
	one, err := bm.PNG()
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, pngCase{"Bitmap.PNG", one, true})
	carrier, err := os.ReadFile(filepath.Join("testdata", carrierPNG))
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, pngCase{"carrier", carrier, true})
	return cases
}

func typeName(img image.Image) string {
	switch img.(type) {
	case *image.NRGBA:
		return "NRGBA"
	case *image.Gray:
		return "Gray"
	case *image.RGBA:
		return "RGBA"
	case *image.Paletted:
		return "Paletted"
	}
	return "?"
}

// pngDims reads the size an IHDR claims, bounded for the fuzzer.
func pngDims(data []byte) (w, h int, ok bool) {
	if len(data) < 24 {
		return 0, 0, false
	}
	w, h = int(binary.BigEndian.Uint32(data[16:])), int(binary.BigEndian.Uint32(data[20:]))
	return w, h, w > 0 && h > 0 && w <= 4096 && h <= 4096
}

// differential checks the fast path against image/png + toGray +
// thresholdGray and reports whether the fast path took the PNG.
func differential(t *testing.T, data []byte, thr uint8) bool {
	t.Helper()
	w, h, ok := pngDims(data)
	if !ok {
		return false
	}
	bm, ok := pngToBitsFast(data, w, h, thr)
	if !ok {
		return false
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("fast path took a PNG image/png refuses (%v)", err)
	}
	want := thresholdGray(toGray(img), thr)
	if bm.Width != want.Width || bm.Height != want.Height || !bytes.Equal(bm.Bits, want.Bits) {
		t.Fatalf("fast path differs from image/png (%T) at threshold %d", img, thr)
	}
	return true
}

func TestPNGToBitsFastMatchesImagePNG(t *testing.T) {
	t.Parallel()
	for _, c := range pngCases(t) {
		t.Run(c.name, func(t *testing.T) {
			for _, thr := range []uint8{1, 100, 128, 200, 255} {
				if took := differential(t, c.data, thr); took != c.fast {
					t.Fatalf("fast path took it: %v, want %v", took, c.fast)
				}
			}
		})
	}
}

// TestPNGToBitsFastRefusesDamage: a damaged PNG is never read by the fast
// path; PNGToBitmap then gives image/png's answer.
func TestPNGToBitsFastRefusesDamage(t *testing.T) {
	t.Parallel()
	good := pngCases(t)[0].data
	w, h, _ := pngDims(good)
	for i := len(pngSignature); i < len(good); i++ {
		bad := bytes.Clone(good)
		bad[i] ^= 0x10
		if _, ok := pngToBitsFast(bad, w, h, 128); ok {
			if _, err := png.Decode(bytes.NewReader(bad)); err != nil {
				t.Fatalf("byte %d flipped: fast path took what image/png refuses (%v)", i, err)
			}
		}
	}
	for n := range len(good) {
		if _, ok := pngToBitsFast(good[:n], w, h, 128); ok {
			t.Fatalf("took a PNG cut to %d bytes", n)
		}
	}
	// Damage inside the zlib stream under a correct chunk CRC: the
	// Adler-32, the header check, a preset dictionary flag.
	for i, damage := range []func(z []byte){
		func(z []byte) { z[len(z)-1] ^= 1 },
		func(z []byte) { z[1] ^= 1 },
		func(z []byte) {
			z[1] = z[1]&0xc0 | 0x20
			z[1] |= byte((31 - (uint16(z[0])<<8|uint16(z[1]))%31) % 31)
		},
	} {
		bad := reIDAT(t, good, damage)
		if _, ok := pngToBitsFast(bad, w, h, 128); ok {
			t.Fatalf("damage %d: took a damaged zlib stream", i)
		}
		if _, err := png.Decode(bytes.NewReader(bad)); err == nil {
			t.Fatal("image/png took the damaged stream: the case tests nothing")
		}
	}
	// Surplus pixel data after the rows, and trailing IDAT garbage.
	p := rawPNG{ctype: pngGray, depth: 8, w: 8, h: 2, rows: [][]byte{make([]byte, 8), make([]byte, 8), make([]byte, 8)}}
	if _, ok := pngToBitsFast(p.encode(), 8, 2, 128); ok {
		t.Fatal("took surplus pixel data")
	}
}

// TestPNGToBitmapTakesFastPath: the carrier's label goes through the fast
// path, with the same bits the image/png path gives.
func TestPNGToBitmapTakesFastPath(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", carrierPNG))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []*ImageOptions{nil, {Threshold: 90}, {Encoding: ACS, Rotate: Rotate0}} {
		fast, ok := pngToBitsFastFor(data, cfg, o)
		if !ok {
			t.Fatalf("%+v: not the fast path", o)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		slow, err := ImageToBitmap(img, o)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fast.Bits, slow.Bits) {
			t.Fatalf("%+v: fast and image/png paths differ", o)
		}
	}
	for _, o := range []*ImageOptions{{Dither: true}, {Rotate: Rotate180}, {Options: Options{DPI: 300}}, {Encoding: Encoding(7)}} {
		if _, ok := pngToBitsFastFor(data, cfg, o); ok {
			t.Fatalf("%+v took the fast path", o)
		}
	}
}

func FuzzPNGToBitsFast(f *testing.F) {
	for _, c := range pngCases(f) {
		f.Add(c.data, uint8(128))
	}
	f.Fuzz(func(t *testing.T, data []byte, thr uint8) {
		differential(t, data, max(thr, 1))
	})
}

// reIDAT changes the data of a PNG's single IDAT chunk and fixes its CRC.
func reIDAT(t *testing.T, data []byte, change func(z []byte)) []byte {
	t.Helper()
	out := bytes.Clone(data)
	i := bytes.Index(out, []byte("IDAT"))
	if i < 4 || bytes.Count(out, []byte("IDAT")) != 1 {
		t.Fatal("want one IDAT chunk")
	}
	n := int(binary.BigEndian.Uint32(out[i-4:]))
	change(out[i+4 : i+4+n])
	binary.BigEndian.PutUint32(out[i+4+n:], crc32.ChecksumIEEE(out[i:i+4+n]))
	return out
}

// FuzzPNGToBitsFastStream fuzzes the zlib stream under valid chunks (a
// mutation of a whole PNG mostly breaks a chunk CRC and never reaches the
// inflater): whatever inflates, the fast path and image/png must agree.
func FuzzPNGToBitsFastStream(f *testing.F) {
	for _, c := range pngCases(f) {
		if i := bytes.Index(c.data, []byte("IDAT")); i >= 4 && bytes.Count(c.data, []byte("IDAT")) == 1 {
			n := int(binary.BigEndian.Uint32(c.data[i-4:]))
			f.Add(c.data[16:29], c.data[i+4:i+4+n])
		}
	}
	f.Fuzz(func(t *testing.T, ihdr, stream []byte) {
		if len(ihdr) != 13 {
			return
		}
		ihdr = bytes.Clone(ihdr)
		// At most 64×64: the stream decides, not the size.
		binary.BigEndian.PutUint32(ihdr[0:], 1+(binary.BigEndian.Uint32(ihdr[0:])-1)%64)
		binary.BigEndian.PutUint32(ihdr[4:], 1+(binary.BigEndian.Uint32(ihdr[4:])-1)%64)
		b := pngChunk([]byte(pngSignature), "IHDR", ihdr)
		if ihdr[9] == pngPalette {
			b = pngChunk(b, "PLTE", bytes.Repeat([]byte{0x80, 0x20, 0xf0}, 1<<min(ihdr[8], 8)))
		}
		b = pngChunk(b, "IDAT", stream)
		differential(t, pngChunk(b, "IEND", nil), 128)
	})
}

// TestPNGToZ64Concurrent: conversions at the same time share the pooled
// inflaters and Z64 encoders without mixing them up (run with -race).
func TestPNGToZ64Concurrent(t *testing.T) {
	cases := pngCases(t)
	convert := func(c pngCase) []byte {
		w, h, _ := pngDims(c.data)
		bm, ok := pngToBitsFast(c.data, w, h, 128)
		if !ok {
			return nil
		}
		return AppendGraphicField(nil, bm, Z64)
	}
	want := make([][]byte, len(cases))
	for i, c := range cases {
		want[i] = convert(c)
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for r := range 3 {
				for k := range cases {
					i := (k + g + r) % len(cases) // each goroutine in another order
					if got := convert(cases[i]); !bytes.Equal(got, want[i]) {
						t.Errorf("%s: another answer when converted alongside others", cases[i].name)
					}
				}
			}
		})
	}
	wg.Wait()
}
