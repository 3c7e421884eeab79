package queue

import (
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

// Compact rewrites the file without its free pages: copy to a new file,
// fsync it, rename it over the old one, fsync the directory, reopen.
// Every other call waits meanwhile. A crash at any point leaves either the
// old or the new file complete at Path.
func (d *DB) Compact(ctx context.Context) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bolt == nil {
		return ErrClosed
	}
	tmp := d.path + ".compact"
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: d.opts.Timeout})
	if err != nil {
		return fmt.Errorf("queue: compact: %w", err)
	}
	err = bolt.Compact(dst, d.bolt, 64<<20)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncFile(tmp)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("queue: compact: %w", err)
	}
	if err := d.bolt.Close(); err != nil {
		_ = os.Remove(tmp)
		d.bolt = nil
		return fmt.Errorf("queue: compact: close: %w", err)
	}
	d.bolt = nil
	if err := os.Rename(tmp, d.path); err != nil {
		_ = os.Remove(tmp)
		if oerr := d.openBolt(); oerr != nil {
			return fmt.Errorf("queue: compact: rename: %w; reopen: %v", err, oerr)
		}
		return fmt.Errorf("queue: compact: rename: %w", err)
	}
	if err := syncDir(filepath.Dir(d.path)); err != nil {
		// The rename may not be durable yet, but both files are complete.
		if oerr := d.openBolt(); oerr != nil {
			return fmt.Errorf("queue: compact: sync dir: %w; reopen: %v", err, oerr)
		}
		return fmt.Errorf("queue: compact: sync dir: %w", err)
	}
	if err := d.openBolt(); err != nil {
		return fmt.Errorf("queue: compact: reopen: %w", err)
	}
	return nil
}
