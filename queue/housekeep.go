package queue

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// deleteChunk bounds how much one housekeeping transaction deletes, so a
// large cleanup never holds the writer (or memory) for long.
const deleteChunk = 5000

// saneTime is the earliest time the retention clock trusts: earlier stamps
// come from a board that booted without a real-time clock.
func saneTime() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }

// HousekeepReport says what Housekeep did.
type HousekeepReport struct {
	JobsDeleted     int   // finished jobs past Retention (with payload and key)
	EventsDeleted   int   // events every consumer acknowledged
	EventsExpired   int   // events past EventRetention not acknowledged by all
	Compacted       bool  // the file was rewritten
	FileBytesBefore int64 // file size before compaction
	FileBytesAfter  int64
}

// Housekeep deletes finished jobs (sent, printed, failed, cancelled) that
// finished more than Retention ago together with their payload and
// idempotency key, events all registered consumers acknowledged (all of
// them when no consumer is registered: register consumers through
// Options.Consumers so none misses events), and events older than
// EventRetention; then compacts if the file is CompactRatio times larger
// than its live data. Run it periodically (hourly is plenty).
func (d *DB) Housekeep(ctx context.Context) (HousekeepReport, error) {
	var r HousekeepReport
	if err := ctxErr(ctx); err != nil {
		return r, err
	}
	for {
		n, err := d.deleteFinishedJobs()
		if err != nil {
			return r, fmt.Errorf("queue: housekeep: %w", err)
		}
		r.JobsDeleted += n
		if n < deleteChunk {
			break
		}
		if err := ctxErr(ctx); err != nil {
			return r, err
		}
	}
	for {
		acked, expired, err := d.deleteEvents()
		if err != nil {
			return r, fmt.Errorf("queue: housekeep: %w", err)
		}
		r.EventsDeleted += acked
		r.EventsExpired += expired
		if acked+expired < deleteChunk {
			break
		}
		if err := ctxErr(ctx); err != nil {
			return r, err
		}
	}
	st, err := d.Stats(ctx)
	if err != nil {
		return r, err
	}
	r.FileBytesBefore, r.FileBytesAfter = st.FileBytes, st.FileBytes
	if st.FileBytes > d.opts.CompactMin && float64(st.FileBytes) > d.opts.CompactRatio*float64(st.LiveBytes) {
		if err := d.Compact(ctx); err != nil {
			return r, err
		}
		r.Compacted = true
		if st, err = d.Stats(ctx); err != nil {
			return r, err
		}
		r.FileBytesAfter = st.FileBytes
	}
	return r, nil
}

