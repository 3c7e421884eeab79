package station

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/packbench/packbench/internal/strictjson"
	"github.com/packbench/packbench/internal/textcheck"
	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
)

// Record kinds the station keeps in the queue file.
const (
	kindOrders     = queue.KindOrders // order id → Order
	kindOrderCodes = "order-codes"    // partner id (and identifiers stored before order-lpns) → order id
	kindOrderLPNs  = "order-lpns"     // associated identifier \x00 %020d seq → order id (shared codes)
	kindOrderSeq   = "order-seq"      // %020d seq → order id (creation order)
	kindOrderOpen  = "order-open"     // %020d seq → order id, orders still waiting for parcels
	kindShipSeq    = "shipment-seq"   // %020d seq → order id, orders with packages
	kindPackages   = "packages"       // order id \x00 %06d index → Package
	kindPackageRef = "package-refs"   // reference, tracking number, job id → package key
	kindLabels     = "labels"         // reference + one of labelSuffixes
	kindLabelTime  = "label-time"     // %020d unix ns + "/" + reference → reference, for Housekeep
	counterOrders  = "station.orders"
)

// labelSuffixes are a label's artefacts: the printer's ZPL, the PNG
// preview, the layout that draws the preview, the carrier's PDF.
var labelSuffixes = []string{".zpl", ".png", ".json", ".pdf"}

// Event types the station writes to the outbox.
const (
	EventOrderCreated     = "order.created"
	EventOrderCancelled   = "order.cancelled"
	EventOrderShipped     = "order.shipped"
	EventPackageLabelled  = "package.labelled"
	EventPackageReprinted = "package.reprinted"
	EventPackageVoided    = "package.voided"
)

// PageBytes is the most JSON a page of orders or shipments holds: a page
// ends early (with Next set) rather than grow past it, so limit=500 of
// big orders cannot build tens of megabytes. A page always holds at least
// one item, so paging moves on.
const PageBytes = 1 << 20

// Limits on order fields.
const (
	maxIDLen          = 64
	maxCodeLen        = 128
	maxIdentifiers    = 32
	maxPackages       = 999
	maxLines          = 500
	maxTextLen        = 512
	defaultListLimit  = 50
	maxListLimit      = 500
	orderIDPrefix     = "SO"
	orderIDDigitsMin  = 6
	maxSeedBytes      = 256 << 10
	orderCodeNotFound = "no order for this barcode"
)

// ParseOrder decodes an order from JSON strictly: unknown fields and wrong
// types are errors naming the field path; then the order is validated
// (see Order.Validate). Errors wrap ErrInvalid.
func ParseOrder(data []byte) (Order, error) {
	var o Order
	if err := strictjson.Decode(data, &o, nil); err != nil {
		return Order{}, jsonFieldError(err)
	}
	if err := o.Validate(); err != nil {
		return Order{}, err
	}
	return o, nil
}

// jsonFieldError turns the strict decoder's refusals into FieldErrors
// naming the member's path ("lines[2].colour"); "(body)" is the whole body.
func jsonFieldError(err error) *FieldError {
	var e *strictjson.Error
	if !errors.As(err, &e) {
		return &FieldError{Field: "(body)", Rule: err.Error()}
	}
	return &FieldError{Field: e.Field("(body)"), Rule: e.Rule()}
}

