package labelrender

import (
	"bytes"
	"encoding/binary"
	flate "github.com/klauspost/compress/flate"
	"hash/crc32"
	"image/color"
	"io"
	"sync"
)

// pngSignature starts every PNG file.
const pngSignature = "\x89PNG\r\n\x1a\n"

// PNG colour types (PNG spec, IHDR).
const (
	pngGray      = 0
	pngRGB       = 2
	pngPalette   = 3
	pngGrayAlpha = 4
	pngRGBA      = 6
)

// pngToBitsFast decodes a PNG of exactly w×h pixels straight to one bit per
// pixel: black where the pixel's grey, composited over white the way toGray
// computes it, is below t. No 8-bit grey or RGBA copy of the label is made.
//
// It takes the PNGs labels come as: not interlaced, 1/2/4/8-bit grey or
// palette (with or without tRNS for a palette), 8-bit grey+alpha, RGB, RGBA.
// For anything else, or anything irregular (a bad CRC, chunks out of order,
// short or surplus pixel data, a tRNS on grey or RGB), it answers ok=false
// and the caller decodes with image/png, so an accepted PNG gives exactly
// the bits image/png + toGray + thresholdGray would (FuzzPNGToBitsFast holds
// it to that) and every refusal keeps image/png's error.
func pngToBitsFast(data []byte, w, h int, t uint8) (bm *Bitmap, ok bool) {
	if !bytes.HasPrefix(data, []byte(pngSignature)) {
		return nil, false
	}
	p := data[len(pngSignature):]
	// next returns the next chunk's type and data, its CRC checked.
	next := func() (typ string, body []byte, ok bool) {
		if len(p) < 12 {
			return "", nil, false
		}
		n := binary.BigEndian.Uint32(p)
		if n > 0x7fffffff || uint64(n) > uint64(len(p)-12) {
			return "", nil, false
		}
		end := 8 + int(n)
		if crc32.ChecksumIEEE(p[4:end]) != binary.BigEndian.Uint32(p[end:]) {
			return "", nil, false
		}
		typ, body, p = string(p[4:8]), p[8:end], p[end+4:]
		return typ, body, true
	}

	typ, ihdr, ok := next()
	if !ok || typ != "IHDR" || len(ihdr) != 13 {
		return nil, false
	}
	iw, ih := int32(binary.BigEndian.Uint32(ihdr[0:])), int32(binary.BigEndian.Uint32(ihdr[4:]))
	depth, ctype := int(ihdr[8]), ihdr[9]
	if int(iw) != w || int(ih) != h || w <= 0 || h <= 0 || w*h > maxSourcePixels ||
		ihdr[10] != 0 || ihdr[11] != 0 || ihdr[12] != 0 {
		return nil, false
	}
	var bpp int // bits per pixel
	switch {
	case (ctype == pngGray || ctype == pngPalette) && (depth == 1 || depth == 2 || depth == 4 || depth == 8):
		bpp = depth
	case ctype == pngGrayAlpha && depth == 8:
		bpp = 16
	case ctype == pngRGB && depth == 8:
		bpp = 24
	case ctype == pngRGBA && depth == 8:
		bpp = 32
	default:
		return nil, false // 16-bit and invalid combinations: image/png
	}

	// black[v] for the sample values of grey and palette images.
	var black [256]bool
	if ctype == pngGray {
		scale := [9]int{1: 0xff, 2: 0x55, 4: 0x11, 8: 1}[depth]
		for v := range 1 << depth {
			black[v] = uint8(v*scale) < t
		}
	}
	// The palette as image/png builds it: entries past PLTE are opaque
	// black (it prints out-of-range indices so), tRNS sets alphas.
	var pal [256]color.NRGBA
	for i := range pal {
		pal[i].A = 0xff
	}
	havePLTE, haveTRNS := false, false
	var idat []byte
	idatChunks := 0 // -1 once another chunk followed the image data
	for done := false; !done; {
		typ, body, ok := next()
		if !ok {
			return nil, false
		}
		switch typ {
		case "IHDR":
			return nil, false
		case "PLTE":
			np := len(body) / 3
			if havePLTE || haveTRNS || idatChunks != 0 || len(body)%3 != 0 || np == 0 || np > 256 || np > 1<<depth {
				return nil, false
			}
			havePLTE = true
			switch ctype {
			case pngPalette:
				for i := range np {
					pal[i].R, pal[i].G, pal[i].B = body[3*i], body[3*i+1], body[3*i+2]
				}
			case pngRGB, pngRGBA:
				// Optional and ignorable for true colour (PNG spec 4.1.2).
			default:
				return nil, false
			}
		case "tRNS":
			// Only for a palette: image/png turns transparent grey or RGB into NRGBA.
			if ctype != pngPalette || !havePLTE || haveTRNS || idatChunks != 0 || len(body) > 256 {
				return nil, false
			}
			haveTRNS = true
			for i, a := range body {
				pal[i].A = a
			}
		case "IDAT":
			if idatChunks < 0 || (ctype == pngPalette && !havePLTE) {
				return nil, false
			}
			if idatChunks == 0 {
				idat = body
			} else {
				if idatChunks == 1 {
					idat = append([]byte(nil), idat...)
				}
				idat = append(idat, body...)
			}
			idatChunks++
		case "IEND":
			if idatChunks == 0 || len(body) != 0 {
				return nil, false
			}
			done = true
		default:
			if idatChunks > 0 {
				idatChunks = -1
			}
		}
	}
	if ctype == pngPalette {
		for i, c := range pal {
			black[i] = grayOf(c) < t
		}
	}
	return pngRowsToBits(idat, w, h, bpp, ctype, &black, t)
}

