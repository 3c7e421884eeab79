package labelrender

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"testing"
)

// stripes is a w×h image with a black vertical bar on the left quarter.
func stripes(w, h int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(0xff)
			if x < w/4 {
				v = 0
			}
			g.Pix[y*g.Stride+x] = v
		}
	}
	return g
}

func TestImageToBitmapSameSizeIsExact(t *testing.T) {
	src := stripes(812, 1218)
	bm, err := ImageToBitmap(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 1218; y += 97 {
		for x := 0; x < 812; x++ {
			if bm.Black(x, y) != (x < 203) {
				t.Fatalf("dot %d,%d wrong", x, y)
			}
		}
	}
}

func TestImageToBitmapColourModelsAgree(t *testing.T) {
	t.Parallel()
	g := stripes(64, 96)
	rgba := image.NewRGBA(g.Rect)
	nrgba := image.NewNRGBA(g.Rect)
	pal := image.NewPaletted(g.Rect, color.Palette{color.White, color.Black})
	for y := 0; y < 96; y++ {
		for x := 0; x < 64; x++ {
			c := g.At(x, y)
			rgba.Set(x, y, c)
			nrgba.Set(x, y, c)
			pal.Set(x, y, c)
		}
	}
	o := &ImageOptions{Options: Options{WidthDots: 406, HeightDots: 609}}
	want, err := ImageToBitmap(g, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []image.Image{rgba, nrgba, pal} {
		got, err := ImageToBitmap(img, o)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bits, want.Bits) {
			t.Fatalf("%T converts differently from *image.Gray", img)
		}
	}
	// Transparent black is white paper, not ink.
	clear := image.NewNRGBA(image.Rect(0, 0, 812, 1218))
	for i := 3; i < len(clear.Pix); i += 4 {
		clear.Pix[i-3], clear.Pix[i] = 0, 0
	}
	bm, err := ImageToBitmap(clear, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bm.Bits, make([]byte, len(bm.Bits))) {
		t.Fatal("transparent pixels printed black")
	}
}

func TestImageToBitmapRotatesAndFits(t *testing.T) {
	t.Parallel()
	// A landscape 1218×812 label with a bar at the left: auto-rotated
	// clockwise onto the portrait label, the bar lies along the top.
	src := stripes(1218, 812)
	bm, err := ImageToBitmap(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bm.Width != 812 || bm.Height != 1218 {
		t.Fatalf("size %dx%d", bm.Width, bm.Height)
	}
	if !bm.Black(400, 10) || !bm.Black(811, 300) || bm.Black(400, 310) {
		t.Fatal("rotation 90 put the bar in the wrong place")
	}
	// Rotate0 keeps it landscape and scales it to fit the width, centred.
	bm, err = ImageToBitmap(src, &ImageOptions{Rotate: Rotate0})
	if err != nil {
		t.Fatal(err)
	}
	top := (1218 - 812*812/1218) / 2
	if bm.Black(100, top-5) || !bm.Black(100, top+5) || bm.Black(300, top+5) {
		t.Fatal("fit-to-width scaling wrong")
	}
	// A 300 dpi label: scaled up with nearest neighbour.
	bm, err = ImageToBitmap(stripes(812, 1218), &ImageOptions{Options: Options{DPI: 300}})
	if err != nil {
		t.Fatal(err)
	}
	if bm.Width != 1200 || bm.Height != 1800 || !bm.Black(290, 900) || bm.Black(310, 900) {
		t.Fatalf("300 dpi scaling wrong: %dx%d", bm.Width, bm.Height)
	}
}

func TestImageToBitmapDither(t *testing.T) {
	t.Parallel()
	// 50 % grey dithers to about half the dots; a threshold makes none black.
	g := image.NewGray(image.Rect(0, 0, 812, 1218))
	for i := range g.Pix {
		g.Pix[i] = 128
	}
	bm, err := ImageToBitmap(g, &ImageOptions{Dither: true})
	if err != nil {
		t.Fatal(err)
	}
	black := 0
	for y := 0; y < bm.Height; y++ {
		for x := 0; x < bm.Width; x++ {
			if bm.Black(x, y) {
				black++
			}
		}
	}
	if frac := float64(black) / float64(812*1218); frac < 0.45 || frac > 0.55 {
		t.Fatalf("dithered grey is %.2f black", frac)
	}
	bm, _ = ImageToBitmap(g, nil)
	if bm.Black(400, 600) {
		t.Fatal("threshold 128 made grey 128 black")
	}
}

func TestPNGToZPLRefusesBadInput(t *testing.T) {
	if _, err := PNGToZPL([]byte("not a png"), nil); !errors.Is(err, ErrBadGraphic) {
		t.Fatalf("garbage: %v", err)
	}
	// A header claiming 100000×100000 pixels is refused before decoding.
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := buf.Bytes()
	copy(b[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	if _, err := PNGToZPL(b, nil); !errors.Is(err, ErrBadGraphic) {
		t.Fatalf("huge png: %v", err)
	}
	if _, err := ImageToZPL(stripes(10, 10), &ImageOptions{Encoding: Encoding(9)}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("bad encoding: %v", err)
	}
	if _, err := ImageToZPL(stripes(10, 10), &ImageOptions{Options: Options{DPI: 100}}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("bad dpi: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		s      string
		dpi    int
		w, h   int
		hasErr bool
	}{
		{"4x6", 203, 812, 1218, false},
		{"4x4", 203, 812, 812, false},
		{"4x6", 300, 1200, 1800, false},
		{"4x6", 600, 2400, 3600, false},
		{"812x1218dots", 203, 812, 1218, false},
		{"4x6", 100, 0, 0, true},
		{"4by6", 203, 0, 0, true},
		{"1x1", 203, 0, 0, true},
		{"-4x6", 203, 0, 0, true},
	} {
		w, h, err := ParseSize(tc.s, tc.dpi)
		if (err != nil) != tc.hasErr || w != tc.w || h != tc.h {
			t.Errorf("ParseSize(%q, %d) = %d, %d, %v", tc.s, tc.dpi, w, h, err)
		}
	}
}

// TestRGBARowToGrayMatchesCompositing holds the shortened formula (luma
// plus 255-a) to compositing over white channel by channel, as toGray
// computed it before issue 20, for premultiplied and straight alpha.
func TestRGBARowToGrayMatchesCompositing(t *testing.T) {
	rng := rand.New(rand.NewPCG(255, 65536))
	src := make([]byte, 4*4096)
	dst := make([]byte, 4096)
	for round := range 64 {
		for i := range src {
			src[i] = byte(rng.IntN(256))
		}
		if round%2 == 0 { // corners: opaque, clear, extremes
			for i := 3; i < len(src); i += 16 {
				src[i] = 255
			}
		}
		if round%4 == 1 { // opaque grey, as labels are, with some pixels not
			for i := 0; i < len(src); i += 4 {
				src[i+1], src[i+2], src[i+3] = src[i], src[i], 255
			}
			for i := 0; i < len(src); i += 4 * (1 + rng.IntN(7)) {
				src[i+1+rng.IntN(3)]--
			}
		}
		for _, premul := range []bool{false, true} {
			if premul { // valid premultiplied colours: channels ≤ alpha
				for i := 0; i < len(src); i += 4 {
					for c := range 3 {
						src[i+c] = byte(int(src[i+c]) * int(src[i+3]) / 255)
					}
				}
			}
			rgbaRowToGray(dst, src, premul)
			for x := range dst {
				r, g, b, a := uint32(src[4*x]), uint32(src[4*x+1]), uint32(src[4*x+2]), uint32(src[4*x+3])
				if !premul {
					r, g, b = r*a/255, g*a/255, b*a/255
				}
				white := 255 - a
				want := uint8((19595*(r+white) + 38470*(g+white) + 7471*(b+white) + 1<<15) >> 16)
				if dst[x] != want {
					t.Fatalf("premul %v, pixel %v: %d, want %d", premul, src[4*x:4*x+4], dst[x], want)
				}
			}
		}
	}
}

// TestThresholdImageMatchesGrayPath: the same-size path (rows that repeat
// the row above take its bits) gives what converting to grey and
// thresholding gives, for sub-images too, whose rows lie apart in a larger
// image and start past its left edge.
func TestThresholdImageMatchesGrayPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 20))
	whole := image.Rect(0, 0, 80, 50)
	gray, rgba, nrgba := image.NewGray(whole), image.NewRGBA(whole), image.NewNRGBA(whole)
	var prev []color.NRGBA
	for y := range whole.Dy() {
		row := make([]color.NRGBA, whole.Dx())
		for x := 0; x < len(row); {
			v := [...]uint8{0, 255, uint8(rng.IntN(256))}[rng.IntN(3)]
			c := color.NRGBA{v, v, v, [...]uint8{255, 255, uint8(rng.IntN(256))}[rng.IntN(3)]}
			for n := 1 + rng.IntN(20); n > 0 && x < len(row); n-- {
				row[x] = c
				x++
			}
		}
		if prev != nil && rng.IntN(2) == 0 {
			copy(row, prev)
			if rng.IntN(2) == 0 { // one pixel off the row above, often at an edge
				x := [...]int{0, 7, 7 + 60, len(row) - 1, rng.IntN(len(row))}[rng.IntN(5)]
				row[x].R, row[x].G, row[x].B = ^row[x].R, ^row[x].G, ^row[x].B
			}
		}
		for x, c := range row {
			nrgba.SetNRGBA(x, y, c)
			rgba.Set(x, y, c)
			gray.Set(x, y, c)
		}
		prev = row
	}
	sub := image.Rect(7, 3, 7+61, 3+44)
	for _, img := range []image.Image{gray, rgba, nrgba, gray.SubImage(sub), rgba.SubImage(sub), nrgba.SubImage(sub)} {
		for _, thr := range []uint8{1, 100, 128, 255} {
			got, want := thresholdImage(img, thr), thresholdGray(toGray(img), thr)
			if got.Width != want.Width || got.Height != want.Height || !bytes.Equal(got.Bits, want.Bits) {
				t.Fatalf("%T %v, threshold %d: differs from the grey path", img, img.Bounds(), thr)
			}
		}
	}
}
