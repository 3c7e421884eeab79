package station

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/packbench/packbench/queue"
)

// Fulfil references live in their own record kind, apart from the bench's
// package references ("SO000001-1"): a Fulfil package "SO000001-1" and the
// bench's own package of that name never meet.
const (
	kindFulfilRefs    = "fulfil-refs"    // Fulfil package reference → bench order id
	counterFulfil     = "station.fulfil" // numbers the orders /label creates
	fulfilOrderPrefix = "FL"
	maxFulfilPackages = 100
	sourceFulfil      = "fulfil" // Order.Source of the orders /label creates
)

// fulfilItem is one checked package of a request.
type fulfilItem struct {
	ref    string
	weight Weight
	dims   *Dimensions
	lines  []Line
}

// FulfilLabel issues the label of every package of a Fulfil /label
// request, idempotently per package reference (the seed's advice): each
// reference becomes one bench order of one package ("FL000001"), labelled
// by the configured carrier and printed (unless [fulfil] no_print). A
// reference seen before returns its stored package (same tracking number,
// same label) whatever the rest of the request says; concurrent calls with
// the same reference wait for each other, so each reference is labelled
// once. Input errors are *FieldErrors naming the seed's path
// ("packages[1].weight_unit").
func (s *Station) FulfilLabel(ctx context.Context, req FulfilLabelRequest) (FulfilLabelResponse, error) {
	items, labelType, err := s.checkFulfil(&req)
	if err != nil {
		return FulfilLabelResponse{}, fmt.Errorf("station: fulfil label: %w", err)
	}
	resp := FulfilLabelResponse{CarrierIdentifier: s.cfg.Fulfil.CarrierIdentifier, Packages: make([]FulfilPackageLabel, 0, len(items))}
	var cents int64
	for i, it := range items {
		p, err := s.fulfilPackage(ctx, &req, i, it)
		if err != nil {
			return FulfilLabelResponse{}, fmt.Errorf("station: fulfil label %s: %w", it.ref, err)
		}
		label, err := s.fulfilLabelData(ctx, p, labelType)
		if err != nil {
			return FulfilLabelResponse{}, fmt.Errorf("station: fulfil label %s: %w", it.ref, err)
		}
		resp.Packages = append(resp.Packages, FulfilPackageLabel{TrackingNumber: p.TrackingNumber, Label: label, TrackingURL: p.TrackingURL})
		if p.Amount != "" {
			c, err := parseMoney(p.Amount)
			if err != nil {
				return FulfilLabelResponse{}, fmt.Errorf("station: fulfil label %s: amount: %w", it.ref, err)
			}
			cents += c
		}
		if resp.Currency == "" {
			resp.Currency = p.Currency
		}
	}
	// The shipment's number is the first package's, as for a multi-piece
	// shipment whose master number is its first parcel's.
	resp.TrackingNumber, resp.TrackingURL = resp.Packages[0].TrackingNumber, resp.Packages[0].TrackingURL
	resp.Amount = FulfilAmount(formatMoney(cents))
	if resp.Currency == "" {
		resp.Currency = s.cfg.Carrier.Currency
	}
	return resp, nil
}