// Validate checks an order as given to CreateOrder. Errors are
// *FieldErrors naming the JSON path ("ship_to.zip: required").
func (o *Order) Validate() error {
	if o.ID != "" {
		if err := checkCode("id", o.ID, maxIDLen); err != nil {
			return err
		}
	}
	if o.PartnerOrderID != "" {
		if err := checkCode("partner_order_id", o.PartnerOrderID, maxCodeLen); err != nil {
			return err
		}
	}
	if len(o.AssociatedIdentifiers) > maxIdentifiers {
		return fieldErr("associated_identifiers", "at most %d identifiers", maxIdentifiers)
	}
	seen := map[string]bool{}
	for i, c := range o.AssociatedIdentifiers {
		f := fmt.Sprintf("associated_identifiers[%d]", i)
		if err := checkCode(f, c, maxCodeLen); err != nil {
			return err
		}
		if seen[c] {
			return fieldErr(f, "%q is listed twice", c)
		}
		seen[c] = true
	}
	if err := o.ShipTo.validate("ship_to"); err != nil {
		return err
	}
	if o.ShipFrom != nil {
		if err := o.ShipFrom.validate("ship_from"); err != nil {
			return err
		}
	}
	if o.Service != "" {
		if err := checkText("service", o.Service, 64); err != nil {
			return err
		}
	}
	if o.Packages < 0 || o.Packages > maxPackages {
		return fieldErr("packages", "want 1 to %d (0 means 1)", maxPackages)
	}
	if len(o.Lines) > maxLines {
		return fieldErr("lines", "at most %d lines", maxLines)
	}
	for i, l := range o.Lines {
		f := fmt.Sprintf("lines[%d]", i)
		if l.Quantity < 0 {
			return fieldErr(f+".quantity", "must not be negative")
		}
		for name, v := range map[string]string{".sku": l.SKU, ".description": l.Description, ".ref": l.Ref} {
			if err := checkText(f+name, v, maxTextLen); err != nil {
				return err
			}
		}
	}
	if w := o.Weight; w != nil {
		if w.Milligrams <= 0 || w.Milligrams > maxWeightMg {
			return fieldErr("weight.milligrams", "want 1 to %d", maxWeightMg)
		}
		if err := checkText("weight.display", w.Display, 64); err != nil {
			return err
		}
		if w.Unit != "" && !slices.Contains(weightUnits, w.Unit) {
			return fieldErr("weight.unit", "want one of %s, not %q", strings.Join(weightUnits, ", "), w.Unit)
		}
	}
	if err := checkText("source", o.Source, 64); err != nil {
		return err
	}
	if len(o.Seed) > 0 && (len(o.Seed) > maxSeedBytes || !json.Valid(o.Seed)) {
		return fieldErr("seed", "want a JSON value of at most %d bytes", maxSeedBytes)
	}
	return nil
}

// checkCode checks an id or scannable code with the id rules of
// internal/textcheck: printable UTF-8, no bidi characters or marks, no
// surrounding spaces, no / \ ? # or "..".
func checkCode(field, v string, max int) error {
	if err := textcheck.ID(v, max); err != nil {
		return fieldErr(field, "%s", err)
	}
	return nil
}

// checkText checks free text with the text rules of internal/textcheck.
func checkText(field, v string, max int) error {
	if err := textcheck.Text(v, max); err != nil {
		return fieldErr(field, "%s", err)
	}
	return nil
}

// validate checks an address with the rules labelrender applies to a
// label's addresses (required fields, text length, no control characters,
// a two-letter country), so an accepted order's address renders.
func (a *Address) validate(path string) error {
	for _, f := range []struct{ name, v string }{
		{"name", a.Name}, {"street1", a.Street1}, {"city", a.City}, {"zip", a.Zip}, {"country", a.Country},
	} {
		if strings.TrimSpace(f.v) == "" {
			return fieldErr(path+"."+f.name, "required")
		}
	}
	for _, f := range []struct{ name, v string }{
		{"name", a.Name}, {"company", a.Company}, {"street1", a.Street1}, {"street2", a.Street2}, {"city", a.City},
		{"state", a.State}, {"zip", a.Zip}, {"country", a.Country}, {"phone", a.Phone}, {"email", a.Email},
	} {
		if err := checkText(path+"."+f.name, f.v, maxTextLen); err != nil {
			return err
		}
	}
	if len(a.Country) != 2 || !isLetters(a.Country) {
		return fieldErr(path+".country", "want an ISO 3166 alpha-2 code like US, not %q", a.Country)
	}
	return nil
}

