package labelrender

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// deflateBitmaps are bitmaps of every shape the compressor meets: labels,
// the edges of the format (one byte, no matches, all black, a row wider
// than the window), and noise.
func deflateBitmaps(t testing.TB) map[string]*Bitmap {
	rng := rand.New(rand.NewPCG(19, 51))
	out := map[string]*Bitmap{}
	data, err := os.ReadFile(filepath.Join("testdata", carrierPNG))
	if err != nil {
		t.Fatal(err)
	}
	if out["carrier"], err = PNGToBitmap(data, nil); err != nil {
		t.Fatal(err)
	}
	for _, dpi := range goldenDPIs {
		bm, err := RenderImage(referenceLabel(t), &Options{DPI: dpi, Date: refDate})
		if err != nil {
			t.Fatal(err)
		}
		out["reference-"+string(rune('0'+dpi/100))+"xx"] = bm
	}
	out["one-byte"] = bitmapFrom(7, []byte{0xa5})
	out["white"] = NewBitmap(812, 1218)
	black := NewBitmap(812, 1218)
	black.fill(0, 0, 812, 1218)
	out["black"] = black
	noise := NewBitmap(333, 77)
	for i := range noise.Bits {
		noise.Bits[i] = byte(rng.IntN(256))
	}
	out["noise"] = noise
	wide := NewBitmap(40000*8, 3) // the row above is out of the 32 KB window
	for range 200 {
		x, y := rng.IntN(wide.Width), rng.IntN(3)
		wide.fill(x, y, x+rng.IntN(300), y+1)
	}
	out["wider-than-window"] = wide
	sparse := NewBitmap(812, 1218)
	for range 4000 {
		x, y := rng.IntN(812), rng.IntN(1218)
		sparse.fill(x, y, x+rng.IntN(200), y+rng.IntN(40))
	}
	out["sparse"] = sparse
	return out
}

// TestZlibBitmapRoundTripsThroughCZlib inflates every stream with C zlib
// (node's zlib binding), as strict as printers' inflaters: it refuses
// incomplete Huffman codes and bad checksums that Go's reader would also
// catch, and some that it might not.
func TestZlibBitmapRoundTripsThroughCZlib(t *testing.T) {
	t.Parallel()
	node, _ := interopTool(t)
	bms := deflateBitmaps(t)
	var names []string
	var in strings.Builder
	for name, bm := range bms {
		z := zlibBitmap(nil, bm.Bits, bm.Stride)
		r, err := zlib.NewReader(bytes.NewReader(z))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		back, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(back, bm.Bits) {
			t.Fatalf("%s: Go's zlib reads back something else (%v)", name, err)
		}
		names = append(names, name)
		in.WriteString(base64.StdEncoding.EncodeToString(z) + "\n")
	}
	cmd := exec.Command(node, "-e", `
const zlib = require("node:zlib"), crypto = require("node:crypto");
const lines = require("node:fs").readFileSync(0, "utf8").trim().split("\n");
for (const l of lines) {
	try {
		const raw = zlib.inflateSync(Buffer.from(l, "base64"));
		console.log(crypto.createHash("sha256").update(raw).digest("hex"));
	} catch (e) { console.log("ERR " + e.message); }
}`)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(got) != len(names) {
		t.Fatalf("node answered %d lines for %d streams: %q", len(got), len(names), out)
	}
	for i, name := range names {
		sum := sha256.Sum256(bms[name].Bits)
		if got[i] != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: C zlib: %s", name, got[i])
		}
	}
}

// TestZ64WithinTwoPercentOfZlib9: the Z64 data of labels is at most 1.02 ×
// what zlib level 9 makes of the same bitmap (issue 20).
func TestZ64WithinTwoPercentOfZlib9(t *testing.T) {
	t.Parallel()
	for name, bm := range deflateBitmaps(t) {
		if name == "noise" || name == "one-byte" || name == "wider-than-window" {
			continue // not labels: nothing to compress, or no row above in reach
		}
		var z9 bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&z9, zlib.BestCompression)
		zw.Write(bm.Bits)
		zw.Close()
		_, payload, _ := strings.Cut(string(AppendGraphicField(nil, bm, Z64)), ":Z64:")
		b64, _, _ := strings.Cut(payload, ":")
		ratio := float64(base64.StdEncoding.DecodedLen(len(b64))) / float64(z9.Len())
		t.Logf("%s: %.3f × zlib level 9", name, ratio)
		if ratio > 1.02 {
			t.Errorf("%s: Z64 data %.3f × zlib level 9 (%d bytes)", name, ratio, z9.Len())
		}
	}
}

// TestHuffLengthsLimitedAndComplete: skewed (Fibonacci) frequencies would
// make codes far longer than deflate allows; the lengths stay within the
// limit and the code stays complete (Kraft sum exactly 1).
func TestHuffLengthsLimitedAndComplete(t *testing.T) {
	for _, tc := range []struct{ n, limit, minSyms int }{{40, 15, 2}, {19, 7, 2}, {286, 15, 2}, {1, 15, 2}, {30, 15, 2}} {
		freq := make([]int, tc.n)
		a, b := 1, 1
		for i := range freq {
			freq[i], a, b = a, b, min(a+b, 1<<40)
		}
		if tc.n == 1 {
			freq = []int{0, 0, 5}
		}
		lengths := huffLengths(freq, tc.limit, tc.minSyms)
		kraft, used := 0, 0
		for s, l := range lengths {
			if int(l) > tc.limit {
				t.Fatalf("%+v: symbol %d has %d bits", tc, s, l)
			}
			if freq[s] > 0 && l == 0 {
				t.Fatalf("%+v: symbol %d has no code", tc, s)
			}
			if l > 0 {
				kraft += 1 << (tc.limit - int(l))
				used++
			}
		}
		if kraft != 1<<tc.limit || used < tc.minSyms {
			t.Fatalf("%+v: Kraft sum %d/%d with %d codes", tc, kraft, 1<<tc.limit, used)
		}
	}
}

// TestZlibBitmapSameAfterReuse: the pooled encoder gives every bitmap the
// same stream whatever it compressed before (its hash tables hold the last
// label's positions), and the stream inflates to the bitmap.
func TestZlibBitmapSameAfterReuse(t *testing.T) {
	bms := deflateBitmaps(t)
	names := slices.Sorted(maps.Keys(bms))
	first := map[string][]byte{}
	for _, name := range names {
		first[name] = zlibBitmap(nil, bms[name].Bits, bms[name].Stride)
	}
	slices.Reverse(names)
	for _, name := range names {
		for _, other := range names { // every other bitmap just before
			zlibBitmap(nil, bms[other].Bits, bms[other].Stride)
			if got := zlibBitmap(nil, bms[name].Bits, bms[name].Stride); !bytes.Equal(got, first[name]) {
				t.Fatalf("%s after %s: another stream than the first time", name, other)
			}
		}
		zr, err := zlib.NewReader(bytes.NewReader(first[name]))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(zr); err != nil || !bytes.Equal(got, bms[name].Bits) {
			t.Fatalf("%s: does not inflate to the bitmap (%v)", name, err)
		}
	}
}
