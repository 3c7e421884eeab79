package station

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/packbench/packbench/queue"
)

// DefaultLabelRetention is how long Housekeep keeps label artefacts when
// given no duration: the queue's own default retention of finished jobs.
const DefaultLabelRetention = queue.DefaultRetention

func labelTimeKey(t time.Time, ref string) string {
	return fmt.Sprintf("%020d/%s", t.UnixNano(), ref)
}

// Housekeep deletes the label artefacts (ZPL, PNG preview, layout) of
// labels made more than keep ago (0 means DefaultLabelRetention): a bench
// printing carrier PNGs would otherwise grow its file by the megabyte
// every few dozen labels. Packages, tracking numbers and orders are kept;
// the package is marked LabelDeleted, and its label can no longer be
// fetched or reprinted. Run it with queue.DB.Housekeep (hourly). It returns
// how many labels it deleted.
func (s *Station) Housekeep(ctx context.Context, keep time.Duration) (int, error) {
	if keep <= 0 {
		keep = DefaultLabelRetention
	}
	cutoff := s.clock.Now().Add(-keep).UnixNano()
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, more, err := s.housekeepBatch(cutoff, 200)
		total += n
		if err != nil {
			return total, fmt.Errorf("station: housekeep: %w", err)
		}
		if !more {
			return total, nil
		}
	}
}

// housekeepBatch deletes up to limit expired labels in one transaction.
func (s *Station) housekeepBatch(cutoff int64, limit int) (n int, more bool, err error) {
	err = s.db.Update(func(tx *queue.Tx) error {
		n, more = 0, false
		recs, err := tx.ListRecords(kindLabelTime, queue.RecordPage{Limit: limit})
		if err != nil {
			return err
		}
		for _, r := range recs {
			ts, ref, ok := strings.Cut(r.Key, "/")
			t, perr := strconv.ParseInt(ts, 10, 64)
			if !ok || perr != nil {
				return fmt.Errorf("label time %q: malformed", r.Key)
			}
			if t > cutoff {
				return nil
			}
			for _, suf := range []string{".zpl", ".png", ".json"} {
				if err := tx.DeleteRecord(kindLabels, ref+suf); err != nil {
					return err
				}
			}
			if key, err := packageKey(tx, ref); err == nil {
				var p Package
				if err := getJSON(tx, kindPackages, key, &p); err != nil {
					return err
				}
				p.LabelDeleted, p.HasPreview = true, false
				if err := putJSON(tx, kindPackages, key, p); err != nil {
					return err
				}
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
			if err := tx.DeleteRecord(kindLabelTime, r.Key); err != nil {
				return err
			}
			n++
		}
		more = len(recs) == limit
		return nil
	})
	return n, more, err
}