func (a Address) render() labelrender.Address {
	return labelrender.Address{Name: a.Name, Company: a.Company, Street1: a.Street1, Street2: a.Street2,
		City: a.City, State: a.State, Zip: a.Zip, Country: strings.ToUpper(a.Country), Phone: a.Phone, Email: a.Email}
}

func seqKey(n uint64) string { return fmt.Sprintf("%020d", n) }

// CreateOrder validates and stores a new order, with its identifiers
// indexed and an order.created event, in one transaction. An empty ID is
// assigned ("SO000001"). An id already used is an *OrderExistsError saying
// whether the stored order differs; it and a partner order id that finds
// another order still waiting for parcels are ErrConflict; partner ids of
// shipped or cancelled orders are taken over. Associated identifiers are
// not unique (Shipium: "not constrained to be unique across orders"):
// several orders may share an LPN, and a scan picks among them (findOrder).
func (s *Station) CreateOrder(ctx context.Context, o Order) (Order, error) {
	return s.createOrder(ctx, o, nil)
}

// createOrder is CreateOrder; assign, when set, gives the order its id
// inside the creating transaction (FulfilLabel numbers a reference there,
// saving a commit), and may run more than once: it must only touch tx.
func (s *Station) createOrder(ctx context.Context, o Order, assign func(tx *queue.Tx) (string, error)) (Order, error) {
	if err := ctx.Err(); err != nil {
		return Order{}, err
	}
	if err := s.prepareOrder(&o); err != nil {
		return Order{}, fmt.Errorf("station: create order: %w", err)
	}
	id := o.ID
	// Batch: concurrent creates share a commit. The function may run
	// again, so it starts from the caller's id, not one a rolled-back run set.
	err := s.db.Batch(func(tx *queue.Tx) error { return createTx(tx, &o, id, assign) })
	if err != nil {
		return Order{}, fmt.Errorf("station: create order: %w", err)
	}
	s.orderCreated(ctx, o)
	return o, nil
}

// prepareOrder validates a new order and sets what the station sets.
func (s *Station) prepareOrder(o *Order) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Packages == 0 {
		o.Packages = 1
	}
	o.normalize()
	now := s.clock.Now().UTC()
	o.Status, o.Labelled, o.LastIndex, o.Pending, o.CreatedAt, o.UpdatedAt = OrderOpen, 0, 0, 0, now, now
	return nil
}

// orderCreated is what follows a create's commit.
func (s *Station) orderCreated(ctx context.Context, o Order) {
	s.log.Info("order created", "order", o.ID, "packages", o.Packages)
	s.autoArmIfIdle(ctx)
}

// createTx stores a prepared order (see createOrder) with id, or the one
// assign gives, or a new "SO" number, its indexes and an order.created
// event. It may run more than once and sets o's station fields each time.
func createTx(tx *queue.Tx, o *Order, id string, assign func(tx *queue.Tx) (string, error)) error {
	seq, err := tx.NextCounter(counterOrders)
	if err != nil {
		return err
	}
	o.Seq, o.ID = seq, id
	if assign != nil {
		if o.ID, err = assign(tx); err != nil {
			return err
		}
	}
	if o.ID == "" {
		o.ID = fmt.Sprintf("%s%0*d", orderIDPrefix, orderIDDigitsMin, seq)
	}
	var stored Order
	if err := getJSON(tx, kindOrders, o.ID, &stored); err == nil {
		return &OrderExistsError{ID: o.ID, Differs: orderDiffers(stored, *o)}
	} else if !errors.Is(err, queue.ErrNotFound) {
		return err
	}
	// A repeated create answered above; a new order needs room.
	if err := tx.CheckSpace(); err != nil {
		return err
	}
	if o.PartnerOrderID != "" {
		if err := claimCode(tx, o.PartnerOrderID, o.ID); err != nil {
			return err
		}
	}
	for _, c := range o.AssociatedIdentifiers {
		if err := tx.PutRecord(kindOrderLPNs, lpnKey(c, seq), []byte(o.ID)); err != nil {
			return err
		}
	}
	if err := putJSON(tx, kindOrders, o.ID, *o); err != nil {
		return err
	}
	if err := tx.PutRecord(kindOrderSeq, seqKey(seq), []byte(o.ID)); err != nil {
		return err
	}
	if err := tx.PutRecord(kindOrderOpen, seqKey(seq), []byte(o.ID)); err != nil {
		return err
	}
	return appendEvent(tx, EventOrderCreated, o.ID, *o)
}

