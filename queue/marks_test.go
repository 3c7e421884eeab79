package queue

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// claimAll claims every queued job of printer with ClaimUnsent, in order.
func claimAll(t *testing.T, d *DB, printer string) []Job {
	t.Helper()
	var js []Job
	for {
		j, err := d.ClaimUnsent(context.Background(), printer)
		if err != nil {
			return js
		}
		js = append(js, j)
	}
}

func mustTransmit(t *testing.T, d *DB, id JobID) {
	t.Helper()
	if _, err := d.Transmitting(context.Background(), id); err != nil {
		t.Fatalf("Transmitting(%s): %v", id, err)
	}
}

// The marks log is a ring. A slot is written over only once its mark is
// no longer needed, or after that mark was made durable in bbolt: a mark
// lost to the ring would let Open put back in the queue a job whose bytes
// may have reached the printer, which would print it twice.
func TestMarksRingKeepsMarksStillNeeded(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	d := openT(t, path, &Options{markSlots: 2})
	for _, k := range []string{"a", "b", "c"} {
		mustEnqueue(t, d, zpl(k, "p"))
	}
	js := claimAll(t, d, "p")
	a, b, c := js[0], js[1], js[2]
	mustTransmit(t, d, a.ID) // slot 0
	mustTransmit(t, d, b.ID) // slot 1
	if _, err := d.SetState(ctx, b.ID, StatePrinted, ""); err != nil {
		t.Fatal(err)
	}
	bBefore, _ := d.Job(ctx, b.ID)
	mustTransmit(t, d, c.ID) // slot 0 again: a is still sending under its claim
	if got, _ := d.Job(ctx, a.ID); got.Claim != 0 || got.State != StateSending {
		t.Fatalf("a after its slot was reused: %s, claim %d; want sending with the claim ended in bbolt", got.State, got.Claim)
	}
	e := mustEnqueue(t, d, zpl("e", "p"))
	claimAll(t, d, "p")
	mustTransmit(t, d, e.ID) // slot 1 again: b is printed, its mark no longer needed
	if got, _ := d.Job(ctx, b.ID); !got.UpdatedAt.Equal(bBefore.UpdatedAt) || len(got.History) != len(bBefore.History) {
		t.Fatalf("b was written when its spent slot was reused: %+v", got)
	}
	d.Close()

	d = openT(t, path, &Options{markSlots: 2})
	want := []JobID{a.ID, c.ID, e.ID}
	if rec, req := d.Recovered(), d.Requeued(); !slices.Equal(rec, want) || len(req) != 0 {
		t.Fatalf("Recovered = %v, Requeued = %v; want %v uncertain and none requeued", rec, req, want)
	}
}

// Transmitting writes the mark to the marks log, not to bbolt: the job
// record is unchanged, and the mark alone makes Open take the job for
// uncertain.
func TestTransmittingWritesTheMarksLogOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	d := openT(t, path, nil)
	j := mustEnqueue(t, d, zpl("1", "p"))
	c, err := d.ClaimUnsent(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := d.Job(ctx, j.ID)
	mustTransmit(t, d, j.ID)
	after, _ := d.Job(ctx, j.ID)
	if after.Claim != c.Claim || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("job record changed by Transmitting: before %+v, after %+v", before, after)
	}
	marks, size, err := readMarks(path + ".marks")
	if err != nil || size != defaultMarkSlots*markSlotSize || !marks[markKey{id: j.ID, claim: c.Claim}] || len(marks) != 1 {
		t.Fatalf("marks log = %v (size %d, %v); want the one mark of %s claim %d", marks, size, err, j.ID, c.Claim)
	}
}

// A marks file of the wrong size (or missing, or holding garbage) is made
// anew at Open; a slot that is damaged (a write torn by a power cut, whose
// fdatasync never returned, so no byte followed it) is no mark.
func TestMarksFileDamaged(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	if err := os.WriteFile(path+".marks", bytes.Repeat([]byte{0xa5}, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	d := openT(t, path, nil)
	if st, err := os.Stat(path + ".marks"); err != nil || st.Size() != defaultMarkSlots*markSlotSize {
		t.Fatalf("marks file after Open: %v, %v; want %d bytes", st, err, defaultMarkSlots*markSlotSize)
	}
	j1 := mustEnqueue(t, d, zpl("1", "p"))
	j2 := mustEnqueue(t, d, zpl("2", "p"))
	claimAll(t, d, "p")
	mustTransmit(t, d, j1.ID) // slot 0
	mustTransmit(t, d, j2.ID) // slot 1
	d.Close()

	f, err := os.OpenFile(path+".marks", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff}, markSlotSize+3); err != nil { // j2's slot torn
		t.Fatal(err)
	}
	f.Close()
	d = openT(t, path, nil)
	if rec, req := d.Recovered(), d.Requeued(); !slices.Equal(rec, []JobID{j1.ID}) || !slices.Equal(req, []JobID{j2.ID}) {
		t.Fatalf("Recovered = %v, Requeued = %v; want [%s] and [%s]", rec, req, j1.ID, j2.ID)
	}
	if got, _ := d.Job(ctx, j2.ID); got.State != StateQueued {
		t.Fatalf("j2 is %s, want queued", got.State)
	}
}

var markCases = []markKey{
	{id: 1, claim: 1},
	{id: 42, claim: 7},
	{id: JobID(^uint64(0)), claim: ^uint64(0)},
	{id: 0x0102030405060708, claim: 0x1112131415161718},
}

func TestMarkRoundTrip(t *testing.T) {
	t.Parallel()
	for _, k := range markCases {
		var b [markSlotSize]byte
		encodeMark(b[:], k)
		if got, ok := decodeMark(b[:]); !ok || got != k {
			t.Errorf("decode(encode(%v)) = %v, %v", k, got, ok)
		}
		for i := range 20 { // every byte the CRC covers, and the CRC
			c := b
			c[i] ^= 0x40
			if got, ok := decodeMark(c[:]); ok {
				t.Errorf("%v with byte %d flipped decodes as %v", k, i, got)
			}
		}
	}
	for _, b := range [][]byte{make([]byte, markSlotSize), nil, make([]byte, 19)} {
		if got, ok := decodeMark(b); ok {
			t.Errorf("decode(%x) = %v, want no mark", b, got)
		}
	}
}

func FuzzDecodeMark(f *testing.F) {
	for _, k := range markCases {
		var b [markSlotSize]byte
		encodeMark(b[:], k)
		f.Add(b[:])
	}
	f.Add(make([]byte, markSlotSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, ok := decodeMark(b)
		if !ok {
			return
		}
		if k.id == 0 || k.claim == 0 {
			t.Fatalf("decoded a zero mark %v", k)
		}
		var e [markSlotSize]byte
		encodeMark(e[:], k)
		if !bytes.Equal(e[:20], b[:20]) {
			t.Fatalf("%x decodes as %v, which encodes as %x", b[:20], k, e[:20])
		}
	})
}
