package labelrender

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
)

// Bitmap is a 1-bit image in the printer's layout: rows of Stride bytes,
// most significant bit first, a set bit is a black dot. It implements
// image.Image (black and white gray), so it can be encoded or inspected with
// the standard library.
type Bitmap struct {
	Width, Height int
	Stride        int // bytes per row: ceil(Width/8)
	Bits          []byte
}

// NewBitmap returns an all-white bitmap.
func NewBitmap(w, h int) *Bitmap {
	stride := (w + 7) / 8
	return &Bitmap{Width: w, Height: h, Stride: stride, Bits: make([]byte, stride*h)}
}

// Black reports whether the dot at x,y is black (false outside the bitmap).
func (b *Bitmap) Black(x, y int) bool {
	if x < 0 || y < 0 || x >= b.Width || y >= b.Height {
		return false
	}
	return b.Bits[y*b.Stride+x>>3]&(0x80>>(x&7)) != 0
}

// Set makes the dot at x,y black or white; outside the bitmap it does nothing.
func (b *Bitmap) Set(x, y int, black bool) {
	if x < 0 || y < 0 || x >= b.Width || y >= b.Height {
		return
	}
	i, m := y*b.Stride+x>>3, byte(0x80>>(x&7))
	if black {
		b.Bits[i] |= m
	} else {
		b.Bits[i] &^= m
	}
}

// fill blackens the rectangle [x0,x1)×[y0,y1), clipped to the bitmap.
func (b *Bitmap) fill(x0, y0, x1, y1 int) {
	x0, y0 = max(x0, 0), max(y0, 0)
	x1, y1 = min(x1, b.Width), min(y1, b.Height)
	for y := y0; y < y1; y++ {
		row := b.Bits[y*b.Stride : (y+1)*b.Stride]
		for x := x0; x < x1; {
			if x&7 == 0 && x+8 <= x1 {
				row[x>>3] = 0xff
				x += 8
				continue
			}
			row[x>>3] |= 0x80 >> (x & 7)
			x++
		}
	}
}

// ColorModel implements image.Image.
func (b *Bitmap) ColorModel() color.Model { return color.GrayModel }

// Bounds implements image.Image.
func (b *Bitmap) Bounds() image.Rectangle { return image.Rect(0, 0, b.Width, b.Height) }

// At implements image.Image.
func (b *Bitmap) At(x, y int) color.Color {
	if b.Black(x, y) {
		return color.Gray{}
	}
	return color.Gray{Y: 0xff}
}

var bwPalette = color.Palette{color.Gray{Y: 0xff}, color.Gray{}}

// Paletted converts the bitmap to a two-colour paletted image (index 1 is
// black), which image/png writes with one bit per pixel.
func (b *Bitmap) Paletted() *image.Paletted {
	p := image.NewPaletted(b.Bounds(), bwPalette)
	for y := 0; y < b.Height; y++ {
		row := b.Bits[y*b.Stride : (y+1)*b.Stride]
		pix := p.Pix[y*p.Stride : y*p.Stride+b.Width]
		for x := range pix {
			pix[x] = row[x>>3] >> (7 - x&7) & 1
		}
	}
	return p
}

// PNG encodes the bitmap as a 1-bit greyscale PNG. It writes the chunks
// itself: the rows are already packed the way PNG packs 1-bit pixels (only
// inverted), so there is nothing to convert, and image/png's generic
// paletted path costs more than the whole label.
func (b *Bitmap) PNG() ([]byte, error) {
	var out bytes.Buffer
	out.Grow(b.Stride * b.Height / 8)
	out.WriteString("\x89PNG\r\n\x1a\n")
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(b.Width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(b.Height))
	ihdr[8], ihdr[9] = 1, 0 // bit depth 1, greyscale (0 black, 1 white)
	writeChunk(&out, "IHDR", ihdr[:])

	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed) // the level is valid
	row := make([]byte, 1+b.Stride)                  // filter type 0, then the row
	for y := 0; y < b.Height; y++ {
		for i, c := range b.Bits[y*b.Stride : (y+1)*b.Stride] {
			row[1+i] = ^c
		}
		zw.Write(row) // writes to a bytes.Buffer cannot fail
	}
	zw.Close()
	writeChunk(&out, "IDAT", z.Bytes())
	writeChunk(&out, "IEND", nil)
	return out.Bytes(), nil
}

func writeChunk(w *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	w.Write(n[:])
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	w.WriteString(typ)
	w.Write(data)
	binary.BigEndian.PutUint32(n[:], crc.Sum32())
	w.Write(n[:])
}
