package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// The marks log holds the printer workers' write-ahead marks (Transmitting)
// outside the bbolt file. A mark must be durable before a job's first byte
// goes to the printer; as a bbolt commit it waited for the commit in
// flight and then paid bbolt's two fsyncs, which under load was most of
// the time a label took to print (issues 13 and 20). Here a mark is one
// 32-byte write into a file of fixed size whose blocks were written when
// it was made, and one fdatasync that flushes no metadata.
//
// A job claimed with ClaimUnsent carries a claim number (Job.Claim) in
// bbolt; its mark is the slot (job id, claim number). Open reads every
// slot before it recovers the jobs found sending: such a job went back to
// its queue unless its mark is there. Claim numbers come from a durable
// counter and are never reused, so an old slot never matches a later
// claim, and the log needs no clearing. The slots are used in a ring; a
// slot whose mark may still be needed (its job is still sending under
// that claim) is made durable in bbolt first (the job's Claim cleared)
// before it is written over.
//
// Slot layout: job id (8, big endian) ‖ claim (8) ‖ CRC-32C of those 16
// bytes salted with markMagic (4) ‖ zero (12). Zeroes, a torn write or
// garbage fail the CRC and are no mark: a mark whose write did not
// complete was never followed by a byte to the printer.
const (
	markSlotSize     = 32
	defaultMarkSlots = 1024
	// maxMarkFile bounds what Open reads of a marks file whatever its size.
	maxMarkFile = 1 << 20
	markMagic   = "packbench marks 1"
	// claimCounter numbers claims (Job.Claim).
	claimCounter = "queue.claim"
)

var markTable = crc32.MakeTable(crc32.Castagnoli)

// markKey names one claim of one job.
type markKey struct {
	id    JobID
	claim uint64
}

func encodeMark(b []byte, k markKey) {
	clear(b[:markSlotSize])
	binary.BigEndian.PutUint64(b[0:8], uint64(k.id))
	binary.BigEndian.PutUint64(b[8:16], k.claim)
	binary.BigEndian.PutUint32(b[16:20], markCRC(b[0:16]))
}

func markCRC(b []byte) uint32 {
	return crc32.Update(crc32.Checksum([]byte(markMagic), markTable), markTable, b)
}

// decodeMark returns the mark in slot b, or false for an empty or damaged
// slot.
func decodeMark(b []byte) (markKey, bool) {
	if len(b) < markSlotSize {
		return markKey{}, false
	}
	k := markKey{id: JobID(binary.BigEndian.Uint64(b[0:8])), claim: binary.BigEndian.Uint64(b[8:16])}
	if k.id == 0 || k.claim == 0 || binary.BigEndian.Uint32(b[16:20]) != markCRC(b[0:16]) {
		return markKey{}, false
	}
	return k, true
}

// readMarks returns the marks in the file at name (none if it does not
// exist) and its size.
func readMarks(name string) (map[markKey]bool, int64, error) {
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read marks: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("read marks: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxMarkFile))
	if err != nil {
		return nil, 0, fmt.Errorf("read marks: %w", err)
	}
	marks := map[markKey]bool{}
	for off := 0; off+markSlotSize <= len(b); off += markSlotSize {
		if k, ok := decodeMark(b[off : off+markSlotSize]); ok {
			marks[k] = true
		}
	}
	return marks, st.Size(), nil
}

// markLog is the open marks file and which slot holds which mark written
// since Open.
type markLog struct {
	f *os.File

	mu    sync.Mutex
	slots []markKey // zero: free (nothing written since Open)
	next  int
}

// openMarkLog opens the marks file at name with n slots, making it anew
// (written with zeroes under a temporary name, synced, renamed) when it is
// missing or of another size. Open calls it after the jobs were
// recovered: what the old file held is used up.
func openMarkLog(name string, n int, size int64) (*markLog, error) {
	want := int64(n) * markSlotSize
	if size != want {
		if err := makeMarkFile(name, want); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open marks: %w", err)
	}
	return &markLog{f: f, slots: make([]markKey, n)}, nil
}

func makeMarkFile(name string, size int64) error {
	tmp := name + ".init"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("make marks: %w", err)
	}
	// Written, not truncated to size: a hole's blocks would be allocated
	// by the first marks, and their fdatasync would then flush metadata.
	_, err = f.Write(make([]byte, size))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err == nil {
		err = syncDir(filepath.Dir(name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("make marks: %w", err)
	}
	return nil
}

// reserve takes the next slot for k and returns it with the mark it held,
// which the caller makes durable elsewhere before it writes the slot.
func (l *markLog) reserve(k markKey) (slot int, old markKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	slot = l.next
	old = l.slots[slot]
	l.slots[slot] = k
	l.next = (slot + 1) % len(l.slots)
	return slot, old
}

// write puts k in slot and returns once it is on disk.
func (l *markLog) write(slot int, k markKey) error {
	var b [markSlotSize]byte
	encodeMark(b[:], k)
	if _, err := l.f.WriteAt(b[:], int64(slot)*markSlotSize); err != nil {
		return fmt.Errorf("write mark: %w", err)
	}
	if err := datasync(l.f); err != nil {
		return fmt.Errorf("sync mark: %w", err)
	}
	return nil
}

func (l *markLog) close() error { return l.f.Close() }
