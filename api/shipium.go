package api

// The Shipium Pack App API (seed 001) served by the bench: a thin
// translation of the seed's order into a station.Order. The seed's own
// JSON, with the ids the bench gave it, is kept in Order.Seed, so every
// field round-trips; the bench's own fields (address, lines, identifiers)
// drive the flow. docs/integrations/shipium.md lists the readings chosen.

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/packbench/packbench/station"
)

const (
	pathShipiumOrder = prefix + "/packShip/order"
	sourceShipium    = "shipium" // station.Order.Source of orders made here
	shipiumMaxCount  = 500
	shipiumDefCount  = 50
)

// shipiumStatuses are the values of orderStatus (the bench's own order
// statuses: the seed names the field, not its values).
var shipiumStatuses = []string{string(station.OrderOpen), string(station.OrderPartial), string(station.OrderShipped), string(station.OrderCancelled)}

var shipiumSearchParams = []param{
	{name: "associatedIdentifiers", desc: "orders with any of these identifiers (repeat the parameter or separate with commas)", typ: "string"},
	{name: "fromDate", desc: "orderedDateTime at or after this ISO 8601 date-time", typ: "string"},
	{name: "toDate", desc: "orderedDateTime at or before this ISO 8601 date-time", typ: "string"},
	{name: "orderStatuses", desc: "orders in any of these statuses (repeat or separate with commas): open, partial, shipped, cancelled", typ: "string"},
	{name: "shipiumTenantId", desc: "orders of this tenantId", typ: "string"},
	{name: "anchor", desc: "where the page starts: 0 (default), or the X-Page-Next or X-Page-Previous of another page", typ: "string"},
	{name: "count", desc: "page size, 1 to 500 (default 50)", typ: "integer"},
}

func (s *Server) createShipiumOrder(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var req ShipiumOrderRequest
	if err := s.decodeJSON(w, r, &req, false); err != nil {
		return err
	}
	if v := validateShipiumOrder(&req, st.Config().ShipFrom.Country); v != nil {
		return fieldError(v.path, "%s", v.msg)
	}
	so := ShipiumOrder{ShipiumOrderID: newUUID(), ShipiumOrderRequest: req}
	so.ShipiumOrderRequest.OrderItemQuantities = nil // the answer's items replace them
	for _, it := range req.OrderItemQuantities {
		so.OrderItemQuantities = append(so.OrderItemQuantities, ShipiumOrderItem{
			ShipiumOrderID: so.ShipiumOrderID, PartnerOrderID: req.PartnerOrderID, DeliveryEstimateID: newUUID(), ShipiumItem: it})
	}
	o := benchOrder(&req)
	o.ID = so.ShipiumOrderID
	if o.Seed, err = json.Marshal(so); err != nil {
		return err
	}
	created, err := st.CreateOrder(r.Context(), o)
	if errors.Is(err, station.ErrConflict) && req.PartnerOrderID != nil {
		// A retry of a create whose answer was lost: the same request for
		// an open partnerOrderId answers with the order it made.
		if prev, ok := s.sameShipiumOrder(r, st, &req); ok {
			created, err = prev, nil
		}
	}
	if err != nil {
		return shipiumError(err)
	}
	answer, ok := shipiumJSON(created)
	if !ok {
		return fmt.Errorf("api: shipium order %s: stored seed lacks its status", created.ID)
	}
	w.Header().Set("Location", pathShipiumOrder+"/"+url.PathEscape(created.ID))
	writeRawJSON(w, http.StatusOK, answer)
	return nil
}

// sameShipiumOrder finds the open Pack App order with req's partnerOrderId
// that was created from the same request.
func (s *Server) sameShipiumOrder(r *http.Request, st *station.Station, req *ShipiumOrderRequest) (station.Order, bool) {
	want, err := json.Marshal(req)
	if err != nil {
		return station.Order{}, false
	}
	page, err := st.ListOrders(r.Context(), station.ListOptions{Identifier: *req.PartnerOrderID, Limit: shipiumMaxCount})
	if err != nil {
		return station.Order{}, false
	}
	for _, o := range page.Orders {
		var prev ShipiumOrder
		if o.PartnerOrderID != *req.PartnerOrderID || o.Source != sourceShipium || json.Unmarshal(o.Seed, &prev) != nil {
			continue
		}
		pr := prev.ShipiumOrderRequest
		pr.OrderItemQuantities = nil
		for _, it := range prev.OrderItemQuantities {
			pr.OrderItemQuantities = append(pr.OrderItemQuantities, it.ShipiumItem)
		}
		if got, err := json.Marshal(pr); err == nil && bytes.Equal(got, want) {
			return o, true
		}
	}
	return station.Order{}, false
}