// checkFulfil checks the request and reads its packages; errors name the
// seed's field paths.
func (s *Station) checkFulfil(req *FulfilLabelRequest) ([]fulfilItem, string, error) {
	lt := strings.ToUpper(req.Options.LabelType)
	switch lt {
	case "":
		lt = FulfilPNG // the seed's default reading: base64 PNG
	case FulfilPNG, FulfilZPL:
	default:
		return nil, "", fieldErr("options.label_type", "want PNG or ZPL, not %q", req.Options.LabelType)
	}
	if req.ServiceCode == "" {
		return nil, "", fieldErr("service_code", "required (one of %s)", strings.Join(s.cfg.Fulfil.ServiceCodes, ", "))
	}
	if !slices.Contains(s.cfg.Fulfil.ServiceCodes, req.ServiceCode) {
		return nil, "", fieldErr("service_code", "%q is not a service of this bench (want one of %s)", req.ServiceCode, strings.Join(s.cfg.Fulfil.ServiceCodes, ", "))
	}
	if err := checkText("account_id", req.AccountID, maxCodeLen); err != nil {
		return nil, "", err
	}
	for _, a := range []struct {
		path string
		a    FulfilAddress
	}{{"origin", req.Origin}, {"destination", req.Destination}} {
		addr := a.a.address()
		if err := addr.validate(a.path); err != nil {
			return nil, "", err
		}
	}
	if err := checkText("customer.email", req.Customer.Email, maxTextLen); err != nil {
		return nil, "", err
	}
	o := req.Options
	for _, f := range []struct{ name, v string }{
		{"options.reference1", o.Reference1}, {"options.reference2", o.Reference2}, {"options.request_confirmation", o.RequestConfirmation},
	} {
		if err := checkText(f.name, f.v, maxTextLen); err != nil {
			return nil, "", err
		}
	}
	if o.InsuranceAmount != "" {
		if _, err := parseMoney(string(o.InsuranceAmount)); err != nil {
			return nil, "", fieldErr("options.insurance_amount", "%v", err)
		}
	}
	if err := checkFulfilCustoms(req.Customs); err != nil {
		return nil, "", err
	}
	if len(req.Packages) == 0 || len(req.Packages) > maxFulfilPackages {
		return nil, "", fieldErr("packages", "want 1 to %d packages", maxFulfilPackages)
	}
	items := make([]fulfilItem, 0, len(req.Packages))
	seen := map[string]int{}
	for i, p := range req.Packages {
		path := fmt.Sprintf("packages[%d]", i)
		if err := checkCode(path+".reference", p.Reference, maxCodeLen); err != nil {
			return nil, "", err
		}
		if j, dup := seen[p.Reference]; dup {
			return nil, "", fieldErr(path+".reference", "%q is also the reference of packages[%d]: each package needs its own", p.Reference, j)
		}
		seen[p.Reference] = i
		it := fulfilItem{ref: p.Reference}
		var err error
		if it.weight, err = weightFromFulfil(path, p.Weight, p.WeightUnit); err != nil {
			return nil, "", err
		}
		if it.dims, err = fulfilDimensions(path, p); err != nil {
			return nil, "", err
		}
		if err := checkText(path+".description", p.Description, maxTextLen); err != nil {
			return nil, "", err
		}
		if len(p.Lines) > maxLines {
			return nil, "", fieldErr(path+".lines", "at most %d lines", maxLines)
		}
		for j, l := range p.Lines {
			lp := fmt.Sprintf("%s.lines[%d]", path, j)
			if l.Quantity < 0 {
				return nil, "", fieldErr(lp+".quantity", "must not be negative")
			}
			for _, f := range []struct{ name, v string }{{".sku", l.SKU}, {".uom", l.UOM}, {".weight_uom", l.WeightUOM}} {
				if err := checkText(lp+f.name, f.v, maxTextLen); err != nil {
					return nil, "", err
				}
			}
			if l.WeightUOM != "" {
				if _, ok := fulfilWeightUnits[l.WeightUOM]; !ok {
					return nil, "", fieldErr(lp+".weight_uom", "want lb, oz, kg or g, not %q", l.WeightUOM)
				}
			}
			it.lines = append(it.lines, Line{SKU: l.SKU, Quantity: l.Quantity})
		}
		items = append(items, it)
	}
	return items, lt, nil
}

// checkFulfilCustoms checks the customs declaration's units and codes.
func checkFulfilCustoms(c *FulfilCustoms) error {
	if c == nil {
		return nil
	}
	for _, f := range []struct{ name, v string }{
		{"customs.contents_type", c.ContentsType}, {"customs.contents_explanation", c.ContentsExplanation}, {"customs.non_delivery_option", c.NonDeliveryOption},
	} {
		if err := checkText(f.name, f.v, maxTextLen); err != nil {
			return err
		}
	}
	for i, it := range c.Items {
		path := fmt.Sprintf("customs.items[%d]", i)
		if err := checkText(path+".description", it.Description, maxTextLen); err != nil {
			return err
		}
		if it.WeightUnit != "" {
			if _, ok := fulfilWeightUnits[it.WeightUnit]; !ok {
				return fieldErr(path+".weight_unit", "want lb, oz, kg or g, not %q", it.WeightUnit)
			}
		}
		if c := it.CountryOfOrigin; c != "" && (len(c) != 2 || !isLetters(c)) {
			return fieldErr(path+".country_of_origin", "want an ISO 3166 alpha-2 code like US, not %q", c)
		}
		for _, cur := range []struct{ name, v string }{{".currency", it.Currency}, {".company_currency", it.CompanyCurrency}} {
			if cur.v != "" && (len(cur.v) != 3 || !isLetters(cur.v)) {
				return fieldErr(path+cur.name, "want an ISO 4217 code like USD, not %q", cur.v)
			}
		}
	}
	return nil
}

