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

// Prefixes of the package-refs index.
const (
	refByReference = "ref:"
	refByTracking  = "trk:"
	refByJob       = "job:"
)

func pkgKey(orderID string, index int) string { return fmt.Sprintf("%s\x00%06d", orderID, index) }

// orderOfKey is the order id of a package's record key.
func orderOfKey(key string) string {
	id, _, _ := strings.Cut(key, "\x00")
	return id
}

// Reference is a package's reference: the order id and the 1-based index.
func Reference(orderID string, index int) string { return orderID + "-" + strconv.Itoa(index) }

// reserveLabel is step 1 of ship, one transaction: the package is
// recorded as requested, and a txCarrier numbers it in the same commit
// (answered is then true and res its answer). When the station draws
// that label itself as native ZPL (the local carrier: no carrier ZPL, PNG
// or PDF), it is rendered (tens of microseconds, no I/O) and committed
// with its job in that same transaction too, and done is true: one commit per label
// instead of two, which the printer's write-ahead mark then waits behind
// less (issues 13 and 20). A label that does not render leaves the
// reservation committed, as before, for ship to report.
func (s *Station) reserveLabel(ctx context.Context, req ShipRequest, printer string, now time.Time) (o Order, p Package, res LabelResult, art artefacts, answered, done bool, err error) {
	lc, isTx := s.carrier.(txCarrier)
	// Batch (shared commit): the function only sets its results, so it
	// may run again.
	err = s.db.Batch(func(tx *queue.Tx) error {
		var err error
		done = false
		req := req // a rerun starts again from the caller's request
		if c := req.create; c != nil {
			o = c.order
			if err := createTx(tx, &o, o.ID, c.assign); err != nil {
				return err
			}
			req.OrderID = o.ID
		}
		if o, p, err = s.reserve(tx, req, printer, now); err != nil || !isTx {
			return err
		}
		if res, err = lc.labelTx(tx, s.labelRequest(o, p)); err != nil {
			return err
		}
		if res.finished() || s.cfg.Label.Format != FormatNative {
			return nil // a raster label takes milliseconds: rendered outside any transaction
		}
		lp, lo := p, o
		s.applyResult(&lp, res)
		a, rerr := s.renderLabel(ctx, lo, s.shipFrom(lo), lp, res)
		if rerr != nil {
			return nil // ship renders again, reports and notes it
		}
		if err := s.commit(tx, &lo, &lp, a, now); err != nil {
			return err
		}
		if req.onCommit != nil {
			if err := req.onCommit(tx, lp); err != nil {
				return err
			}
		}
		o, p, art, done = lo, lp, a, true
		return nil
	})
	return o, p, res, art, isTx && err == nil, done, err
}

// reserve takes the order's next package (or the one a failed or
// interrupted attempt left pending) and records it as requested.
func (s *Station) reserve(tx *queue.Tx, req ShipRequest, printer string, now time.Time) (Order, Package, error) {
	o, p, fresh, err := s.nextPackage(tx, req, printer, now)
	if err != nil {
		return o, p, err
	}
	if fresh {
		if err := tx.PutRecord(kindPackageRef, refByReference+p.Reference, []byte(pkgKey(o.ID, p.Index))); err != nil {
			return o, p, err
		}
		if o.LastIndex == 1 {
			if err := tx.PutRecord(kindShipSeq, seqKey(o.Seq), []byte(o.ID)); err != nil {
				return o, p, err
			}
		}
		if err := putJSON(tx, kindOrders, o.ID, o); err != nil {
			return o, p, err
		}
	}
	if err := claimShipRef(tx, req, &p); err != nil {
		return o, p, err
	}
	return o, p, putJSON(tx, kindPackages, pkgKey(o.ID, p.Index), p)
}

// nextPackage is what reserve records, read only: the order and its next
// package (fresh: a new index, the order's Pending now) or its pending one,
// as they would be stored.
func (s *Station) nextPackage(tx *queue.Tx, req ShipRequest, printer string, now time.Time) (o Order, p Package, fresh bool, err error) {
	if err := getJSON(tx, kindOrders, req.OrderID, &o); err != nil {
		return o, p, false, fmt.Errorf("order %q: %w", req.OrderID, notFound(err))
	}
	switch {
	case o.Status == OrderCancelled:
		return o, p, false, fmt.Errorf("%w: order %s is cancelled", ErrConflict, o.ID)
	case !o.shippable():
		return o, p, false, fmt.Errorf("%w: order %s already has its %d package(s) labelled", ErrConflict, o.ID, o.Packages)
	}
	// Refused before the carrier is asked: no tracking number is spent on
	// a label that could not be committed.
	if err := tx.CheckSpace(); err != nil {
		return o, p, false, err
	}
	if o.Pending > 0 {
		if err := getJSON(tx, kindPackages, pkgKey(o.ID, o.Pending), &p); err != nil {
			return o, p, false, fmt.Errorf("pending package %d: %w", o.Pending, err)
		}
	} else {
		o.LastIndex++
		o.Pending = o.LastIndex
		p = Package{Reference: Reference(o.ID, o.Pending), OrderID: o.ID, Index: o.Pending, Status: PackageRequested, CreatedAt: now}
		fresh = true
	}
	p.Count = max(o.Packages, p.Index)
	p.Weight, p.Dimensions, p.Printer, p.UpdatedAt = req.Weight, req.Dimensions, printer, now
	p.Service = o.Service
	if p.Service == "" {
		p.Service = s.cfg.Carrier.Service
	}
	return o, p, fresh, nil
}

func (s *Station) shipFrom(o Order) Address {
	if o.ShipFrom != nil {
		return *o.ShipFrom
	}
	return s.cfg.ShipFrom
}

func (s *Station) labelRequest(o Order, p Package) LabelRequest {
	return LabelRequest{Reference: p.Reference, OrderID: o.ID, Index: p.Index, Count: p.Count, From: s.shipFrom(o), To: o.ShipTo,
		Service: p.Service, Weight: p.Weight, Dimensions: p.Dimensions, Lines: o.Lines}
}

// applyResult copies the carrier's answer onto the package.
func (s *Station) applyResult(p *Package, res LabelResult) {
	p.TrackingNumber, p.TrackingURL = res.TrackingNumber, res.TrackingURL
	p.Amount, p.Currency = res.Amount, res.Currency
	p.Carrier = res.Carrier
	if p.Carrier == "" {
		p.Carrier = s.cfg.Carrier.Name
	}
	if p.TrackingURL == "" {
		p.TrackingURL = trackingURL(s.cfg.Carrier.TrackingURL, p.TrackingNumber)
	}
}

// notePackageError keeps the last error on the requested package for the API.
func (s *Station) notePackageError(p Package, cause error) {
	p.Error, p.UpdatedAt = packageErrorText(cause), s.clock.Now().UTC()
	if err := s.db.Update(func(tx *queue.Tx) error { return putJSON(tx, kindPackages, pkgKey(p.OrderID, p.Index), p) }); err != nil {
		s.log.Error("station: recording a package error", "reference", p.Reference, "err", err)
	}
}

// packageErrorText is what a package keeps of the error that kept it from
// its label: a carrier's own message, else the error.
func packageErrorText(cause error) string {
	var ce *CarrierError
	if errors.As(cause, &ce) {
		return ce.Message
	}
	return cause.Error()
}
