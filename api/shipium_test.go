package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameShape checks that got has every member of want with the same value,
// except the members named in vary (any value of the same JSON type).
func sameShape(t *testing.T, path string, want, got any, vary map[string]bool) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %T, want an object", path, got)
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s.%s: missing", path, k)
				continue
			}
			if vary[k] {
				if reflect.TypeOf(gv) != reflect.TypeOf(wv) {
					t.Errorf("%s.%s: %T, want %T", path, k, gv, wv)
				}
				continue
			}
			sameShape(t, path+"."+k, wv, gv, vary)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %d elements", path, got, len(w))
			return
		}
		for i := range w {
			sameShape(t, fmt.Sprintf("%s[%d]", path, i), w[i], g[i], vary)
		}
	default:
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: got %v, want %v", path, got, want)
		}
	}
}

// The seed's own example request, replayed verbatim, is accepted, and the
// answer has the documented response's shape and values plus the ids.
func TestShipiumSeedExample(t *testing.T) {
	b := newBench(t, nil)
	a := b.do("POST", "/api/v1/packShip/order", readFile(t, "testdata/shipium_order_request.json"),
		"Authorization", "", "X-Api-Key", testKey)
	if a.status != 200 {
		t.Fatalf("seed example: %d %s", a.status, a.body)
	}
	var got map[string]any
	a.decode(t, &got)
	var want map[string]any
	if err := json.Unmarshal(readFile(t, "testdata/shipium_order_response.json"), &want); err != nil {
		t.Fatal(err)
	}
	sameShape(t, "", want, got, map[string]bool{"shipiumOrderId": true})
	id, _ := got["shipiumOrderId"].(string)
	item := got["orderItemQuantities"].([]any)[0].(map[string]any)
	if !uuidRE.MatchString(id) || item["shipiumOrderId"] != id || !uuidRE.MatchString(fmt.Sprint(item["deliveryEstimateId"])) ||
		got["orderStatus"] != "open" || a.header.Get("Location") != "/api/v1/packShip/order/"+id {
		t.Fatalf("ids and status: %s", a.body)
	}

	// Get by Shipium's id and by the partner's: the same order.
	for _, key := range []string{id, "partner-order:12345"} {
		var again map[string]any
		b.ok("GET", "/api/v1/packShip/order/"+key, nil, &again)
		if !reflect.DeepEqual(again, got) {
			t.Errorf("GET %s:\n%v\nwant\n%v", key, again, got)
		}
	}
	b.do("GET", "/api/v1/packShip/order/4dc43fff-c3af-4d7b-8a18-e01f2b4cb312", nil).wantError(t, 404, api.CodeNotFound, "")
	// An associated identifier is not an order id (seed: "not interchangeable with orderId").
	b.do("GET", "/api/v1/packShip/order/lpn-barcode:12345", nil).wantError(t, 404, api.CodeNotFound, "")
	// Bench orders not made through the Pack App are not Shipium orders.
	b.ok("POST", "/api/v1/orders", validOrder("SO200"), nil)
	b.do("GET", "/api/v1/packShip/order/SO200", nil).wantError(t, 404, api.CodeNotFound, "")
	// A retried create (the same request) answers with the same order; the
	// same partner order id for another order while the first is open: 409.
	var retried map[string]any
	b.ok("POST", "/api/v1/packShip/order", readFile(t, "testdata/shipium_order_request.json"), &retried)
	if !reflect.DeepEqual(retried, got) {
		t.Fatalf("retried create:\n%v\nwant the first answer\n%v", retried, got)
	}
	other := strings.Replace(string(readFile(t, "testdata/shipium_order_request.json")), `"quantity": 3`, `"quantity": 4`, 1)
	b.do("POST", "/api/v1/packShip/order", other).wantError(t, 409, api.CodeConflict, "")

	// It is a bench order: its LPN finds it, with the seed's lines.
	var o station.Order
	b.ok("GET", "/api/v1/orders/"+id, nil, &o)
	if o.Source != "shipium" || o.PartnerOrderID != "partner-order:12345" || o.ShipTo.Name != "Wile E. Coyote" ||
		o.ShipTo.Zip != "87121" || o.ShipTo.Phone != "+1 9995551234" || len(o.Lines) != 1 || o.Lines[0].Quantity != 3 ||
		o.Lines[0].SKU != "partner-product:12345" || o.Packages != 1 {
		t.Fatalf("bench order %+v", o)
	}

	// Every part of the model, valid, is accepted and echoed.
	a = b.do("POST", "/api/v1/packShip/order", api.ShipiumFullOrder)
	if a.status != 200 {
		t.Fatalf("full order: %d %s", a.status, a.body)
	}
	want = nil
	if err := json.Unmarshal([]byte(api.ShipiumFullOrder), &want); err != nil {
		t.Fatal(err)
	}
	got = nil
	a.decode(t, &got)
	delete(want, "orderItemQuantities") // the items gain ids: compared below
	sameShape(t, "", want, got, nil)
	item = got["orderItemQuantities"].([]any)[0].(map[string]any)
	if item["partnerOrderId"] != "partner-order:full-1" || item["hazmatInfo"].(map[string]any)["hazmatId"] != "UN1755" {
		t.Fatalf("full order item: %v", item)
	}
	b.ok("GET", "/api/v1/orders/lpn-barcode:full-1", nil, &o)
	if o.ShipTo.Street1 != "Fovisste Fuentes Brotantes 12" || o.ShipTo.Country != "MX" || o.ShipFrom == nil || o.ShipFrom.City != "El Paso" {
		t.Fatalf("full order as a bench order: %+v", o)
	}
}