// fulfilPackage returns the labelled package of one Fulfil reference,
// labelling it first if it has none yet. The reference's lock is held
// throughout, so concurrent calls for it label it once.
func (s *Station) fulfilPackage(ctx context.Context, req *FulfilLabelRequest, i int, it fulfilItem) (Package, error) {
	unlock, err := s.shipLocks.lock(ctx, "fulfil\x00"+it.ref) // never an order id: those have no control characters
	if err != nil {
		return Package{}, err
	}
	defer unlock()
	id, err := s.fulfilRefOrder(it.ref)
	if err != nil {
		return Package{}, err
	}
	if id != "" {
		if p, ok, err := s.fulfilLabelled(ctx, id); err != nil || ok {
			return p, err
		}
	}
	one := *req
	one.Packages = req.Packages[i : i+1]
	seed, err := json.Marshal(one)
	if err != nil {
		return Package{}, fmt.Errorf("encode seed: %w", err)
	}
	from := req.Origin.address()
	o := Order{ID: id, ShipTo: req.Destination.address(), ShipFrom: &from, Service: req.ServiceCode, Packages: 1,
		Lines: it.lines, Source: sourceFulfil, Seed: seed}
	ship := ShipRequest{OrderID: id, Weight: it.weight, Dimensions: it.dims, noPrint: s.cfg.Fulfil.NoPrint}
	if id == "" {
		// A new reference: its order is numbered, stored and its package
		// reserved in one commit, so the reference and its order land
		// together.
		if err := s.prepareOrder(&o); err != nil {
			return Package{}, err
		}
		ship.create = &newOrder{order: o, assign: func(tx *queue.Tx) (string, error) { return numberFulfilRef(tx, it.ref) }}
	} else if err := s.ensureOrder(ctx, o); err != nil {
		// Ours from an earlier attempt (created, then the carrier failed),
		// labelled now with its stored details; unless someone created an
		// order with that id through the bench's own API first.
		return Package{}, err
	}
	p, err := s.Ship(ctx, ship)
	if errors.Is(err, ErrConflict) {
		// Labelled meanwhile by another path (the flow armed it): that label stands.
		if id == "" {
			id, _ = s.fulfilRefOrder(it.ref)
		}
		if p, ok, lerr := s.fulfilLabelled(ctx, id); lerr == nil && ok {
			return p, nil
		}
	}
	return p, err
}

// fulfilRefOrder returns the bench order of a Fulfil reference seen
// before, "" for a new one.
func (s *Station) fulfilRefOrder(ref string) (string, error) {
	var id string
	err := s.db.View(func(tx *queue.Tx) error {
		v, err := tx.GetRecord(kindFulfilRefs, ref)
		if err == nil {
			id = string(v)
		} else if !errors.Is(err, queue.ErrNotFound) {
			return err
		}
		return nil
	})
	return id, err
}

// numberFulfilRef numbers a new Fulfil reference's order ("FL000001") and
// records the reference, inside the order's creating transaction. A number
// whose id an order of the bench's own API took already is skipped.
func numberFulfilRef(tx *queue.Tx, ref string) (string, error) {
	for {
		n, err := tx.NextCounter(counterFulfil)
		if err != nil {
			return "", err
		}
		id := fmt.Sprintf("%s%0*d", fulfilOrderPrefix, orderIDDigitsMin, n)
		if _, err := tx.GetRecord(kindOrders, id); err == nil {
			continue
		} else if !errors.Is(err, queue.ErrNotFound) {
			return "", err
		}
		return id, tx.PutRecord(kindFulfilRefs, ref, []byte(id))
	}
}

// fulfilLabelled returns the order's labelled package, if it has one.
func (s *Station) fulfilLabelled(ctx context.Context, orderID string) (Package, bool, error) {
	sh, err := s.Shipment(ctx, orderID)
	if errors.Is(err, ErrNotFound) {
		return Package{}, false, nil
	}
	if err != nil {
		return Package{}, false, err
	}
	if sh.Order.Status == OrderCancelled {
		return Package{}, false, fmt.Errorf("%w: order %s of this reference was cancelled", ErrConflict, orderID)
	}
	for _, p := range sh.Packages {
		if p.Status == PackageLabelled {
			return p, true, nil
		}
	}
	return Package{}, false, nil
}

// fulfilLabelData is the label as the answer carries it: raw ZPL, or the
// PNG in base64.
func (s *Station) fulfilLabelData(ctx context.Context, p Package, labelType string) (string, error) {
	if labelType == FulfilZPL {
		b, err := s.LabelZPL(ctx, p.LabelID)
		return string(b), err
	}
	b, err := s.LabelPNG(ctx, p.LabelID)
	if errors.Is(err, ErrNoPreview) {
		return "", fieldErr("options.label_type", "this bench's carrier answers raw ZPL, which it does not turn into PNG: ask for ZPL")
	}
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// fulfilReference is the Fulfil package reference an order made by
// FulfilLabel was created for (its seed holds the one-package request);
// "" for other orders.
func fulfilReference(o Order) string {
	if o.Source != sourceFulfil {
		return ""
	}
	var req FulfilLabelRequest
	if json.Unmarshal(o.Seed, &req) != nil || len(req.Packages) != 1 {
		return ""
	}
	return req.Packages[0].Reference
}
