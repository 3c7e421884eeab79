package station

// Tracking: where each labelled package is after the label. Every package
// keeps its status history in its own record (Package.Tracking), so it
// lives and is deleted with the package (retention knows no new record
// kind); the order's roll-up is computed from its packages when read.
// Every change writes one tracking.updated event in the same transaction.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/packbench/packbench/queue"
)

// EventTrackingUpdated is the outbox event of every tracking change; its
// Data is a TrackingEvent.
const EventTrackingUpdated = "tracking.updated"

// The standard shipment statuses (Tracktor's shipment_status options).
const (
	StatusOrderReady     = "order_ready"
	StatusInTransit      = "in_transit"
	StatusOutForDelivery = "out_for_delivery"
	StatusDelivered      = "delivered"
)

// topicPreTransit is the spelling of order_ready in Tracktor's webhook
// topics (order/pre_transit, fulfillment/pre_transit); see TopicStatus.
const topicPreTransit = "pre_transit"

// Exception statuses (Tracktor's exception_status options).
const (
	ExceptionNotFound    = "not_found"
	ExceptionException   = "exception"
	ExceptionUndelivered = "undelivered"
	ExceptionPending     = "pending"
	ExceptionExpired     = "expired"
)

// Sources of a tracking change.
const (
	TrackingSourceLabel       = "label"       // the label was issued: order_ready
	TrackingSourceManual      = "manual"      // a person (Tracktor's manual update)
	TrackingSourceCarrier     = "carrier"     // the carrier's own report
	TrackingSourceIntegration = "integration" // another system (WMS, shop)
)

// MaxTrackingHistory is how many entries a package's history keeps: the
// oldest are dropped past it (Tracking.Dropped counts them), so a chatty
// carrier cannot grow a record without bound.
const MaxTrackingHistory = 100

// StandardStatuses are the four standard shipment statuses, in the order
// a parcel goes through them.
func StandardStatuses() []string {
	return []string{StatusOrderReady, StatusInTransit, StatusOutForDelivery, StatusDelivered}
}

// ExceptionStatuses are the exception statuses.
func ExceptionStatuses() []string {
	return []string{ExceptionNotFound, ExceptionException, ExceptionUndelivered, ExceptionPending, ExceptionExpired}
}

// TopicStatus is the status a webhook topic's suffix names: pre_transit
// is order_ready, the others are spelled as the statuses. This is the one
// place the two spellings meet.
func TopicStatus(suffix string) string {
	if suffix == topicPreTransit {
		return StatusOrderReady
	}
	return suffix
}

// Tracking is a package's tracking state and history.
type Tracking struct {
	Status    string `json:"status"`
	Exception string `json:"exception,omitempty"` // only while there is an issue
	Custom    bool   `json:"custom,omitempty"`    // Status is one of [tracking] custom_statuses
	// Source of the latest change.
	Source string `json:"source"`
	// DeliveredAt is when the package became delivered (zero otherwise).
	DeliveredAt time.Time       `json:"delivered_at,omitzero"`
	UpdatedAt   time.Time       `json:"updated_at"`
	History     []TrackingEntry `json:"history"`
	// Dropped counts the oldest entries removed past MaxTrackingHistory.
	Dropped int `json:"dropped,omitempty"`
}

// TrackingEntry is one change of a package's tracking, oldest first.
type TrackingEntry struct {
	Status    string    `json:"status"`
	Exception string    `json:"exception,omitempty"`
	Custom    bool      `json:"custom,omitempty"`
	Source    string    `json:"source"`
	Note      string    `json:"note,omitempty"`
	At        time.Time `json:"at"`
}

// TrackingEvent is the Data of a tracking.updated event: one package's
// change, and the order's roll-up before and after it.
type TrackingEvent struct {
	OrderID           string    `json:"order_id"`
	Package           int       `json:"package"` // index, 1-based
	Reference         string    `json:"reference"`
	TrackingNumber    string    `json:"tracking_number,omitempty"`
	Status            string    `json:"status"`
	PreviousStatus    string    `json:"previous_status"` // "" for the label's order_ready
	Exception         string    `json:"exception"`
	PreviousException string    `json:"previous_exception"`
	Custom            bool      `json:"custom"`
	Source            string    `json:"source"`
	Note              string    `json:"note,omitempty"`
	OrderStatus       string    `json:"order_status"`          // the order's roll-up after the change
	PreviousOrder     string    `json:"previous_order_status"` // and before it ("" before its first label)
	At                time.Time `json:"at"`
}

