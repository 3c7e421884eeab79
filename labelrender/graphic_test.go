package labelrender

import (
	"bytes"
	"compress/zlib"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCRC16XMODEMCheckValue(t *testing.T) {
	if got := CRC16XMODEM([]byte("123456789")); got != 0x31C3 {
		t.Fatalf("CRC16XMODEM(123456789) = %#04x, want 0x31C3", got)
	}
	if got := CRC16XMODEM(nil); got != 0 {
		t.Fatalf("CRC16XMODEM(nil) = %#04x, want 0", got)
	}
}

func TestZ64CRCIsOverTheBase64Text(t *testing.T) {
	bm := NewBitmap(16, 2)
	bm.Bits[0] = 0xf0
	field := string(AppendGraphicField(nil, bm, Z64))
	_, z, _ := strings.Cut(field, ":Z64:")
	b64, crc, _ := strings.Cut(z, ":")
	if want := CRC16XMODEM([]byte(b64)); crc != strings.ToUpper(crc) || len(crc) != 4 || crc != hex4(want) {
		t.Fatalf("crc %q, want %s over %q", crc, hex4(want), b64)
	}
}

func hex4(v uint16) string {
	return string([]byte{hexDigits[v>>12], hexDigits[v>>8&0xf], hexDigits[v>>4&0xf], hexDigits[v&0xf]})
}

func TestACSRunLetters(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{1, "B"}, {2, "BB"}, {3, "IB"}, {19, "YB"}, {20, "gB"}, {21, "gGB"},
		{327, "vMB"}, {400, "zB"}, {419, "zYB"}, {420, "zYBB"}, {1000, "zYBzYBnHB"},
	} {
		if got := string(appendRun(nil, 'B', tc.n)); got != tc.want {
			t.Errorf("run of %d = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestACSRows(t *testing.T) {
	bm := NewBitmap(32, 4) // 4 bytes = 8 hex digits per row
	copy(bm.Bits, []byte{
		0xff, 0x00, 0x00, 0x00, // "FF" then zeros → "FF,"
		0xff, 0x00, 0x00, 0x00, // repeat → ":"
		0x00, 0x00, 0x00, 0x00, // all zero → ","
		0x12, 0x34, 0x56, 0x78, // no runs
	})
	got := string(AppendGraphicField(nil, bm, ACS))
	if want := "^GFA,16,16,4,FF,:,12345678"; got != want {
		t.Fatalf("ACS = %q, want %q", got, want)
	}
	if strings.Contains(got, "!") {
		t.Fatal("ACS used '!'")
	}
}

// bitmapFrom builds a bitmap of width 1..256 from fuzz bytes, with padding
// bits beyond the width cleared (they carry nothing on the printer).
func bitmapFrom(width uint8, data []byte) *Bitmap {
	w := int(width) + 1
	stride := (w + 7) / 8
	h := len(data) / stride
	if h == 0 {
		h = 1
	}
	bm := NewBitmap(w, h)
	copy(bm.Bits, data)
	if w%8 != 0 {
		mask := byte(0xff << (8 - w%8))
		for y := 0; y < h; y++ {
			bm.Bits[y*stride+stride-1] &= mask
		}
	}
	return bm
}

var graphicSeeds = []struct {
	width uint8
	data  []byte
}{
	{7, []byte{0xff}},
	{15, []byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
	{255, bytes.Repeat([]byte{0xaa}, 32*3)},
	{255, append(bytes.Repeat([]byte{0}, 64), bytes.Repeat([]byte{0xff}, 64)...)},
	{100, []byte("some arbitrary bytes to make rows from, with repeats repeats repeats")},
}

func roundTrip(t *testing.T, bm *Bitmap, enc Encoding) {
	t.Helper()
	field := string(AppendGraphicField(nil, bm, enc))
	if enc == ACS && strings.ContainsAny(strings.TrimPrefix(field, "^GFA,"), "!^~") {
		t.Fatalf("ACS field holds ! ^ or ~: %q", field)
	}
	got, err := decodeGraphicField(field, bm.Width)
	if err != nil {
		t.Fatalf("%v: decode: %v\n%.300s", enc, err, field)
	}
	if got.Height != bm.Height || !bytes.Equal(got.Bits, bm.Bits) {
		t.Fatalf("%v: decode(encode(x)) != x for %dx%d\n%.300s", enc, bm.Width, bm.Height, field)
	}
}

func TestGraphicRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range graphicSeeds {
		for _, enc := range []Encoding{Z64, ACS} {
			roundTrip(t, bitmapFrom(s.width, s.data), enc)
		}
	}
	// Sparse random bitmaps the size of a label: long runs, repeated rows.
	bm := NewBitmap(812, 1218)
	for range 4000 {
		x, y, w, h := rng.IntN(812), rng.IntN(1218), rng.IntN(200), rng.IntN(40)
		bm.fill(x, y, x+w, y+h)
	}
	for _, enc := range []Encoding{Z64, ACS} {
		roundTrip(t, bm, enc)
	}
}

func FuzzZ64RoundTrip(f *testing.F) {
	for _, s := range graphicSeeds {
		f.Add(s.width, s.data)
	}
	f.Fuzz(func(t *testing.T, width uint8, data []byte) {
		roundTrip(t, bitmapFrom(width, data), Z64)
	})
}

func FuzzACSRoundTrip(f *testing.F) {
	for _, s := range graphicSeeds {
		f.Add(s.width, s.data)
	}
	f.Fuzz(func(t *testing.T, width uint8, data []byte) {
		roundTrip(t, bitmapFrom(width, data), ACS)
	})
}

func TestZ64WithinTenPercentOfZlib9(t *testing.T) {
	t.Parallel()
	l := referenceLabel(t)
	for _, dpi := range goldenDPIs {
		bm, err := RenderImage(l, &Options{DPI: dpi, Date: refDate})
		if err != nil {
			t.Fatal(err)
		}
		var z bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
		zw.Write(bm.Bits)
		zw.Close()
		field := string(AppendGraphicField(nil, bm, Z64))
		_, payload, _ := strings.Cut(field, ":Z64:")
		b64, _, _ := strings.Cut(payload, ":")
		level9 := (z.Len() + 2) / 3 * 4
		if ratio := float64(len(b64)) / float64(level9); ratio > 1.10 {
			t.Fatalf("%d dpi: Z64 payload %d bytes is %.3f × zlib level 9 (%d)", dpi, len(b64), ratio, level9)
		}
	}
}

// TestCRC16XMODEMMatchesBitwise holds the table-driven CRC to the plain
// bit-by-bit definition on inputs of every length up to 300.
func TestCRC16XMODEMMatchesBitwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 0x1021))
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	for n := range len(data) + 1 {
		var want uint16
		for _, c := range data[:n] {
			want ^= uint16(c) << 8
			for range 8 {
				if want&0x8000 != 0 {
					want = want<<1 ^ 0x1021
				} else {
					want <<= 1
				}
			}
		}
		if got := CRC16XMODEM(data[:n]); got != want {
			t.Fatalf("length %d: %#04x, want %#04x", n, got, want)
		}
	}
}
