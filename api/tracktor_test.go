package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

const tracktorBase = "/apps/tracktor/api/admin/bench-7"

func newTracktorBench(t *testing.T) *bench {
	t.Helper()
	return newBench(t, &benchOptions{deviceID: "bench-7", stationConfig: station.Config{
		Tracking: station.TrackingConfig{CustomStatuses: []string{"held_at_depot"}, ShopURL: "https://shop.example.com"}}})
}

// trackedOrder creates an order with lines and labels its packages.
func (b *bench) trackedOrder(id string, packages int, extra map[string]any) []station.Package {
	b.t.Helper()
	o := validOrder(id)
	o["packages"] = packages
	o["lines"] = []map[string]any{{"sku": "MUG-1", "description": "Blue mug", "quantity": 2}, {"sku": "TEA-9", "quantity": 1}}
	o["ship_to"].(map[string]any)["email"] = "ada@example.com"
	for k, v := range extra {
		o[k] = v
	}
	b.ok("POST", "/api/v1/orders", o, nil)
	var out []station.Package
	for range packages {
		var p station.Package
		b.ok("POST", "/api/v1/shipments", map[string]any{"order_id": id, "weight": map[string]any{"milligrams": 700000}}, &p)
		out = append(out, p)
	}
	return out
}

// trackingEventCount counts the tracking.updated events in the outbox.
func (b *bench) trackingEvents() []queue.Event {
	b.t.Helper()
	ctx := context.Background()
	if err := b.db.AddConsumer(ctx, "tracktor-test"); err != nil {
		b.t.Fatal(err)
	}
	evs, err := b.db.Events(ctx, "tracktor-test", 10000)
	if err != nil {
		b.t.Fatal(err)
	}
	return slices.DeleteFunc(evs, func(e queue.Event) bool { return e.Type != station.EventTrackingUpdated })
}