// One request per rule of the seed's tables that breaks it: 400 with the
// bench's error body naming the full camelCase path.
func TestShipiumRulesHTTP(t *testing.T) {
	b := newBench(t, nil)
	for _, c := range api.ShipiumCases(t) {
		a := b.do("POST", "/api/v1/packShip/order", c.Body)
		if a.status != 400 {
			t.Errorf("%s/%s: status %d, want 400: %s", c.Rule, c.Name, a.status, a.body)
			continue
		}
		code, msg, field := a.errBody(t)
		if code != api.CodeInvalidField || field != c.Path || !strings.HasPrefix(msg, c.Path+": ") {
			t.Errorf("%s/%s: code %q field %q message %q, want field %s", c.Rule, c.Name, code, field, msg, c.Path)
		}
	}
	// The strict decoder names paths the same way.
	for body, path := range map[string]string{
		`{"shipiumOrderId":"x"}`:                                "shipiumOrderId",
		`{"orderItemQuantities":[{"quantity":"3"}]}`:            "orderItemQuantities[0].quantity",
		`{"orderItemQuantities":[{"hazmatInfo":{"colour":1}}]}`: "orderItemQuantities[0].hazmatInfo.colour",
		`{"orderItemQuantities":[{"quantity":3000000000}]}`:     "orderItemQuantities[0].quantity",
	} {
		b.do("POST", "/api/v1/packShip/order", body).wantError(t, 400, api.CodeInvalidField, path)
	}
	var page station.OrderPage
	b.ok("GET", "/api/v1/orders", nil, &page)
	if page.Total != 0 {
		t.Fatalf("refused orders were stored: %+v", page)
	}
}

func shipiumOrder(partner string, ids []string, tenant any, ordered string) map[string]any {
	return map[string]any{
		"fulfillmentType": "customer", "orderSource": "external", "partnerOrderId": partner,
		"associatedIdentifiers": ids, "tenantId": tenant, "orderedDateTime": ordered,
		"orderItemQuantities": []any{map[string]any{"orderItemReferenceIdentifier": partner + "_item:1", "productId": "P1", "quantity": 1}},
		"originId":            "origin-1",
		"destinationAddress": map[string]any{"name": "Wile E. Coyote", "phoneNumber": "9995551234", "phoneNumberCountryCode": "+1",
			"emailAddress": "wile@example.com", "company": "ACME", "street1": "123 Main St.", "street2": "", "city": "Albuquerque",
			"state": "NM", "countryCode": "US", "postalCode": "87121", "addressType": "residential"},
	}
}

type searchPage struct {
	ids                   []string
	next, previous, total string
}

