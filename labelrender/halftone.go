package labelrender

import "image"

// photoTile is the side, in dots, of the squares halftoneGray classifies:
// a multiple of 8, so a tile is whole bytes of a bitmap row.
const photoTile = 16

// halftoneGray thresholds g, except in the tiles that look like a photo,
// which it takes from a Floyd–Steinberg dither of the whole image. A tile
// is photo-like when more than half its dots are mid greys: line art,
// text and barcodes are black and white with grey only at the edges that
// anti-aliasing leaves, so their tiles stay thresholded and sharp.
func halftoneGray(g *image.Gray, t uint8) *Bitmap {
	bm := thresholdGray(g, t)
	w, h := g.Rect.Dx(), g.Rect.Dy()
	var dithered *Bitmap
	for ty := 0; ty < h; ty += photoTile {
		y1 := min(ty+photoTile, h)
		for tx := 0; tx < w; tx += photoTile {
			x1 := min(tx+photoTile, w)
			mid := 0
			for y := ty; y < y1; y++ {
				for _, v := range g.Pix[y*g.Stride+tx : y*g.Stride+x1] {
					if v > 32 && v < 224 {
						mid++
					}
				}
			}
			if 2*mid <= (y1-ty)*(x1-tx) {
				continue
			}
			if dithered == nil {
				dithered = ditherGray(g)
			}
			b0, b1 := tx/8, (x1+7)/8
			for y := ty; y < y1; y++ {
				copy(bm.Bits[y*bm.Stride+b0:y*bm.Stride+b1], dithered.Bits[y*dithered.Stride+b0:y*dithered.Stride+b1])
			}
		}
	}
	return bm
}
