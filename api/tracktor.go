package api

// Tracktor (seed 004) served by the bench: the tracking status of a
// fulfillment (a labelled package) and of an order, the status options and
// the manual status update, at Tracktor's own paths under
// /apps/tracktor/api/admin/{uuid}, {uuid} being the bench's device_id. The
// seed's shapes live here; the tracking itself is station's
// (station/tracking.go). docs/integrations/tracktor.md lists the readings
// chosen where the seed is silent.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

const (
	pathTracktor = "/apps/tracktor/api/admin/{uuid}"
	tagTracktor  = "tracktor"
	tagTracking  = "tracking"
)

// TracktorCarrier is Tracktor's carrier object.
type TracktorCarrier struct {
	Slug        string `json:"slug"` // the bench's carrier kind in lower case ("local", "http") or its name
	Name        string `json:"name"`
	Service     string `json:"service,omitempty"`
	TrackingURL string `json:"tracking_url,omitempty"`
}

// TracktorLineItem is one line of the order.
type TracktorLineItem struct {
	Name             string `json:"name"`
	Quantity         int    `json:"quantity"`
	RequiresShipping bool   `json:"requires_shipping"`
	ID               int    `json:"id"` // the line's position in the order, 1-based
	ProductID        *int64 `json:"product_id"`
	VariantID        *int64 `json:"variant_id"`
	SKU              string `json:"sku,omitempty"`
}