func TestTracktorReadAndUpdate(t *testing.T) {
	b := newTracktorBench(t)
	pkgs := b.trackedOrder("SO100", 2, nil)
	var sh station.Shipment
	b.ok("GET", "/api/v1/shipments/SO100", nil, &sh)
	if tr := sh.Packages[0].Tracking; tr == nil || tr.Status != station.StatusOrderReady || len(tr.History) != 1 {
		t.Fatalf("shipment JSON tracking %+v", tr)
	}
	if n := len(b.trackingEvents()); n != 2 {
		t.Fatalf("%d tracking events after two labels, want 2", n)
	}
	seq := sh.Order.Seq
	fid := int64(seq)*1000 + 1

	// Auth, uuid, suffix.
	b.do("GET", fmt.Sprintf("%s/fulfillments/%d.json", tracktorBase, fid), nil, "Authorization", "").wantError(t, 401, api.CodeUnauthorized, "")
	b.do("GET", fmt.Sprintf("/apps/tracktor/api/admin/bench-8/fulfillments/%d.json", fid), nil).wantError(t, 404, api.CodeNotFound, "")
	b.do("GET", "/apps/tracktor/api/admin/bench-8/status-options.json", nil).wantError(t, 404, api.CodeNotFound, "")
	b.do("GET", fmt.Sprintf("%s/fulfillments/%d", tracktorBase, fid), nil).wantError(t, 404, api.CodeNotFound, "")
	b.do("GET", tracktorBase+"/fulfillments/999999.json", nil).wantError(t, 404, api.CodeNotFound, "")

	// The fulfillment, with x-api-key as Tracktor's integrations send it.
	var f map[string]any
	a := b.do("GET", fmt.Sprintf("%s/fulfillments/%d.json", tracktorBase, fid), nil, "Authorization", "", "x-api-key", testKey)
	if a.status != 200 {
		t.Fatalf("fulfillment: %d %s", a.status, a.body)
	}
	a.decode(t, &f)
	for _, k := range []string{"shop_url", "order_id", "order_name", "shopify_carrier", "carrier", "tracking_number", "fulfillment_id",
		"fulfillment_status", "shipment_status", "is_automatic", "line_items", "latest_status", "status"} {
		if _, ok := f[k]; !ok {
			t.Errorf("fulfillment lacks %s: %s", k, a.body)
		}
	}
	if _, ok := f["exception_status"]; ok {
		t.Errorf("exception_status without an issue: %s", a.body)
	}
	carrier, _ := f["carrier"].(map[string]any)
	items, _ := f["line_items"].([]any)
	if f["shop_url"] != "https://shop.example.com" || f["order_id"] != float64(seq) || f["order_name"] != "#SO100" ||
		f["fulfillment_id"] != float64(fid) || f["tracking_number"] != pkgs[0].TrackingNumber || f["fulfillment_status"] != "fulfilled" ||
		f["shipment_status"] != "order_ready" || f["is_automatic"] != false || carrier["slug"] != "local" || carrier["name"] != "LOCAL" ||
		len(items) != 2 || f["packbench_reference"] != pkgs[0].Reference {
		t.Errorf("fulfillment %s", a.body)
	}
	if it := items[0].(map[string]any); it["name"] != "Blue mug" || it["quantity"] != float64(2) || it["requires_shipping"] != true || it["id"] != float64(1) {
		t.Errorf("line item %v", it)
	}
	if st, _ := f["status"].([]any); len(st) != 5 || st[0].(map[string]any)["reached"] != true || st[1].(map[string]any)["reached"] != false {
		t.Errorf("potential statuses %v", f["status"])
	}
	// The same fulfillment by reference and tracking number.
	for _, id := range []string{pkgs[0].Reference, pkgs[0].TrackingNumber} {
		var g map[string]any
		b.ok("GET", tracktorBase+"/fulfillments/"+id+".json", nil, &g)
		if g["fulfillment_id"] != float64(fid) {
			t.Errorf("fulfillment %s: %v", id, g["fulfillment_id"])
		}
	}

	// Options.
	var opts api.TracktorStatusOptions
	b.ok("GET", tracktorBase+"/status-options.json", nil, &opts)
	var names []string
	for _, o := range opts.StatusOptions {
		names = append(names, fmt.Sprintf("%s:%v", o.Status, o.Custom))
	}
	if got := strings.Join(names, " "); got != "order_ready:false in_transit:false out_for_delivery:false delivered:false held_at_depot:true" ||
		len(opts.ExceptionStatuses) != 5 {
		t.Errorf("status options %q %v", got, opts.ExceptionStatuses)
	}

	// A bad status: 400 naming status, nothing changes, no event.
	before := len(b.trackingEvents())
	orderPath := fmt.Sprintf("%s/orders/%d.json", tracktorBase, seq)
	b.do("POST", orderPath, map[string]any{"status": "teleported"}).wantError(t, 400, api.CodeInvalidField, "status")
	b.do("POST", orderPath, map[string]any{"status": "in_transit", "exception_status": "lost"}).wantError(t, 400, api.CodeInvalidField, "exception_status")
	b.do("POST", orderPath, map[string]any{"status": "in_transit", "colour": "red"}).wantError(t, 400, api.CodeInvalidField, "colour")
	if n := len(b.trackingEvents()); n != before {
		t.Errorf("refused updates wrote events: %d, want %d", n, before)
	}
	var o map[string]any
	b.ok("GET", orderPath, nil, &o)
	if fmt.Sprint(o["statuses"]) != "[order_ready order_ready]" || o["shipment_status"] != "order_ready" {
		t.Errorf("order after refusals: %v %v", o["statuses"], o["shipment_status"])
	}
	if _, ok := o["days_since_ordered"]; ok {
		t.Errorf("days_since_ordered before delivery: %v", o["days_since_ordered"])
	}

	// One fulfillment in transit, then the whole order delivered.
	b.ok("POST", orderPath, map[string]any{"status": "in_transit", "fulfillment_id": fid, "message": "picked up"}, &o)
	if fmt.Sprint(o["statuses"]) != "[in_transit order_ready]" || o["shipment_status"] != "order_ready" || o["days_since_ordered"] != nil {
		t.Errorf("after one in transit: %v %v", o["statuses"], o["shipment_status"])
	}
	b.ok("POST", "/apps/tracktor/api/admin/bench-7/orders/SO100.json", map[string]any{"status": "delivered"}, &o)
	if fmt.Sprint(o["statuses"]) != "[delivered delivered]" || o["shipment_status"] != "delivered" || o["days_since_ordered"] != float64(0) {
		t.Errorf("after delivery: %v %v days %v", o["statuses"], o["shipment_status"], o["days_since_ordered"])
	}
	for _, k := range []string{"order_id", "order_name", "order_email", "order_phone", "order_source_name", "order_created_at",
		"customer_first_name", "customer_last_name", "customer_full_name", "total_price", "line_item_count", "statuses",
		"exception_statuses", "automatic_carrier_updates", "fulfillments"} {
		if _, ok := o[k]; !ok {
			t.Errorf("order lacks %s", k)
		}
	}
	if o["order_email"] != "ada@example.com" || o["customer_first_name"] != "Ada" || o["customer_last_name"] != "Lovelace" ||
		o["line_item_count"] != float64(2) || len(o["fulfillments"].([]any)) != 2 {
		t.Errorf("order %v", o)
	}
	if n := len(b.trackingEvents()); n != before+3 {
		t.Errorf("%d tracking events, want %d", n, before+3)
	}

	// An exception shows only while there is one; the own API sees the same history.
	var ot station.OrderTracking
	b.ok("POST", "/api/v1/orders/SO100/tracking", map[string]any{"status": "held_at_depot", "exception": "pending",
		"source": "carrier", "package": pkgs[1].Reference}, &ot)
	if ot.Status != station.StatusInTransit || fmt.Sprint(ot.Exceptions) != "[pending]" {
		t.Errorf("own API after exception: %q %v", ot.Status, ot.Exceptions)
	}
	b.ok("GET", fmt.Sprintf("%s/fulfillments/%d.json", tracktorBase, fid+1), nil, &f)
	if f["exception_status"] != "pending" || f["shipment_status"] != "held_at_depot" || f["is_automatic"] != true {
		t.Errorf("fulfillment with exception: %v %v %v", f["exception_status"], f["shipment_status"], f["is_automatic"])
	}
	b.ok("GET", "/api/v1/orders/SO100/tracking", nil, &ot)
	if h := ot.Packages[1].Tracking.History; len(h) != 3 || h[2].Source != "carrier" || h[1].Status != "delivered" {
		t.Errorf("own API history %+v", h)
	}
	b.do("POST", "/api/v1/orders/SO100/tracking", map[string]any{"status": "nope"}).wantError(t, 400, api.CodeInvalidField, "status")
	b.do("GET", "/api/v1/orders/SO999/tracking", nil).wantError(t, 404, api.CodeNotFound, "")
	// An order with no label: 409.
	b.ok("POST", "/api/v1/orders", validOrder("SO101"), nil)
	b.do("POST", tracktorBase+"/orders/SO101.json", map[string]any{"status": "in_transit"}).wantError(t, 409, api.CodeConflict, "")
}

