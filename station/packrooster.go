package station

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

// The Packrooster automation API (seed 000) on the bench: a fulfillment
// order is labelled once (durably: a repeated call answers from the
// record), fulfilled, read back and cancelled. Orders are the bench's own;
// a fulfillment order is the bench order it names (or, without a
// fulfillment_order_id, the bench order itself).
const (
	kindPRRecords = "packrooster"        // fulfillment key → prRecord
	kindPROrders  = "packrooster-orders" // bench order id \x00 fulfillment key → fulfillment key
	sourceReturn  = "packrooster-return" // Order.Source of return-label orders
	returnSuffix  = "-RET"               // a return order's id: the order's id + this
)

// Packrooster actions: the seed's POST endpoints.
const (
	PackroosterLabel        = "label"         // a shipping label, no fulfillment
	PackroosterFulfill      = "fulfill"       // a fulfillment, no label
	PackroosterLabelFulfill = "label-fulfill" // both
)

// Packrooster statuses (PackroosterResult.Status).
const (
	PackroosterOpen      = "open"          // known, nothing done yet
	PackroosterLabelled  = "label_created" // labelled, not fulfilled
	PackroosterFulfilled = "fulfilled"
	PackroosterCancelled = "cancelled" // the fulfillment (or the order) was cancelled
	PackroosterDeleted   = "deleted"   // DELETE type=order: the order's data is gone
)

// Packrooster delete types.
const (
	PackroosterTypeOrder            = "order"
	PackroosterTypeFulfillmentOrder = "fulfillment-order"
)

// PackroosterConfig is [packrooster].
type PackroosterConfig struct {
	// DefaultWeight labels a parcel whose order has no weight when the
	// scale has no stable reading ("500g", "1.2lb"); empty: such a call
	// is refused (422, field weight).
	DefaultWeight string `toml:"default_weight" json:"default_weight,omitempty"`
	// PublicURL is the base of label URLs ("https://bench1.example.com");
	// empty: the scheme and Host of the request that asked.
	PublicURL string `toml:"public_url" json:"public_url,omitempty"`
}

func (c PackroosterConfig) validate() error {
	if c.DefaultWeight != "" {
		if mg, err := scale.ParseWeight(c.DefaultWeight); err != nil || mg <= 0 || mg > maxWeightMg {
			return fmt.Errorf("%w: packrooster.default_weight: want a weight with a unit like 500g or 1.2lb, not %q", ErrConfig, c.DefaultWeight)
		}
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("%w: packrooster.public_url: want an http or https base URL like https://bench1.example.com, not %q", ErrConfig, c.PublicURL)
		}
	}
	return nil
}

// PackroosterRequest is the body of the seed's POST endpoints.
type PackroosterRequest struct {
	OrderID            AnyID `json:"order_id"`
	FulfillmentOrderID AnyID `json:"fulfillment_order_id,omitempty"`
	// ReturnLabel also makes a return label (addresses swapped, marked
	// RETURN, not printed): the seed's self-service returns.
	ReturnLabel bool `json:"return_label,omitempty"`
	// ShippingLabel false makes no shipping label (with ReturnLabel: the
	// return label alone). Default true on label and label-fulfill.
	ShippingLabel *bool `json:"shipping_label,omitempty"`
}

// PackroosterResult is the station's answer; the API turns the tokens
// into label URLs.
type PackroosterResult struct {
	Status             string
	OrderID            string // the bench order
	FulfillmentOrderID string
	Carrier            string
	TrackingURL        string
	TrackingCode       string
	ShippingLabelToken string
	ReturnLabelToken   string
	ReturnTrackingCode string
}

