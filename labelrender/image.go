package labelrender

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
)

// Rotation turns a source image before it is fitted to the label.
type Rotation int

// Rotations, clockwise. RotateAuto turns a landscape image a quarter turn
// when the label is portrait (and the other way round).
const (
	RotateAuto Rotation = iota
	Rotate0
	Rotate90
	Rotate180
	Rotate270
)

// ImageOptions configure ImageToBitmap and ImageToZPL.
type ImageOptions struct {
	Options            // label DPI and size the graphic is fitted into
	Encoding  Encoding // Z64 (default) or ACS
	Rotate    Rotation
	Threshold uint8 // grey level below which a dot is black; 0 means 128
	Dither    bool  // Floyd–Steinberg instead of a plain threshold (photos, grey logos)
	// DitherPhotos dithers only the photo-like areas of the image (mostly
	// mid greys) and thresholds the rest, so barcodes and text stay sharp
	// next to a photo (pages of a PDF). Dither wins when both are set.
	DitherPhotos bool
}

// maxSourcePixels bounds what PNGToZPL will decode: a carrier label is a few
// million pixels; a hostile PNG could claim billions.
const maxSourcePixels = 40 << 20

// PNGToZPL decodes a PNG (a carrier's label, as returned by a Fulfil-style
// /label service) and converts it into a ZPL graphic label (see ImageToZPL).
func PNGToZPL(data []byte, opts *ImageOptions) ([]byte, error) {
	bm, err := PNGToBitmap(data, opts)
	if err != nil {
		return nil, err
	}
	enc := Z64
	if opts != nil {
		enc = opts.Encoding
	}
	return GraphicLabel(bm, enc), nil
}

// PNGToBitmap decodes a PNG, refusing absurd dimensions before allocating,
// and fits it to the label with ImageToBitmap.
func PNGToBitmap(data []byte, opts *ImageOptions) (*Bitmap, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: png: %v", ErrBadGraphic, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxSourcePixels {
		return nil, fmt.Errorf("%w: png is %dx%d pixels (at most %d pixels)", ErrBadGraphic, cfg.Width, cfg.Height, maxSourcePixels)
	}
	if bm, ok := pngToBitsFastFor(data, cfg, opts); ok {
		return bm, nil
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: png: %v", ErrBadGraphic, err)
	}
	return ImageToBitmap(img, opts)
}

// pngToBitsFastFor takes pngToBitsFast when ImageToBitmap would only
// threshold the decoded image: valid options, the label's size, no turn, no
// dither.
func pngToBitsFastFor(data []byte, cfg image.Config, opts *ImageOptions) (*Bitmap, bool) {
	var o ImageOptions
	if opts != nil {
		o = *opts
	}
	r, err := o.Options.resolve()
	if err != nil || (o.Encoding != Z64 && o.Encoding != ACS) || o.Dither || o.DitherPhotos ||
		(o.Rotate != RotateAuto && o.Rotate != Rotate0) || cfg.Width != r.w || cfg.Height != r.h {
		return nil, false
	}
	if o.Threshold == 0 {
		o.Threshold = 128
	}
	return pngToBitsFast(data, r.w, r.h, o.Threshold)
}

// ImageToZPL converts any image into a ZPL label holding one ^GF graphic the
// size of the configured label (see ImageToBitmap).
func ImageToZPL(img image.Image, opts *ImageOptions) ([]byte, error) {
	bm, err := ImageToBitmap(img, opts)
	if err != nil {
		return nil, err
	}
	enc := Z64
	if opts != nil {
		enc = opts.Encoding
	}
	return GraphicLabel(bm, enc), nil
}