// TrackingUpdate is a status change reported for an order's packages.
type TrackingUpdate struct {
	// Status is a standard status or one of [tracking] custom_statuses.
	Status string `json:"status"`
	// Exception is an exception status, or empty when there is no issue
	// (an update without one clears the previous exception).
	Exception string `json:"exception,omitempty"`
	// Source is manual (default), carrier or integration.
	Source string `json:"source,omitempty"`
	Note   string `json:"note,omitempty"` // up to 512 characters
	// Package limits the update to one package of the order (reference,
	// tracking number or FulfillmentNumber); empty: every labelled package.
	Package string `json:"package,omitempty"`
}

// OrderTracking is an order's tracking: its labelled packages (not the
// voided ones) with their histories, and the roll-up.
type OrderTracking struct {
	Order Order `json:"order"`
	// Status is the roll-up: the status all packages share, else the least
	// advanced one (a custom status counts as in_transit); "" while no
	// package is labelled.
	Status string `json:"status"`
	// Exceptions has one item per package with an exception.
	Exceptions []string `json:"exceptions"`
	// DeliveredAt is when the last package was delivered, once all are.
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	Packages    []Package `json:"packages"`
}

// DaysSinceOrdered is the whole days from the order to the delivery of
// its last package; ok is false until the order is delivered.
func (ot OrderTracking) DaysSinceOrdered() (days int, ok bool) {
	if ot.Status != StatusDelivered || ot.DeliveredAt.IsZero() {
		return 0, false
	}
	return max(0, int(ot.DeliveredAt.Sub(ot.Order.CreatedAt)/(24*time.Hour))), true
}

// StatusOption is one shipment status the bench accepts.
type StatusOption struct {
	Status string `json:"status"`
	Custom bool   `json:"custom"`
}

// StatusOptions are the standard four statuses and then the custom ones.
func (s *Station) StatusOptions() []StatusOption {
	var out []StatusOption
	for _, st := range StandardStatuses() {
		out = append(out, StatusOption{Status: st})
	}
	for _, st := range s.cfg.Tracking.CustomStatuses {
		out = append(out, StatusOption{Status: st, Custom: true})
	}
	return out
}

// IsCustomStatus says whether status is one of [tracking] custom_statuses.
func (s *Station) IsCustomStatus(status string) bool {
	return slices.Contains(s.cfg.Tracking.CustomStatuses, status)
}

// FulfillmentNumber is the integer id of a package for integrations that
// want numbers (Tracktor's fulfillment_id): order seq × 1000 + index. The
// station's tracking lookups accept it back.
func FulfillmentNumber(o Order, index int) int64 { return int64(o.Seq)*1000 + int64(index) }

// validateTracking checks an update and sets its default source; errors
// name the JSON field.
func (s *Station) validateTracking(u *TrackingUpdate) error {
	if u.Status == "" {
		return fieldErr("status", "required")
	}
	if !slices.Contains(StandardStatuses(), u.Status) && !s.IsCustomStatus(u.Status) {
		return fieldErr("status", "%q is not a status option (want one of %v)", u.Status, s.statusNames())
	}
	if u.Exception != "" && !slices.Contains(ExceptionStatuses(), u.Exception) {
		return fieldErr("exception", "want one of %v or none, not %q", ExceptionStatuses(), u.Exception)
	}
	switch u.Source {
	case "":
		u.Source = TrackingSourceManual
	case TrackingSourceManual, TrackingSourceCarrier, TrackingSourceIntegration:
	default:
		return fieldErr("source", "want manual, carrier or integration, not %q", u.Source)
	}
	if err := checkText("note", u.Note, maxTextLen); err != nil {
		return err
	}
	if u.Package != "" {
		return checkCode("package", u.Package, maxCodeLen)
	}
	return nil
}