// pngRowsToBits inflates the image data, undoes each row's filter and
// thresholds the row into the bitmap. The stream must hold exactly the rows
// and end exactly with the data, as image/png requires of a lone image.
func pngRowsToBits(idat []byte, w, h, bpp int, ctype byte, black *[256]bool, t uint8) (*Bitmap, bool) {
	// The zlib wrapper as compress/zlib checks it (RFC 1950): deflate, a
	// window of at most 32 KB, the header check, no preset dictionary. The
	// Adler-32 is ours (adler32Update), over the rows as they inflate.
	if len(idat) < 2 || idat[0]&0x0f != 8 || idat[0]>>4 > 7 ||
		binary.BigEndian.Uint16(idat)%31 != 0 || idat[1]&0x20 != 0 {
		return nil, false
	}
	// klauspost's inflate, a fork of compress/flate with the same checks,
	// is about 15 % faster on a megabyte of 8-bit pixels.
	src := bytes.NewReader(idat[2:]) // a ByteReader: inflate reads no byte past its stream
	zr := inflaters.Get().(io.ReadCloser)
	defer func() {
		zr.(flate.Resetter).Reset(bytes.NewReader(nil), nil) // let go of the PNG
		inflaters.Put(zr)
	}()
	if err := zr.(flate.Resetter).Reset(src, nil); err != nil {
		return nil, false
	}
	adler := uint32(1)
	bm := NewBitmap(w, h)
	rowLen := (bpp*w + 7) / 8
	step := (bpp + 7) / 8 // filters work on whole bytes of one pixel
	cr, pr := make([]byte, 1+rowLen), make([]byte, 1+rowLen)
	// 8-bit grey, the carriers' usual PNG, unfilters and thresholds in one
	// pass over gray8, the row above (zeros above the first).
	var gray8, gray8Above []byte
	if ctype == pngGray && bpp == 8 {
		gray8 = make([]byte, w)
		// The bits of the zeros above the first row, for unfilterGray8Row.
		gray8Above = bytes.Repeat([]byte{threshold8(0, uint64(t)*0x0101010101010101)}, bm.Stride)
	}
	var gray []byte
	if ctype == pngRGB || ctype == pngRGBA || ctype == pngGrayAlpha {
		gray = make([]byte, w)
	}
	zeros := make([]byte, rowLen)
	for y := range h {
		if _, err := io.ReadFull(zr, cr); err != nil {
			return nil, false
		}
		dst := bm.Bits[y*bm.Stride : (y+1)*bm.Stride]
		var above []byte
		if y > 0 {
			above = bm.Bits[(y-1)*bm.Stride : y*bm.Stride]
		}
		// A row filtered Up or Paeth to nothing but zeros is the row above
		// (for Paeth each left pixel is then as above, which makes the
		// pixel above the predictor): most rows of a label. pr, the row
		// above, stays as it is.
		if y > 0 && (cr[0] == 2 || cr[0] == 4) && bytes.Equal(cr[1:], zeros) {
			adler = adler32Zeros(adler32Update(adler, cr[:1]), rowLen)
			copy(dst, above)
			continue
		}
		adler = adler32Update(adler, cr)
		if gray8 != nil {
			if y == 0 {
				above = gray8Above
			}
			if !unfilterGray8Row(cr[0], cr[1:], gray8, dst, above, t) {
				return nil, false
			}
			continue
		}
		if !unfilterRow(cr[0], cr[1:], pr[1:], step) {
			return nil, false
		}
		row := cr[1:]
		switch {
		case ctype == pngGray && bpp == 1:
			// 0 is black, 1 white: the bitmap is the row inverted.
			for i, c := range row {
				dst[i] = ^c
			}
			if w%8 != 0 {
				dst[len(dst)-1] &= byte(0xff << (8 - w%8))
			}
		case ctype == pngGray || ctype == pngPalette:
			lookupRow(dst, row, w, bpp, black)
		case ctype == pngRGB:
			for x := range gray {
				r, g, b := uint32(row[3*x]), uint32(row[3*x+1]), uint32(row[3*x+2])
				gray[x] = uint8((19595*r + 38470*g + 7471*b + 1<<15) >> 16)
			}
			thresholdRow(dst, gray, t)
		case ctype == pngRGBA:
			rgbaRowToGray(gray, row, false)
			thresholdRow(dst, gray, t)
		case ctype == pngGrayAlpha:
			for x := range gray {
				v, a := uint32(row[2*x]), uint32(row[2*x+1])
				v = v * a / 255
				white := 255 - a
				gray[x] = uint8((19595*(v+white) + 38470*(v+white) + 7471*(v+white) + 1<<15) >> 16)
			}
			thresholdRow(dst, gray, t)
		}
		cr, pr = pr, cr
	}
	// Nothing may follow the rows in the stream, then comes the Adler-32,
	// and nothing may follow it in the image data.
	var tail [4]byte
	if n, err := io.ReadFull(zr, tail[:1]); n != 0 || err != io.EOF {
		return nil, false
	}
	if _, err := io.ReadFull(src, tail[:]); err != nil || binary.BigEndian.Uint32(tail[:]) != adler || src.Len() != 0 {
		return nil, false
	}
	return bm, true
}

