package station

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/packbench/packbench/queue"
)

// weightUnits are the display units a weight may carry: the symbols the
// scale package reads (scale.ParseUnit), spelled as it writes them.
var weightUnits = []string{"mg", "g", "kg", "ct", "gr", "dwt", "t", "ton", "ozt", "oz", "lb"}

// Limits on package input.
const (
	maxWeightMg = 1_000_000_000 // one tonne: no parcel scale reads more
)

// Ship labels the next package of an order: it records the package as
// requested, asks the carrier (same reference on every retry), renders the
// label and commits ONE print job keyed by the package reference together
// with the package, its label and a package.labelled event. A package left
// requested by a failed or interrupted attempt is resumed with its
// reference. Carrier failures are *CarrierErrors (ErrCarrier). A Ship of
// an order being labelled by another caller waits for it, or returns
// ctx.Err() when ctx ends first.
func (s *Station) Ship(ctx context.Context, req ShipRequest) (Package, error) {
	if err := req.validate(); err != nil {
		return Package{}, fmt.Errorf("station: ship: %w", err)
	}
	if req.Printer != "" {
		if err := s.knownPrinter(req.Printer); err != nil {
			return Package{}, fmt.Errorf("station: ship: %w", err)
		}
	}
	p, _, err := s.ship(ctx, req)
	if err != nil {
		name := req.OrderID
		if req.create != nil {
			name = "a new order"
		}
		return Package{}, fmt.Errorf("station: ship %s: %w", name, err)
	}
	return p, nil
}

// txCarrier is a carrier whose answer comes from the queue file itself
// (the local carrier): it numbers the package inside the reservation's
// transaction, so a refusal (no rate for the parcel) leaves nothing behind
// and a resumed reference finds its number.
type txCarrier interface {
	labelTx(tx *queue.Tx, req LabelRequest) (LabelResult, error)
}

// ship does the work of Ship and also returns the order as committed.
//
// Only the order's lock (see orderLocks) is held across the slow part;
// no transaction is: (1) the package is reserved in one transaction,
// (2) the carrier is asked and (3) the label rendered outside any, and
// (4) the job, package, label and events are committed in another (for
// an existing order, (1) is folded into (4): shipOneCommit). So other
// orders, the printer worker and the API keep writing meanwhile.
func (s *Station) ship(ctx context.Context, req ShipRequest) (Package, Order, error) {
	if req.create == nil {
		// A new order (req.create) has no lock yet: nobody knows it before
		// the reservation commits, and after that two labellers of it
		// meet in commitLabel, where only one commits (Pending).
		unlock, err := s.shipLocks.lock(ctx, req.OrderID)
		if err != nil {
			return Package{}, Order{}, err
		}
		defer unlock()
	}
	if err := ctx.Err(); err != nil {
		return Package{}, Order{}, err
	}
	if req.Reference != "" {
		// A retry of a package already labelled: the same package.
		if p, o, done, err := s.shippedByReference(req); err != nil || done {
			return p, o, err
		}
	}
	printer := req.Printer
	if printer == "" {
		printer = s.printer
	}
	if req.noPrint {
		printer = ""
	}
	now := s.clock.Now().UTC()

	if s.oneCommit(req) {
		return s.shipOneCommit(ctx, req, printer, now)
	}
	// 1. Record the request before asking the carrier: a crash or a failure
	// resumes with the same reference, so the carrier never makes two.
	o, p, res, art, answered, done, err := s.reserveLabel(ctx, req, printer, now)
	if err != nil {
		return Package{}, Order{}, err
	}
	if req.create != nil {
		s.orderCreated(ctx, o)
	}
	if done { // the local carrier: numbered, rendered and committed at once
		s.logLabelled(o, p)
		s.LogZPLSettings(p.JobID, "carrier", art.settings)
		return p, o, nil
	}
	// 2. Ask the carrier.
	if !answered {
		if res, err = s.carrier.Label(ctx, s.labelRequest(o, p)); err != nil {
			s.log.Warn("carrier refused a label", "order", o.ID, "reference", p.Reference, "err", err)
			s.notePackageError(p, err)
			return Package{}, Order{}, err
		}
	}
	s.applyResult(&p, res)
	// 3. Render the printer-ready label.
	art, err = s.renderLabel(ctx, o, s.shipFrom(o), p, res)
	if err != nil {
		s.log.Warn("label not rendered", "order", o.ID, "reference", p.Reference, "err", err)
		s.notePackageError(p, err)
		return Package{}, Order{}, err
	}
	// 4. Commit the job, the package, the label and the events together.
	if err := s.commitLabel(&o, &p, art, now, req.onCommit); err != nil {
		return Package{}, Order{}, err
	}
	s.logLabelled(o, p)
	s.LogZPLSettings(p.JobID, "carrier", art.settings)
	return p, o, nil
}

func (s *Station) logLabelled(o Order, p Package) {
	s.log.Info("package labelled", "order", o.ID, "reference", p.Reference, "package", fmt.Sprintf("%d of %d", p.Index, p.Count),
		"tracking", p.TrackingNumber, "job", p.JobID, "printer", p.Printer)
}

// validate checks a ShipRequest; errors name the JSON field.
func (r *ShipRequest) validate() error {
	if r.create == nil { // a new order gets its id when it is stored
		if r.OrderID == "" {
			return fieldErr("order_id", "required")
		}
		if err := checkCode("order_id", r.OrderID, maxCodeLen); err != nil {
			return err
		}
	}
	if r.Weight.Milligrams <= 0 || r.Weight.Milligrams > maxWeightMg {
		return fieldErr("weight.milligrams", "want 1 to %d", maxWeightMg)
	}
	if err := checkText("weight.display", r.Weight.Display, 64); err != nil {
		return err
	}
	if r.Weight.Unit != "" && !slices.Contains(weightUnits, r.Weight.Unit) {
		return fieldErr("weight.unit", "want one of %s, not %q", strings.Join(weightUnits, ", "), r.Weight.Unit)
	}
	if d := r.Dimensions; d != nil {
		for _, f := range []struct{ name, v string }{{"length", d.Length}, {"width", d.Width}, {"height", d.Height}} {
			if !isDecimal(f.v) {
				return fieldErr("dimensions."+f.name, "want a positive decimal like 10.5, not %q", f.v)
			}
		}
		if d.Unit != "in" && d.Unit != "cm" {
			return fieldErr("dimensions.unit", "want in or cm, not %q", d.Unit)
		}
	}
	if r.Printer != "" {
		if err := checkCode("printer", r.Printer, queue.MaxPrinterLen); err != nil {
			return err
		}
	}
	if r.Reference != "" {
		if err := checkCode("reference", r.Reference, maxShipRefLen); err != nil {
			return err
		}
	}
	return nil
}

func isDecimal(s string) bool {
	w, f, dot := strings.Cut(s, ".")
	if len(s) > 12 || !isDigits(w) || (dot && !isDigits(f)) {
		return false
	}
	return strings.Trim(s, "0.") != ""
}
