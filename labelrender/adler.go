package labelrender

import "encoding/binary"

// adler32Update is hash/adler32's update eight bytes at a time (zlib's
// trailer of the Z64 data and of a PNG's pixels, which for an 8-bit label
// is a megabyte): the bytes' sum and their weighted sum (weights 8…1) come
// from two multiplies each of 16-bit lanes, instead of two dependent adds
// per byte.
func adler32Update(adler uint32, p []byte) uint32 {
	const (
		mod   = 65521
		nmax  = 5552 // most bytes before s2 could overflow 32 bits
		lanes = 0x00ff00ff00ff00ff
		ones  = 0x0001000100010001
	)
	s1, s2 := adler&0xffff, adler>>16
	for len(p) > 0 {
		q := p[:min(len(p), nmax)]
		p = p[len(q):]
		for len(q) >= 8 {
			v := binary.LittleEndian.Uint64(q)
			if v == 0 { // most of a label's pixels and bits
				s2 += 8 * s1
				q = q[8:]
				continue
			}
			even, odd := v&lanes, v>>8&lanes // bytes 0,2,4,6 and 1,3,5,7
			sum := (even + odd) * ones >> 48
			// Byte i weighs 8-i: the top lane of the product gathers them.
			weighted := (even*0x0008000600040002 + odd*0x0007000500030001) >> 48
			s2 += 8*s1 + uint32(weighted)
			s1 += uint32(sum)
			q = q[8:]
		}
		for _, c := range q {
			s1 += uint32(c)
			s2 += s1
		}
		s1 %= mod
		s2 %= mod
	}
	return s2<<16 | s1
}

// adler32Zeros is adler32Update over n zero bytes: the sum stays, the
// weighted sum gains n times it.
func adler32Zeros(adler uint32, n int) uint32 {
	const mod = 65521
	s1, s2 := uint64(adler&0xffff), uint64(adler>>16)
	s2 = (s2 + uint64(n%mod)*s1) % mod
	return uint32(s2)<<16 | uint32(s1)
}