// inflaters keeps inflate's 32 KB window and tables from one PNG to the
// next.
var inflaters = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// unfilterGray8Row undoes the filter of one row of 8-bit grey, res, in
// place over line, which holds the row above unfiltered (zeros above the
// first row), and thresholds the row into dst, eight pixels at a time.
// above is the bits of line's whole groups of eight: where a filter leaves
// eight pixels as they were above, which in a label is nearly everywhere
// (the carrier's Up rows are 98 % zero words), their bits are copied and
// the pixels neither rewritten nor thresholded again.
func unfilterGray8Row(filter byte, res, line, dst, above []byte, t uint8) bool {
	const ones = 0x0101010101010101
	tt := uint64(t) * ones
	full := len(line) &^ 7
	above = above[:full/8]
	switch filter {
	case 0: // None
		copy(line, res)
		for i := 0; i < full; i += 8 {
			dst[i>>3] = threshold8(binary.LittleEndian.Uint64(line[i:]), tt)
		}
	case 1: // Sub
		a := byte(0)
		for i := 0; i < full; i += 8 {
			if binary.LittleEndian.Uint64(res[i:]) == 0 {
				v := uint64(a) * ones
				binary.LittleEndian.PutUint64(line[i:], v)
				dst[i>>3] = threshold8(v, tt)
				continue
			}
			for j := i; j < i+8; j++ {
				a += res[j]
				line[j] = a
			}
			dst[i>>3] = threshold8(binary.LittleEndian.Uint64(line[i:]), tt)
		}
		for j := full; j < len(line); j++ {
			a += res[j]
			line[j] = a
		}
	case 2: // Up
		for i := 0; i < full; i += 8 {
			r := binary.LittleEndian.Uint64(res[i:])
			if r == 0 {
				dst[i>>3] = above[i>>3]
				continue
			}
			v := addBytes(binary.LittleEndian.Uint64(line[i:]), r)
			binary.LittleEndian.PutUint64(line[i:], v)
			dst[i>>3] = threshold8(v, tt)
		}
		for j := full; j < len(line); j++ {
			line[j] += res[j]
		}
	case 3: // Average
		a := byte(0)
		for i := 0; i < full; i += 8 {
			if binary.LittleEndian.Uint64(res[i:]) == 0 && binary.LittleEndian.Uint64(line[i:]) == uint64(a)*ones {
				dst[i>>3] = above[i>>3] // the mean of a and a is a
				continue
			}
			for j := i; j < i+8; j++ {
				a = res[j] + uint8((int(a)+int(line[j]))/2)
				line[j] = a
			}
			dst[i>>3] = threshold8(binary.LittleEndian.Uint64(line[i:]), tt)
		}
		for j := full; j < len(line); j++ {
			a = res[j] + uint8((int(a)+int(line[j]))/2)
			line[j] = a
		}
	case 4: // Paeth
		a, c := 0, 0 // left and upper left
		unfilter := func(j int) {
			b := int(line[j])
			a = int(res[j] + uint8(paeth(a, b, c)))
			line[j] = uint8(a)
			c = b
		}
		for i := 0; i < full; i += 8 {
			// With the left pixel as it was above (a == c) the predictor is
			// the pixel above (pb = 0 ≤ pc = pa, and pa = 0 only when b == c),
			// so with no residue the eight pixels stay as above.
			if a == c && binary.LittleEndian.Uint64(res[i:]) == 0 {
				dst[i>>3] = above[i>>3]
				a = int(line[i+7])
				c = a
				continue
			}
			for j := i; j < i+8; j++ {
				unfilter(j)
			}
			dst[i>>3] = threshold8(binary.LittleEndian.Uint64(line[i:]), tt)
		}
		for j := full; j < len(line); j++ {
			unfilter(j)
		}
	default:
		return false
	}
	for x := full; x < len(line); x++ {
		if line[x] < t {
			dst[x>>3] |= 0x80 >> (x & 7)
		}
	}
	return true
}