func (s *Station) statusNames() []string {
	return append(StandardStatuses(), s.cfg.Tracking.CustomStatuses...)
}

// UpdateTracking records a status change for an order's labelled packages
// (or the one u.Package names). order is anything FindOrder accepts, a
// package reference or tracking number of the order, or the order's seq.
// A package whose status and exception are already those of u is left
// alone; each changed package gets a history entry and one
// tracking.updated event, all in one transaction. An order with no
// labelled package is ErrConflict.
func (s *Station) UpdateTracking(ctx context.Context, order string, u TrackingUpdate) (OrderTracking, error) {
	if err := ctx.Err(); err != nil {
		return OrderTracking{}, err
	}
	if err := s.validateTracking(&u); err != nil {
		return OrderTracking{}, fmt.Errorf("station: update tracking: %w", err)
	}
	now := s.clock.Now().UTC()
	var ot OrderTracking
	changed := 0
	err := s.db.Update(func(tx *queue.Tx) error {
		o, pkgs, err := s.trackedOrder(tx, order)
		if err != nil {
			return err
		}
		only := -1
		if u.Package != "" {
			key, err := packageKey(tx, u.Package)
			if errors.Is(err, ErrNotFound) {
				key, err = packageOfFulfillment(tx, u.Package)
			}
			var id string
			if err == nil {
				id, only = splitPkgKey(key)
			}
			if id != o.ID {
				return fieldErr("package", "%q is no package of order %s", u.Package, o.ID)
			}
		}
		tracked := 0
		for i := range pkgs {
			p := &pkgs[i]
			if p.Status != PackageLabelled || (only >= 0 && p.Index != only) {
				continue
			}
			tracked++
			t := trackingOf(p)
			if t.Status == u.Status && t.Exception == u.Exception {
				continue
			}
			before := rollUp(pkgs)
			ev := TrackingEvent{PreviousStatus: t.Status, PreviousException: t.Exception, PreviousOrder: before.status}
			t.add(TrackingEntry{Status: u.Status, Exception: u.Exception, Custom: s.IsCustomStatus(u.Status),
				Source: u.Source, Note: u.Note, At: now})
			p.Tracking, p.UpdatedAt = t, now
			if err := putJSON(tx, kindPackages, pkgKey(o.ID, p.Index), p); err != nil {
				return err
			}
			ev.fill(p, rollUp(pkgs).status, u.Note)
			if err := appendEvent(tx, EventTrackingUpdated, p.Reference, ev); err != nil {
				return err
			}
			changed++
		}
		if tracked == 0 && only >= 0 {
			return fieldErr("package", "%q is no labelled package of order %s", u.Package, o.ID)
		}
		if tracked == 0 {
			return fmt.Errorf("%w: order %s has no labelled package to track", ErrConflict, o.ID)
		}
		ot = orderTracking(o, pkgs)
		return nil
	})
	if err != nil {
		return OrderTracking{}, fmt.Errorf("station: update tracking of %q: %w", order, notFound(err))
	}
	if changed > 0 {
		s.log.Info("tracking updated", "order", ot.Order.ID, "status", u.Status, "exception", u.Exception,
			"source", u.Source, "packages", changed)
	}
	return ot, nil
}

// trackLabel starts a package's tracking as its label is committed (in
// the label's transaction): order_ready, from the label. It returns the
// event to append after the package's.
func (s *Station) trackLabel(tx *queue.Tx, o *Order, p *Package, now time.Time) (TrackingEvent, error) {
	others, err := listPackages(tx, o.ID)
	if err != nil {
		return TrackingEvent{}, err
	}
	others = slices.DeleteFunc(others, func(q Package) bool { return q.Index == p.Index })
	before := rollUp(others)
	p.Tracking = &Tracking{}
	p.Tracking.add(TrackingEntry{Status: StatusOrderReady, Source: TrackingSourceLabel, At: now})
	after := rollUp(append(others, *p))
	ev := TrackingEvent{PreviousOrder: before.status}
	ev.fill(p, after.status, "")
	return ev, nil
}

