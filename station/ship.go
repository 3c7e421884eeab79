package station

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
)

// Limits on package input.
const (
	maxWeightMg = 1_000_000_000 // one tonne: no parcel scale reads more
)

// Prefixes of the package-refs index.
const (
	refByReference = "ref:"
	refByTracking  = "trk:"
	refByJob       = "job:"
)

func pkgKey(orderID string, index int) string { return fmt.Sprintf("%s\x00%06d", orderID, index) }

// Reference is a package's reference: the order id and the 1-based index.
func Reference(orderID string, index int) string { return orderID + "-" + strconv.Itoa(index) }

// labelSpec is what the station needs to draw a label's PNG preview again.
type labelSpec struct {
	Label labelrender.Label   `json:"label"`
	Opts  labelrender.Options `json:"options"`
}

func listPackages(tx *queue.Tx, orderID string) ([]Package, error) {
	recs, err := tx.ListRecords(kindPackages, queue.RecordPage{Prefix: orderID + "\x00"})
	if err != nil {
		return nil, err
	}
	out := make([]Package, 0, len(recs))
	for _, r := range recs {
		var p Package
		if err := json.Unmarshal(r.Value, &p); err != nil {
			return nil, fmt.Errorf("decode package %q: %w", r.Key, err)
		}
		liveJobStates(tx, &p)
		out = append(out, p)
	}
	return out, nil
}