func (b *bench) search(t *testing.T, query string) searchPage {
	t.Helper()
	a := b.do("GET", "/api/v1/packShip/order/search?"+query, nil)
	if a.status != 200 {
		t.Fatalf("search %s: %d %s", query, a.status, a.body)
	}
	var orders []map[string]any
	a.decode(t, &orders) // a bare array
	p := searchPage{next: a.header.Get("X-Page-Next"), previous: a.header.Get("X-Page-Previous"), total: a.header.Get("X-Total-Count")}
	_, hasNext := a.header["X-Page-Next"]
	_, hasPrev := a.header["X-Page-Previous"]
	if hasNext != (p.next != "") || hasPrev != (p.previous != "") {
		t.Fatalf("empty paging header: %v", a.header)
	}
	for _, o := range orders {
		p.ids = append(p.ids, o["partnerOrderId"].(string))
	}
	return p
}

func TestShipiumSearch(t *testing.T) {
	b := newBench(t, nil)
	// 11 orders: tenants A/B alternate, one day apart, the LPN "tote:1" on
	// every third.
	var all []string
	for i := range 11 {
		ids := []string{fmt.Sprintf("lpn:%d", i)}
		if i%3 == 0 {
			ids = append(ids, "tote:1") // shared: not unique across orders
		}
		tenant := "A"
		if i%2 == 1 {
			tenant = "B"
		}
		p := fmt.Sprintf("po-%02d", i)
		all = append(all, p)
		b.ok("POST", "/api/v1/packShip/order", shipiumOrder(p, ids, tenant, fmt.Sprintf("2025-03-%02dT10:00:00Z", i+1)), nil)
	}
	// Paging forward over all of them, 4 at a time, then back.
	var seen []string
	anchor := "0"
	var pages []searchPage
	for n := 0; ; n++ {
		p := b.search(t, "anchor="+anchor+"&count=4")
		if p.total != "11" {
			t.Fatalf("X-Total-Count %q, want 11", p.total)
		}
		if (n == 0) != (p.previous == "") {
			t.Fatalf("page %d: X-Page-Previous %q (absent exactly on the first page)", n, p.previous)
		}
		pages = append(pages, p)
		seen = append(seen, p.ids...)
		if p.next == "" {
			break
		}
		anchor = p.next
	}
	if len(pages) != 3 || !reflect.DeepEqual(seen, all) || len(pages[2].ids) != 3 {
		t.Fatalf("pages %+v, orders %v, want %v", pages, seen, all)
	}
	back := b.search(t, "anchor="+pages[2].previous+"&count=4")
	if !reflect.DeepEqual(back.ids, pages[1].ids) {
		t.Fatalf("previous of the last page: %v, want %v", back.ids, pages[1].ids)
	}
	back = b.search(t, "anchor="+back.previous+"&count=4")
	if !reflect.DeepEqual(back.ids, pages[0].ids) || back.previous != "" {
		t.Fatalf("back to the first page: %+v", back)
	}
	// One page holds them all: no paging headers at all.
	if p := b.search(t, "count=50"); p.next != "" || p.previous != "" || len(p.ids) != 11 {
		t.Fatalf("one page: %+v", p)
	}

	// Filters combined: the shared tote, tenant A, from the 2nd to the 10th.
	// tote:1 is on 0, 3, 6, 9; tenant A is even; dates 2..10 are orders 1..9.
	p := b.search(t, "associatedIdentifiers=tote%3A1&shipiumTenantId=A&fromDate=2025-03-02T00:00:00Z&toDate=2025-03-10T10:00:00Z&orderStatuses=open")
	if !reflect.DeepEqual(p.ids, []string{"po-06"}) || p.total != "1" {
		t.Fatalf("combined filters: %+v", p)
	}
	p = b.search(t, "associatedIdentifiers=tote%3A1&associatedIdentifiers=lpn%3A1&count=2")
	if !reflect.DeepEqual(p.ids, []string{"po-00", "po-01"}) || p.total != "5" || p.next != "2" {
		t.Fatalf("two identifiers: %+v", p)
	}
	// Status: ship one order; orderStatuses finds it.
	var so map[string]any
	b.ok("GET", "/api/v1/packShip/order/po-04", nil, &so)
	b.ok("POST", "/api/v1/shipments", map[string]any{"order_id": so["shipiumOrderId"], "weight": map[string]any{"milligrams": 500000}}, nil)
	if p = b.search(t, "orderStatuses=shipped,cancelled"); !reflect.DeepEqual(p.ids, []string{"po-04"}) {
		t.Fatalf("by status: %+v", p)
	}
	if p = b.search(t, "orderStatuses=open&shipiumTenantId=A"); p.total != "5" {
		t.Fatalf("open in tenant A: %+v", p)
	}
	b.ok("GET", "/api/v1/packShip/order/po-04", nil, &so)
	if so["orderStatus"] != "shipped" {
		t.Fatalf("status after shipping: %v", so["orderStatus"])
	}
	// Past the end: empty array, a previous page, no next.
	if p = b.search(t, "anchor=20&count=4"); len(p.ids) != 0 || p.next != "" || p.previous != "16" {
		t.Fatalf("past the end: %+v", p)
	}
	for q, field := range map[string]string{"count=0": "count", "count=501": "count", "anchor=-1": "anchor", "anchor=x": "anchor",
		"fromDate=2025-03-01": "fromDate", "toDate=yesterday": "toDate", "orderStatuses=lost": "orderStatuses"} {
		b.do("GET", "/api/v1/packShip/order/search?"+q, nil).wantError(t, 400, api.CodeInvalidField, field)
	}
}

