package queue

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// bucket is a bolt bucket that, while a compaction copies the file, notes
// every key it changes (and every sequence and nested bucket it touches),
// so the copy can catch up in a moment before it replaces the file.
// Every write in this package goes through it; Cursor is for reading only.
type bucket struct {
	b    *bolt.Bucket
	log  *changeLog // nil when no compaction is copying
	path []string   // bucket names from the top

	// FillPercent, when set, is handed to bbolt on the next write (it
	// splits pages at commit with the value of the bucket's last write).
	FillPercent float64
}

func (b *bucket) child(name []byte, nb *bolt.Bucket) *bucket {
	if nb == nil {
		return nil
	}
	p := append(append(make([]string, 0, len(b.path)+1), b.path...), string(name))
	return &bucket{b: nb, log: b.log, path: p}
}

func (b *bucket) Get(k []byte) []byte                      { return b.b.Get(k) }
func (b *bucket) Cursor() *bolt.Cursor                     { return b.b.Cursor() }
func (b *bucket) ForEach(fn func(k, v []byte) error) error { return b.b.ForEach(fn) }
func (b *bucket) Sequence() uint64                         { return b.b.Sequence() }
func (b *bucket) Stats() bolt.BucketStats                  { return b.b.Stats() }
func (b *bucket) Bucket(name []byte) *bucket               { return b.child(name, b.b.Bucket(name)) }

func (b *bucket) Put(k, v []byte) error {
	b.log.key(b.path, k)
	b.fill()
	return b.b.Put(k, v)
}

func (b *bucket) Delete(k []byte) error {
	b.log.key(b.path, k)
	b.fill()
	return b.b.Delete(k)
}

func (b *bucket) fill() {
	if b.FillPercent != 0 {
		b.b.FillPercent = b.FillPercent
	}
}

func (b *bucket) NextSequence() (uint64, error) {
	b.log.key(b.path, nil)
	return b.b.NextSequence()
}

func (b *bucket) CreateBucketIfNotExists(name []byte) (*bucket, error) {
	nb, err := b.b.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, err
	}
	c := b.child(name, nb)
	b.log.key(c.path, nil)
	return c, nil
}

// maxChanges bounds the keys a compaction remembers (a few MB on a small
// board; a busy hour of labels writes a few thousand keys). A copy that
// sees more is given up, and retried at the next housekeeping, rather than
// hold the memory or the write lock for long.
const maxChanges = 1 << 16

// changeLog is the set of keys written since a compaction's snapshot.
// A key noted by a transaction that then rolled back is harmless: the
// catch-up copies each noted key's current value, or deletes it.
type changeLog struct {
	mu       sync.Mutex
	paths    map[string]*pathChanges // by encoded path
	n        int
	overflow bool
}

type pathChanges struct {
	path []string
	keys map[string]struct{}
}

func newChangeLog() *changeLog { return &changeLog{paths: map[string]*pathChanges{}} }

// key notes k in the bucket at path; a nil k notes only the bucket (its
// existence and sequence).
func (l *changeLog) key(path []string, k []byte) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.overflow {
		return
	}
	var enc []byte
	for _, p := range path {
		enc = binary.AppendUvarint(enc, uint64(len(p)))
		enc = append(enc, p...)
	}
	pc, ok := l.paths[string(enc)]
	if !ok {
		pc = &pathChanges{path: append([]string(nil), path...), keys: map[string]struct{}{}}
		l.paths[string(enc)] = pc
		l.n++
	}
	if k != nil {
		if _, ok := pc.keys[string(k)]; !ok {
			pc.keys[string(k)] = struct{}{}
			l.n++
		}
	}
	if l.n > maxChanges {
		l.overflow = true
		l.paths = nil
	}
}

// full reports whether more keys changed than the catch-up may copy.
func (l *changeLog) full() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.overflow
}

// replay makes dst hold, for every noted key, what src holds now.
// Parents go before their nested buckets.
func (l *changeLog) replay(dst, src *bolt.Tx) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.overflow {
		return fmt.Errorf("more than %d keys changed during the copy", maxChanges)
	}
	all := make([]*pathChanges, 0, len(l.paths))
	for _, pc := range l.paths {
		all = append(all, pc)
	}
	sort.Slice(all, func(i, j int) bool { return len(all[i].path) < len(all[j].path) })
	for _, pc := range all {
		if err := replayBucket(dst, src, pc); err != nil {
			return fmt.Errorf("bucket %q: %w", pc.path, err)
		}
	}
	return nil
}

func replayBucket(dst, src *bolt.Tx, pc *pathChanges) error {
	sb := lookup(src, pc.path)
	if sb == nil {
		// Gone from the live file (this package never drops a bucket, but
		// the copy must not keep one that the live file lost).
		if db := lookup(dst, pc.path); db != nil {
			if len(pc.path) == 1 {
				return dst.DeleteBucket([]byte(pc.path[0]))
			}
			return lookup(dst, pc.path[:len(pc.path)-1]).DeleteBucket([]byte(pc.path[len(pc.path)-1]))
		}
		return nil
	}
	db, err := dst.CreateBucketIfNotExists([]byte(pc.path[0]))
	if err != nil {
		return err
	}
	for _, name := range pc.path[1:] {
		if db, err = db.CreateBucketIfNotExists([]byte(name)); err != nil {
			return err
		}
	}
	if appendOnly(pc.path[0]) && len(pc.path) == 1 {
		db.FillPercent = appendFill
	}
	if err := db.SetSequence(sb.Sequence()); err != nil {
		return err
	}
	c := sb.Cursor()
	for ks := range pc.keys {
		k := []byte(ks)
		if sb.Bucket(k) != nil {
			if _, err := db.CreateBucketIfNotExists(k); err != nil {
				return err
			}
			continue
		}
		if ck, v := c.Seek(k); ck != nil && bytes.Equal(ck, k) {
			if err := db.Put(k, v); err != nil {
				return err
			}
			continue
		}
		if db.Bucket(k) != nil {
			if err := db.DeleteBucket(k); err != nil {
				return err
			}
		} else if err := db.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func lookup(tx *bolt.Tx, path []string) *bolt.Bucket {
	b := tx.Bucket([]byte(path[0]))
	for _, name := range path[1:] {
		if b == nil {
			return nil
		}
		b = b.Bucket([]byte(name))
	}
	return b
}
