package station

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/packbench/packbench/queue"
)

// commitLabel is the last step of ship, one transaction: the order is
// read again (the carrier call and the render ran outside any
// transaction) and, if the package is still the order's pending one, the
// label is committed, with what onCommit (ShipRequest.onCommit) adds.
func (s *Station) commitLabel(o *Order, p *Package, art artefacts, now time.Time, onCommit func(*queue.Tx, Package) error) error {
	// Batch (shared commit): a rerun starts again from the stored order,
	// and commit only sets fields of o and p.
	return s.db.Batch(func(tx *queue.Tx) error {
		var cur Order // fresh: decoding over *o would keep fields the stored order omits
		if err := getJSON(tx, kindOrders, o.ID, &cur); err != nil {
			return err
		}
		*o = cur
		switch {
		case o.Status == OrderCancelled:
			return fmt.Errorf("%w: order %s was cancelled while labelling", ErrConflict, o.ID)
		case o.Pending != p.Index:
			return fmt.Errorf("%w: package %s was voided while labelling", ErrConflict, p.Reference)
		}
		if err := s.commit(tx, o, p, art, now); err != nil || onCommit == nil {
			return err
		}
		return onCommit(tx, *p)
	})
}

// commit enqueues the one print job keyed by the package reference (none
// for a package without a printer: [fulfil] no_print) and stores the
// package, its label, the order and the events.
func (s *Station) commit(tx *queue.Tx, o *Order, p *Package, art artefacts, now time.Time) error {
	key := pkgKey(o.ID, p.Index)
	if p.Printer != "" {
		job, _, err := tx.Enqueue(queue.NewJob{Key: p.Reference, Source: queue.SourceFlow, Printer: p.Printer,
			ContentType: queue.ContentZPL, Payload: art.zpl, Ref: o.ID})
		if err != nil {
			return err
		}
		p.JobID, p.JobState = job.ID, job.State
		if err := tx.PutRecord(kindPackageRef, refByJob+job.ID.String(), []byte(key)); err != nil {
			return err
		}
	}
	p.LabelID, p.LabelForm, p.HasPreview = p.Reference, art.form, art.png != nil || art.spec != nil
	p.Status, p.Error = PackageLabelled, ""
	p.LabelledAt = now
	if err := s.putLabel(tx, p.Reference, art); err != nil {
		return err
	}
	if err := tx.PutRecord(kindLabelTime, labelTimeKey(now, p.Reference), []byte(p.Reference)); err != nil {
		return err
	}
	if p.TrackingNumber != "" {
		if err := tx.PutRecord(kindPackageRef, refByTracking+p.TrackingNumber, []byte(key)); err != nil {
			return err
		}
	}
	// Tracking starts at order_ready in the label's transaction.
	tev, err := s.trackLabel(tx, o, p, now)
	if err != nil {
		return err
	}
	// The records and their events carry the same JSON: encoded once, as
	// this runs inside the (shared) write transaction.
	pj, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode package %s: %w", p.Reference, err)
	}
	if err := tx.PutRecord(kindPackages, key, pj); err != nil {
		return err
	}
	o.Labelled++
	if o.Labelled == 1 { // the shipment's first label: its lines leave the stock ledger
		if err := s.moveOrderStock(tx, o, -1, now); err != nil {
			return err
		}
	}
	o.Pending = 0
	o.UpdatedAt = now
	o.Status = OrderPartial
	if o.Labelled >= o.Packages {
		o.Status = OrderShipped
		if err := tx.DeleteRecord(kindOrderOpen, seqKey(o.Seq)); err != nil {
			return err
		}
	}
	oj, err := json.Marshal(*o)
	if err != nil {
		return fmt.Errorf("encode order %s: %w", o.ID, err)
	}
	if err := tx.PutRecord(kindOrders, o.ID, oj); err != nil {
		return err
	}
	if _, err := tx.AppendEvent(queue.Event{Type: EventPackageLabelled, Key: p.Reference, Data: pj}); err != nil {
		return err
	}
	if err := appendEvent(tx, EventTrackingUpdated, p.Reference, tev); err != nil {
		return err
	}
	if o.Status == OrderShipped {
		_, err := tx.AppendEvent(queue.Event{Type: EventOrderShipped, Key: o.ID, Data: oj})
		return err
	}
	return nil
}

// putLabel stores a label's artefacts under id (a package reference or a
// pushed job's label id).
func (s *Station) putLabel(tx *queue.Tx, id string, a artefacts) error {
	if err := tx.PutRecord(kindLabels, id+".zpl", a.zpl); err != nil {
		return err
	}
	if a.png != nil {
		if err := tx.PutRecord(kindLabels, id+".png", a.png); err != nil {
			return err
		}
	}
	if a.pdf != nil {
		if err := tx.PutRecord(kindLabels, id+".pdf", a.pdf); err != nil {
			return err
		}
	}
	if a.spec != nil {
		return tx.PutRecord(kindLabels, id+".json", a.spec)
	}
	return nil
}