// Shared identifiers: the bench accepts them, and a scan arms the oldest
// open order with packages to label and says so; the parcel on the scale
// gives one label.
func TestShipiumSharedLPNScanWeigh(t *testing.T) {
	b := newBench(t, nil)
	var first, second map[string]any
	b.ok("POST", "/api/v1/packShip/order", shipiumOrder("po-1", []string{"lpn:shared"}, nil, "2025-03-01T10:00:00Z"), &first)
	b.ok("POST", "/api/v1/packShip/order", shipiumOrder("po-2", []string{"lpn:shared"}, nil, "2025-03-02T10:00:00Z"), &second)
	s := b.openStream("", "X-Api-Key", testKey)
	s.next("initial flow", named(api.EventFlow), nil)

	var fs station.FlowState
	b.ok("POST", "/api/v1/flow/scan", map[string]string{"code": "lpn:shared"}, &fs)
	if fs.State != station.FlowArmed || fs.Order == nil || fs.Order.ID != first["shipiumOrderId"] || !strings.Contains(fs.Note, "2 open orders") {
		t.Fatalf("scan of a shared LPN: %+v", fs)
	}
	b.ok("POST", "/api/v1/scale/sim", map[string]string{"script": "place 900g; settle"}, nil)
	ev := s.next("printing", func(ev sseEvent) bool {
		return ev.name == api.EventFlow && (strings.Contains(ev.data, `"state":"printing"`) || strings.Contains(ev.data, `"problem"`))
	}, nil)
	if err := json.Unmarshal([]byte(ev.data), &fs); err != nil || fs.State != station.FlowPrinting || fs.TrackingNumber == "" {
		t.Fatalf("flow after placing: %s (%v)", ev.data, err)
	}
	var jobs struct {
		Jobs []queue.Job `json:"jobs"`
	}
	b.ok("GET", "/api/v1/jobs", nil, &jobs)
	if len(jobs.Jobs) != 1 || jobs.Jobs[0].Key != fmt.Sprint(first["shipiumOrderId"])+"-1" {
		t.Fatalf("jobs after one parcel: %+v", jobs.Jobs)
	}
	var so map[string]any
	b.ok("GET", "/api/v1/packShip/order/po-1", nil, &so)
	if so["orderStatus"] != "shipped" {
		t.Fatalf("po-1 after its label: %v", so["orderStatus"])
	}
	// The next scan of the same LPN arms the other order, without a note.
	b.ok("POST", "/api/v1/scale/sim", map[string]any{"remove": true}, nil)
	s.next("lifted", func(ev sseEvent) bool {
		return ev.name == api.EventFlow && strings.Contains(ev.data, `"await_removal":false`)
	}, nil)
	fs = station.FlowState{}
	b.ok("POST", "/api/v1/flow/scan", map[string]string{"code": "lpn:shared"}, &fs)
	if fs.Order == nil || fs.Order.ID != second["shipiumOrderId"] || fs.Note != "" {
		t.Fatalf("second scan: %+v", fs)
	}
}

// /api/v1/health shows the bench's device id, without a key too.
func TestHealthDeviceID(t *testing.T) {
	b := newBench(t, &benchOptions{deviceID: "bench-7"})
	var h map[string]any
	a := b.do("GET", "/api/v1/health", nil, "Authorization", "")
	a.decode(t, &h)
	if a.status != 200 || h["device_id"] != "bench-7" {
		t.Fatalf("health: %d %s", a.status, a.body)
	}
}