func (ev *TrackingEvent) fill(p *Package, orderStatus, note string) {
	t := p.Tracking
	ev.OrderID, ev.Package, ev.Reference, ev.TrackingNumber = p.OrderID, p.Index, p.Reference, p.TrackingNumber
	ev.Status, ev.Exception, ev.Custom, ev.Source, ev.Note, ev.At = t.Status, t.Exception, t.Custom, t.Source, note, t.UpdatedAt
	ev.OrderStatus = orderStatus
}

// add appends an entry and makes it the current state.
func (t *Tracking) add(e TrackingEntry) {
	if e.Status == StatusDelivered && t.Status != StatusDelivered {
		t.DeliveredAt = e.At
	} else if e.Status != StatusDelivered {
		t.DeliveredAt = time.Time{}
	}
	t.Status, t.Exception, t.Custom, t.Source, t.UpdatedAt = e.Status, e.Exception, e.Custom, e.Source, e.At
	t.History = append(t.History, e)
	if n := len(t.History) - MaxTrackingHistory; n > 0 {
		t.History = slices.Delete(t.History, 0, n)
		t.Dropped += n
	}
}

// trackingOf is a labelled package's tracking; a package labelled before
// the bench kept tracking gets the label's order_ready.
func trackingOf(p *Package) *Tracking {
	if p.Tracking != nil {
		t := *p.Tracking
		t.History = slices.Clone(t.History)
		return &t
	}
	t := &Tracking{}
	at := p.LabelledAt
	if at.IsZero() {
		at = p.CreatedAt
	}
	t.add(TrackingEntry{Status: StatusOrderReady, Source: TrackingSourceLabel, At: at})
	return t
}

// rolled is an order's roll-up over its labelled packages.
type rolled struct {
	status      string
	exceptions  []string
	deliveredAt time.Time
}

// rollUp computes the order's roll-up from its packages (labelled ones
// count). See OrderTracking.Status.
func rollUp(pkgs []Package) rolled {
	var r rolled
	rank := func(s string) int {
		if i := slices.Index(StandardStatuses(), s); i >= 0 {
			return i
		}
		return 1 // a custom status: somewhere on the way
	}
	same, n := true, 0
	least := ""
	for i := range pkgs {
		p := &pkgs[i]
		if p.Status != PackageLabelled {
			continue
		}
		t := p.Tracking
		if t == nil {
			t = trackingOf(p)
		}
		if n > 0 && t.Status != r.status {
			same = false
		}
		if n == 0 {
			r.status = t.Status
		}
		st := t.Status
		if rank(st) == 1 && !slices.Contains(StandardStatuses(), st) {
			st = StatusInTransit
		}
		if least == "" || rank(st) < rank(least) {
			least = st
		}
		if t.Exception != "" {
			r.exceptions = append(r.exceptions, t.Exception)
		}
		if t.DeliveredAt.After(r.deliveredAt) {
			r.deliveredAt = t.DeliveredAt
		}
		n++
	}
	if !same {
		r.status = least
	}
	if r.status != StatusDelivered {
		r.deliveredAt = time.Time{}
	}
	return r
}

// orderTracking builds the answer from an order and its packages.
func orderTracking(o Order, pkgs []Package) OrderTracking {
	ot := OrderTracking{Order: o, Packages: []Package{}, Exceptions: []string{}}
	for _, p := range pkgs {
		if p.Status != PackageLabelled {
			continue
		}
		if p.Tracking == nil {
			p.Tracking = trackingOf(&p)
		}
		ot.Packages = append(ot.Packages, p)
	}
	r := rollUp(ot.Packages)
	ot.Status, ot.DeliveredAt = r.status, r.deliveredAt
	if r.exceptions != nil {
		ot.Exceptions = r.exceptions
	}
	return ot
}

// OrderTracking returns an order's tracking. id is anything
// UpdateTracking accepts as the order.
func (s *Station) OrderTracking(ctx context.Context, id string) (OrderTracking, error) {
	if err := ctx.Err(); err != nil {
		return OrderTracking{}, err
	}
	var ot OrderTracking
	err := s.db.View(func(tx *queue.Tx) error {
		o, pkgs, err := s.trackedOrder(tx, id)
		ot = orderTracking(o, pkgs)
		return err
	})
	if err != nil {
		return OrderTracking{}, fmt.Errorf("station: tracking of order %q: %w", id, notFound(err))
	}
	return ot, nil
}

