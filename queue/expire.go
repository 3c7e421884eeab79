package queue

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A time index is a record kind whose keys are TimeKey(t, name): they sort
// by t, so what expired is a prefix of the kind. Label artefacts and the
// kept answers of Idempotency-Keys are dated this way; ExpireRecords is
// their one clean-up.

// TimeKey is the key of name's entry dated t in a time index.
func TimeKey(t time.Time, name string) string {
	return fmt.Sprintf("%020d/%s", t.UnixNano(), name)
}

// expireBatch bounds one ExpireRecords transaction, so writers wait for
// one short transaction at a time, never for the whole clean-up.
const expireBatch = 200

// ExpireRecords walks the time index kind oldest first and, for every
// entry dated at or before cutoff, calls expire with the entry's name in
// the same write transaction, then deletes the entry. It returns how many
// calls said they deleted something. Each transaction handles at most 200
// entries; ctx is checked between them.
func (d *DB) ExpireRecords(ctx context.Context, kind string, cutoff time.Time, expire func(tx *Tx, name string) (bool, error)) (int, error) {
	limit := cutoff.UnixNano()
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, more := 0, false
		err := d.Update(func(tx *Tx) error {
			n, more = 0, false
			recs, err := tx.ListRecords(kind, RecordPage{Limit: expireBatch})
			if err != nil {
				return err
			}
			for _, r := range recs {
				ts, name, ok := strings.Cut(r.Key, "/")
				t, perr := strconv.ParseInt(ts, 10, 64)
				if !ok || perr != nil {
					return fmt.Errorf("%s %q: not a time index key", kind, r.Key)
				}
				if t > limit {
					return nil
				}
				deleted, err := expire(tx, name)
				if err != nil {
					return err
				}
				if deleted {
					n++
				}
				if err := tx.DeleteRecord(kind, r.Key); err != nil {
					return err
				}
			}
			more = len(recs) == expireBatch
			return nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("queue: expire %s: %w", kind, err)
		}
		if !more {
			return total, nil
		}
	}
}