// The OpenAPI document describes the Pack App paths with the seed's model.
func TestShipiumOpenAPI(t *testing.T) {
	b := newBench(t, nil)
	var doc struct {
		Paths      map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	b.ok("GET", "/api/v1/openapi.json", nil, &doc)
	for _, p := range []string{"/api/v1/packShip/order", "/api/v1/packShip/order/search", "/api/v1/packShip/order/{id}"} {
		if len(doc.Paths[p]) == 0 {
			t.Errorf("%s missing", p)
		}
	}
	req, resp := doc.Components.Schemas["ShipiumOrderRequest"], doc.Components.Schemas["ShipiumOrder"]
	for _, f := range []string{"fulfillmentType", "orderItemQuantities", "customsInfo", "orderFulfillmentParameters"} {
		if req.Properties[f] == nil || resp.Properties[f] == nil {
			t.Errorf("%s: not in the request and answer schemas", f)
		}
	}
	if resp.Properties["shipiumOrderId"] == nil || resp.Properties["orderStatus"] == nil || req.Properties["shipiumOrderId"] != nil {
		t.Errorf("answer schema: %v", resp.Properties)
	}
	if doc.Components.Schemas["ShipiumOrderItem"].Properties["deliveryEstimateId"] == nil {
		t.Error("deliveryEstimateId not documented")
	}
}

// Concurrent identical creates (a client retrying on a timeout) make one
// order, and every answer names it.
func TestShipiumCreateRetriedConcurrently(t *testing.T) {
	b := newBench(t, nil)
	body, err := json.Marshal(shipiumOrder("po-retry", []string{"lpn:retry"}, nil, "2025-03-15T10:10:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	answers := make(chan answer, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() { defer wg.Done(); answers <- b.do("POST", "/api/v1/packShip/order", body) }()
	}
	wg.Wait()
	close(answers)
	ids := map[string]bool{}
	for a := range answers {
		var so struct {
			ID string `json:"shipiumOrderId"`
		}
		if a.status != 200 {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		a.decode(t, &so)
		ids[so.ID] = true
	}
	var page station.OrderPage
	b.ok("GET", "/api/v1/orders", nil, &page)
	if len(ids) != 1 || page.Total != 1 {
		t.Fatalf("%d ids in the answers, %d orders stored; want 1 and 1", len(ids), page.Total)
	}
}

// The answer to a GET of a Shipium order is written from the stored seed
// without a second pass of the encoder: it must be, byte for byte, what
// json.Marshal of it writes (compact, with <, > and & escaped), and it
// carries the current status.
func TestShipiumGetBytes(t *testing.T) {
	b := newBench(t, nil)
	o := shipiumOrder("po-<b>&amp;", []string{"lpn:<1>"}, "Tenant & Söhne", "2025-03-15T10:10:00Z")
	o["destinationAddress"].(map[string]any)["company"] = "ACME <script>&\"Zürich\""
	var created map[string]any
	b.ok("POST", "/api/v1/packShip/order", o, &created)
	id := created["shipiumOrderId"].(string)
	if _, err := b.st.CancelOrder(context.Background(), id, "test"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{id, url.PathEscape("po-<b>&amp;")} {
		a := b.do("GET", "/api/v1/packShip/order/"+key, nil)
		if a.status != 200 || a.header.Get("Content-Type") != "application/json" || a.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET %s: %d %v %s", key, a.status, a.header, a.body)
		}
		body, ok := bytes.CutSuffix(a.body, []byte("\n"))
		if !ok {
			t.Fatalf("GET %s: no newline at the end: %q", key, a.body)
		}
		enc, err := json.Marshal(json.RawMessage(body))
		if err != nil || !bytes.Equal(enc, body) {
			t.Fatalf("GET %s answered\n%s\njson.Marshal writes\n%s (%v)", key, body, enc, err)
		}
		var got map[string]any
		a.decode(t, &got)
		if got["orderStatus"] != "cancelled" || got["partnerOrderId"] != "po-<b>&amp;" ||
			got["destinationAddress"].(map[string]any)["company"] != "ACME <script>&\"Zürich\"" {
			t.Fatalf("GET %s: %s", key, a.body)
		}
	}
}