// TracktorStatusEntry is one status change (latest_status, history).
type TracktorStatusEntry struct {
	Status          string    `json:"status"`
	ExceptionStatus string    `json:"exception_status,omitempty"`
	Custom          bool      `json:"custom"`
	Source          string    `json:"source"` // label, manual, carrier, integration
	Message         string    `json:"message,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
}

// TracktorPotentialStatus is one of the statuses a fulfillment can take
// (the seed's status array): whether and when it was reached.
type TracktorPotentialStatus struct {
	Status    string     `json:"status"`
	Custom    bool       `json:"custom"`
	Current   bool       `json:"current"`
	Reached   bool       `json:"reached"`
	ReachedAt *time.Time `json:"reached_at"` // the last time it became the status; null if never
}

// TracktorFulfillment is the seed's fulfillment: one labelled package.
type TracktorFulfillment struct {
	ShopURL        string          `json:"shop_url"`
	OrderID        int64           `json:"order_id"`
	OrderName      string          `json:"order_name"`
	ShopifyCarrier string          `json:"shopify_carrier"`
	Carrier        TracktorCarrier `json:"carrier"`
	TrackingNumber string          `json:"tracking_number"`
	FulfillmentID  int64           `json:"fulfillment_id"`
	// FulfillmentStatus is fulfilled, partial or null (the order's).
	FulfillmentStatus *string                   `json:"fulfillment_status"`
	ShipmentStatus    string                    `json:"shipment_status"`
	ExceptionStatus   string                    `json:"exception_status,omitempty"`
	IsAutomatic       bool                      `json:"is_automatic"`
	LineItems         []TracktorLineItem        `json:"line_items"`
	LatestStatus      TracktorStatusEntry       `json:"latest_status"`
	Status            []TracktorPotentialStatus `json:"status"`
	// History is every change, oldest first (at most station.MaxTrackingHistory).
	History []TracktorStatusEntry `json:"history"`
	// The bench's own ids of the order and the package.
	PackbenchOrderID   string `json:"packbench_order_id"`
	PackbenchReference string `json:"packbench_reference"`
}

// TracktorOrder is the seed's order.
type TracktorOrder struct {
	OrderID           int64     `json:"order_id"`
	OrderName         string    `json:"order_name"`
	OrderEmail        string    `json:"order_email"`
	OrderPhone        string    `json:"order_phone"`
	OrderSourceName   string    `json:"order_source_name"`
	OrderCreatedAt    time.Time `json:"order_created_at"`
	CustomerFirstName string    `json:"customer_first_name"`
	CustomerLastName  string    `json:"customer_last_name"`
	CustomerFullName  string    `json:"customer_full_name"`
	// TotalPrice: the bench knows no prices (null).
	TotalPrice        *float64 `json:"total_price"`
	LineItemCount     int      `json:"line_item_count"`
	Statuses          []string `json:"statuses"`
	ExceptionStatuses []string `json:"exception_statuses"`
	// DaysSinceOrdered appears once the order is delivered.
	DaysSinceOrdered        *int                  `json:"days_since_ordered,omitempty"`
	AutomaticCarrierUpdates bool                  `json:"automatic_carrier_updates"`
	Fulfillments            []TracktorFulfillment `json:"fulfillments"`
	// ShipmentStatus is the order's roll-up (station.OrderTracking.Status).
	ShipmentStatus   string `json:"shipment_status"`
	PackbenchOrderID string `json:"packbench_order_id"`
}

// TracktorStatusOption is one entry of status-options.json.
type TracktorStatusOption struct {
	Status string `json:"status"`
	Name   string `json:"name"`
	Custom bool   `json:"custom"`
}

// TracktorStatusOptions is the answer of status-options.json.
type TracktorStatusOptions struct {
	StatusOptions     []TracktorStatusOption `json:"status_options"`
	ExceptionStatuses []string               `json:"exception_statuses"`
}

// TracktorUpdate is the body of the manual update (POST orders/{id}.json).
type TracktorUpdate struct {
	// Status is one of status-options.json.
	Status string `json:"status"`
	// ExceptionStatus sets an exception; omitted clears it.
	ExceptionStatus string `json:"exception_status,omitempty"`
	// FulfillmentID limits the update to one fulfillment of the order
	// (its fulfillment_id, packbench_reference or tracking number).
	FulfillmentID json.Number `json:"fulfillment_id,omitempty"`
	Message       string      `json:"message,omitempty"`
}

// tracktorRoutes are Tracktor's paths and packbench's own tracking routes.
func (s *Server) tracktorRoutes() []route {
	nf := []int{http.StatusNotFound, http.StatusServiceUnavailable}
	uuid := "; {uuid} is the bench's device_id (GET /api/v1/health), any other is 404"
	return []route{
		{"GET", pathTracktor + "/fulfillments/{file}", authKey, s.tracktorFulfillment, opDoc{
			summary: "Tracktor: the tracking status of a fulfillment, {file} = {fulfillment_id}.json (a labelled package: fulfillment_id, reference or tracking number)" + uuid,
			tag:     tagTracktor, resp: TracktorFulfillment{}, errors: nf}},
		{"GET", pathTracktor + "/orders/{file}", authKey, s.tracktorOrder, opDoc{
			summary: "Tracktor: the tracking statuses of an order, {file} = {order_id}.json (order_id, the bench's order id, partner order id or identifier)" + uuid,
			tag:     tagTracktor, resp: TracktorOrder{}, errors: nf}},
		{"POST", pathTracktor + "/orders/{file}", authKey, s.tracktorUpdate, opDoc{
			summary: "Tracktor: update the manual tracking status of an order's fulfillments (400 naming status for a value that is not an option)" + uuid,
			tag:     tagTracktor, body: TracktorUpdate{}, resp: TracktorOrder{}, errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}}},
		{"GET", pathTracktor + "/status-options.json", authKey, s.tracktorStatusOptions, opDoc{
			summary: "Tracktor: the shipment status options: the standard four, then [tracking] custom_statuses" + uuid,
			tag:     tagTracktor, resp: TracktorStatusOptions{}, errors: nf}},

		{"GET", prefix + "/orders/{id}/tracking", authKey, s.getTracking, opDoc{
			summary: "An order's tracking: the roll-up and each labelled package's status history", tag: tagTracking,
			resp: station.OrderTracking{}, errors: nf}},
		{"POST", prefix + "/orders/{id}/tracking", authKey, s.postTracking, opDoc{
			summary: "Report a tracking status for an order's labelled packages (or one: package); source manual, carrier or integration",
			tag:     tagTracking, body: station.TrackingUpdate{}, resp: station.OrderTracking{},
			errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}}},
	}
}

// tracktorShop checks {uuid} and returns {file} without .json.
func (s *Server) tracktorShop(r *http.Request) (string, error) {
	if u := r.PathValue("uuid"); s.deps.DeviceID == "" || u != s.deps.DeviceID {
		return "", errorf(http.StatusNotFound, CodeNotFound, "no Tracktor shop %q on this bench (use its device_id)", u)
	}
	file := r.PathValue("file")
	id, ok := strings.CutSuffix(file, ".json")
	if file != "" && (!ok || id == "") {
		return "", errorf(http.StatusNotFound, CodeNotFound, "%q: want {id}.json", file)
	}
	return id, nil
}

// tracktorStation is tracktorShop and the station.
func (s *Server) tracktorStation(r *http.Request) (string, *station.Station, error) {
	id, err := s.tracktorShop(r)
	if err != nil {
		return "", nil, err
	}
	st, err := s.station()
	return id, st, err
}

func (s *Server) tracktorFulfillment(w http.ResponseWriter, r *http.Request) error {
	id, st, err := s.tracktorStation(r)
	if err != nil {
		return err
	}
	ot, i, err := st.PackageTracking(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.tracktorFulfillmentOf(st, ot, i))
	return nil
}

func (s *Server) tracktorOrder(w http.ResponseWriter, r *http.Request) error {
	id, st, err := s.tracktorStation(r)
	if err != nil {
		return err
	}
	ot, err := st.OrderTracking(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.tracktorOrderOf(st, ot))
	return nil
}

func (s *Server) tracktorUpdate(w http.ResponseWriter, r *http.Request) error {
	id, st, err := s.tracktorStation(r)
	if err != nil {
		return err
	}
	var body TracktorUpdate
	if err := s.decodeJSON(w, r, &body, false); err != nil {
		return err
	}
	u := station.TrackingUpdate{Status: body.Status, Exception: body.ExceptionStatus, Source: station.TrackingSourceManual,
		Note: body.Message, Package: body.FulfillmentID.String()}
	ot, err := st.UpdateTracking(r.Context(), id, u)
	if err != nil {
		return tracktorFields(err)
	}
	writeJSON(w, http.StatusOK, s.tracktorOrderOf(st, ot))
	return nil
}

// tracktorFields names the seed's fields in the station's refusals.
func tracktorFields(err error) error {
	var fe *station.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	field := fe.Field
	switch field {
	case "exception":
		field = "exception_status"
	case "note":
		field = "message"
	case "package":
		field = "fulfillment_id"
	}
	return fieldError(field, "%s", fe.Rule)
}

func (s *Server) tracktorStatusOptions(w http.ResponseWriter, r *http.Request) error {
	_, st, err := s.tracktorStation(r)
	if err != nil {
		return err
	}
	out := TracktorStatusOptions{ExceptionStatuses: station.ExceptionStatuses()}
	for _, o := range st.StatusOptions() {
		out.StatusOptions = append(out.StatusOptions, TracktorStatusOption{Status: o.Status, Name: statusName(o.Status), Custom: o.Custom})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// statusName is a status for people: "out_for_delivery" → "Out for delivery".
func statusName(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (s *Server) getTracking(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	ot, err := st.OrderTracking(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ot)
	return nil
}

func (s *Server) postTracking(w http.ResponseWriter, r *http.Request) error {
	st, err := s.station()
	if err != nil {
		return err
	}
	var u station.TrackingUpdate
	if err := s.decodeJSON(w, r, &u, false); err != nil {
		return err
	}
	ot, err := st.UpdateTracking(r.Context(), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ot)
	return nil
}

// tracktorOrderID is the integer order_id: the Shopify order id of an
// order that came from Shopify, else the order's seq (which the order
// routes accept back).
func tracktorOrderID(o station.Order) int64 {
	if sd, ok := station.ShopifySeedOf(o); ok {
		if n, err := strconv.ParseInt(sd.OrderID, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return int64(o.Seq)
}

// tracktorOrderName is Shopify's order name ("#1001") for an order that
// came from Shopify, else "#" and the bench's id.
func tracktorOrderName(o station.Order) string {
	if sd, ok := station.ShopifySeedOf(o); ok && sd.OrderName != "" {
		return sd.OrderName
	}
	return "#" + o.ID
}

// fulfillmentStatus is fulfilled, partial or null, from the order's status.
func fulfillmentStatus(o station.Order) *string {
	var v string
	switch o.Status {
	case station.OrderShipped:
		v = "fulfilled"
	case station.OrderPartial:
		v = "partial"
	default:
		return nil
	}
	return &v
}

func lineItems(o station.Order) []TracktorLineItem {
	out := []TracktorLineItem{}
	for i, l := range o.Lines {
		name := l.Description
		if name == "" {
			name = l.SKU
		}
		out = append(out, TracktorLineItem{Name: name, Quantity: l.Quantity, RequiresShipping: true, ID: i + 1, SKU: l.SKU})
	}
	return out
}

func statusEntry(e station.TrackingEntry) TracktorStatusEntry {
	return TracktorStatusEntry{Status: e.Status, ExceptionStatus: e.Exception, Custom: e.Custom, Source: e.Source, Message: e.Note, CreatedAt: e.At}
}

// automatic: the package's latest change came from a carrier or an
// integration, not from a person or the label.
func automatic(t *station.Tracking) bool {
	return t.Source == station.TrackingSourceCarrier || t.Source == station.TrackingSourceIntegration
}

func (s *Server) tracktorFulfillmentOf(st *station.Station, ot station.OrderTracking, i int) TracktorFulfillment {
	o, p := ot.Order, ot.Packages[i]
	t := p.Tracking
	cfg := st.Config()
	f := TracktorFulfillment{
		ShopURL: cfg.Tracking.ShopURL, OrderID: tracktorOrderID(o), OrderName: tracktorOrderName(o), ShopifyCarrier: p.Carrier,
		Carrier:        TracktorCarrier{Slug: strings.ToLower(cfg.Carrier.Kind), Name: p.Carrier, Service: p.Service, TrackingURL: p.TrackingURL},
		TrackingNumber: p.TrackingNumber, FulfillmentID: station.FulfillmentNumber(o, p.Index),
		FulfillmentStatus: fulfillmentStatus(o), ShipmentStatus: t.Status, ExceptionStatus: t.Exception,
		IsAutomatic: automatic(t), LineItems: lineItems(o), History: []TracktorStatusEntry{},
		PackbenchOrderID: o.ID, PackbenchReference: p.Reference,
	}
	for _, e := range t.History {
		f.History = append(f.History, statusEntry(e))
	}
	if n := len(t.History); n > 0 {
		f.LatestStatus = statusEntry(t.History[n-1])
	}
	for _, opt := range st.StatusOptions() {
		ps := TracktorPotentialStatus{Status: opt.Status, Custom: opt.Custom, Current: opt.Status == t.Status}
		for j := len(t.History) - 1; j >= 0; j-- {
			if e := t.History[j]; e.Status == opt.Status && (j == 0 || t.History[j-1].Status != opt.Status) {
				at := e.At
				ps.Reached, ps.ReachedAt = true, &at
				break
			}
		}
		f.Status = append(f.Status, ps)
	}
	return f
}

func (s *Server) tracktorOrderOf(st *station.Station, ot station.OrderTracking) TracktorOrder {
	o := ot.Order
	first, last, _ := strings.Cut(o.ShipTo.Name, " ")
	out := TracktorOrder{
		OrderID: tracktorOrderID(o), OrderName: tracktorOrderName(o), OrderEmail: o.ShipTo.Email, OrderPhone: o.ShipTo.Phone,
		OrderSourceName: o.Source, OrderCreatedAt: o.CreatedAt,
		CustomerFirstName: first, CustomerLastName: last, CustomerFullName: o.ShipTo.Name,
		LineItemCount: len(o.Lines), Statuses: []string{}, ExceptionStatuses: ot.Exceptions,
		Fulfillments: []TracktorFulfillment{}, ShipmentStatus: ot.Status, PackbenchOrderID: o.ID,
	}
	if out.OrderSourceName == "" {
		out.OrderSourceName = "api"
	}
	for i, p := range ot.Packages {
		out.Statuses = append(out.Statuses, p.Tracking.Status)
		out.AutomaticCarrierUpdates = out.AutomaticCarrierUpdates || automatic(p.Tracking)
		out.Fulfillments = append(out.Fulfillments, s.tracktorFulfillmentOf(st, ot, i))
	}
	if days, ok := ot.DaysSinceOrdered(); ok {
		out.DaysSinceOrdered = &days
	}
	return out
}

// hookBody is a webhook body: v (a GET answer, a JSON object) plus the
// topic and the outbox event's id as its last members.
func hookBody(v any, topic string, id uint64) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("api: tracktor webhook body: %w", err)
	}
	extra, err := json.Marshal(struct {
		Topic   string `json:"topic"`
		EventID uint64 `json:"event_id"`
	}{topic, id})
	if err != nil {
		return nil, fmt.Errorf("api: tracktor webhook body: %w", err)
	}
	return append(append(b[:len(b)-1], ','), extra[1:]...), nil
}

// TracktorWebhook renders the body of a Tracktor webhook delivery for a subscription to topic
// (one of the seed's ten: order/all, order/pre_transit, order/in_transit, order/out_for_delivery,
// order/delivered, fulfillment/all, fulfillment/pre_transit, …), or ok=false when ev does not match.
//
// fulfillment/all matches every tracking.updated event, fulfillment/<s>
// an event whose package became <s>; order/all matches every
// tracking.updated event of the order, order/<s> one after which the
// order's roll-up became <s>; pre_transit is order_ready, and custom
// statuses match only the all topics. The body is the GET answer of the
// fulfillment (fulfillment/…) or order (order/…) as it is now, plus
// "topic" and "event_id". A package or order gone since the event (voided,
// past retention) gives ok=false: there is nothing left to describe.
func (s *Server) TracktorWebhook(ctx context.Context, topic string, ev queue.Event) (body []byte, ok bool, err error) {
	kind, suffix, _ := strings.Cut(topic, "/")
	if topics := station.TracktorTopics(); !slices.Contains(topics, topic) {
		return nil, false, fmt.Errorf("api: tracktor webhook: %q is not a topic (want one of %v)", topic, topics)
	}
	if ev.Type != station.EventTrackingUpdated {
		return nil, false, nil
	}
	te, err := station.ParseTrackingEvent(ev)
	if err != nil {
		return nil, false, err
	}
	if !topicMatches(kind, suffix, te) {
		return nil, false, nil
	}
	st, err := s.station()
	if err != nil {
		return nil, false, err
	}
	if kind == "fulfillment" {
		ot, i, err := st.PackageTracking(ctx, te.Reference)
		if errors.Is(err, station.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		body, err = hookBody(s.tracktorFulfillmentOf(st, ot, i), topic, ev.ID)
		return body, err == nil, err
	}
	ot, err := st.OrderTracking(ctx, te.OrderID)
	if errors.Is(err, station.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	body, err = hookBody(s.tracktorOrderOf(st, ot), topic, ev.ID)
	return body, err == nil, err
}

// topicMatches says whether a tracking event is one for kind/suffix.
func topicMatches(kind, suffix string, te station.TrackingEvent) bool {
	if suffix == "all" {
		return true
	}
	want := station.TopicStatus(suffix)
	if kind == "fulfillment" {
		return te.Status == want && te.PreviousStatus != want
	}
	return te.OrderStatus == want && te.PreviousOrder != want
}
