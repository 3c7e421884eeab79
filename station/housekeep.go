package station

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/packbench/packbench/queue"
)

// DefaultLabelRetention is how long Housekeep keeps label artefacts when
// given no duration: the queue's own default retention of finished jobs.
const DefaultLabelRetention = queue.DefaultRetention

func labelTimeKey(t time.Time, ref string) string { return queue.TimeKey(t, ref) }

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
	n, err := s.db.ExpireRecords(ctx, kindLabelTime, s.clock.Now().Add(-keep), func(tx *queue.Tx, ref string) (bool, error) {
		for _, suf := range labelSuffixes {
			if err := tx.DeleteRecord(kindLabels, ref+suf); err != nil {
				return false, err
			}
		}
		if key, err := packageKey(tx, ref); err == nil {
			var p Package
			if err := getJSON(tx, kindPackages, key, &p); err != nil {
				return false, err
			}
			p.LabelDeleted, p.HasPreview = true, false
			if err := putJSON(tx, kindPackages, key, p); err != nil {
				return false, err
			}
		} else if !errors.Is(err, ErrNotFound) {
			return false, err
		}
		return true, nil
	})
	if err != nil {
		return n, fmt.Errorf("station: housekeep: %w", err)
	}
	return n, nil
}

// DefaultOrderRetention is how long HousekeepOrders keeps a finished
// order when given no duration: long enough for integrators to look up a
// parcel's tracking number after the carrier delivered it.
const DefaultOrderRetention = 90 * 24 * time.Hour

// ordersBatch bounds one retention transaction (orders looked at).
const ordersBatch = 200

// HousekeepOrders deletes finished orders (shipped or cancelled) whose
// last change (the order's, its packages' such as a reprint, or their
// print jobs') is more than keep ago (0 means DefaultOrderRetention), with everything
// kept for them: packages, labels, the local carrier's numbers, and their
// entries in the identifier, package reference, tracking number and job
// indexes. An order is kept while one of its print jobs is still queued,
// being sent or uncertain, or while the flow is armed on it; identifiers
// another order has taken over stay with that order. It returns how many
// orders it deleted.
func (s *Station) HousekeepOrders(ctx context.Context, keep time.Duration) (int, error) {
	if keep <= 0 {
		keep = DefaultOrderRetention
	}
	cutoff := s.clock.Now().Add(-keep)
	total, after := 0, ""
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, next, err := s.housekeepOrdersBatch(cutoff, after)
		total += n
		if err != nil {
			return total, fmt.Errorf("station: housekeep orders: %w", err)
		}
		if next == "" {
			return total, nil
		}
		after = next
	}
}

// housekeepOrdersBatch looks at up to ordersBatch orders after the
// creation-order cursor in a read transaction, then deletes the expired
// ones (checked again) in one write: an hourly pass that finds nothing
// to delete writes nothing. next is the cursor to go on from; "" when
// there are no more.
func (s *Station) housekeepOrdersBatch(cutoff time.Time, after string) (n int, next string, err error) {
	s.mu.Lock()
	armed := s.armed
	s.mu.Unlock()
	var due []string
	err = s.db.View(func(tx *queue.Tx) error {
		recs, err := tx.ListRecords(kindOrderSeq, queue.RecordPage{After: after, Limit: ordersBatch})
		if err != nil {
			return err
		}
		if len(recs) == ordersBatch {
			next = recs[len(recs)-1].Key
		}
		for _, r := range recs {
			id := string(r.Value)
			if _, _, ok, err := orderExpired(tx, id, cutoff, armed); err != nil {
				return err
			} else if ok {
				due = append(due, id)
			}
		}
		return nil
	})
	if err != nil || len(due) == 0 {
		return 0, next, err
	}
	err = s.db.Update(func(tx *queue.Tx) error {
		n = 0
		for _, id := range due {
			o, pkgs, ok, err := orderExpired(tx, id, cutoff, armed)
			if err != nil {
				return err
			}
			if !ok {
				continue // changed since it was looked at
			}
			if err := deleteOrder(tx, o, pkgs); err != nil {
				return fmt.Errorf("order %s: %w", o.ID, err)
			}
			n++
		}
		return nil
	})
	return n, next, err
}

// orderExpired reads order id and reports whether it is finished, not
// armed, and neither it nor its packages nor their jobs changed after
// cutoff, with no job still to do.
func orderExpired(tx *queue.Tx, id string, cutoff time.Time, armed string) (Order, []Package, bool, error) {
	var o Order
	if err := getJSON(tx, kindOrders, id, &o); errors.Is(err, queue.ErrNotFound) {
		return o, nil, false, nil
	} else if err != nil {
		return o, nil, false, err
	}
	if o.ID == armed || (o.Status != OrderShipped && o.Status != OrderCancelled) || o.UpdatedAt.After(cutoff) {
		return o, nil, false, nil
	}
	pkgs, err := listPackages(tx, o.ID)
	if err != nil {
		return o, nil, false, err
	}
	ok, err := expired(tx, pkgs, cutoff)
	return o, pkgs, ok, err
}