// PackageTracking returns the tracking of the order of a labelled package
// and the package's position in OrderTracking.Packages. id is a package
// reference, tracking number, job id or FulfillmentNumber.
func (s *Station) PackageTracking(ctx context.Context, id string) (OrderTracking, int, error) {
	if err := ctx.Err(); err != nil {
		return OrderTracking{}, 0, err
	}
	var ot OrderTracking
	at := -1
	err := s.db.View(func(tx *queue.Tx) error {
		key, err := packageKey(tx, id)
		if errors.Is(err, ErrNotFound) {
			key, err = packageOfFulfillment(tx, id)
		}
		if err != nil {
			return err
		}
		var p Package
		if err := getJSON(tx, kindPackages, key, &p); err != nil {
			return err
		}
		if p.Status != PackageLabelled {
			return fmt.Errorf("%w: package %s is %s", ErrNotFound, p.Reference, p.Status)
		}
		var o Order
		if _, err := s.orders.get(tx, p.OrderID, &o); err != nil {
			return err
		}
		pkgs, err := listPackages(tx, o.ID)
		if err != nil {
			return err
		}
		ot = orderTracking(o, pkgs)
		at = slices.IndexFunc(ot.Packages, func(q Package) bool { return q.Index == p.Index })
		if at < 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return OrderTracking{}, 0, fmt.Errorf("station: tracking of package %q: %w", id, notFound(err))
	}
	return ot, at, nil
}

// trackedOrder is the order findTrackedOrder finds and its packages.
func (s *Station) trackedOrder(tx *queue.Tx, code string) (Order, []Package, error) {
	var o Order
	if err := s.findTrackedOrder(tx, code, &o); err != nil {
		return Order{}, nil, err
	}
	pkgs, err := listPackages(tx, o.ID)
	return o, pkgs, err
}

// findTrackedOrder resolves an order by anything findOrder accepts, then
// by one of its packages' references or tracking numbers (a carrier knows
// those), then by its seq (the integer order id integrations are given).
func (s *Station) findTrackedOrder(tx *queue.Tx, code string, o *Order) error {
	_, err := s.findOrder(tx, code, o)
	if !errors.Is(err, queue.ErrNotFound) {
		return err
	}
	if key, err := packageKey(tx, code); err == nil {
		id, _ := splitPkgKey(key)
		_, err = s.orders.get(tx, id, o)
		return err
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	seq, perr := strconv.ParseUint(code, 10, 64)
	if perr != nil || seq == 0 {
		return ErrNotFound
	}
	v, err := tx.GetRecord(kindOrderSeq, seqKey(seq))
	if err != nil {
		return err
	}
	_, err = s.orders.get(tx, string(v), o)
	return err
}

// packageOfFulfillment resolves a FulfillmentNumber to its package's key.
func packageOfFulfillment(tx *queue.Tx, id string) (string, error) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n%1000 == 0 {
		return "", ErrNotFound
	}
	v, err := tx.GetRecord(kindOrderSeq, seqKey(n/1000))
	if err != nil {
		return "", err
	}
	return pkgKey(string(v), int(n%1000)), nil
}

// ParseTrackingEvent decodes the Data of a tracking.updated event.
func ParseTrackingEvent(ev queue.Event) (TrackingEvent, error) {
	var te TrackingEvent
	if ev.Type != EventTrackingUpdated {
		return te, fmt.Errorf("station: %w: event %s is not %s", ErrInvalid, ev.Type, EventTrackingUpdated)
	}
	if err := json.Unmarshal(ev.Data, &te); err != nil {
		return te, fmt.Errorf("station: decode %s event: %w", EventTrackingUpdated, err)
	}
	return te, nil
}

// splitPkgKey is the order id and index of a pkgKey.
func splitPkgKey(key string) (string, int) {
	if len(key) < 7 {
		return "", 0
	}
	n, _ := strconv.Atoi(key[len(key)-6:])
	return key[:len(key)-7], n
}
