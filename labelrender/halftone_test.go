package labelrender

import (
	"image"
	"testing"
)

// TestDitherPhotos: on one image holding a grey gradient (a photo) beside
// black bars on white (a barcode), DitherPhotos dithers the gradient and
// leaves every bar exactly as the threshold draws it.
func TestDitherPhotos(t *testing.T) {
	const w, h = 480, 480
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			switch {
			case x < 240: // gradient, all mid greys
				g.Pix[y*g.Stride+x] = uint8(40 + x*3/4)
			case (x/3)%2 == 0: // bars 3 dots wide, with an anti-aliased grey edge
				g.Pix[y*g.Stride+x] = 0
				if x%3 == 2 {
					g.Pix[y*g.Stride+x] = 100
				}
			default:
				g.Pix[y*g.Stride+x] = 255
			}
		}
	}
	opts := &ImageOptions{Options: Options{DPI: 203, WidthDots: w, HeightDots: h}}
	plain, err := ImageToBitmap(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.DitherPhotos = true
	mixed, err := ImageToBitmap(g, opts)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < h; y++ {
		for x := 240; x < w; x++ {
			if mixed.Black(x, y) != plain.Black(x, y) {
				t.Fatalf("bar area differs from the threshold at (%d,%d)", x, y)
			}
		}
	}
	// The threshold makes the gradient a black block then a white one; the
	// dither mixes black and white in every column of it.
	mixedCols := 0
	for x := 0; x < 240; x++ {
		black := 0
		for y := 0; y < h; y++ {
			if mixed.Black(x, y) {
				black++
			}
		}
		if black > 0 && black < h {
			mixedCols++
		}
	}
	if mixedCols < 230 {
		t.Fatalf("only %d of 240 gradient columns are dithered", mixedCols)
	}
}