// prRecord is what the bench keeps per fulfillment order.
type prRecord struct {
	Key       string    `json:"key"`
	ID        string    `json:"id"`       // the fulfillment order id as answered
	OrderID   string    `json:"order_id"` // the bench order
	Package   string    `json:"package,omitempty"`
	Return    string    `json:"return,omitempty"` // the return label's package
	Fulfilled bool      `json:"fulfilled,omitempty"`
	Cancelled bool      `json:"cancelled,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

func prOrderKey(orderID, key string) string { return orderID + "\x00" + key }

// fulfillmentOrderKey is the record key of a fulfillment order id: its Shopify
// number, or the id as given (a bench order id).
func fulfillmentOrderKey(field, raw string) (key, id string, err error) {
	if n, _, ok := ShopifyNumericID(raw); ok {
		return "fo:" + n, n, nil
	}
	if checkCode(field, raw, maxCodeLen) == nil {
		return "fo:" + raw, raw, nil
	}
	return "", "", fieldErr(field, "want a number, a numeric string, a gid://shopify/... id or a bench order id, not %q", raw)
}

// checkOrderID checks an order_id as given.
func checkOrderID(field, raw string) error {
	if raw == "" {
		return fieldErr(field, "required")
	}
	if len(idCodes(raw)) == 0 {
		return fieldErr(field, "want a number, a numeric string, a gid://shopify/... id or a bench order id, not %q", raw)
	}
	return nil
}

// findByCodes finds the order any of the id's codes finds.
func (s *Station) findByCodes(tx *queue.Tx, raw string, o *Order) error {
	for _, c := range idCodes(raw) {
		_, err := s.findOrder(tx, c, o)
		if err == nil || !errors.Is(err, queue.ErrNotFound) {
			return err
		}
	}
	return queue.ErrNotFound
}

// prFind resolves a request's order and fulfillment key: a known
// fulfillment order names its order; else order_id (or, failing that, the
// fulfillment order id) finds it by the bench's identifiers.
func (s *Station) prFind(orderRaw, foRaw string) (o Order, key, foID string, err error) {
	if foRaw != "" {
		if key, foID, err = fulfillmentOrderKey("fulfillment_order_id", foRaw); err != nil {
			return o, "", "", err
		}
	}
	err = s.db.View(func(tx *queue.Tx) error {
		var rec prRecord
		have := false
		if key != "" {
			if err := getJSON(tx, kindPRRecords, key, &rec); err == nil {
				have = true
			} else if !errors.Is(err, queue.ErrNotFound) {
				return err
			}
		}
		if orderRaw != "" {
			if err := s.findByCodes(tx, orderRaw, &o); errors.Is(err, queue.ErrNotFound) {
				return fmt.Errorf("%w: no order for order_id %q", ErrNotFound, orderRaw)
			} else if err != nil {
				return err
			}
			if have && rec.OrderID != o.ID {
				return fmt.Errorf("%w: fulfillment_order_id %q belongs to order %s, not to order_id %q", ErrConflict, foRaw, rec.OrderID, orderRaw)
			}
			return nil
		}
		if have {
			if err := getJSON(tx, kindOrders, rec.OrderID, &o); err != nil {
				return fmt.Errorf("order %s: %w", rec.OrderID, notFound(err))
			}
			return nil
		}
		if err := s.findByCodes(tx, foRaw, &o); errors.Is(err, queue.ErrNotFound) {
			return fmt.Errorf("%w: no fulfillment order %q", ErrNotFound, foRaw)
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return o, "", "", err
	}
	if key == "" { // the bench order is its own fulfillment order
		key, foID = "fo:"+o.ID, o.ID
	}
	return o, key, foID, nil
}

// Packrooster runs one of the seed's POST endpoints (action is
// PackroosterLabel, PackroosterFulfill or PackroosterLabelFulfill) for
// the fulfillment order the request names. A fulfillment order is labelled
// once: a repeated call answers with the same label, tracking number and
// URLs, and prints nothing. The weight is the order's, else scaleWeight
// (the scale's stable reading, nil if none), else [packrooster]
// default_weight, else a *FieldError naming weight. An order with a
// label already (the packer's scan) keeps it: that label is the answer.
func (s *Station) Packrooster(ctx context.Context, action string, req PackroosterRequest, scaleWeight *Weight) (PackroosterResult, error) {
	res, err := s.packrooster(ctx, action, req, scaleWeight)
	if err != nil {
		return PackroosterResult{}, fmt.Errorf("station: packrooster %s: %w", action, err)
	}
	return res, nil
}

func (s *Station) packrooster(ctx context.Context, action string, req PackroosterRequest, scaleWeight *Weight) (PackroosterResult, error) {
	if err := ctx.Err(); err != nil {
		return PackroosterResult{}, err
	}
	switch action {
	case PackroosterLabel, PackroosterFulfill, PackroosterLabelFulfill:
	default:
		return PackroosterResult{}, fmt.Errorf("%w: action %q", ErrNotFound, action)
	}
	if err := checkOrderID("order_id", string(req.OrderID)); err != nil {
		return PackroosterResult{}, err
	}
	wantShip := action != PackroosterFulfill && (req.ShippingLabel == nil || *req.ShippingLabel)
	wantReturn := action != PackroosterFulfill && req.ReturnLabel
	switch {
	case action == PackroosterFulfill && req.ReturnLabel:
		return PackroosterResult{}, fieldErr("return_label", "api/fulfill makes no labels: use api/label or api/label-fulfill")
	case action == PackroosterFulfill && req.ShippingLabel != nil:
		return PackroosterResult{}, fieldErr("shipping_label", "api/fulfill makes no labels: use api/label or api/label-fulfill")
	case action != PackroosterFulfill && !wantShip && !wantReturn:
		return PackroosterResult{}, fieldErr("shipping_label", "false without return_label asks for no label at all")
	}
	o, key, foID, err := s.prFind(string(req.OrderID), string(req.FulfillmentOrderID))
	if err != nil {
		return PackroosterResult{}, err
	}
	// One caller at a time per order: a repeated call waits and then finds
	// the label the first made. Never the order's own lock key (Ship takes
	// that): these have a control character.
	unlock, err := s.shipLocks.lock(ctx, "packrooster\x00"+o.ID)
	if err != nil {
		return PackroosterResult{}, err
	}
	defer unlock()
	rec, err := s.prLoad(key)
	if err != nil {
		return PackroosterResult{}, err
	}
	if rec.Key == "" || rec.Cancelled { // first call, or a new one after a cancel
		rec = prRecord{Key: key, ID: foID, OrderID: o.ID}
	}
	if rec.OrderID != o.ID {
		return PackroosterResult{}, fmt.Errorf("%w: fulfillment order %s belongs to order %s", ErrConflict, foID, rec.OrderID)
	}
	var weight *Weight
	resolveWeight := func() (Weight, error) {
		if weight != nil {
			return *weight, nil
		}
		w, err := s.prWeight(o, scaleWeight)
		weight = &w
		return w, err
	}
	if wantShip || action == PackroosterFulfill {
		if p, ok, err := s.prLabelled(ctx, o.ID, rec.Package); err != nil {
			return PackroosterResult{}, err
		} else if ok {
			rec.Package = p.Reference
		} else if wantShip {
			w, err := resolveWeight()
			if err != nil {
				return PackroosterResult{}, err
			}
			p, err := s.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: w})
			if errors.Is(err, ErrConflict) {
				// Labelled meanwhile by the packer's scan: that label stands.
				if lp, ok, lerr := s.prLabelled(ctx, o.ID, ""); lerr == nil && ok {
					p, err = lp, nil
				}
			}
			if err != nil {
				return PackroosterResult{}, err
			}
			rec.Package = p.Reference
		} else {
			rec.Package = ""
		}
	}
	if wantReturn {
		p, ok, err := s.prLabelled(ctx, o.ID+returnSuffix, rec.Return)
		if err != nil {
			return PackroosterResult{}, err
		}
		if !ok {
			w, err := resolveWeight()
			if err != nil {
				return PackroosterResult{}, err
			}
			if p, err = s.prReturn(ctx, o, w); err != nil {
				return PackroosterResult{}, err
			}
		}
		rec.Return = p.Reference
	}
	event := ""
	if action != PackroosterLabel && !rec.Fulfilled {
		rec.Fulfilled, event = true, EventFulfillmentFulfilled
	}
	rec.UpdatedAt = s.clock.Now().UTC()
	return s.prSave(rec, event)
}

// prWeight is the weight of a label asked for without a parcel on a
// scale the flow watches.
func (s *Station) prWeight(o Order, scaleWeight *Weight) (Weight, error) {
	switch {
	case o.Weight != nil:
		return *o.Weight, nil
	case scaleWeight != nil && scaleWeight.Milligrams > 0:
		return *scaleWeight, nil
	case s.cfg.Packrooster.DefaultWeight != "":
		mg, err := scale.ParseWeight(s.cfg.Packrooster.DefaultWeight) // checked by Validate
		if err != nil {
			return Weight{}, err
		}
		return Weight{Milligrams: mg}, nil
	}
	return Weight{}, fieldErr("weight", "order %s has no weight, the scale has no stable reading and [packrooster] default_weight is not set: put the parcel on the scale", o.ID)
}

// prLabelled finds the labelled package of order id: ref if it is still
// labelled, else the first labelled package of the order (one the packer
// labelled, or one a call labelled before a crash kept it from being
// recorded).
func (s *Station) prLabelled(ctx context.Context, orderID, ref string) (Package, bool, error) {
	sh, err := s.Shipment(ctx, orderID)
	if errors.Is(err, ErrNotFound) {
		return Package{}, false, nil
	} else if err != nil {
		return Package{}, false, err
	}
	if sh.OrderID != orderID { // found by an identifier, not its id
		return Package{}, false, nil
	}
	var first *Package
	for i, p := range sh.Packages {
		if p.Status != PackageLabelled {
			continue
		}
		if p.Reference == ref {
			return p, true, nil
		}
		if first == nil {
			first = &sh.Packages[i]
		}
	}
	if first != nil {
		return *first, true, nil
	}
	return Package{}, false, nil
}

// prReturn labels the return parcel of order o: a bench order of its own
// (o's id + "-RET", addresses swapped, marked RETURN on the label),
// labelled without printing: it goes to the customer by its URL.
func (s *Station) prReturn(ctx context.Context, o Order, w Weight) (Package, error) {
	id := o.ID + returnSuffix
	if len(id) > maxIDLen {
		return Package{}, fmt.Errorf("%w: order id %s is too long for a return order id", ErrConflict, o.ID)
	}
	from := o.ShipTo
	ro := Order{ID: id, ShipTo: s.shipFrom(o), ShipFrom: &from, Service: o.Service, Packages: 1, Lines: o.Lines, Source: sourceReturn}
	if err := s.ensureOrder(ctx, ro); err != nil {
		return Package{}, err
	}
	return s.Ship(ctx, ShipRequest{OrderID: id, Weight: w, noPrint: true})
}

// ensureOrder creates o, an order a seed call makes for itself, unless an
// earlier attempt did (then that order is labelled with its stored
// details). The id taken by an order of another source is ErrConflict.
func (s *Station) ensureOrder(ctx context.Context, o Order) error {
	var exists *OrderExistsError
	if _, err := s.CreateOrder(ctx, o); errors.As(err, &exists) {
		if cur, err := s.Order(ctx, o.ID); err != nil || cur.Source != o.Source {
			return fmt.Errorf("%w: order id %s is taken by an order that is not %s's (%v)", ErrConflict, o.ID, o.Source, err)
		}
	} else if err != nil {
		return err
	}
	return nil
}

func (s *Station) prLoad(key string) (prRecord, error) {
	var rec prRecord
	err := s.db.View(func(tx *queue.Tx) error {
		if err := getJSON(tx, kindPRRecords, key, &rec); !errors.Is(err, queue.ErrNotFound) {
			return err
		}
		return nil
	})
	return rec, err
}

// Events of fulfillment orders (Packrooster).
const (
	EventFulfillmentFulfilled = "fulfillment.fulfilled"
	EventFulfillmentCancelled = "fulfillment.cancelled"
)

// prSave stores the record (with the URL tokens of its labels) and
// answers from it, with event (if any) carrying the answer, in one
// transaction.
func (s *Station) prSave(rec prRecord, event string) (PackroosterResult, error) {
	var res PackroosterResult
	err := s.db.Update(func(tx *queue.Tx) error {
		if err := putJSON(tx, kindPRRecords, rec.Key, rec); err != nil {
			return err
		}
		if err := tx.PutRecord(kindPROrders, prOrderKey(rec.OrderID, rec.Key), []byte(rec.Key)); err != nil {
			return err
		}
		var err error
		if res, err = s.prResult(tx, rec, true); err != nil {
			return err
		}
		if event == "" {
			return nil
		}
		return appendEvent(tx, event, rec.OrderID, map[string]string{"order_id": rec.OrderID, "fulfillment_order_id": rec.ID,
			"status": res.Status, "tracking_code": res.TrackingCode})
	})
	return res, err
}

// prResult is the answer for a record; tokens says whether label URL
// tokens may be made (in a write transaction).
func (s *Station) prResult(tx *queue.Tx, rec prRecord, tokens bool) (PackroosterResult, error) {
	res := PackroosterResult{OrderID: rec.OrderID, FulfillmentOrderID: rec.ID, Status: PackroosterOpen}
	var o Order
	if err := getJSON(tx, kindOrders, rec.OrderID, &o); err != nil {
		return res, fmt.Errorf("order %s: %w", rec.OrderID, notFound(err))
	}
	token := func(ref string) (string, error) {
		if tokens {
			return labelToken(tx, ref)
		}
		v, err := tx.GetRecord(kindLabelURLRefs, ref)
		if errors.Is(err, queue.ErrNotFound) {
			return "", nil
		}
		return string(v), err
	}
	if rec.Package != "" {
		if _, p, err := loadPackage(tx, rec.Package); err == nil && p.Status == PackageLabelled {
			res.Carrier, res.TrackingURL, res.TrackingCode = p.Carrier, p.TrackingURL, p.TrackingNumber
			if res.ShippingLabelToken, err = token(p.Reference); err != nil {
				return res, err
			}
			res.Status = PackroosterLabelled
		} else if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, queue.ErrNotFound) {
			return res, err
		}
	}
	if rec.Return != "" {
		if _, p, err := loadPackage(tx, rec.Return); err == nil && p.Status == PackageLabelled {
			res.ReturnTrackingCode = p.TrackingNumber
			if res.Carrier == "" {
				res.Carrier = p.Carrier
			}
			if res.ReturnLabelToken, err = token(p.Reference); err != nil {
				return res, err
			}
			if res.Status == PackroosterOpen {
				res.Status = PackroosterLabelled
			}
		} else if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, queue.ErrNotFound) {
			return res, err
		}
	}
	switch {
	case rec.Cancelled || o.Status == OrderCancelled:
		res.Status = PackroosterCancelled
	case rec.Fulfilled:
		res.Status = PackroosterFulfilled
	}
	return res, nil
}

// PackroosterGet is the seed's api/get: the shipment data of a
// fulfillment order (one the bench never heard of through Packrooster but
// knows as an order answers too, with the label the packer made).
func (s *Station) PackroosterGet(ctx context.Context, fulfillmentOrderID string) (PackroosterResult, error) {
	if err := ctx.Err(); err != nil {
		return PackroosterResult{}, err
	}
	if fulfillmentOrderID == "" {
		return PackroosterResult{}, fmt.Errorf("station: packrooster get: %w", fieldErr("fulfillment_order_id", "required"))
	}
	o, key, foID, err := s.prFind("", fulfillmentOrderID)
	if err != nil {
		return PackroosterResult{}, fmt.Errorf("station: packrooster get: %w", err)
	}
	rec, err := s.prLoad(key)
	if err != nil {
		return PackroosterResult{}, fmt.Errorf("station: packrooster get: %w", err)
	}
	if rec.Key == "" {
		rec = prRecord{Key: key, ID: foID, OrderID: o.ID}
	}
	if !rec.Cancelled {
		if p, ok, err := s.prLabelled(ctx, o.ID, rec.Package); err != nil {
			return PackroosterResult{}, fmt.Errorf("station: packrooster get: %w", err)
		} else if ok {
			rec.Package = p.Reference
		}
	}
	var res PackroosterResult
	err = s.db.Update(func(tx *queue.Tx) error {
		res, err = s.prResult(tx, rec, rec.Package != "" || rec.Return != "")
		return err
	})
	if err != nil {
		return PackroosterResult{}, fmt.Errorf("station: packrooster get: %w", err)
	}
	return res, nil
}

// PackroosterDelete is the seed's api/delete. Type fulfillment-order
// cancels the fulfillment: its labels are voided (their URLs stop
// working, waiting print jobs are cancelled) and the order waits for a
// parcel again; a later label call labels it anew. Type order cancels the
// order and deletes its data (packages, labels, URLs, its return order)
// entirely. It answers the status: cancelled or deleted.
func (s *Station) PackroosterDelete(ctx context.Context, typ, id string) (string, error) {
	st, err := s.packroosterDelete(ctx, typ, id)
	if err != nil {
		return "", fmt.Errorf("station: packrooster delete %s %q: %w", typ, id, err)
	}
	return st, nil
}

func (s *Station) packroosterDelete(ctx context.Context, typ, id string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	switch typ {
	case PackroosterTypeOrder, PackroosterTypeFulfillmentOrder:
	case "":
		return "", fieldErr("type", "required: order or fulfillment-order")
	default:
		return "", fieldErr("type", "want order or fulfillment-order, not %q", typ)
	}
	if err := checkOrderID("id", id); err != nil {
		return "", err
	}
	orderRaw, foRaw := id, ""
	if typ == PackroosterTypeFulfillmentOrder {
		orderRaw, foRaw = "", id
	}
	o, key, foID, err := s.prFind(orderRaw, foRaw)
	if err != nil {
		return "", err
	}
	unlock, err := s.shipLocks.lock(ctx, "packrooster\x00"+o.ID)
	if err != nil {
		return "", err
	}
	defer unlock()
	if typ == PackroosterTypeOrder {
		for _, oid := range []string{o.ID, o.ID + returnSuffix} {
			if err := s.deleteOrderData(ctx, oid, oid == o.ID); err != nil {
				return "", err
			}
		}
		s.log.Info("order deleted through Packrooster", "order", o.ID)
		return PackroosterDeleted, nil
	}
	rec, err := s.prLoad(key)
	if err != nil {
		return "", err
	}
	if rec.Key == "" {
		rec = prRecord{Key: key, ID: foID, OrderID: o.ID}
	}
	// Every label of the fulfillment: the recorded ones, and any the
	// packer made for the order.
	refs := map[string]bool{}
	for _, ref := range []string{rec.Package, rec.Return} {
		if ref != "" {
			refs[ref] = true
		}
	}
	sh, err := s.Shipment(ctx, o.ID)
	if err != nil {
		return "", err
	}
	for _, p := range sh.Packages {
		if p.Status == PackageLabelled {
			refs[p.Reference] = true
		}
	}
	for ref := range refs {
		if _, err := s.VoidPackage(ctx, ref, "fulfillment cancelled through Packrooster"); err != nil && !errors.Is(err, ErrNotFound) {
			return "", err
		}
	}
	rec.Package, rec.Return, rec.Fulfilled, rec.Cancelled, rec.UpdatedAt = "", "", false, true, s.clock.Now().UTC()
	if _, err := s.prSave(rec, EventFulfillmentCancelled); err != nil {
		return "", err
	}
	s.log.Info("fulfillment cancelled through Packrooster", "order", o.ID, "fulfillment_order", foID)
	return PackroosterCancelled, nil
}

// deleteOrderData cancels order id (voiding its labels, cancelling its
// waiting jobs, disarming the flow) and deletes it with everything kept
// for it. An order that is not there is no error unless must.
func (s *Station) deleteOrderData(ctx context.Context, id string, must bool) error {
	if _, err := s.CancelOrder(ctx, id, "deleted through Packrooster"); err != nil {
		if errors.Is(err, ErrNotFound) && !must {
			return nil
		}
		return err
	}
	unlock, err := s.shipLocks.lock(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	return s.db.Update(func(tx *queue.Tx) error {
		var o Order
		if err := getJSON(tx, kindOrders, id, &o); err != nil {
			return notFound(err)
		}
		pkgs, err := listPackages(tx, o.ID)
		if err != nil {
			return err
		}
		if err := deleteOrder(tx, o, pkgs); err != nil {
			return err
		}
		return appendEvent(tx, EventOrderDeleted, o.ID, map[string]string{"order_id": o.ID})
	})
}

// EventOrderDeleted: an order's data was deleted on request (Packrooster
// api/delete type=order), not by retention.
const EventOrderDeleted = "order.deleted"

// deletePackroosterRecords drops the fulfillment records of a bench
// order (its data is deleted).
func deletePackroosterRecords(tx *queue.Tx, orderID string) error {
	recs, err := tx.ListRecords(kindPROrders, queue.RecordPage{Prefix: orderID + "\x00"})
	if err != nil {
		return err
	}
	for _, r := range recs {
		var rec prRecord
		err := getJSON(tx, kindPRRecords, string(r.Value), &rec)
		if err == nil && rec.OrderID == orderID {
			if err := tx.DeleteRecord(kindPRRecords, string(r.Value)); err != nil {
				return err
			}
		} else if err != nil && !errors.Is(err, queue.ErrNotFound) {
			return err
		}
		if err := tx.DeleteRecord(kindPROrders, r.Key); err != nil {
			return err
		}
	}
	return nil
}