// benchOrder is the bench's view of a Shipium order: one parcel to the
// destination, its lines and the codes that find it.
func benchOrder(req *ShipiumOrderRequest) station.Order {
	o := station.Order{Source: sourceShipium, Packages: 1, AssociatedIdentifiers: req.AssociatedIdentifiers}
	if req.PartnerOrderID != nil {
		o.PartnerOrderID = *req.PartnerOrderID
	}
	if req.DestinationAddress != nil {
		o.ShipTo = benchAddress(req.DestinationAddress)
	}
	// shipFromAddress needs only a country and postal code; the label needs
	// more, so a partial one leaves the bench's own return address.
	if a := req.ShipFromAddress; a != nil {
		if from := benchAddress(a); from.Name != "" && from.Street1 != "" && from.City != "" {
			o.ShipFrom = &from
		}
	}
	for _, it := range req.OrderItemQuantities {
		l := station.Line{SKU: str(it.ProductID), Ref: str(it.OrderItemReferenceIdentifier)}
		if it.Quantity != nil {
			l.Quantity = int(*it.Quantity)
		}
		o.Lines = append(o.Lines, l)
	}
	return o
}

func benchAddress(a *ShipiumAddress) station.Address {
	b := station.Address{Name: str(a.Name), Company: str(a.Company), Street1: str(a.Street1), Street2: str(a.Street2),
		City: str(a.City), State: str(a.State), Zip: str(a.PostalCode), Country: str(a.CountryCode), Email: str(a.EmailAddress)}
	if b.Name == "" {
		b.Name = b.Company
	}
	if c := a.AddressLineComponents; c != nil {
		b.Street1 = strings.TrimSpace(str(c.StreetName) + " " + str(c.PrimaryAddressNumber))
		b.Street2 = joinNonEmpty(", ", str(c.SecondaryAddressNumber), str(c.Neighborhood), str(c.District))
	}
	b.Phone = joinNonEmpty(" ", str(a.PhoneNumberCountryCode), str(a.PhoneNumber))
	return b
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// shipiumFields name the bench order's fields as the seed does, so a
// refusal by the station names the field the client sent.
var shipiumFields = []struct{ bench, seed string }{
	{"partner_order_id", "partnerOrderId"}, {"associated_identifiers", "associatedIdentifiers"}, {"seed", "(body)"},
	{"ship_to", "destinationAddress"}, {"ship_from", "shipFromAddress"}, {"lines", "orderItemQuantities"},
	{".zip", ".postalCode"}, {".country", ".countryCode"}, {".phone", ".phoneNumber"}, {".email", ".emailAddress"},
	{".sku", ".productId"}, {".ref", ".orderItemReferenceIdentifier"},
}

func shipiumError(err error) error {
	var fe *station.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	f := fe.Field
	for _, m := range shipiumFields {
		f = strings.Replace(f, m.bench, m.seed, 1)
	}
	return fieldError(f, "%s", fe.Rule)
}

// seedStatusTail ends every stored seed: the answer as created, with an
// empty orderStatus that the current status fills on the way out.
const seedStatusTail = `"orderStatus":""}`

// shipiumJSON is the answer for a bench order: its stored seed with the
// order's current status spliced in, without decoding it again; ok is
// false for orders not created through the Pack App API.
func shipiumJSON(o station.Order) (json.RawMessage, bool) {
	if o.Source != sourceShipium || !bytes.HasSuffix(o.Seed, []byte(seedStatusTail)) {
		return nil, false
	}
	head := o.Seed[:len(o.Seed)-len(`""}`)]
	out := make([]byte, 0, len(o.Seed)+16)
	out = append(append(out, head...), strconv.Quote(string(o.Status))...)
	return append(out, '}'), true
}

// shipiumFilterFields are the members search filters on that only the
// seed has.
type shipiumFilterFields struct {
	TenantID        *string `json:"tenantId"`
	OrderedDateTime *string `json:"orderedDateTime"`
}

func (s *Server) getShipiumOrder(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	// The seed takes Shipium's id or the partner's, not identifiers: of
	// the orders the code finds, the one with that id or partner id.
	page, err := st.ListOrders(r.Context(), station.ListOptions{Identifier: id, Limit: shipiumMaxCount})
	if err != nil {
		return err
	}
	for _, o := range page.Orders {
		if o.ID != id && o.PartnerOrderID != id {
			continue
		}
		if so, ok := shipiumJSON(o); ok {
			writeRawJSON(w, http.StatusOK, so)
			return nil
		}
	}
	return errorf(http.StatusNotFound, CodeNotFound, "order %q: not found", id)
}

// shipiumSearch is a parsed search request.
type shipiumSearch struct {
	identifiers   []string
	from, to      time.Time
	statuses      []string
	tenant        string
	anchor, count int
}

// multi reads a parameter given repeatedly or as a comma-separated list.
func multi(q map[string][]string, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func parseShipiumSearch(r *http.Request) (shipiumSearch, error) {
	q := r.URL.Query()
	ss := shipiumSearch{identifiers: multi(q, "associatedIdentifiers"), statuses: multi(q, "orderStatuses"),
		tenant: q.Get("shipiumTenantId"), count: shipiumDefCount}
	for _, st := range ss.statuses {
		if !slices.Contains(shipiumStatuses, st) {
			return ss, fieldError("orderStatuses", "want %s, got %q", strings.Join(shipiumStatuses, ", "), st)
		}
	}
	for _, d := range []struct {
		name string
		t    *time.Time
	}{{"fromDate", &ss.from}, {"toDate", &ss.to}} {
		if v := q.Get(d.name); v != "" {
			t, err := parseShipiumDateTime(v)
			if err != nil {
				return ss, fieldError(d.name, "want an ISO 8601 date-time with offset like 2019-10-29T01:12:33.123456Z, got %q", v)
			}
			*d.t = t
		}
	}
	if v := q.Get("anchor"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return ss, fieldError("anchor", "not an anchor this server returned: want 0 or the X-Page-Next or X-Page-Previous of another page, got %q", v)
		}
		ss.anchor = n
	}
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > shipiumMaxCount {
			return ss, fieldError("count", "want 1 to %d, got %q", shipiumMaxCount, v)
		}
		ss.count = n
	}
	return ss, nil
}

