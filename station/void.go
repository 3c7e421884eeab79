package station

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/packbench/packbench/queue"
)

// VoidPackage voids a package: its print jobs still waiting (queued, failed
// or uncertain) are cancelled, it no longer counts for its order, and a
// package.voided event is written. A label already printed stays on the
// parcel: voiding tells the bench (and its integrators) not to ship it.
func (s *Station) VoidPackage(ctx context.Context, id, reason string) (Package, error) {
	if err := ctx.Err(); err != nil {
		return Package{}, err
	}
	if err := checkText("reason", reason, maxTextLen); err != nil {
		return Package{}, fmt.Errorf("station: void package: %w", err)
	}
	// The package's order is known from its key (which never changes);
	// its lock keeps a Ship of that order from committing under the void.
	var orderID string
	err := s.db.View(func(tx *queue.Tx) error {
		key, err := packageKey(tx, id)
		if errors.Is(err, ErrNotFound) {
			// A package of an existing order is recorded only with its
			// label (shipOneCommit): while it is labelled, its reference
			// names no record yet, but its order's lock is held.
			if oid, ok := referenceOrder(tx, id); ok {
				orderID = oid
				return nil
			}
		}
		orderID = orderOfKey(key)
		return err
	})
	if err != nil {
		return Package{}, fmt.Errorf("station: void package %q: %w", id, notFound(err))
	}
	unlock, err := s.shipLocks.lock(ctx, orderID)
	if err != nil {
		return Package{}, fmt.Errorf("station: void package %q: %w", id, err)
	}
	defer unlock()
	var p Package
	var o Order
	err = s.db.Update(func(tx *queue.Tx) error {
		key, err := packageKey(tx, id)
		if err != nil {
			return err
		}
		if err := getJSON(tx, kindPackages, key, &p); err != nil {
			return err
		}
		if p.Status == PackageVoided {
			return nil
		}
		if err := getJSON(tx, kindOrders, p.OrderID, &o); err != nil {
			return err
		}
		if err := s.voidLocked(tx, &o, &p, reason); err != nil {
			return err
		}
		return putJSON(tx, kindOrders, o.ID, o)
	})
	if err != nil {
		return Package{}, fmt.Errorf("station: void package %q: %w", id, notFound(err))
	}
	s.log.Info("package voided", "reference", p.Reference, "reason", reason)
	return p, nil
}

// voidLocked voids p inside tx and adjusts o (which the caller stores).
func (s *Station) voidLocked(tx *queue.Tx, o *Order, p *Package, reason string) error {
	jobs := []queue.JobID{}
	if p.JobID != 0 {
		jobs = append(jobs, p.JobID)
	}
	for _, r := range p.Reprints {
		jobs = append(jobs, r.JobID)
	}
	for _, id := range jobs {
		j, err := tx.Job(id)
		if errors.Is(err, queue.ErrNotFound) {
			continue // expired from the queue long ago
		} else if err != nil {
			return err
		}
		switch j.State {
		case queue.StateQueued, queue.StateFailed, queue.StateUncertain:
			j, err = tx.Cancel(id, "package voided")
			if err != nil {
				return err
			}
		}
		if id == p.JobID {
			p.JobState = j.State
		}
		for i := range p.Reprints {
			if p.Reprints[i].JobID == id {
				p.Reprints[i].JobState = j.State
			}
		}
	}
	wasLabelled := p.Status == PackageLabelled
	if o.Pending == p.Index {
		o.Pending = 0
	}
	p.Status, p.VoidReason, p.UpdatedAt = PackageVoided, reason, s.clock.Now().UTC()
	if err := putJSON(tx, kindPackages, pkgKey(p.OrderID, p.Index), p); err != nil {
		return err
	}
	if wasLabelled {
		o.Labelled--
		o.UpdatedAt = p.UpdatedAt
		if o.Labelled == 0 { // no label left: its lines are back in the stock ledger
			if err := s.moveOrderStock(tx, o, +1, p.UpdatedAt); err != nil {
				return err
			}
		}
		if o.Status == OrderShipped || o.Status == OrderPartial {
			o.Status = OrderPartial
			if o.Labelled == 0 {
				o.Status = OrderOpen
			}
			if err := tx.PutRecord(kindOrderOpen, seqKey(o.Seq), []byte(o.ID)); err != nil {
				return err
			}
		}
	}
	return appendEvent(tx, EventPackageVoided, p.Reference, map[string]any{
		"reference": p.Reference, "order_id": p.OrderID, "tracking_number": p.TrackingNumber, "reason": reason})
}

// referenceOrder is the existing order whose package reference (see
// Reference) id could be.
func referenceOrder(tx *queue.Tx, id string) (string, bool) {
	i := strings.LastIndexByte(id, '-')
	if i <= 0 || !isDigits(id[i+1:]) {
		return "", false
	}
	var o Order
	if err := getJSON(tx, kindOrders, id[:i], &o); err != nil {
		return "", false
	}
	return o.ID, true
}