// orderDiffers names the first input field (its JSON name) in which
// order b differs from the stored order a; "" when every field the caller
// gave is the same (what the station sets, status and counts, is not
// compared). b is normalized as CreateOrder stores it.
func orderDiffers(a, b Order) string {
	for _, f := range []struct {
		name string
		a, b any
	}{
		{"partner_order_id", a.PartnerOrderID, b.PartnerOrderID},
		{"associated_identifiers", emptyNil(a.AssociatedIdentifiers), emptyNil(b.AssociatedIdentifiers)},
		{"ship_to", a.ShipTo, b.ShipTo},
		{"ship_from", a.ShipFrom, b.ShipFrom},
		{"service", a.Service, b.Service},
		{"packages", a.Packages, b.Packages},
		{"lines", emptyNil(a.Lines), emptyNil(b.Lines)},
		{"weight", a.Weight, b.Weight},
		{"source", a.Source, b.Source},
		{"seed", a.Seed, b.Seed},
	} {
		// Compared as stored (JSON): a seed's spacing is not a difference.
		ja, erra := json.Marshal(f.a)
		jb, errb := json.Marshal(f.b)
		if erra != nil || errb != nil || !bytes.Equal(ja, jb) {
			return f.name
		}
	}
	return ""
}

// emptyNil makes an empty slice nil: omitted and [] are the same input.
func emptyNil[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// normalize upper-cases the country codes.
func (o *Order) normalize() {
	o.ShipTo.Country = strings.ToUpper(o.ShipTo.Country)
	if o.ShipFrom != nil {
		o.ShipFrom.Country = strings.ToUpper(o.ShipFrom.Country)
	}
}

// claimCode binds code to order id unless it finds another order still
// waiting for parcels.
func claimCode(tx *queue.Tx, code, id string) error {
	v, err := tx.GetRecord(kindOrderCodes, code)
	switch {
	case errors.Is(err, queue.ErrNotFound):
	case err != nil:
		return err
	default:
		var other Order
		if err := getJSON(tx, kindOrders, string(v), &other); err == nil && other.ID != id &&
			(other.Status == OrderOpen || other.Status == OrderPartial) {
			return fmt.Errorf("%w: %q already identifies order %s, which is still %s", ErrConflict, code, other.ID, other.Status)
		}
	}
	return tx.PutRecord(kindOrderCodes, code, []byte(id))
}

// Order returns the order with that id.
func (s *Station) Order(ctx context.Context, id string) (Order, error) {
	if err := ctx.Err(); err != nil {
		return Order{}, err
	}
	var o Order
	err := s.db.View(func(tx *queue.Tx) error { _, err := s.orders.get(tx, id, &o); return err })
	if err != nil {
		return Order{}, fmt.Errorf("station: order %q: %w", id, notFound(err))
	}
	return o, nil
}

// FindOrder resolves any code that identifies an order: its id, its
// partner order id or one of its associated identifiers (LPN barcodes).
// An identifier several orders share finds the oldest of them that still
// has packages to label (else the newest). Nothing matching is ErrNoOrder
// ("no order for this barcode").
func (s *Station) FindOrder(ctx context.Context, code string) (Order, error) {
	o, _, err := s.findOrderShared(ctx, code)
	return o, err
}

// findOrderShared is FindOrder that also says how many orders still
// waiting for parcels share the code (0 or 1 when it is not shared).
func (s *Station) findOrderShared(ctx context.Context, code string) (Order, int, error) {
	if err := ctx.Err(); err != nil {
		return Order{}, 0, err
	}
	// No id or identifier holds '#': a scanned Shopify name ("#1001")
	// finds the order by its number.
	code = strings.TrimPrefix(code, "#")
	var o Order
	open := 0
	err := s.db.View(func(tx *queue.Tx) error {
		var err error
		open, err = s.findOrder(tx, code, &o)
		return err
	})
	if err != nil {
		if errors.Is(err, queue.ErrNotFound) {
			return Order{}, 0, fmt.Errorf("station: find order: %w: %q", ErrNoOrder, code)
		}
		return Order{}, 0, fmt.Errorf("station: find order %q: %w", code, err)
	}
	return o, open, nil
}

func lpnKey(code string, seq uint64) string { return code + "\x00" + seqKey(seq) }

// findOrder resolves code (see FindOrder) and returns how many orders
// still waiting for parcels the code finds.
func (s *Station) findOrder(tx *queue.Tx, code string, o *Order) (int, error) {
	if code == "" {
		return 0, queue.ErrNotFound
	}
	_, err := s.orders.get(tx, code, o)
	if !errors.Is(err, queue.ErrNotFound) {
		return 1, err
	}
	// Totes and LPNs are reused for years: only the open orders sharing
	// the code are decoded, then at most the newest of the others.
	open, err := s.ordersByCode(tx, code, true)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range open {
		if open[i].shippable() {
			if n == 0 {
				*o = open[i] // oldest first: index order is creation order
			}
			n++
		}
	}
	if n > 0 {
		return n, nil
	}
	// None open: the newest, from the last shared-index entry or the
	// single-valued index.
	found := false
	recs, err := tx.ListRecords(kindOrderLPNs, queue.RecordPage{Prefix: code + "\x00"})
	if err != nil {
		return 0, err
	}
	if len(recs) > 0 {
		if _, err := s.orders.get(tx, string(recs[len(recs)-1].Value), o); err != nil {
			return 0, err
		}
		found = true
	}
	if id, err := tx.GetRecord(kindOrderCodes, code); err == nil {
		var c Order
		if _, err := s.orders.get(tx, string(id), &c); err != nil {
			return 0, err
		}
		if !found || c.Seq > o.Seq {
			*o, found = c, true
		}
	} else if !errors.Is(err, queue.ErrNotFound) {
		return 0, err
	}
	if !found {
		return 0, queue.ErrNotFound
	}
	return 0, nil
}

// ordersByCode is every order a partner order id or associated identifier
// finds, oldest first (an order's id is not looked up here); only those
// in the open-orders index when open is set.
func (s *Station) ordersByCode(tx *queue.Tx, code string, open bool) ([]Order, error) {
	var out []Order
	if code == "" {
		return nil, nil
	}
	recs, err := tx.ListRecords(kindOrderLPNs, queue.RecordPage{Prefix: code + "\x00"})
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if open {
			seq := r.Key[len(code)+1:] // lpnKey: code \x00 seqKey
			if _, err := tx.GetRecord(kindOrderOpen, seq); errors.Is(err, queue.ErrNotFound) {
				continue
			} else if err != nil {
				return nil, err
			}
		}
		var o Order
		if _, err := s.orders.get(tx, string(r.Value), &o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	// The single-valued index: partner ids, and identifiers of orders
	// stored before the shared index existed.
	id, err := tx.GetRecord(kindOrderCodes, code)
	switch {
	case errors.Is(err, queue.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		var o Order
		if _, err := s.orders.get(tx, string(id), &o); err != nil {
			return nil, err
		}
		if open && !o.shippable() {
			break
		}
		dup := false
		for _, x := range out {
			dup = dup || x.ID == o.ID
		}
		if !dup {
			out = append(out, o)
			slices.SortFunc(out, func(a, b Order) int { return cmp.Compare(a.Seq, b.Seq) })
		}
	}
	return out, nil
}

// ordersMatching is every order code finds: the order with that id, or
// every order sharing it as partner id or identifier, oldest first.
func (s *Station) ordersMatching(tx *queue.Tx, code string) ([]Order, error) {
	var o Order
	_, err := s.orders.get(tx, code, &o)
	if err == nil {
		return []Order{o}, nil
	}
	if !errors.Is(err, queue.ErrNotFound) {
		return nil, err
	}
	return s.ordersByCode(tx, code, false)
}

// ListOrders pages through orders in creation order (see ListOptions).
func (s *Station) ListOrders(ctx context.Context, opts ListOptions) (OrderPage, error) {
	if err := ctx.Err(); err != nil {
		return OrderPage{}, err
	}
	limit, err := opts.limit()
	if err != nil {
		return OrderPage{}, fmt.Errorf("station: list orders: %w", err)
	}
	page := OrderPage{Orders: []Order{}}
	var budget pageBudget
	err = s.db.View(func(tx *queue.Tx) error {
		if opts.Identifier != "" {
			// Identifiers may be shared: every order the code finds, paged.
			all, err := s.ordersMatching(tx, opts.Identifier)
			if err != nil {
				return err
			}
			for _, o := range all {
				if opts.Status != "" && o.Status != opts.Status {
					continue
				}
				page.Total++
				if (opts.After != "" && seqKey(o.Seq) <= opts.After) || len(page.Orders) > limit {
					continue
				}
				page.Orders = append(page.Orders, o)
			}
			return nil
		}
		recs, err := tx.ListRecords(kindOrderSeq, queue.RecordPage{})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if opts.Status == "" {
				// No filter: count from the index, decode only the page.
				page.Total++
				if r.Key <= opts.After || len(page.Orders) > limit || budget.full {
					continue
				}
			}
			var o Order
			n, err := s.orders.get(tx, string(r.Value), &o)
			if err != nil {
				return err
			}
			if opts.Status != "" {
				if o.Status != opts.Status {
					continue
				}
				page.Total++
				if r.Key <= opts.After || len(page.Orders) > limit || budget.full {
					continue
				}
			}
			// The item after a full page only says a next page exists.
			if len(page.Orders) < limit && !budget.take(n) {
				continue
			}
			page.Orders = append(page.Orders, o)
		}
		return nil
	})
	if err != nil {
		return OrderPage{}, fmt.Errorf("station: list orders: %w", err)
	}
	if budget.full {
		page.Next = seqKey(page.Orders[len(page.Orders)-1].Seq)
	}
	if len(page.Orders) > limit {
		page.Orders = page.Orders[:limit]
		page.Next = seqKey(page.Orders[limit-1].Seq)
	}
	return page, nil
}

func (o ListOptions) limit() (int, error) {
	if o.After != "" && (len(o.After) != 20 || !isDigits(o.After)) {
		return 0, fieldErr("after", "not a cursor this server returned")
	}
	switch o.Status {
	case "", OrderOpen, OrderPartial, OrderShipped, OrderCancelled:
	default:
		return 0, fieldErr("status", "want open, partial, shipped or cancelled")
	}
	switch {
	case o.Limit == 0:
		return defaultListLimit, nil
	case o.Limit < 0 || o.Limit > maxListLimit:
		return 0, fieldErr("limit", "want 1 to %d", maxListLimit)
	}
	return o.Limit, nil
}

// CancelOrder cancels an order: it will not ship. Its labelled packages
// are voided (their print jobs cancelled where still possible), and the
// flow disarms if it was armed on it. Cancelling twice is not an error.
func (s *Station) CancelOrder(ctx context.Context, id, reason string) (Order, error) {
	if err := ctx.Err(); err != nil {
		return Order{}, err
	}
	if err := checkText("reason", reason, maxTextLen); err != nil {
		return Order{}, fmt.Errorf("station: cancel order: %w", err)
	}
	unlock, err := s.shipLocks.lock(ctx, id)
	if err != nil {
		return Order{}, fmt.Errorf("station: cancel order %q: %w", id, err)
	}
	defer unlock()
	var o Order
	err = s.db.Update(func(tx *queue.Tx) error {
		if err := getJSON(tx, kindOrders, id, &o); err != nil {
			return notFound(err)
		}
		if o.Status == OrderCancelled {
			return nil
		}
		pkgs, err := listPackages(tx, o.ID)
		if err != nil {
			return err
		}
		for _, p := range pkgs {
			if p.Status == PackageVoided {
				continue
			}
			if err := s.voidLocked(tx, &o, &p, "order cancelled: "+reason); err != nil {
				return err
			}
		}
		o.Status, o.UpdatedAt = OrderCancelled, s.clock.Now().UTC()
		if err := putJSON(tx, kindOrders, o.ID, o); err != nil {
			return err
		}
		if err := tx.DeleteRecord(kindOrderOpen, seqKey(o.Seq)); err != nil {
			return err
		}
		return appendEvent(tx, EventOrderCancelled, o.ID, map[string]string{"order_id": o.ID, "reason": reason})
	})
	if err != nil {
		return Order{}, fmt.Errorf("station: cancel order %q: %w", id, err)
	}
	s.log.Info("order cancelled", "order", o.ID, "reason", reason)
	s.orderGone(o.ID, "order "+o.ID+" was cancelled")
	return o, nil
}

// nextOpenOrder is the oldest order still waiting for parcels.
func (s *Station) nextOpenOrder() (Order, bool, error) {
	var o Order
	found := false
	err := s.db.View(func(tx *queue.Tx) error {
		recs, err := tx.ListRecords(kindOrderOpen, queue.RecordPage{})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := getJSON(tx, kindOrders, string(r.Value), &o); err != nil {
				return err
			}
			// An order of Fulfil's /label (or a Packrooster return) is
			// labelled by its call, never by a parcel on the scale.
			if o.shippable() && o.Source != sourceFulfil && o.Source != sourceReturn {
				found = true
				return nil
			}
		}
		return nil
	})
	return o, found, err
}

func (o *Order) shippable() bool {
	return (o.Status == OrderOpen || o.Status == OrderPartial) && o.Labelled < o.Packages
}

func (o *Order) summary() *OrderSummary {
	return &OrderSummary{ID: o.ID, PartnerOrderID: o.PartnerOrderID, Name: o.ShipTo.Name, City: o.ShipTo.City,
		Country: o.ShipTo.Country, Packages: o.Packages, Labelled: o.Labelled}
}

func putJSON(tx *queue.Tx, kind, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", kind, key, err)
	}
	return tx.PutRecord(kind, key, b)
}

