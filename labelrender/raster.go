package labelrender

import (
	"image"

	"github.com/boombuler/barcode"
	"github.com/fogleman/gg"
	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

// RenderImage draws the label as a 1-bit bitmap of the configured size: text
// with the Go fonts embedded in the binary (no system fonts), barcodes
// drawn module by module on whole dots so they scan at any resolution.
// MaxiCode cannot be drawn (ErrUnsupported): use RenderZPL.
func RenderImage(l Label, opts *Options) (*Bitmap, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	r, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	elems, err := layout(&l, r, true)
	if err != nil {
		return nil, err
	}
	return drawElements(elems, r), nil
}

// drawElements draws laid-out elements on a bitmap of r's size.
func drawElements(elems []element, r resolved) *Bitmap {
	// gg owns the canvas; text is anti-aliased onto it, then thresholded at
	// half grey. Glyphs go through font.Drawer on gg's RGBA image: gg's own
	// DrawString resamples every glyph through an affine transform, which
	// costs more than the rest of the label together.
	dc := gg.NewContext(r.w, r.h)
	dc.SetRGB(1, 1, 1)
	dc.Clear()
	canvas := dc.Image().(*image.RGBA)
	tf := loadTypefaces()
	type faceKey struct {
		size int
		bold bool
	}
	faces := map[faceKey]font.Face{}
	d := font.Drawer{Dst: canvas, Src: image.Black}
	for i := range elems {
		e := &elems[i]
		if e.kind != textElem {
			continue
		}
		k := faceKey{e.size, e.bold}
		f, ok := faces[k]
		if !ok {
			t := tf.regular
			if e.bold {
				t = tf.bold
			}
			f = t.face(e.size)
			faces[k] = f
		}
		d.Face = f
		d.Dot = fixed.P(e.x, e.y+f.Metrics().Ascent.Ceil())
		d.DrawString(e.text)
	}
	bm := thresholdRGBA(canvas)

	// Rules and barcodes go straight into the bitmap: exact dots, no blur.
	for i := range elems {
		e := &elems[i]
		switch e.kind {
		case boxElem:
			bm.fill(e.x, e.y, e.x+e.w, e.y+e.h)
		case frameElem:
			bm.fill(e.x, e.y, e.x+e.w, e.y+e.t)
			bm.fill(e.x, e.y+e.h-e.t, e.x+e.w, e.y+e.h)
			bm.fill(e.x, e.y, e.x+e.t, e.y+e.h)
			bm.fill(e.x+e.w-e.t, e.y, e.x+e.w, e.y+e.h)
		case linearElem:
			drawLinear(bm, e)
		case matrixElem:
			drawMatrix(bm, e)
		}
	}
	return bm
}

// RenderPNG renders the label as a 1-bit PNG (see RenderImage).
func RenderPNG(l Label, opts *Options) ([]byte, error) {
	bm, err := RenderImage(l, opts)
	if err != nil {
		return nil, err
	}
	return bm.PNG()
}

// RenderRasterZPL renders the label as a bitmap and wraps it in a ZPL
// document as one ^GF graphic in the given encoding.
func RenderRasterZPL(l Label, opts *Options, enc Encoding) ([]byte, error) {
	bm, err := RenderImage(l, opts)
	if err != nil {
		return nil, err
	}
	return GraphicLabel(bm, enc), nil
}

func drawLinear(bm *Bitmap, e *element) {
	n := e.symbol.Bounds().Dx()
	for m := 0; m < n; m++ {
		if isDark(e.symbol, m, 0) {
			x := e.x + m*e.module
			bm.fill(x, e.y, x+e.module, e.y+e.h)
		}
	}
}

func drawMatrix(bm *Bitmap, e *element) {
	b := e.symbol.Bounds()
	if e.codeType == PDF417 {
		rowH := pdf417RowModules * e.module
		for row := 0; row < e.rows; row++ {
			for m := 0; m < b.Dx(); m++ {
				if isDark(e.symbol, m, row*2) {
					x, y := e.x+m*e.module, e.y+row*rowH
					bm.fill(x, y, x+e.module, y+rowH)
				}
			}
		}
		return
	}
	for my := 0; my < b.Dy(); my++ {
		for mx := 0; mx < b.Dx(); mx++ {
			if isDark(e.symbol, mx, my) {
				x, y := e.x+mx*e.module, e.y+my*e.module
				bm.fill(x, y, x+e.module, y+e.module)
			}
		}
	}
}

// isDark reads one module of a symbol (origin-relative).
func isDark(sym barcode.Barcode, x, y int) bool {
	b := sym.Bounds()
	r, _, _, _ := sym.At(b.Min.X+x, b.Min.Y+y).RGBA()
	return r < 0x8000
}

// thresholdRGBA turns gg's anti-aliased canvas into dots: darker than half
// grey is black.
func thresholdRGBA(img *image.RGBA) *Bitmap {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	bm := NewBitmap(w, h)
	for y := 0; y < h; y++ {
		pix := img.Pix[y*img.Stride : y*img.Stride+4*w]
		row := bm.Bits[y*bm.Stride : (y+1)*bm.Stride]
		for x := 0; x < w; x++ {
			if pix[4*x] < 0x80 {
				row[x>>3] |= 0x80 >> (x & 7)
			}
		}
	}
	return bm
}