func (d *DB) deleteFinishedJobs() (int, error) {
	n := 0
	err := d.Update(func(tx *Tx) error {
		n = 0
		cutoff := uint64(tx.now.Add(-d.opts.Retention).UnixNano())
		var keys, restamp [][]byte
		c := tx.bucket(bDone).Cursor()
		for k, _ := c.First(); k != nil && len(keys)+len(restamp) < deleteChunk; k, _ = c.Next() {
			at := binary.BigEndian.Uint64(k[:8])
			if at < uint64(saneTime().UnixNano()) {
				// Finished while the clock was unset (a Pi without RTC
				// boots at 1970): its age is unknown, so its retention
				// starts now, once the clock is sane. Deleting it would
				// forget its idempotency key early.
				if !tx.now.Before(saneTime()) {
					restamp = append(restamp, append([]byte(nil), k...))
				}
				continue
			}
			if at > cutoff {
				break
			}
			keys = append(keys, append([]byte(nil), k...))
		}
		for _, k := range restamp {
			id := jobIDFromKey(k[8:])
			j, err := tx.job(id, false)
			if err != nil {
				return fmt.Errorf("job %s: %w", id, err)
			}
			if err := tx.bucket(bDone).Delete(k); err != nil {
				return err
			}
			j.FinishedAt = tx.now
			if err := tx.bucket(bDone).Put(doneKey(j.FinishedAt, id), nil); err != nil {
				return err
			}
			if err := tx.putJob(&j); err != nil {
				return err
			}
		}
		for _, k := range keys {
			id := jobIDFromKey(k[8:])
			j, err := tx.job(id, false)
			if err != nil {
				return fmt.Errorf("job %s: %w", id, err)
			}
			if err := tx.bucket(bDone).Delete(k); err != nil {
				return err
			}
			if b := tx.bucket(bByState).Bucket([]byte(j.State)); b != nil {
				if err := b.Delete(id.key()); err != nil {
					return err
				}
			}
			if err := tx.bucket(bIdem).Delete([]byte(j.Key)); err != nil {
				return err
			}
			if err := tx.bucket(bPayloads).Delete(id.key()); err != nil {
				return err
			}
			if err := tx.bucket(bJobs).Delete(id.key()); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

func (d *DB) deleteEvents() (acked, expired int, err error) {
	err = d.Update(func(tx *Tx) error {
		acked, expired = 0, 0
		var minCursor uint64
		hasConsumer := false
		if err := tx.bucket(bConsumers).ForEach(func(_, v []byte) error {
			cur := binary.BigEndian.Uint64(v)
			if !hasConsumer || cur < minCursor {
				minCursor = cur
			}
			hasConsumer = true
			return nil
		}); err != nil {
			return err
		}
		if !hasConsumer {
			// Nobody to deliver to: every event is delivered to every
			// registered consumer. A consumer added later starts from now.
			minCursor, hasConsumer = tx.bucket(bEvents).Sequence(), true
		}
		cutoff := tx.now.Add(-d.opts.EventRetention)
		type del struct {
			k       []byte
			expired bool
		}
		var dels []del
		c := tx.bucket(bEvents).Cursor()
		for k, v := c.First(); k != nil && len(dels) < deleteChunk; k, v = c.Next() {
			if hasConsumer && binary.BigEndian.Uint64(k) <= minCursor {
				dels = append(dels, del{k: append([]byte(nil), k...)})
				continue
			}
			var ev Event
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("decode event %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if !ev.Time.Before(cutoff) || ev.Time.Before(saneTime()) {
				// Events are written in time order, so the rest are younger;
				// an event stamped before the clock was set has an unknown
				// age and waits for its acknowledgement.
				break
			}
			dels = append(dels, del{k: append([]byte(nil), k...), expired: true})
		}
		for _, x := range dels {
			if err := tx.bucket(bEvents).Delete(x.k); err != nil {
				return err
			}
			if x.expired {
				expired++
			} else {
				acked++
			}
		}
		return nil
	})
	return acked, expired, err
}

// Stats describes the file.
type Stats struct {
	FileBytes   int64 // size on disk
	LiveBytes   int64 // pages in use (the rest is free space compaction would return)
	Events      int   // events still in the outbox
	LastEvent   uint64
	LastJobID   JobID
	JobsByState map[State]int
}

// Stats measures the file.
func (d *DB) Stats(ctx context.Context) (Stats, error) {
	if err := ctxErr(ctx); err != nil {
		return Stats{}, err
	}
	var s Stats
	err := d.View(func(tx *Tx) error {
		fi, err := os.Stat(d.path)
		if err != nil {
			return err
		}
		s.FileBytes = fi.Size()
		free := int64(d.bolt.Stats().FreeAlloc)
		s.LiveBytes = tx.btx.Size() - free
		s.Events = tx.bucket(bEvents).Stats().KeyN
		s.LastEvent = tx.bucket(bEvents).Sequence()
		s.LastJobID = JobID(tx.bucket(bJobs).Sequence())
		s.JobsByState = map[State]int{}
		for _, st := range States() {
			if b := tx.bucket(bByState).Bucket([]byte(st)); b != nil {
				if n := b.Stats().KeyN; n > 0 {
					s.JobsByState[st] = n
				}
			}
		}
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("queue: stats: %w", err)
	}
	return s, nil
}

// compactChunk is how much the copy reads in one read transaction and
// writes in one commit of the new file. Each read transaction ends before
// the commit's fsync, so none lives long: bbolt makes a writer that must
// grow the memory map wait for every open reader.
const compactChunk = 4 << 20

// Compact rewrites the file without its free pages while the queue keeps
// working (see the package doc): it copies the live file to a new one in
// short read transactions with no lock held, noting every key written
// meanwhile; then, under the write lock for a moment, it copies the noted
// keys again as they are now, renames the copy over the file, syncs the
// directory and switches to it. The file stays locked throughout. A crash
// at any point leaves either the old or the new file complete at Path. If
// the directory cannot be synced after the rename, the DB breaks for good
// (Fatal).
func (d *DB) Compact(ctx context.Context) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	d.compactMu.Lock()
	defer d.compactMu.Unlock()

	// Start noting writes with none in flight: whatever the copy reads
	// from here on either stays as read or is noted.
	d.mu.Lock()
	if d.bolt == nil {
		err := d.gone()
		d.mu.Unlock()
		return err
	}
	src, log := d.bolt, newChangeLog()
	d.changes = log
	d.mu.Unlock()

	tmp := d.path + ".compact"
	_ = os.Remove(tmp)
	dst, err := d.openBolt(tmp)
	if err == nil {
		c := &copier{ctx: ctx, closing: d.closing, log: log, src: src, dst: dst}
		err = c.run()
	}
	if err == nil {
		err = d.hook("copied")
	}
	if err != nil {
		d.mu.Lock()
		if d.changes == log {
			d.changes = nil
		}
		d.mu.Unlock()
		if dst != nil {
			dst.Close()
			_ = os.Remove(tmp)
		}
		return fmt.Errorf("queue: compact: %w", err)
	}
	return d.swap(src, dst, tmp, log)
}

// copier copies every bucket of src into dst, key by key in key order, in
// chunks: each chunk is read in its own read transaction (its keys and
// values cloned, so the reader can end before the commit) and committed
// to dst. Chunks see different moments of src; a key that changed between
// them was noted by the change log and is copied again at the swap.
type copier struct {
	ctx      context.Context
	closing  <-chan struct{}
	log      *changeLog
	src, dst *bolt.DB
	stx, dtx *bolt.Tx
	size     int
	n        int
	gen      int // counts chunk boundaries: cursors must be found again
}

func (c *copier) run() (err error) {
	if err := c.begin(); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	defer func() {
		if c.stx != nil {
			_ = c.stx.Rollback()
		}
		if c.dtx != nil {
			_ = c.dtx.Rollback()
		}
	}()
	var names [][]byte
	if err := c.stx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		names = append(names, bytes.Clone(name))
		return nil
	}); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	for _, name := range names {
		sb := c.stx.Bucket(name)
		if sb == nil {
			continue // gone since (the catch-up deals with it)
		}
		nb, err := c.dtx.CreateBucket(name)
		if err == nil {
			err = nb.SetSequence(sb.Sequence())
		}
		if err == nil {
			err = c.copyBucket([][]byte{name})
		}
		if err != nil {
			return fmt.Errorf("copy %s: %w", name, err)
		}
	}
	_ = c.stx.Rollback()
	c.stx = nil
	err = c.dtx.Commit()
	c.dtx = nil
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	return nil
}

func (c *copier) begin() error {
	var err error
	if c.stx, err = c.src.Begin(false); err != nil {
		return err
	}
	c.dtx, err = c.dst.Begin(true)
	return err
}

// flush ends the chunk: the reader first, then the commit (with its fsync).
func (c *copier) flush() error {
	_ = c.stx.Rollback()
	c.stx = nil
	err := c.dtx.Commit()
	c.dtx = nil
	if err != nil {
		return err
	}
	if err := c.stopped(); err != nil {
		return err
	}
	c.size = 0
	c.gen++
	return c.begin()
}

func (c *copier) dstBucket(path [][]byte) *bolt.Bucket {
	b := c.dtx.Bucket(path[0])
	for _, name := range path[1:] {
		b = b.Bucket(name)
	}
	b.FillPercent = 1 // written in key order: fill every page
	return b
}

func srcBucket(tx *bolt.Tx, path [][]byte) *bolt.Bucket {
	b := tx.Bucket(path[0])
	for _, name := range path[1:] {
		if b == nil {
			return nil
		}
		b = b.Bucket(name)
	}
	return b
}

// copyBucket copies the bucket at path (already created in dst), finding
// its place again after every chunk boundary.
func (c *copier) copyBucket(path [][]byte) error {
	sb := srcBucket(c.stx, path)
	if sb == nil {
		return nil
	}
	db := c.dstBucket(path)
	gen := c.gen
	cur := sb.Cursor()
	k, v := cur.First()
	for k != nil {
		key := bytes.Clone(k)
		if v == nil && sb.Bucket(k) != nil {
			nb, err := db.CreateBucket(key)
			if err == nil {
				err = nb.SetSequence(sb.Bucket(k).Sequence())
			}
			if err == nil {
				err = c.copyBucket(append(path[:len(path):len(path)], key))
			}
			if err != nil {
				return err
			}
		} else {
			if err := db.Put(key, bytes.Clone(v)); err != nil {
				return err
			}
			c.size += len(k) + len(v)
		}
		if c.n++; c.n%1024 == 0 {
			if err := c.stopped(); err != nil {
				return err
			}
		}
		if c.size >= compactChunk {
			if err := c.flush(); err != nil {
				return err
			}
		}
		if c.gen == gen {
			k, v = cur.Next()
			continue
		}
		// A new chunk (here or in a nested bucket): find our place again.
		if sb = srcBucket(c.stx, path); sb == nil {
			return nil
		}
		db, gen, cur = c.dstBucket(path), c.gen, sb.Cursor()
		if k, v = cur.Seek(key); k != nil && bytes.Equal(k, key) {
			k, v = cur.Next()
		}
	}
	return nil
}

func (c *copier) stopped() error {
	if err := ctxErr(c.ctx); err != nil {
		return err
	}
	if c.log.full() {
		return fmt.Errorf("more than %d keys changed during the copy; try later", maxChanges)
	}
	select {
	case <-c.closing:
		return ErrClosed
	default:
		return nil
	}
}

// swap catches the copy up with the writes made since it started and
// puts it in the file's place, all under the write lock (a moment: the
// catch-up is as large as what was written during the copy).
func (d *DB) swap(src, dst *bolt.DB, tmp string, log *changeLog) error {
	d.mu.Lock()
	locked := true
	defer func() {
		if locked {
			d.mu.Unlock()
		}
	}()
	d.changes = nil
	abandon := func(err error) error {
		dst.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("queue: compact: %w", err)
	}
	if d.bolt != src {
		return abandon(d.gone()) // closed while copying
	}
	err := src.View(func(stx *bolt.Tx) error {
		return dst.Update(func(dtx *bolt.Tx) error { return log.replay(dtx, stx) })
	})
	if err != nil {
		return abandon(fmt.Errorf("catch up: %w", err))
	}
	// dst holds its own bbolt lock since it was opened, and d.lock is
	// held throughout: whoever opens Path meanwhile finds it locked.
	if err := os.Rename(tmp, d.path); err != nil {
		return abandon(fmt.Errorf("rename: %w", err))
	}
	err = d.hook("renamed")
	if err == nil {
		err = syncDir(filepath.Dir(d.path))
	}
	if err != nil {
		// Path names the copy, but maybe not durably: a write to it could
		// be lost at the next power cut, and the old file is no longer at
		// Path. Stop writing; a restart opens whichever file is there.
		ferr := fmt.Errorf("compaction replaced %s but could not make it durable (sync directory: %w); restart to reopen it", d.path, err)
		d.breakDB(ferr)
		dst.Close()
		src.Close()
		return fmt.Errorf("queue: compact: %w", ferr)
	}
	d.bolt = dst
	locked = false
	d.mu.Unlock()
	// src is unreachable now (every call takes d.bolt under d.mu) and no
	// transaction is open on it; unmapping it takes a while, so not under
	// the lock.
	if err := src.Close(); err != nil {
		return fmt.Errorf("queue: compact: close the old file: %w", err)
	}
	return nil
}

func (d *DB) hook(step string) error {
	if d.opts.CompactHook == nil {
		return nil
	}
	return d.opts.CompactHook(step)
}