// An order that came from a Shopify webhook is found by its Shopify order
// id and answered with Shopify's order id and name, as a Tracktor client
// knows them.
func TestTracktorShopifyOrderID(t *testing.T) {
	b := newBench(t, &benchOptions{deviceID: "bench-7", stationConfig: station.Config{
		Shopify: station.ShopifyConfig{ClientSecret: shopifySecret}}})
	if a := b.webhook(shopifyFulfillment(t), "wh-tracktor-1"); a.status != http.StatusOK {
		t.Fatalf("webhook: %d %s", a.status, a.body)
	}
	var page station.OrderPage
	b.ok("GET", "/api/v1/orders", nil, &page)
	if len(page.Orders) != 1 {
		t.Fatalf("%d orders from the webhook", len(page.Orders))
	}
	id := page.Orders[0].ID
	b.ok("POST", "/api/v1/shipments", map[string]any{"order_id": id, "weight": map[string]any{"milligrams": 700000}}, nil)
	a := b.do("GET", tracktorBase+"/orders/450789469.json", nil)
	if a.status != http.StatusOK {
		t.Fatalf("GET by the Shopify order id: %d %s", a.status, a.body)
	}
	if !strings.Contains(string(a.body), `"order_id":450789469,`) || !strings.Contains(string(a.body), `"order_name":"#1001"`) ||
		!strings.Contains(string(a.body), `"packbench_order_id":"`+id+`"`) {
		t.Errorf("order_id / order_name are not Shopify's: %s", a.body)
	}
}