// pageBudget counts the bytes of a page against PageBytes.
type pageBudget struct {
	used int
	full bool // an item did not fit: the page ends here
}

// take counts an item of n bytes in; false (and full) when it does not
// fit. The first item always fits.
func (b *pageBudget) take(n int) bool {
	if b.full || (b.used > 0 && b.used+n > PageBytes) {
		b.full = true
		return false
	}
	b.used += n
	return true
}

// getJSONLen is getJSON that also returns the record's size, which is
// about the size of its JSON in an answer.
func getJSONLen(tx *queue.Tx, kind, key string, v any) (int, error) {
	b, err := tx.GetRecord(kind, key)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return 0, fmt.Errorf("decode %s %q: %w", kind, key, err)
	}
	return len(b), nil
}

func getJSON(tx *queue.Tx, kind, key string, v any) error {
	_, err := getJSONLen(tx, kind, key, v)
	return err
}

func appendEvent(tx *queue.Tx, typ, key string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode event %s: %w", typ, err)
	}
	_, err = tx.AppendEvent(queue.Event{Type: typ, Key: key, Data: b})
	return err
}

// notFound maps the queue's ErrNotFound to the station's.
func notFound(err error) error {
	if errors.Is(err, queue.ErrNotFound) {
		return ErrNotFound
	}
	return err
}
