package labelrender

import (
	"bytes"
	"hash/adler32"
	"math/rand/v2"
	"testing"
)

// TestAdler32UpdateMatchesHashAdler32 compares with hash/adler32 on random
// data and on all-0xff runs (the largest sums) of every length around the
// 8-byte groups and the 5552-byte reduction, from a running state too.
func TestAdler32UpdateMatchesHashAdler32(t *testing.T) {
	rng := rand.New(rand.NewPCG(65521, 5552))
	random := make([]byte, 3*5552+17)
	for i := range random {
		random[i] = byte(rng.IntN(256))
	}
	ff := bytes.Repeat([]byte{0xff}, len(random))
	// Runs of zeros of every length between bytes, as labels are.
	sparse := make([]byte, len(random))
	for i := 0; i < len(sparse); i += 1 + rng.IntN(80) {
		sparse[i] = byte(1 + rng.IntN(255))
	}
	for _, data := range [][]byte{random, ff, sparse} {
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 5551, 5552, 5553, 5560, 11104, 11111, len(data)} {
			if got, want := adler32Update(1, data[:n]), adler32.Checksum(data[:n]); got != want {
				t.Fatalf("%d bytes: %#08x, want %#08x", n, got, want)
			}
			// Continuing from the state after a prefix.
			h := adler32.New()
			h.Write(data[:n/3])
			h.Write(data[n/3 : n])
			if got := adler32Update(adler32Update(1, data[:n/3]), data[n/3:n]); got != h.Sum32() {
				t.Fatalf("%d bytes in two parts: %#08x, want %#08x", n, got, h.Sum32())
			}
		}
	}
}

// TestAdler32ZerosMatchesUpdate: n zero bytes at once, from running states,
// for n around the modulus too.
func TestAdler32ZerosMatchesUpdate(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 65521))
	zeros := make([]byte, 3*65521+9)
	for _, n := range []int{0, 1, 7, 8, 812, 5552, 65520, 65521, 65522, len(zeros)} {
		for range 4 {
			prefix := make([]byte, rng.IntN(3000))
			for i := range prefix {
				prefix[i] = byte(rng.IntN(256))
			}
			start := adler32Update(1, prefix)
			if got, want := adler32Zeros(start, n), adler32Update(start, zeros[:n]); got != want {
				t.Fatalf("%d zeros from %#08x: %#08x, want %#08x", n, start, got, want)
			}
		}
	}
}