// expired reports whether no package and none of its print jobs changed
// after cutoff, and no job is still to do. A job the queue no longer keeps
// is done (the state stored on the package is only the last one known).
func expired(tx *queue.Tx, pkgs []Package, cutoff time.Time) (bool, error) {
	for _, p := range pkgs {
		if p.UpdatedAt.After(cutoff) {
			return false, nil
		}
		ids := []queue.JobID{p.JobID}
		for _, r := range p.Reprints {
			ids = append(ids, r.JobID)
		}
		for _, id := range ids {
			if id == 0 {
				continue
			}
			j, err := tx.Job(id)
			if errors.Is(err, queue.ErrNotFound) {
				continue
			}
			if err != nil {
				return false, err
			}
			switch {
			case j.State == queue.StateQueued, j.State == queue.StateSending, j.State == queue.StateUncertain:
				return false, nil // may still print, or waits for an operator
			case j.UpdatedAt.After(cutoff):
				return false, nil // printed late: the retention starts then
			}
		}
	}
	return true, nil
}

// deleteOrder removes o, its packages and every record and index entry
// kept for them. Index entries are deleted only where they still point
// at this order: an identifier reused by a later order stays its.
func deleteOrder(tx *queue.Tx, o Order, pkgs []Package) error {
	delIf := func(kind, key, want string) error {
		v, err := tx.GetRecord(kind, key)
		if errors.Is(err, queue.ErrNotFound) || (err == nil && string(v) != want) {
			return nil
		}
		if err != nil {
			return err
		}
		return tx.DeleteRecord(kind, key)
	}
	var legacy map[string]bool // labels stored before LabelledAt existed
	for _, p := range pkgs {
		key := pkgKey(o.ID, p.Index)
		refs := []string{refByReference + p.Reference}
		if p.TrackingNumber != "" {
			refs = append(refs, refByTracking+p.TrackingNumber)
		}
		if p.JobID != 0 {
			refs = append(refs, refByJob+p.JobID.String())
		}
		for _, r := range p.Reprints {
			refs = append(refs, refByJob+r.JobID.String())
		}
		for _, k := range refs {
			if err := delIf(kindPackageRef, k, key); err != nil {
				return err
			}
		}
		if p.LabelID != "" && !p.LabelDeleted {
			for _, suf := range labelSuffixes {
				if err := tx.DeleteRecord(kindLabels, p.LabelID+suf); err != nil {
					return err
				}
			}
			if p.LabelledAt.IsZero() {
				if legacy == nil {
					legacy = map[string]bool{}
				}
				legacy[p.LabelID] = true
			} else if err := tx.DeleteRecord(kindLabelTime, labelTimeKey(p.LabelledAt, p.LabelID)); err != nil {
				return err
			}
		}
		if err := deleteLabelToken(tx, p.Reference); err != nil {
			return err
		}
		if err := tx.DeleteRecord(kindLocalNumbers, p.Reference); err != nil {
			return err
		}
		if p.ClientReference != "" {
			var r shipRef
			if err := getJSON(tx, kindShipRefs, p.ClientReference, &r); err == nil && r.Key == key {
				if err := tx.DeleteRecord(kindShipRefs, p.ClientReference); err != nil {
					return err
				}
			} else if err != nil && !errors.Is(err, queue.ErrNotFound) {
				return err
			}
		}
		if err := tx.DeleteRecord(kindPackages, key); err != nil {
			return err
		}
	}
	if len(legacy) > 0 {
		if err := deleteLabelTimes(tx, legacy); err != nil {
			return err
		}
	}
	codes := append([]string{o.PartnerOrderID}, o.AssociatedIdentifiers...)
	for _, c := range codes {
		if c == "" {
			continue
		}
		if err := delIf(kindOrderCodes, c, o.ID); err != nil {
			return err
		}
	}
	for _, c := range o.AssociatedIdentifiers {
		if err := delIf(kindOrderLPNs, lpnKey(c, o.Seq), o.ID); err != nil {
			return err
		}
	}
	if ref := fulfilReference(o); ref != "" {
		if err := delIf(kindFulfilRefs, ref, o.ID); err != nil {
			return err
		}
	}
	if err := deletePackroosterRecords(tx, o.ID); err != nil {
		return err
	}
	for _, kind := range []string{kindOrderSeq, kindOrderOpen, kindShipSeq} {
		if err := tx.DeleteRecord(kind, seqKey(o.Seq)); err != nil {
			return err
		}
	}
	return tx.DeleteRecord(kindOrders, o.ID)
}

// deleteLabelTimes drops the label retention entries of the labels named
// (a scan: only labels made before packages recorded LabelledAt need it).
func deleteLabelTimes(tx *queue.Tx, labels map[string]bool) error {
	recs, err := tx.ListRecords(kindLabelTime, queue.RecordPage{})
	if err != nil {
		return err
	}
	for _, r := range recs {
		if labels[string(r.Value)] {
			if err := tx.DeleteRecord(kindLabelTime, r.Key); err != nil {
				return err
			}
		}
	}
	return nil
}
