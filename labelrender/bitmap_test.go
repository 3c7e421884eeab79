package labelrender

import (
	"bytes"
	"image/png"
	"math/rand/v2"
	"testing"
)

// TestBitmapPNG: our hand-written PNG decodes with image/png to exactly the
// bitmap, for widths that do and do not fill their last byte.
func TestBitmapPNG(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, w := range []int{1, 7, 8, 9, 812, 1203} {
		bm := NewBitmap(w, 37)
		for y := 0; y < bm.Height; y++ {
			for x := 0; x < w; x++ {
				bm.Set(x, y, rng.IntN(3) == 0)
			}
		}
		data, err := bm.PNG()
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("width %d: %v", w, err)
		}
		if img.Bounds() != bm.Bounds() {
			t.Fatalf("bounds %v, want %v", img.Bounds(), bm.Bounds())
		}
		for y := 0; y < bm.Height; y++ {
			for x := 0; x < w; x++ {
				if darkAt(img, x, y) != bm.Black(x, y) {
					t.Fatalf("width %d: pixel %d,%d differs", w, x, y)
				}
			}
		}
	}
}

func TestBitmapSetFill(t *testing.T) {
	bm := NewBitmap(20, 3)
	bm.fill(3, 1, 17, 2)
	bm.Set(-1, 0, true)
	bm.Set(20, 0, true)
	for x := 0; x < 20; x++ {
		if bm.Black(x, 1) != (x >= 3 && x < 17) || bm.Black(x, 0) || bm.Black(x, 2) {
			t.Fatalf("fill wrong at %d", x)
		}
	}
	bm.Set(5, 1, false)
	if bm.Black(5, 1) {
		t.Fatal("Set false did not clear")
	}
}