// addBytes adds eight bytes to eight bytes, each modulo 256.
func addBytes(x, y uint64) uint64 {
	const hi = 0x8080808080808080
	return (x&^hi + y&^hi) ^ (x^y)&hi
}

// unfilterRow undoes a PNG row filter in place (PNG spec 9.2); prev is the
// unfiltered row above, all zeros for the first.
func unfilterRow(filter byte, cur, prev []byte, bpp int) bool {
	switch filter {
	case 0: // None
	case 1: // Sub
		for i := bpp; i < len(cur); i++ {
			cur[i] += cur[i-bpp]
		}
	case 2: // Up
		for i, p := range prev {
			cur[i] += p
		}
	case 3: // Average
		for i := range bpp {
			cur[i] += prev[i] / 2
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += uint8((int(cur[i-bpp]) + int(prev[i])) / 2)
		}
	case 4: // Paeth
		if bpp == 1 {
			unfilterPaeth1(cur, prev)
			break
		}
		for i := range bpp {
			cur[i] += prev[i] // a = c = 0: the predictor is b
		}
		for i := bpp; i < len(cur); i++ {
			cur[i] += uint8(paeth(int(cur[i-bpp]), int(prev[i]), int(prev[i-bpp])))
		}
	default:
		return false
	}
	return true
}

// unfilterPaeth1 is the Paeth filter for one byte per pixel (palettes, grey
// of fewer than 8 bits), with the left and upper-left bytes kept in
// registers.
func unfilterPaeth1(cur, prev []byte) {
	a, c := 0, 0
	for i, p := range prev[:len(cur)] {
		b := int(p)
		a = int(cur[i] + uint8(paeth(a, b, c)))
		cur[i] = uint8(a)
		c = b
	}
}

// paeth is the Paeth predictor (PNG spec 9.4) from the bytes to the left
// (a), above (b) and upper left (c).
func paeth(a, b, c int) int {
	pa, pb, pc := b-c, a-c, a+b-2*c
	pa, pb, pc = max(pa, -pa), max(pb, -pb), max(pc, -pc)
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

// lookupRow thresholds a row of 1, 2, 4 or 8-bit samples through black.
func lookupRow(dst, row []byte, w, bpp int, black *[256]bool) {
	mask := byte(1<<bpp - 1)
	perByte := 8 / bpp
	for x := range w {
		c := row[x/perByte]
		v := c >> (8 - bpp - (x%perByte)*bpp) & mask
		if black[v] {
			dst[x>>3] |= 0x80 >> (x & 7)
		}
	}
}

// thresholdRow sets the bit of every grey value below t, eight pixels at a
// time (threshold8).
func thresholdRow(dst, gray []byte, t uint8) {
	tt := uint64(t) * 0x0101010101010101
	full := len(gray) &^ 7
	for i := 0; i < full; i += 8 {
		dst[i>>3] = threshold8(binary.LittleEndian.Uint64(gray[i:]), tt)
	}
	for x := full; x < len(gray); x++ {
		if gray[x] < t {
			dst[x>>3] |= 0x80 >> (x & 7)
		}
	}
}

// threshold8 gives the bits of eight grey pixels (the first in the lowest
// byte of x) against tt, the threshold in every byte: a bytewise unsigned
// compare in one uint64 (the high bit of each byte of lt says gray < t),
// then one multiply gathers the eight high bits into a byte, first pixel
// in the top bit.
func threshold8(x, tt uint64) byte {
	const hi = 0x8080808080808080
	low := (x | hi) - (tt &^ hi)               // high bit: x&0x7f >= t&0x7f, byte by byte
	ge := (x&^tt | ^(x^tt)&low) & hi           // x >= t
	lt := (ge ^ hi) >> 7                       // bit 8k: pixel k is black
	return byte(lt * 0x8040201008040201 >> 56) // pixel k to bit 7-k
}
