package labelrender

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"sync"
)

// zlibBitmap compresses a 1-bit bitmap into a zlib stream (RFC 1950/1951)
// for Z64. It is a deflate encoder made for label bitmaps: besides a short
// hash chain it always tries the byte before (runs of white or black) and
// the row above (barcode bars, repeated rows), where general encoders walk
// long chains of identical candidates through the runs of white. That gets
// it within a percent or two of zlib level 9 in a fraction of level 6's
// time (BenchmarkZ64Deflate). Every stream is standard: dynamic Huffman
// blocks with complete codes, which any inflater reads.
func zlibBitmap(dst, data []byte, stride int) []byte {
	dst = append(dst, 0x78, 0xda) // deflate, 32 KB window, maximum compression
	e := deflaters.Get().(*deflater)
	e.head = [len(e.head)]int32{} // prev needs no clearing: only positions inserted since are read
	e.data, e.stride, e.out = data, stride, dst
	e.compress()
	out := e.out
	e.data, e.out = nil, nil
	deflaters.Put(e)
	return binary.BigEndian.AppendUint32(out, adler32Update(1, data))
}

// deflaters keeps the encoder's 256 KB of hash tables from one label to
// the next.
var deflaters = sync.Pool{New: func() any { return new(deflater) }}

// The search's effort, tuned on the carrier label and the reference label
// at 203 dpi: each within 0.3 % of zlib level 9 (below it mostly).
const (
	dfMaxChain  = 16 // candidates taken from the hash chain per search
	dfMaxInsert = 16 // a longer match enters only its last positions in the hash chain
	dfWindow    = 1 << 15
	dfHashBits  = 15
	dfMaxMatch  = 258
	dfMinMatch  = 3
	dfBlockToks = 1 << 14
)

type deflater struct {
	data   []byte
	stride int
	head   [1 << dfHashBits]int32 // position+1 of the last 4-byte string with this hash
	prev   [dfWindow]int32        // position+1 of the previous one, by position mod the window
	toks   []uint32               // literal: byte; match: 1<<31 | (length-3)<<16 | (distance-1)
	out    []byte
	bits   uint64 // bits not yet in out, least significant first
	nbits  uint
}

func dfHash(b []byte) uint32 {
	return binary.LittleEndian.Uint32(b) * 0x1e35a7bd >> (32 - dfHashBits)
}

func (e *deflater) insert(i int) {
	if i+4 <= len(e.data) {
		h := dfHash(e.data[i:])
		e.prev[i&(dfWindow-1)] = e.head[h]
		e.head[h] = int32(i + 1)
	}
}

