package station

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/packbench/packbench/queue"
)

// oneCommit tells whether ship may label req with shipOneCommit: one
// commit per label instead of the reservation's and the label's (issue
// 20), where that keeps ship's guarantees:
//   - the order exists and ship holds its lock (which Ship, VoidPackage and
//     CancelOrder take), so the commit finds the order the carrier was
//     asked about, and checks that it did;
//   - the reference is the order's pending package or its next index,
//     which only a commit of this order changes: a crash before the
//     commit leaves the order as it was, and the next attempt asks the
//     carrier for the same reference (the same parcel, not a second one),
//     as it would have resumed a reservation;
//   - no client reference (another order's Ship may claim it meanwhile)
//     and no new order (its id is given in the reservation's commit);
//   - not a txCarrier, which numbers inside the reservation anyway.
func (s *Station) oneCommit(req ShipRequest) bool {
	_, isTx := s.carrier.(txCarrier)
	return req.create == nil && req.Reference == "" && !isTx
}

// shipOneCommit is ship for oneCommit requests: the package is read as
// reserve records it, the carrier asked and the label rendered outside
// any transaction, then the reservation is committed with the job, the
// label and the events, or, when the carrier or the render fails, with
// the error (the package then waits as requested, as after a reservation).
// The caller holds the order's lock.
func (s *Station) shipOneCommit(ctx context.Context, req ShipRequest, printer string, now time.Time) (Package, Order, error) {
	var o Order
	var p Package
	err := s.db.View(func(tx *queue.Tx) error {
		var err error
		o, p, _, err = s.nextPackage(tx, req, printer, now)
		return err
	})
	if err != nil {
		return Package{}, Order{}, err
	}
	asked := s.labelRequest(o, p)
	res, err := s.carrier.Label(ctx, asked)
	if err != nil {
		s.log.Warn("carrier refused a label", "order", o.ID, "reference", p.Reference, "err", err)
		s.reserveFailed(req, printer, now, err)
		return Package{}, Order{}, err
	}
	s.applyResult(&p, res)
	art, err := s.renderLabel(ctx, o, s.shipFrom(o), p, res)
	if err != nil {
		s.log.Warn("label not rendered", "order", o.ID, "reference", p.Reference, "err", err)
		s.reserveFailed(req, printer, now, err)
		return Package{}, Order{}, err
	}
	// Batch (shared commit): a rerun starts again from the stored order,
	// and the function only sets o and p.
	err = s.db.Batch(func(tx *queue.Tx) error {
		ro, rp, err := s.reserve(tx, req, printer, now)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(s.labelRequest(ro, rp), asked) {
			return fmt.Errorf("%w: order %s changed while its package %s was labelled", ErrConflict, ro.ID, rp.Reference)
		}
		s.applyResult(&rp, res)
		if err := s.commit(tx, &ro, &rp, art, now); err != nil {
			return err
		}
		if req.onCommit != nil {
			if err := req.onCommit(tx, rp); err != nil {
				return err
			}
		}
		o, p = ro, rp
		return nil
	})
	if err != nil {
		// The carrier made this label: the operator may have to void it there.
		s.log.Error("station: the carrier's label was not stored", "order", o.ID, "reference", p.Reference,
			"tracking", res.TrackingNumber, "err", err)
		return Package{}, Order{}, err
	}
	s.logLabelled(o, p)
	s.LogZPLSettings(p.JobID, "carrier", art.settings)
	return p, o, nil
}

// reserveFailed records the package reserve hands out as requested, with
// the error that kept it from its label: a retry resumes its reference.
func (s *Station) reserveFailed(req ShipRequest, printer string, now time.Time, cause error) {
	err := s.db.Batch(func(tx *queue.Tx) error {
		_, p, err := s.reserve(tx, req, printer, now)
		if err != nil {
			return err
		}
		p.Error, p.UpdatedAt = packageErrorText(cause), s.clock.Now().UTC()
		return putJSON(tx, kindPackages, pkgKey(p.OrderID, p.Index), p)
	})
	if err != nil {
		s.log.Error("station: recording a package error", "order", req.OrderID, "err", err)
	}
}