// Every topic against every status: the fulfillment topics follow the
// package, the order topics the roll-up; custom statuses only the all ones.
func TestTracktorWebhookTopics(t *testing.T) {
	b := newTracktorBench(t)
	pkgs := b.trackedOrder("SO200", 1, nil)
	ctx := context.Background()
	if len(station.TracktorTopics()) != 10 {
		t.Fatalf("topics %v", station.TracktorTopics())
	}
	statuses := []string{"order_ready", "in_transit", "out_for_delivery", "delivered", "held_at_depot"}
	topicStatus := map[string]string{"pre_transit": "order_ready", "in_transit": "in_transit", "out_for_delivery": "out_for_delivery", "delivered": "delivered"}
	for _, status := range statuses {
		for _, topic := range station.TracktorTopics() {
			kind, suffix, _ := strings.Cut(topic, "/")
			te := station.TrackingEvent{OrderID: "SO200", Package: 1, Reference: pkgs[0].Reference, Status: status, PreviousStatus: "x",
				OrderStatus: status, PreviousOrder: "x", Custom: status == "held_at_depot", Source: "manual"}
			data, _ := json.Marshal(te)
			ev := queue.Event{ID: 77, Type: station.EventTrackingUpdated, Key: te.Reference, Data: data}
			body, ok, err := b.srv.TracktorWebhook(ctx, topic, ev)
			if err != nil {
				t.Fatalf("%s %s: %v", topic, status, err)
			}
			want := suffix == "all" || topicStatus[suffix] == status
			if ok != want {
				t.Errorf("%s with %s: match %v, want %v", topic, status, ok, want)
				continue
			}
			if !ok {
				if body != nil {
					t.Errorf("%s with %s: body without a match", topic, status)
				}
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("%s: %v: %s", topic, err, body)
			}
			if m["topic"] != topic || m["event_id"] != float64(77) || m["packbench_order_id"] != "SO200" {
				t.Errorf("%s body %s", topic, body)
			}
			_, isFulfillment := m["fulfillment_id"]
			_, isOrder := m["fulfillments"]
			if isFulfillment != (kind == "fulfillment") || isOrder != (kind == "order") {
				t.Errorf("%s body is the wrong kind: %s", topic, body)
			}
		}
	}
	// A status that did not change (an exception alone) is no status topic's.
	te := station.TrackingEvent{OrderID: "SO200", Package: 1, Reference: pkgs[0].Reference, Status: "in_transit", PreviousStatus: "in_transit",
		OrderStatus: "in_transit", PreviousOrder: "in_transit", Exception: "pending"}
	data, _ := json.Marshal(te)
	for _, topic := range []string{"fulfillment/in_transit", "order/in_transit"} {
		if _, ok, err := b.srv.TracktorWebhook(ctx, topic, queue.Event{Type: station.EventTrackingUpdated, Data: data}); ok || err != nil {
			t.Errorf("%s for an exception alone: %v %v", topic, ok, err)
		}
	}
	// Other events never match; an unknown topic is an error.
	if _, ok, err := b.srv.TracktorWebhook(ctx, "order/all", queue.Event{Type: station.EventPackageLabelled, Data: []byte(`{}`)}); ok || err != nil {
		t.Errorf("package.labelled: %v %v", ok, err)
	}
	if _, _, err := b.srv.TracktorWebhook(ctx, "order/lost", queue.Event{Type: station.EventTrackingUpdated, Data: data}); err == nil {
		t.Error("unknown topic accepted")
	}

	// The real events of a manual update: the delivered one is for
	// fulfillment/delivered and order/delivered, not order/in_transit.
	b.ok("POST", tracktorBase+"/orders/SO200.json", map[string]any{"status": "delivered"}, nil)
	evs := b.trackingEvents()
	last := evs[len(evs)-1]
	for topic, want := range map[string]bool{"fulfillment/delivered": true, "order/delivered": true, "order/in_transit": false,
		"fulfillment/pre_transit": false, "order/all": true} {
		body, ok, err := b.srv.TracktorWebhook(ctx, topic, last)
		if err != nil || ok != want {
			t.Errorf("%s: %v %v, want %v", topic, ok, err, want)
		}
		if ok && !strings.Contains(string(body), `"shipment_status":"delivered"`) {
			t.Errorf("%s body %s", topic, body)
		}
	}
	// The label's event is pre_transit.
	if _, ok, _ := b.srv.TracktorWebhook(ctx, "fulfillment/pre_transit", evs[0]); !ok {
		t.Error("the label's event is not fulfillment/pre_transit")
	}
}

// A label issued through Fulfil's /label is tracked like any other.
func TestTracktorAfterFulfilLabel(t *testing.T) {
	b := newBench(t, &benchOptions{deviceID: "bench-7", stationConfig: station.Config{
		Fulfil: station.FulfilConfig{ServiceCodes: []string{"S1"}}}})
	f := decodeFulfil(t, b.do("POST", "/label", seedFulfilBody(t)))
	var got map[string]any
	b.ok("GET", tracktorBase+"/fulfillments/"+f.Packages[1].TrackingNumber+".json", nil, &got)
	if got["shipment_status"] != "order_ready" || got["tracking_number"] != f.Packages[1].TrackingNumber {
		t.Fatalf("fulfillment of a /label package: %v", got)
	}
	var o map[string]any
	b.ok("GET", fmt.Sprintf("%s/orders/%.0f.json", tracktorBase, got["order_id"]), nil, &o)
	// Each /label package is an order of its own (FL…).
	if fmt.Sprint(o["statuses"]) != "[order_ready]" || o["order_source_name"] != "fulfil" {
		t.Errorf("order of /label: %v %v", o["statuses"], o["order_source_name"])
	}
}

// The status options shown in docs/integrations/tracktor.md are the answer.
func TestTracktorDocStatusOptions(t *testing.T) {
	doc := string(readFile(t, "../docs/integrations/tracktor.md"))
	_, rest, ok := strings.Cut(doc, "`GET status-options.json` answers:\n\n```json\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no status-options example in the doc")
	}
	var want, got any
	if err := json.Unmarshal([]byte(block), &want); err != nil {
		t.Fatalf("doc example: %v", err)
	}
	b := newTracktorBench(t)
	b.ok("GET", tracktorBase+"/status-options.json", nil, &got)
	if !reflect.DeepEqual(want, got) {
		t.Errorf("doc %v\nanswer %v", want, got)
	}
}