func (ss *shipiumSearch) match(o *station.Order) bool {
	if o.Source != sourceShipium {
		return false
	}
	if len(ss.statuses) > 0 && !slices.Contains(ss.statuses, string(o.Status)) {
		return false
	}
	if len(ss.identifiers) > 0 && !slices.ContainsFunc(ss.identifiers, func(id string) bool { return slices.Contains(o.AssociatedIdentifiers, id) }) {
		return false
	}
	if ss.tenant == "" && ss.from.IsZero() && ss.to.IsZero() {
		return true
	}
	var f shipiumFilterFields
	if err := json.Unmarshal(o.Seed, &f); err != nil {
		return false
	}
	if ss.tenant != "" && str(f.TenantID) != ss.tenant {
		return false
	}
	if !ss.from.IsZero() || !ss.to.IsZero() {
		t, err := parseShipiumDateTime(str(f.OrderedDateTime))
		if err != nil || (!ss.from.IsZero() && t.Before(ss.from)) || (!ss.to.IsZero() && t.After(ss.to)) {
			return false
		}
	}
	return true
}

func (s *Server) searchShipiumOrders(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	ss, err := parseShipiumSearch(r)
	if err != nil {
		return err
	}
	// Candidates in creation order: the orders the identifiers find, else
	// every order. The anchor is an offset into the matching orders.
	var orders []station.Order
	lists := []station.ListOptions{{}}
	if len(ss.identifiers) > 0 {
		lists = nil
		for _, id := range ss.identifiers {
			lists = append(lists, station.ListOptions{Identifier: id})
		}
	}
	seen := map[string]bool{}
	for _, lo := range lists {
		lo.Limit = shipiumMaxCount
		for {
			page, err := st.ListOrders(r.Context(), lo)
			if err != nil {
				return err
			}
			for _, o := range page.Orders {
				if !seen[o.ID] {
					seen[o.ID] = true
					orders = append(orders, o)
				}
			}
			if page.Next == "" {
				break
			}
			lo.After = page.Next
		}
	}
	slices.SortFunc(orders, func(a, b station.Order) int { return cmp.Compare(a.Seq, b.Seq) })
	var found []*station.Order
	for i := range orders {
		if ss.match(&orders[i]) {
			found = append(found, &orders[i])
		}
	}
	total := len(found)
	start := min(ss.anchor, total)
	end := min(start+ss.count, total)
	h := w.Header()
	h.Set("X-Total-Count", strconv.Itoa(total))
	if end < total {
		h.Set("X-Page-Next", strconv.Itoa(end))
	}
	if ss.anchor > 0 {
		h.Set("X-Page-Previous", strconv.Itoa(max(0, ss.anchor-ss.count)))
	}
	out := []json.RawMessage{}
	for _, o := range found[start:end] {
		if so, ok := shipiumJSON(*o); ok {
			out = append(out, so)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