// ImageToBitmap fits an image to the configured label: rotated as asked,
// scaled to fit (keeping its aspect, centred; not resampled when it already
// has the label's size), then thresholded or dithered to 1 bit.
func ImageToBitmap(img image.Image, opts *ImageOptions) (*Bitmap, error) {
	var o ImageOptions
	if opts != nil {
		o = *opts
	}
	r, err := o.Options.resolve()
	if err != nil {
		return nil, err
	}
	if o.Encoding != Z64 && o.Encoding != ACS {
		return nil, fmt.Errorf("%w: encoding %v", ErrInvalidOptions, o.Encoding)
	}
	if o.Threshold == 0 {
		o.Threshold = 128
	}
	sb := img.Bounds()
	if sb.Empty() {
		return nil, fmt.Errorf("%w: empty image", ErrBadGraphic)
	}
	rot := o.Rotate
	if rot == RotateAuto {
		rot = Rotate0
		if (sb.Dx() > sb.Dy()) != (r.w > r.h) && sb.Dx() != sb.Dy() && r.w != r.h {
			rot = Rotate90
		}
	}
	if rot == Rotate0 && sb.Dx() == r.w && sb.Dy() == r.h && !o.Dither && !o.DitherPhotos {
		return thresholdImage(img, o.Threshold), nil // the carrier's usual case
	}
	gray := toGray(img)
	switch rot {
	case Rotate0:
	case Rotate90, Rotate180, Rotate270:
		gray = rotateGray(gray, rot)
	default:
		return nil, fmt.Errorf("%w: rotation %d", ErrInvalidOptions, rot)
	}

	sw, sh := gray.Rect.Dx(), gray.Rect.Dy()
	if sw != r.w || sh != r.h {
		// Fit inside the label, keep the aspect ratio, centre.
		tw, th := r.w, sh*r.w/sw
		if th > r.h {
			tw, th = sw*r.h/sh, r.h
		}
		tw, th = max(tw, 1), max(th, 1)
		if tw != sw || th != sh {
			gray = scaleGray(gray, tw, th)
		}
		canvas := image.NewGray(image.Rect(0, 0, r.w, r.h))
		for i := range canvas.Pix {
			canvas.Pix[i] = 0xff
		}
		off := image.Pt((r.w-tw)/2, (r.h-th)/2)
		draw.Draw(canvas, gray.Rect.Sub(gray.Rect.Min).Add(off), gray, gray.Rect.Min, draw.Src)
		gray = canvas
	}
	if o.Dither {
		return ditherGray(gray), nil
	}
	if o.DitherPhotos {
		return halftoneGray(gray, o.Threshold), nil
	}
	return thresholdGray(gray, o.Threshold), nil
}