// matchLen is how many bytes from a equal those from b (a < b), at most max.
func (e *deflater) matchLen(a, b, max int) int {
	d := e.data
	n := 0
	for n+8 <= max {
		x := binary.LittleEndian.Uint64(d[a+n:]) ^ binary.LittleEndian.Uint64(d[b+n:])
		if x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
	for n < max && d[a+n] == d[b+n] {
		n++
	}
	return n
}

// findMatch returns the longest match for position i found among the byte
// before, the row above and the hash chain (searched before i is inserted).
func (e *deflater) findMatch(i, atLeast int) (length, dist int) {
	maxLen := min(dfMaxMatch, len(e.data)-i)
	if maxLen < dfMinMatch {
		return 0, 0
	}
	best, bestDist := atLeast, 0
	try := func(j int) {
		if best >= maxLen || e.data[j+best] != e.data[i+best] {
			return // cannot be longer
		}
		if l := e.matchLen(j, i, maxLen); l > best {
			best, bestDist = l, i-j
		}
	}
	if i >= 1 {
		try(i - 1)
	}
	if e.stride > 1 && e.stride <= dfWindow && i >= e.stride && best < maxLen {
		try(i - e.stride)
	}
	if i+4 <= len(e.data) {
		j := int(e.head[dfHash(e.data[i:])]) - 1
		for range dfMaxChain {
			if j < 0 || i-j > dfWindow || best >= maxLen {
				break
			}
			if d := i - j; d != 1 && d != e.stride {
				try(j)
			}
			next := int(e.prev[j&(dfWindow-1)]) - 1
			if next >= j {
				break // the slot was reused by a newer position
			}
			j = next
		}
	}
	if bestDist == 0 || (best == dfMinMatch && bestDist > 4096) {
		return 0, 0 // a far 3-byte match costs more than three literals
	}
	return best, bestDist
}

// compress is greedy parsing with one byte of lazy look-ahead (as zlib's
// deflate_slow): a match is put off when the next position has a longer one.
func (e *deflater) compress() {
	n := len(e.data)
	e.toks = e.toks[:0]
	prevLen, prevDist := 0, 0
	havePrev := false // data[i-1] is still to be emitted
	for i := 0; i < n; {
		l, d := 0, 0
		if prevLen < dfMaxMatch { // always look one byte on, unless it cannot be longer
			l, d = e.findMatch(i, max(prevLen, dfMinMatch-1))
		}
		e.insert(i)
		if prevLen >= dfMinMatch && l <= prevLen {
			e.token(1<<31 | uint32(prevLen-3)<<16 | uint32(prevDist-1))
			end := i - 1 + prevLen
			if prevLen <= dfMaxInsert {
				for k := i + 1; k < end; k++ {
					e.insert(k)
				}
			} else { // runs and repeated rows: the byte before and the row above find them
				for k := max(i+1, end-3); k < end; k++ {
					e.insert(k)
				}
			}
			i, prevLen, havePrev = end, 0, false
			continue
		}
		if havePrev {
			e.token(uint32(e.data[i-1]))
		}
		prevLen, prevDist, havePrev = l, d, true
		i++
	}
	if havePrev {
		e.token(uint32(e.data[n-1]))
	}
	e.block(true)
}

func (e *deflater) token(t uint32) {
	e.toks = append(e.toks, t)
	if len(e.toks) == dfBlockToks {
		e.block(false)
	}
}

func (e *deflater) put(v uint32, n uint) {
	e.bits |= uint64(v) << e.nbits
	e.nbits += n
	for e.nbits >= 32 {
		e.out = binary.LittleEndian.AppendUint32(e.out, uint32(e.bits))
		e.bits >>= 32
		e.nbits -= 32
	}
}

// The length and distance codes of RFC 1951 3.2.5: base values and extra bits.
var (
	dfLenBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	dfLenExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	dfDistBase = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	dfDistExtr = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// dfCLOrder is the order code length code lengths are sent in.
	dfCLOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	// dfLenCode maps length-3 to its code index (0–28); built once, only read.
	dfLenCode = func() (t [256]uint8) {
		for c := range dfLenBase {
			for l := int(dfLenBase[c]); l < int(dfLenBase[c])+1<<dfLenExtra[c] && l <= 258; l++ {
				t[l-3] = uint8(c)
			}
		}
		t[255] = 28 // 258 has a code of its own
		return t
	}()
)

func dfDistCode(d int) int { // d is distance-1
	if d < 4 {
		return d
	}
	k := bits.Len(uint(d)) - 1 // d in [2^k, 2^(k+1))
	return 2*k + int(d>>(k-1)&1)
}

// block writes the tokens as one dynamic Huffman block.
func (e *deflater) block(final bool) {
	var lfreq [286]int
	var dfreq [30]int
	for _, t := range e.toks {
		if t>>31 == 0 {
			lfreq[t]++
			continue
		}
		lfreq[257+int(dfLenCode[t>>16&0xff])]++
		dfreq[dfDistCode(int(t&0xffff))]++
	}
	lfreq[256] = 1
	llen := huffLengths(lfreq[:], 15, 2)
	dlen := huffLengths(dfreq[:], 15, 2)
	lcode, dcode := huffCodes(llen), huffCodes(dlen)
	nl, nd := 286, 30
	for nl > 257 && llen[nl-1] == 0 {
		nl--
	}
	for nd > 1 && dlen[nd-1] == 0 {
		nd--
	}

	// The code lengths, run-length coded (16: repeat the last 3–6 times,
	// 17: 3–10 zeros, 18: 11–138 zeros), then Huffman coded themselves.
	lens := append(slices.Clone(llen[:nl]), dlen[:nd]...)
	type rl struct{ sym, extra uint8 }
	var rls []rl
	var cfreq [19]int
	for i := 0; i < len(lens); {
		v := lens[i]
		j := i + 1
		for j < len(lens) && lens[j] == v {
			j++
		}
		n := j - i
		for n > 0 {
			switch {
			case v == 0 && n >= 11:
				k := min(n, 138)
				rls, n = append(rls, rl{18, uint8(k - 11)}), n-k
				cfreq[18]++
			case v == 0 && n >= 3:
				k := min(n, 10)
				rls, n = append(rls, rl{17, uint8(k - 3)}), n-k
				cfreq[17]++
			case v != 0 && n >= 4:
				rls, n = append(rls, rl{v, 0}), n-1
				cfreq[v]++
				for n >= 3 {
					k := min(n, 6)
					rls, n = append(rls, rl{16, uint8(k - 3)}), n-k
					cfreq[16]++
				}
			default:
				rls, n = append(rls, rl{v, 0}), n-1
				cfreq[v]++
			}
		}
		i = j
	}
	clen := huffLengths(cfreq[:], 7, 2)
	ccode := huffCodes(clen)
	nc := 19
	for nc > 4 && clen[dfCLOrder[nc-1]] == 0 {
		nc--
	}

	var bfinal uint32
	if final {
		bfinal = 1
	}
	e.put(bfinal|2<<1, 3) // BFINAL, BTYPE 10: dynamic Huffman
	e.put(uint32(nl-257), 5)
	e.put(uint32(nd-1), 5)
	e.put(uint32(nc-4), 4)
	for _, s := range dfCLOrder[:nc] {
		e.put(uint32(clen[s]), 3)
	}
	for _, r := range rls {
		e.put(uint32(ccode[r.sym]), uint(clen[r.sym]))
		switch r.sym {
		case 16:
			e.put(uint32(r.extra), 2)
		case 17:
			e.put(uint32(r.extra), 3)
		case 18:
			e.put(uint32(r.extra), 7)
		}
	}
	for _, t := range e.toks {
		if t>>31 == 0 {
			e.put(uint32(lcode[t]), uint(llen[t]))
			continue
		}
		l := int(t >> 16 & 0xff)
		c := int(dfLenCode[l])
		e.put(uint32(lcode[257+c]), uint(llen[257+c]))
		if x := dfLenExtra[c]; x > 0 {
			e.put(uint32(l+3-int(dfLenBase[c])), uint(x))
		}
		d := int(t & 0xffff)
		dc := dfDistCode(d)
		e.put(uint32(dcode[dc]), uint(dlen[dc]))
		if x := dfDistExtr[dc]; x > 0 {
			e.put(uint32(d+1-int(dfDistBase[dc])), uint(x))
		}
	}
	e.put(uint32(lcode[256]), uint(llen[256]))
	e.toks = e.toks[:0]
	if final {
		for e.nbits > 0 { // flush, padded to a byte
			e.out = append(e.out, byte(e.bits))
			e.bits >>= 8
			e.nbits -= min(e.nbits, 8)
		}
	}
}

// huffLengths returns Huffman code lengths for the frequencies, none longer
// than limit, forming a complete code: at least minSyms symbols get a code
// (a lone symbol would leave the code incomplete, which strict inflaters
// such as zlib's refuse).
func huffLengths(freq []int, limit, minSyms int) []uint8 {
	type node struct {
		freq        int
		left, right int // children; -1 for a leaf
		sym         int
	}
	var syms []int
	for s, f := range freq {
		if f > 0 {
			syms = append(syms, s)
		}
	}
	for s := 0; len(syms) < minSyms; s++ {
		if freq[s] == 0 {
			syms = append(syms, s)
		}
	}
	slices.SortStableFunc(syms, func(a, b int) int { return max(freq[a], 1) - max(freq[b], 1) })
	// Two queues: leaves in frequency order, and internal nodes, which
	// are made in nondecreasing frequency order.
	nodes := make([]node, 0, 2*len(syms))
	for _, s := range syms {
		nodes = append(nodes, node{max(freq[s], 1), -1, -1, s})
	}
	leaf, inner := 0, len(syms)
	pick := func() int {
		if leaf < len(syms) && (inner >= len(nodes) || nodes[leaf].freq <= nodes[inner].freq) {
			leaf++
			return leaf - 1
		}
		inner++
		return inner - 1
	}
	for range len(syms) - 1 {
		a, b := pick(), pick()
		nodes = append(nodes, node{nodes[a].freq + nodes[b].freq, a, b, -1})
	}
	// Depths, root first (children always precede their parent).
	depth := make([]int, len(nodes))
	var count [64]int
	for i := len(nodes) - 1; i >= 0; i-- {
		if n := nodes[i]; n.left >= 0 {
			depth[n.left], depth[n.right] = depth[i]+1, depth[i]+1
		} else {
			count[min(depth[i], limit)]++
		}
	}
	// Too long codes: move them to the limit and restore the Kraft sum by
	// lengthening shorter codes (miniz's enforce_max_code_size).
	total := 0
	for l := 1; l <= limit; l++ {
		total += count[l] << (limit - l)
	}
	for total > 1<<limit {
		count[limit]--
		for l := limit - 1; l > 0; l-- {
			if count[l] > 0 {
				count[l]--
				count[l+1] += 2
				break
			}
		}
		total--
	}
	// The most frequent symbols (last in syms) get the shortest codes.
	lengths := make([]uint8, len(freq))
	k := len(syms) - 1
	for l := 1; l <= limit; l++ {
		for range count[l] {
			lengths[syms[k]] = uint8(l)
			k--
		}
	}
	return lengths
}

// huffCodes assigns canonical codes (RFC 1951 3.2.2), bit-reversed since
// deflate sends Huffman codes most significant bit first into an LSB-first
// stream.
func huffCodes(lengths []uint8) []uint16 {
	var count [16]int
	for _, l := range lengths {
		count[l]++
	}
	count[0] = 0
	var next [16]int
	code := 0
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	codes := make([]uint16, len(lengths))
	for s, l := range lengths {
		if l > 0 {
			codes[s] = bits.Reverse16(uint16(next[l])) >> (16 - l)
			next[l]++
		}
	}
	return codes
}