// validate checks a ShipRequest; errors name the JSON field.
func (r *ShipRequest) validate() error {
	if r.OrderID == "" {
		return fieldErr("order_id", "required")
	}
	if r.Weight.Milligrams <= 0 || r.Weight.Milligrams > maxWeightMg {
		return fieldErr("weight.milligrams", "want 1 to %d", maxWeightMg)
	}
	if err := checkText("weight.display", r.Weight.Display, 64); err != nil {
		return err
	}
	switch r.Weight.Unit {
	case "", "g", "kg", "oz", "lb", "mg", "ct", "gr", "dwt", "t", "ton", "ozt":
	default:
		return fieldErr("weight.unit", "want g, kg, oz or lb")
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
	return nil
}

func isDecimal(s string) bool {
	w, f, dot := strings.Cut(s, ".")
	if len(s) > 12 || !isDigits(w) || (dot && !isDigits(f)) {
		return false
	}
	return strings.Trim(s, "0.") != ""
}

// Ship labels the next package of an order: it records the package as
// requested, asks the carrier (same reference on every retry), renders the
// label and commits ONE print job keyed by the package reference together
// with the package, its label and a package.labelled event. A package left
// requested by a failed or interrupted attempt is resumed with its
// reference. Carrier failures are *CarrierErrors (ErrCarrier).
func (s *Station) Ship(ctx context.Context, req ShipRequest) (Package, error) {
	if err := req.validate(); err != nil {
		return Package{}, fmt.Errorf("station: ship: %w", err)
	}
	s.shipMu.Lock()
	defer s.shipMu.Unlock()
	p, _, err := s.ship(ctx, req)
	if err != nil {
		return Package{}, fmt.Errorf("station: ship %s: %w", req.OrderID, err)
	}
	return p, nil
}

// txCarrier is a carrier whose answer comes from the queue file itself
// (the local carrier): it numbers the package inside the station's commit,
// so a label costs one fsync and nothing outside can be left half done.
type txCarrier interface {
	labelTx(tx *queue.Tx, req LabelRequest) (LabelResult, error)
}

// ship does the work of Ship with s.shipMu held; it also returns the order
// as committed.
func (s *Station) ship(ctx context.Context, req ShipRequest) (Package, Order, error) {
	if err := ctx.Err(); err != nil {
		return Package{}, Order{}, err
	}
	printer := req.Printer
	if printer == "" {
		printer = s.printer
	}
	now := s.now().UTC()
	var o Order
	var p Package
	if lc, ok := s.carrier.(txCarrier); ok {
		err := s.db.Update(func(tx *queue.Tx) error {
			var err error
			if o, p, err = s.reserve(tx, req, printer, now); err != nil {
				return err
			}
			res, err := lc.labelTx(tx, s.labelRequest(o, p))
			if err != nil {
				return err
			}
			s.applyResult(&p, res)
			art, err := s.renderLabel(o, s.shipFrom(o), p, res)
			if err != nil {
				return err
			}
			return s.commit(tx, &o, &p, art, now)
		})
		if err != nil {
			return Package{}, Order{}, err
		}
		s.logLabelled(o, p)
		return p, o, nil
	}

	// 1. Record the request before asking the carrier: a crash or a failure
	// resumes with the same reference, so the carrier never makes two.
	err := s.db.Update(func(tx *queue.Tx) error {
		var err error
		o, p, err = s.reserve(tx, req, printer, now)
		return err
	})
	if err != nil {
		return Package{}, Order{}, err
	}
	// 2. Ask the carrier.
	res, err := s.carrier.Label(ctx, s.labelRequest(o, p))
	if err != nil {
		s.log.Warn("carrier refused a label", "order", o.ID, "reference", p.Reference, "err", err)
		s.notePackageError(p, err)
		return Package{}, Order{}, err
	}
	s.applyResult(&p, res)
	// 3. Render the printer-ready label.
	art, err := s.renderLabel(o, s.shipFrom(o), p, res)
	if err != nil {
		s.log.Warn("label not rendered", "order", o.ID, "reference", p.Reference, "err", err)
		s.notePackageError(p, err)
		return Package{}, Order{}, err
	}
	// 4. Commit the job, the package, the label and the events together.
	err = s.db.Update(func(tx *queue.Tx) error {
		if err := getJSON(tx, kindOrders, o.ID, &o); err != nil {
			return err
		}
		if o.Status == OrderCancelled {
			return fmt.Errorf("%w: order %s was cancelled while labelling", ErrConflict, o.ID)
		}
		return s.commit(tx, &o, &p, art, now)
	})
	if err != nil {
		return Package{}, Order{}, err
	}
	s.logLabelled(o, p)
	return p, o, nil
}

func (s *Station) logLabelled(o Order, p Package) {
	s.log.Info("package labelled", "order", o.ID, "reference", p.Reference, "package", fmt.Sprintf("%d of %d", p.Index, p.Count),
		"tracking", p.TrackingNumber, "job", p.JobID, "printer", p.Printer)
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

// reserve takes the order's next package (or the one a failed or
// interrupted attempt left pending) and records it as requested.
func (s *Station) reserve(tx *queue.Tx, req ShipRequest, printer string, now time.Time) (Order, Package, error) {
	var o Order
	var p Package
	if err := getJSON(tx, kindOrders, req.OrderID, &o); err != nil {
		return o, p, fmt.Errorf("order %q: %w", req.OrderID, notFound(err))
	}
	switch {
	case o.Status == OrderCancelled:
		return o, p, fmt.Errorf("%w: order %s is cancelled", ErrConflict, o.ID)
	case !o.shippable():
		return o, p, fmt.Errorf("%w: order %s already has its %d package(s) labelled", ErrConflict, o.ID, o.Packages)
	}
	if o.Pending > 0 {
		if err := getJSON(tx, kindPackages, pkgKey(o.ID, o.Pending), &p); err != nil {
			return o, p, fmt.Errorf("pending package %d: %w", o.Pending, err)
		}
	} else {
		o.LastIndex++
		o.Pending = o.LastIndex
		p = Package{Reference: Reference(o.ID, o.Pending), OrderID: o.ID, Index: o.Pending, Status: PackageRequested, CreatedAt: now}
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
	p.Count = max(o.Packages, p.Index)
	p.Weight, p.Dimensions, p.Printer, p.UpdatedAt = req.Weight, req.Dimensions, printer, now
	p.Service = o.Service
	if p.Service == "" {
		p.Service = s.cfg.Carrier.Service
	}
	return o, p, putJSON(tx, kindPackages, pkgKey(o.ID, p.Index), p)
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

// commit enqueues the one print job keyed by the package reference and
// stores the package, its label, the order and the events.
func (s *Station) commit(tx *queue.Tx, o *Order, p *Package, art artefacts, now time.Time) error {
	job, _, err := tx.Enqueue(queue.NewJob{Key: p.Reference, Source: queue.SourceFlow, Printer: p.Printer,
		ContentType: queue.ContentZPL, Payload: art.zpl, Ref: o.ID})
	if err != nil {
		return err
	}
	p.LabelID, p.LabelForm, p.HasPreview = p.Reference, art.form, art.png != nil || art.spec != nil
	p.JobID, p.JobState, p.Status, p.Error = job.ID, job.State, PackageLabelled, ""
	if err := s.putLabel(tx, p.Reference, art); err != nil {
		return err
	}
	if err := tx.PutRecord(kindLabelTime, labelTimeKey(now, p.Reference), []byte(p.Reference)); err != nil {
		return err
	}
	key := pkgKey(o.ID, p.Index)
	if err := tx.PutRecord(kindPackageRef, refByJob+job.ID.String(), []byte(key)); err != nil {
		return err
	}
	if p.TrackingNumber != "" {
		if err := tx.PutRecord(kindPackageRef, refByTracking+p.TrackingNumber, []byte(key)); err != nil {
			return err
		}
	}
	if err := putJSON(tx, kindPackages, key, p); err != nil {
		return err
	}
	o.Labelled++
	o.Pending = 0
	o.UpdatedAt = now
	o.Status = OrderPartial
	if o.Labelled >= o.Packages {
		o.Status = OrderShipped
		if err := tx.DeleteRecord(kindOrderOpen, seqKey(o.Seq)); err != nil {
			return err
		}
	}
	if err := putJSON(tx, kindOrders, o.ID, *o); err != nil {
		return err
	}
	if err := appendEvent(tx, EventPackageLabelled, p.Reference, p); err != nil {
		return err
	}
	if o.Status == OrderShipped {
		return appendEvent(tx, EventOrderShipped, o.ID, *o)
	}
	return nil
}

// notePackageError keeps the last error on the requested package for the API.
func (s *Station) notePackageError(p Package, cause error) {
	msg := cause.Error()
	var ce *CarrierError
	if errors.As(cause, &ce) {
		msg = ce.Message
	}
	p.Error, p.UpdatedAt = msg, s.now().UTC()
	if err := s.db.Update(func(tx *queue.Tx) error { return putJSON(tx, kindPackages, pkgKey(p.OrderID, p.Index), p) }); err != nil {
		s.log.Error("station: recording a package error", "reference", p.Reference, "err", err)
	}
}

// artefacts are a rendered label: the printer-ready ZPL and what draws its
// preview (the carrier's PNG, or the layout spec rendered on demand).
type artefacts struct {
	zpl  []byte
	png  []byte
	spec []byte
	form string
}

func (s *Station) renderLabel(o Order, from Address, p Package, res LabelResult) (artefacts, error) {
	opts := s.label
	opts.Date = s.now()
	switch {
	case len(res.ZPL) > 0:
		if err := labelrender.CheckZPL(res.ZPL, nil); err != nil {
			return artefacts{}, &CarrierError{Carrier: CarrierHTTP, Message: "the carrier's ZPL label was refused: " + err.Error()}
		}
		return artefacts{zpl: res.ZPL, form: "carrier-zpl"}, nil
	case len(res.PNG) > 0:
		zpl, err := labelrender.PNGToZPL(res.PNG, &labelrender.ImageOptions{Options: opts})
		if err != nil {
			return artefacts{}, &CarrierError{Carrier: CarrierHTTP, Message: "the carrier's PNG label cannot be printed: " + err.Error()}
		}
		return artefacts{zpl: zpl, png: res.PNG, form: "carrier-png"}, nil
	}
	l, err := s.layout(o, from, p, res)
	if err != nil {
		return artefacts{}, err
	}
	var zpl []byte
	if s.cfg.Label.Format == FormatRaster {
		zpl, err = labelrender.RenderRasterZPL(l, &opts, labelrender.Z64)
	} else {
		zpl, err = labelrender.RenderZPL(l, &opts)
	}
	if err != nil {
		return artefacts{}, fmt.Errorf("render label %s: %w", p.Reference, err)
	}
	spec, err := json.Marshal(labelSpec{Label: l, Opts: opts})
	if err != nil {
		return artefacts{}, fmt.Errorf("encode label %s: %w", p.Reference, err)
	}
	return artefacts{zpl: zpl, spec: spec, form: s.cfg.Label.Format}, nil
}

// layout builds the station's own label for a package.
func (s *Station) layout(o Order, from Address, p Package, res LabelResult) (labelrender.Label, error) {
	w, err := s.labelWeight(p.Weight)
	if err != nil {
		return labelrender.Label{}, err
	}
	l := labelrender.Label{
		From: from.render(), To: o.ShipTo.render(), Carrier: p.Carrier, Service: p.Service,
		TrackingNumber: res.TrackingNumber, Barcode: res.Barcode, Weight: &w,
		// "REF: SO000001-1" is the package reference a reprint or a query
		// names; "ORDER" and "PKG 1 OF 2" are what the packer reads.
		Reference: p.Reference, Order: o.ID, Package: &labelrender.Package{Index: p.Index, Count: p.Count},
	}
	if res.BarcodeData != "" {
		l.TrackingNumber = res.BarcodeData
	}
	if l.Barcode == "" {
		l.Barcode = labelrender.Code128
	}
	if err := l.Validate(); err != nil {
		return labelrender.Label{}, fmt.Errorf("label %s: %w", p.Reference, err)
	}
	return l, nil
}

// labelWeight is the weight as printed: in the configured unit, or exactly
// as the scale displayed it when that unit is one a label can carry.
func (s *Station) labelWeight(w Weight) (labelrender.Weight, error) {
	decimals := map[string]int{"g": 0, "kg": 3, "oz": 1, "lb": 2}
	unit := s.cfg.Label.WeightUnit
	if unit == "" {
		if _, ok := decimals[w.Unit]; ok {
			if v, _, ok := strings.Cut(w.Display, " "); ok && isDecimal(v) {
				return labelrender.Weight{Value: json.Number(v), Unit: w.Unit}, nil
			}
			unit = w.Unit
		} else {
			unit = "g"
		}
	}
	return labelrender.WeightFromMilligrams(w.Milligrams, unit, decimals[unit])
}

func (s *Station) putLabel(tx *queue.Tx, id string, a artefacts) error {
	if err := tx.PutRecord(kindLabels, id+".zpl", a.zpl); err != nil {
		return err
	}
	if a.png != nil {
		if err := tx.PutRecord(kindLabels, id+".png", a.png); err != nil {
			return err
		}
	}
	if a.spec != nil {
		return tx.PutRecord(kindLabels, id+".json", a.spec)
	}
	return nil
}

// packageKey resolves a package reference, tracking number or job id
// (original or reprint) to the package's record key.
func packageKey(tx *queue.Tx, id string) (string, error) {
	for _, k := range []string{refByReference + id, refByTracking + id} {
		if v, err := tx.GetRecord(kindPackageRef, k); err == nil {
			return string(v), nil
		} else if !errors.Is(err, queue.ErrNotFound) {
			return "", err
		}
	}
	if jid, err := queue.ParseJobID(id); err == nil {
		if v, err := tx.GetRecord(kindPackageRef, refByJob+jid.String()); err == nil {
			return string(v), nil
		} else if !errors.Is(err, queue.ErrNotFound) {
			return "", err
		}
	}
	return "", ErrNotFound
}

// Package returns a package by reference ("SO000001-1"), tracking number
// or print job id (its own or a reprint's).
func (s *Station) Package(ctx context.Context, id string) (Package, error) {
	if err := ctx.Err(); err != nil {
		return Package{}, err
	}
	var p Package
	err := s.db.View(func(tx *queue.Tx) error {
		key, err := packageKey(tx, id)
		if err != nil {
			return err
		}
		if err := getJSON(tx, kindPackages, key, &p); err != nil {
			return err
		}
		liveJobStates(tx, &p)
		return nil
	})
	if err != nil {
		return Package{}, fmt.Errorf("station: package %q: %w", id, notFound(err))
	}
	return p, nil
}

// Shipment returns an order's shipment: the order and its packages. id is
// anything FindOrder accepts.
func (s *Station) Shipment(ctx context.Context, id string) (Shipment, error) {
	if err := ctx.Err(); err != nil {
		return Shipment{}, err
	}
	var sh Shipment
	err := s.db.View(func(tx *queue.Tx) error {
		if err := findOrder(tx, id, &sh.Order); err != nil {
			return err
		}
		sh.OrderID = sh.Order.ID
		var err error
		sh.Packages, err = listPackages(tx, sh.OrderID)
		return err
	})
	if err != nil {
		return Shipment{}, fmt.Errorf("station: shipment %q: %w", id, notFound(err))
	}
	return sh, nil
}

// ListShipments pages through the orders that have packages, oldest first.
// ListOptions.Status filters on the order's status.
func (s *Station) ListShipments(ctx context.Context, opts ListOptions) (ShipmentPage, error) {
	if err := ctx.Err(); err != nil {
		return ShipmentPage{}, err
	}
	limit, err := opts.limit()
	if err != nil {
		return ShipmentPage{}, fmt.Errorf("station: list shipments: %w", err)
	}
	page := ShipmentPage{Shipments: []Shipment{}}
	err = s.db.View(func(tx *queue.Tx) error {
		recs, err := tx.ListRecords(kindShipSeq, queue.RecordPage{})
		if err != nil {
			return err
		}
		for _, r := range recs {
			var sh Shipment
			if err := getJSON(tx, kindOrders, string(r.Value), &sh.Order); err != nil {
				return err
			}
			if opts.Status != "" && sh.Order.Status != opts.Status {
				continue
			}
			if opts.Identifier != "" {
				var o Order
				if err := findOrder(tx, opts.Identifier, &o); err != nil || o.ID != sh.Order.ID {
					continue
				}
			}
			page.Total++
			if r.Key <= opts.After || len(page.Shipments) > limit {
				continue
			}
			sh.OrderID = sh.Order.ID
			if sh.Packages, err = listPackages(tx, sh.OrderID); err != nil {
				return err
			}
			page.Shipments = append(page.Shipments, sh)
		}
		return nil
	})
	if err != nil {
		return ShipmentPage{}, fmt.Errorf("station: list shipments: %w", err)
	}
	if len(page.Shipments) > limit {
		page.Shipments = page.Shipments[:limit]
		page.Next = seqKey(page.Shipments[limit-1].Order.Seq)
	}
	return page, nil
}

// Reprint prints a labelled package's label again: the same label (same
// tracking number) as a new job keyed reference + "-reprint-N", recorded
// on the package and announced as package.reprinted. printer "" means the
// package's printer.
func (s *Station) Reprint(ctx context.Context, id, printer string) (Package, queue.Job, error) {
	if err := ctx.Err(); err != nil {
		return Package{}, queue.Job{}, err
	}
	if printer != "" {
		if err := checkCode("printer", printer, queue.MaxPrinterLen); err != nil {
			return Package{}, queue.Job{}, fmt.Errorf("station: reprint: %w", err)
		}
	}
	var p Package
	var job queue.Job
	err := s.db.Update(func(tx *queue.Tx) error {
		key, err := packageKey(tx, id)
		if err != nil {
			return err
		}
		if err := getJSON(tx, kindPackages, key, &p); err != nil {
			return err
		}
		liveJobStates(tx, &p)
		switch p.Status {
		case PackageVoided:
			return fmt.Errorf("%w: package %s is voided", ErrConflict, p.Reference)
		case PackageRequested:
			return fmt.Errorf("%w: package %s has no label yet", ErrConflict, p.Reference)
		}
		if p.LabelDeleted {
			return fmt.Errorf("%w: the label of %s is no longer kept (older than the label retention)", ErrConflict, p.Reference)
		}
		zpl, err := tx.GetRecord(kindLabels, p.LabelID+".zpl")
		if err != nil {
			return fmt.Errorf("label of %s: %w", p.Reference, err)
		}
		if printer == "" {
			printer = p.Printer
			if len(s.printers) > 0 && !slices.Contains(s.printers, printer) {
				printer = s.printer // the package's printer is no longer configured
			}
		}
		n := len(p.Reprints) + 1
		rp := Reprint{N: n, Key: fmt.Sprintf("%s-reprint-%d", p.Reference, n), At: s.now().UTC()}
		job, _, err = tx.Enqueue(queue.NewJob{Key: rp.Key, Source: queue.SourceFlow, Printer: printer,
			ContentType: queue.ContentZPL, Payload: zpl, Ref: "reprint of " + p.Reference})
		if err != nil {
			return err
		}
		rp.JobID, rp.JobState = job.ID, job.State
		p.Reprints = append(p.Reprints, rp)
		p.UpdatedAt = rp.At
		if err := tx.PutRecord(kindPackageRef, refByJob+job.ID.String(), []byte(key)); err != nil {
			return err
		}
		if err := putJSON(tx, kindPackages, key, p); err != nil {
			return err
		}
		return appendEvent(tx, EventPackageReprinted, p.Reference, map[string]any{
			"reference": p.Reference, "order_id": p.OrderID, "tracking_number": p.TrackingNumber, "job_id": job.ID, "n": n})
	})
	if err != nil {
		return Package{}, queue.Job{}, fmt.Errorf("station: reprint %q: %w", id, notFound(err))
	}
	s.log.Info("package reprinted", "reference", p.Reference, "job", job.ID, "tracking", p.TrackingNumber)
	return p, job, nil
}

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
	s.shipMu.Lock()
	defer s.shipMu.Unlock()
	var p Package
	var o Order
	err := s.db.Update(func(tx *queue.Tx) error {
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
	p.Status, p.VoidReason, p.UpdatedAt = PackageVoided, reason, s.now().UTC()
	if err := putJSON(tx, kindPackages, pkgKey(p.OrderID, p.Index), p); err != nil {
		return err
	}
	if wasLabelled {
		o.Labelled--
		o.UpdatedAt = p.UpdatedAt
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

// LabelZPL returns the printer-ready ZPL of a label. id is a label id
// (package reference), a tracking number or a job id.
func (s *Station) LabelZPL(ctx context.Context, id string) ([]byte, error) {
	b, _, err := s.labelRecord(ctx, id, ".zpl")
	if err != nil {
		return nil, fmt.Errorf("station: label %q: %w", id, err)
	}
	return b, nil
}

// LabelPNG returns a PNG preview of a label: the carrier's own image, or
// the station's layout drawn by labelrender. Raw ZPL from a carrier has
// none (ErrNoPreview).
func (s *Station) LabelPNG(ctx context.Context, id string) ([]byte, error) {
	b, kind, err := s.labelRecord(ctx, id, ".png", ".json")
	if err != nil {
		return nil, fmt.Errorf("station: label preview %q: %w", id, err)
	}
	if kind == ".png" {
		return b, nil
	}
	var spec labelSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("station: label preview %q: decode: %w", id, err)
	}
	png, err := labelrender.RenderPNG(spec.Label, &spec.Opts)
	if err != nil {
		return nil, fmt.Errorf("station: label preview %q: %w", id, err)
	}
	return png, nil
}

// labelRecord finds the first of the suffixes stored for the label.
func (s *Station) labelRecord(ctx context.Context, id string, suffixes ...string) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	var out []byte
	var found string
	err := s.db.View(func(tx *queue.Tx) error {
		key, err := packageKey(tx, id)
		if errors.Is(err, ErrNotFound) {
			// Not a package's: perhaps a pushed job's label (EnqueueLabel).
			out, found, err = jobLabelRecord(tx, id, suffixes)
			return err
		}
		if err != nil {
			return err
		}
		var p Package
		if err := getJSON(tx, kindPackages, key, &p); err != nil {
			return err
		}
		if p.LabelID == "" {
			return fmt.Errorf("%w: package %s has no label yet", ErrNotFound, p.Reference)
		}
		if p.LabelDeleted {
			return fmt.Errorf("%w: the label of %s is no longer kept (older than the label retention)", ErrNotFound, p.Reference)
		}
		for _, suf := range suffixes {
			b, err := tx.GetRecord(kindLabels, p.LabelID+suf)
			if err == nil {
				out, found = b, suf
				return nil
			}
			if !errors.Is(err, queue.ErrNotFound) {
				return err
			}
		}
		return ErrNoPreview
	})
	return out, found, notFound(err)
}

// jobChanged reflects a job state change in the flow. Packages read
// their jobs' states from the queue when they are read (see liveJobStates),
// so following jobs costs no write.
func (s *Station) jobChanged(ev queue.Event) error {
	s.flowJobChanged(ev)
	return nil
}

// liveJobStates fills the package's job states from the queue; a job
// the queue no longer keeps (past retention) keeps its last known state.
func liveJobStates(tx *queue.Tx, p *Package) {
	if p.JobID != 0 {
		if j, err := tx.Job(p.JobID); err == nil {
			p.JobState = j.State
		}
	}
	for i := range p.Reprints {
		if j, err := tx.Job(p.Reprints[i].JobID); err == nil {
			p.Reprints[i].JobState = j.State
		}
	}
}