// toGray converts to 8-bit grey with fast paths for what carriers send
// (1-bit or 8-bit grey, paletted, RGBA); transparent pixels count as white.
func toGray(img image.Image) *image.Gray {
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	switch src := img.(type) {
	case *image.Gray:
		for y := 0; y < b.Dy(); y++ {
			o := src.PixOffset(b.Min.X, b.Min.Y+y)
			copy(g.Pix[y*g.Stride:y*g.Stride+b.Dx()], src.Pix[o:o+b.Dx()])
		}
		return g
	case *image.Paletted:
		var lut [256]uint8
		for i, c := range src.Palette {
			lut[i] = grayOf(c)
		}
		for y := 0; y < b.Dy(); y++ {
			o := src.PixOffset(b.Min.X, b.Min.Y+y)
			sp := src.Pix[o : o+b.Dx()]
			dp := g.Pix[y*g.Stride : y*g.Stride+b.Dx()]
			for x, i := range sp {
				dp[x] = lut[i]
			}
		}
		return g
	case *image.RGBA, *image.NRGBA:
		// Both are 4 bytes per pixel; NRGBA is not premultiplied.
		var pix []byte
		var stride int
		premul := false
		if p, ok := src.(*image.RGBA); ok {
			pix, stride, premul = p.Pix[p.PixOffset(b.Min.X, b.Min.Y):], p.Stride, true
		} else {
			p := src.(*image.NRGBA)
			pix, stride = p.Pix[p.PixOffset(b.Min.X, b.Min.Y):], p.Stride
		}
		for y := 0; y < b.Dy(); y++ {
			rgbaRowToGray(g.Pix[y*g.Stride:y*g.Stride+b.Dx()], pix[y*stride:y*stride+4*b.Dx()], premul)
		}
		return g
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			g.Pix[y*g.Stride+x] = grayOf(img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return g
}

// rgbaRowToGray converts a row of RGBA (premultiplied) or NRGBA pixels to
// grey, composited over white: Y(r+w, g+w, b+w) with w = 255-a, which is
// Y(r, g, b) + w since the weights add up to 65536.
func rgbaRowToGray(dst, src []byte, premul bool) {
	src = src[:4*len(dst)]
	x := 0
	if premul {
		// Two pixels at a time, one in each 32-bit half of a uint64: no
		// sum leaves its half (at most 255·65536 + 32768 < 2³²).
		const lanes = 0x000000ff000000ff
		for ; x+2 <= len(dst); x += 2 {
			v := binary.LittleEndian.Uint64(src[4*x:])
			r := v & lanes
			if v == r*0x00010101|0xff000000ff000000 {
				// Both opaque grey (r = g = b), as black-and-white labels
				// are: the luma of grey is the grey itself.
				dst[x], dst[x+1] = byte(r), byte(r>>32)
				continue
			}
			g, b, a := v>>8&lanes, v>>16&lanes, v>>24&lanes
			y := (19595*r + 38470*g + 7471*b + 0x0000800000008000) >> 16 & 0x0000ffff0000ffff
			y += lanes - a
			dst[x], dst[x+1] = byte(y), byte(y>>32)
		}
	}
	for ; x < len(dst); x++ {
		p := src[4*x : 4*x+4 : 4*x+4]
		r, gr, bl, a := uint32(p[0]), uint32(p[1]), uint32(p[2]), uint32(p[3])
		if !premul && a != 255 {
			r, gr, bl = r*a/255, gr*a/255, bl*a/255
		}
		dst[x] = uint8((19595*r+38470*gr+7471*bl+1<<15)>>16 + (255 - a))
	}
}

// thresholdImage is toGray + thresholdGray row by row, without the grey
// copy, for the image types carriers' labels decode to.
func thresholdImage(img image.Image, t uint8) *Bitmap {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	var pix []byte
	var stride int
	premul := false
	switch src := img.(type) {
	case *image.Gray:
		pix, stride = src.Pix[src.PixOffset(b.Min.X, b.Min.Y):], src.Stride
	case *image.RGBA:
		pix, stride, premul = src.Pix[src.PixOffset(b.Min.X, b.Min.Y):], src.Stride, true
	case *image.NRGBA:
		pix, stride = src.Pix[src.PixOffset(b.Min.X, b.Min.Y):], src.Stride
	default:
		return thresholdGray(toGray(img), t)
	}
	bm := NewBitmap(w, h)
	rowLen := w
	var gray []byte
	if _, ok := img.(*image.Gray); !ok {
		rowLen, gray = 4*w, make([]byte, w)
	}
	for y := range h {
		row, dst := pix[y*stride:y*stride+rowLen], bm.Bits[y*bm.Stride:(y+1)*bm.Stride]
		// Most rows of a label repeat the one above: their bits are its bits.
		if y > 0 && bytes.Equal(row, pix[(y-1)*stride:(y-1)*stride+rowLen]) {
			copy(dst, bm.Bits[(y-1)*bm.Stride:y*bm.Stride])
			continue
		}
		if gray == nil {
			thresholdRow(dst, row, t)
			continue
		}
		rgbaRowToGray(gray, row, premul)
		thresholdRow(dst, gray, t)
	}
	return bm
}

// grayOf composites a colour over white and returns its luma.
func grayOf(c color.Color) uint8 {
	r, gg, b, a := c.RGBA()
	white := 0xffff - a
	y := (19595*(r+white) + 38470*(gg+white) + 7471*(b+white) + 1<<15) >> 24
	return uint8(min(y, 0xff))
}

func rotateGray(src *image.Gray, rot Rotation) *image.Gray {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	var dst *image.Gray
	if rot == Rotate180 {
		dst = image.NewGray(image.Rect(0, 0, w, h))
	} else {
		dst = image.NewGray(image.Rect(0, 0, h, w))
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := src.Pix[y*src.Stride+x]
			switch rot {
			case Rotate90: // clockwise: (x,y) → (h-1-y, x)
				dst.Pix[x*dst.Stride+h-1-y] = v
			case Rotate180:
				dst.Pix[(h-1-y)*dst.Stride+w-1-x] = v
			case Rotate270: // (x,y) → (y, w-1-x)
				dst.Pix[(w-1-x)*dst.Stride+y] = v
			}
		}
	}
	return dst
}

// scaleGray resizes by area averaging (box filter) when shrinking and by
// nearest neighbour when enlarging: both keep bars sharp enough to threshold.
func scaleGray(src *image.Gray, tw, th int) *image.Gray {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dst := image.NewGray(image.Rect(0, 0, tw, th))
	for y := 0; y < th; y++ {
		y0, y1 := y*sh/th, max((y+1)*sh/th, y*sh/th+1)
		for x := 0; x < tw; x++ {
			x0, x1 := x*sw/tw, max((x+1)*sw/tw, x*sw/tw+1)
			sum, n := 0, 0
			for sy := y0; sy < y1; sy++ {
				row := src.Pix[sy*src.Stride:]
				for sx := x0; sx < x1; sx++ {
					sum += int(row[sx])
					n++
				}
			}
			dst.Pix[y*dst.Stride+x] = uint8(sum / n)
		}
	}
	return dst
}

func thresholdGray(g *image.Gray, t uint8) *Bitmap {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	bm := NewBitmap(w, h)
	for y := 0; y < h; y++ {
		thresholdRow(bm.Bits[y*bm.Stride:(y+1)*bm.Stride], g.Pix[y*g.Stride:y*g.Stride+w], t)
	}
	return bm
}

// ditherGray is Floyd–Steinberg error diffusion to 1 bit.
func ditherGray(g *image.Gray) *Bitmap {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	bm := NewBitmap(w, h)
	cur, next := make([]int, w+2), make([]int, w+2)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			cur[x+1] += int(g.Pix[y*g.Stride+x])
		}
		for x := 0; x < w; x++ {
			v := cur[x+1]
			out := 255
			if v < 128 {
				out = 0
				bm.Bits[y*bm.Stride+x>>3] |= 0x80 >> (x & 7)
			}
			e := v - out
			cur[x+2] += e * 7 / 16
			next[x] += e * 3 / 16
			next[x+1] += e * 5 / 16
			next[x+2] += e / 16
		}
		cur, next = next, cur
		clear(next)
	}
	return bm
}
