package labelrender

import (
	"bytes"
	"encoding/base64"
	"strconv"
)

// Encoding is how a bitmap travels in a ^GF graphic field.
type Encoding int

const (
	// Z64: zlib, then Base64, then a CRC-16/XMODEM of the Base64 text:
	// ":Z64:<base64>:<crc>". The smallest form on the wire.
	Z64 Encoding = iota
	// ACS: ZPL's compressed ASCII hex (run-length letters, "," for the rest
	// of a row in zeros, ":" for a repeated row). Never uses "!", which
	// printers and renderers read differently.
	ACS
)

func (e Encoding) String() string {
	switch e {
	case Z64:
		return "z64"
	case ACS:
		return "acs"
	}
	return "Encoding(" + strconv.Itoa(int(e)) + ")"
}

// GraphicLabel wraps a bitmap in a complete ZPL document sized to it:
// ^XA ^PW ^LL, the graphic at 0,0, ^XZ.
func GraphicLabel(bm *Bitmap, enc Encoding) []byte {
	b := make([]byte, 0, 64+bm.Stride*bm.Height/8)
	b = append(b, "^XA\n^PW"...)
	b = strconv.AppendInt(b, int64(bm.Width), 10)
	b = append(b, "\n^LL"...)
	b = strconv.AppendInt(b, int64(bm.Height), 10)
	b = append(b, "\n^LH0,0\n^FO0,0"...)
	b = AppendGraphicField(b, bm, enc)
	b = append(b, "^FS\n^XZ\n"...)
	return b
}

// AppendGraphicField appends "^GFA,b,c,d,data" for the bitmap: b and c are
// the uncompressed byte count (rows × bytes per row), d the bytes per row.
func AppendGraphicField(b []byte, bm *Bitmap, enc Encoding) []byte {
	total := bm.Stride * bm.Height
	b = append(b, "^GFA,"...)
	b = appendInts(b, ',', total, total, bm.Stride)
	b = append(b, ',')
	if enc == ACS {
		return appendACS(b, bm)
	}
	return appendZ64(b, bm.Bits, bm.Stride)
}

// appendZ64 writes ":Z64:" + Base64(zlib(data)) + ":" + CRC as 4 hex
// digits; stride is the bitmap's bytes per row, which the compressor uses.
func appendZ64(b []byte, data []byte, stride int) []byte {
	z := zlibBitmap(make([]byte, 0, len(data)/8), data, stride)
	b = append(b, ":Z64:"...)
	start := len(b)
	b = base64.StdEncoding.AppendEncode(b, z)
	crc := CRC16XMODEM(b[start:])
	b = append(b, ':', hexDigits[crc>>12], hexDigits[crc>>8&0xf], hexDigits[crc>>4&0xf], hexDigits[crc&0xf])
	return b
}

// CRC16XMODEM is CRC-16/XMODEM (poly 0x1021, init 0, no reflection, no
// final xor; check value 0x31C3 for "123456789"), the CRC that ends a Z64
// payload. A wrong one makes a real printer drop the graphic.
func CRC16XMODEM(data []byte) uint16 {
	var crc uint16
	for _, c := range data {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^c]
	}
	return crc
}

// crc16Table holds the CRC of each byte value (one table lookup per byte
// instead of eight shifts); it is built once and only read.
var crc16Table = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()

// appendACS writes the bitmap as ZPL compressed hex, row by row: ":" when a
// row repeats the previous one, "," when the rest of a row is zeros, and
// runs of a hex digit as count letters (G–Y = 1–19, g–z = 20–400).
func appendACS(b []byte, bm *Bitmap) []byte {
	hex := make([]byte, 2*bm.Stride)
	var prev []byte
	for y := 0; y < bm.Height; y++ {
		row := bm.Bits[y*bm.Stride : (y+1)*bm.Stride]
		if prev != nil && bytes.Equal(row, prev) {
			b = append(b, ':')
			continue
		}
		prev = row
		for i, c := range row {
			hex[2*i], hex[2*i+1] = hexDigits[c>>4], hexDigits[c&0xf]
		}
		// Trailing zeros become ",": the printer fills the row with 0.
		end := len(hex)
		for end > 0 && hex[end-1] == '0' {
			end--
		}
		for i := 0; i < end; {
			j := i + 1
			for j < end && hex[j] == hex[i] {
				j++
			}
			b = appendRun(b, hex[i], j-i)
			i = j
		}
		if end < len(hex) {
			b = append(b, ',')
		}
	}
	return b
}

// appendRun writes n copies of hex digit d in ACS count letters.
func appendRun(b []byte, d byte, n int) []byte {
	if n <= 2 {
		for range n {
			b = append(b, d)
		}
		return b
	}
	for n > 0 {
		k := min(n, 419) // "z" (400) plus "Y" (19) is the most one count says
		if k <= 2 {
			b = append(b, d)
			n--
			continue
		}
		if k >= 20 {
			b = append(b, 'g'+byte(k/20-1))
		}
		if k%20 > 0 {
			b = append(b, 'G'+byte(k%20-1))
		}
		b = append(b, d)
		n -= k
	}
	return b
}
