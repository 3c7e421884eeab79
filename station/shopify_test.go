package station

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func shopifyConfig() Config {
	return Config{Shopify: ShopifyConfig{ClientSecret: "hush-hush-this-is-the-client-secret"}}
}

// fulfillmentBody is a fulfillments/create payload as Shopify sends it
// (pretty-printed, with \u escapes).
func fulfillmentBody(id int64, name, status, service string) []byte {
	return fmt.Appendf(nil, `{
  "id": %d,
  "order_id": 450789469,
  "status": %q,
  "created_at": "2026-03-15T06:00:00-04:00",
  "service": %q,
  "updated_at": "2026-03-15T06:00:00-04:00",
  "tracking_company": null,
  "shipment_status": null,
  "location_id": 905684977,
  "email": "jos\u00e9@example.com",
  "destination": {
    "first_name": "Jos\u00e9",
    "address1": "Chestnut Street 92",
    "phone": "555-625-1199",
    "city": "Louisville",
    "zip": "40202",
    "province": "Kentucky",
    "country": "United States",
    "last_name": "Ram\u00edrez",
    "address2": "",
    "company": null,
    "name": "Jos\u00e9 Ram\u00edrez",
    "country_code": "US",
    "province_code": "KY"
  },
  "line_items": [
    {"id": 466157049, "variant_id": 39072856, "title": "IPod Nano - 8gb", "quantity": 2, "sku": "IPOD2008GREEN",
     "name": "IPod Nano - 8gb - green", "fulfillment_service": %q, "grams": 200},
    {"id": 518995019, "title": "Gift wrap \u2728", "quantity": 1, "sku": "WRAP", "name": "Gift wrap \u2728"}
  ],
  "tracking_number": null,
  "tracking_numbers": [],
  "tracking_url": null,
  "tracking_urls": [],
  "receipt": {},
  "name": %q,
  "admin_graphql_api_id": "gid://shopify/Fulfillment/%d"
}`, id, status, service, service, name, id)
}

func TestShopifyWebhookCreatesOrderOnceAndScanFindsIt(t *testing.T) {
	ctx := context.Background()
	dir, clk := t.TempDir(), newClock()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, shopifyConfig())
	body := fulfillmentBody(255858046, "#1001.1", "pending", "packbench")
	res, err := st.ShopifyWebhook(ctx, ShopifyDelivery{WebhookID: "wh-1", Topic: ShopifyTopicFulfillmentCreate, Shop: "testshop.myshopify.com", Body: body})
	if err != nil || res.Result != ShopifyCreated || res.OrderID != "shopify-255858046" {
		t.Fatalf("create: %+v, %v", res, err)
	}
	o, err := st.Order(ctx, res.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if o.ShipTo.Name != "José Ramírez" || o.ShipTo.State != "KY" || o.ShipTo.Country != "US" || o.ShipTo.Email != "josé@example.com" {
		t.Errorf("ship to: %+v", o.ShipTo)
	}
	if len(o.Lines) != 2 || o.Lines[0].SKU != "IPOD2008GREEN" || o.Lines[0].Quantity != 2 || o.Lines[1].Description != "Gift wrap ✨" {
		t.Errorf("lines: %+v", o.Lines)
	}
	// Redelivery of the same webhook id: nothing new.
	res2, err := st.ShopifyWebhook(ctx, ShopifyDelivery{WebhookID: "wh-1", Topic: ShopifyTopicFulfillmentCreate, Body: body})
	if err != nil || res2.Result != ShopifyDuplicate || res2.OrderID != o.ID {
		t.Fatalf("redelivery: %+v, %v", res2, err)
	}
	// Another webhook (an update, still pending) for the same fulfillment: the same order.
	res3, err := st.ShopifyWebhook(ctx, ShopifyDelivery{WebhookID: "wh-2", Topic: ShopifyTopicFulfillmentUpdate, Body: body})
	if err != nil || res3.Result != ShopifyExists {
		t.Fatalf("update: %+v, %v", res3, err)
	}
	page, err := st.ListOrders(ctx, ListOptions{})
	if err != nil || page.Total != 1 {
		t.Fatalf("orders: %d, %v", page.Total, err)
	}
	for _, code := range []string{"#1001.1", "1001.1", "#1001", "255858046", "450789469", "shopify-order:450789469"} {
		got, err := st.FindOrder(ctx, code)
		if err != nil || got.ID != o.ID {
			t.Errorf("find %q: %q, %v", code, got.ID, err)
		}
	}
	for _, id := range []string{"255858046", "gid://shopify/Fulfillment/255858046", "gid://shopify/Order/450789469", "450789469"} {
		got, err := st.OrderByShopifyID(ctx, id)
		if err != nil || got.ID != o.ID {
			t.Errorf("by shopify id %q: %q, %v", id, got.ID, err)
		}
	}
	if _, err := st.OrderByShopifyID(ctx, "gid://shopify/Order/1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := st.OrderByShopifyID(ctx, "gid://shopify/Order/x1"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad id: %v", err)
	}

	// The webhook id is durable: a reopened file still knows it.
	db.Close()
	db = openDB(t, dir, clk)
	st = newStation(t, db, clk, shopifyConfig())
	if res, err := st.ShopifyWebhook(ctx, ShopifyDelivery{WebhookID: "wh-1", Topic: ShopifyTopicFulfillmentCreate, Body: body}); err != nil || res.Result != ShopifyDuplicate {
		t.Fatalf("after reopen: %+v, %v", res, err)
	}
	// Past the retention it is forgotten (and the order still answers "exists").
	clk.Advance(DefaultShopifyWebhookRetention + time.Minute)
	if n, err := st.HousekeepShopify(ctx, 0); err != nil || n != 2 {
		t.Fatalf("housekeep: %d, %v", n, err)
	}
	if res, err := st.ShopifyWebhook(ctx, ShopifyDelivery{WebhookID: "wh-1", Topic: ShopifyTopicFulfillmentCreate, Body: body}); err != nil || res.Result != ShopifyExists {
		t.Fatalf("after expiry: %+v, %v", res, err)
	}
}

func TestShopifyWebhookIgnoresAndCancels(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st := newStation(t, openDB(t, t.TempDir(), clk), clk, shopifyConfig())
	for _, d := range []ShopifyDelivery{
		{WebhookID: "a", Topic: "orders/create", Body: []byte(`{}`)},
		{WebhookID: "b", Topic: ShopifyTopicFulfillmentCreate, Body: fulfillmentBody(1, "#1.1", "pending", "other-fulfillment")},
		{WebhookID: "c", Topic: ShopifyTopicFulfillmentCreate, Body: fulfillmentBody(2, "#2.1", "success", "packbench")},
	} {
		res, err := st.ShopifyWebhook(ctx, d)
		if err != nil || res.Result != ShopifyIgnored {
			t.Errorf("%s: %+v, %v", d.WebhookID, res, err)
		}
	}
	if page, _ := st.ListOrders(ctx, ListOptions{}); page.Total != 0 {
		t.Fatalf("orders created: %d", page.Total)
	}
	// Create, then cancel by update: the unlabelled order is cancelled.
	if res, err := st.ShopifyWebhook(ctx, ShopifyDelivery{WebhookID: "d", Topic: ShopifyTopicFulfillmentCreate, Body: fulfillmentBody(3, "#3.1", "pending", "packbench")}); err != nil || res.Result != ShopifyCreated {
		t.Fatal(res, err)
	}
	res, err := st.ShopifyWebhook(ctx, ShopifyDelivery{WebhookID: "e", Topic: ShopifyTopicFulfillmentUpdate, Body: fulfillmentBody(3, "#3.1", "cancelled", "packbench")})
	if err != nil || res.Result != ShopifyCancelled {
		t.Fatal(res, err)
	}
	if o, _ := st.Order(ctx, "shopify-3"); o.Status != OrderCancelled {
		t.Errorf("status %s", o.Status)
	}
	// A labelled one is kept.
	if _, err := st.ShopifyWebhook(ctx, ShopifyDelivery{WebhookID: "f", Topic: ShopifyTopicFulfillmentCreate, Body: fulfillmentBody(4, "#4.1", "pending", "packbench")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ship(ctx, ShipRequest{OrderID: "shopify-4", Weight: Weight{Milligrams: 500_000}}); err != nil {
		t.Fatal(err)
	}
	res, err = st.ShopifyWebhook(ctx, ShopifyDelivery{WebhookID: "g", Topic: ShopifyTopicFulfillmentUpdate, Body: fulfillmentBody(4, "#4.1", "cancelled", "packbench")})
	if err != nil || res.Result != ShopifyKept {
		t.Fatal(res, err)
	}
	if o, _ := st.Order(ctx, "shopify-4"); o.Status != OrderShipped {
		t.Errorf("status %s", o.Status)
	}
	// No usable address: refused, acknowledged, an event says why.
	bad := []byte(`{"id": 5, "order_id": 9, "status": "pending", "service": "packbench", "name": "#5.1", "destination": {"address1": "x"}}`)
	res, err = st.ShopifyWebhook(ctx, ShopifyDelivery{WebhookID: "h", Topic: ShopifyTopicFulfillmentCreate, Body: bad})
	if err != nil || res.Result != ShopifyRefused || res.Reason == "" {
		t.Fatal(res, err)
	}
	if n := countEvents(t, st.db, EventShopifyRefused); n != 1 {
		t.Errorf("refused events: %d", n)
	}
}

func TestShopifyTrackingNumbers(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st := newStation(t, openDB(t, t.TempDir(), clk), clk, shopifyConfig())
	for i, name := range []string{"#1001.1", "#1002.1"} {
		if _, err := st.ShopifyWebhook(ctx, ShopifyDelivery{WebhookID: name, Topic: ShopifyTopicFulfillmentCreate, Shop: "a.myshopify.com",
			Body: fulfillmentBody(int64(100+i), name, "pending", "packbench")}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := st.Ship(ctx, ShipRequest{OrderID: "shopify-100", Weight: Weight{Milligrams: 500_000}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.ShopifyTrackingNumbers(ctx, "a.myshopify.com", []string{"#1001.1", "#1002.1", "#9999.1", ""})
	if err != nil || len(got) != 1 || got["#1001.1"] != p.TrackingNumber || p.TrackingNumber == "" {
		t.Fatalf("%v, %v (want #1001.1 → %s)", got, err, p.TrackingNumber)
	}
	if got, _ := st.ShopifyTrackingNumbers(ctx, "b.myshopify.com", []string{"#1001.1"}); len(got) != 0 {
		t.Errorf("another shop: %v", got)
	}
	if _, err := st.VoidPackage(ctx, p.Reference, "test"); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.ShopifyTrackingNumbers(ctx, "", []string{"#1001.1"}); len(got) != 0 {
		t.Errorf("voided: %v", got)
	}
}

func TestStockLedgerMovesWithLabelsAndVoids(t *testing.T) {
	ctx := context.Background()
	dir, clk := t.TempDir(), newClock()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, Config{})
	if _, err := st.SetStock(ctx, "BOX-S", 10, "count"); err != nil {
		t.Fatal(err)
	}
	if it, err := st.AdjustStock(ctx, "BOX-S", -1, "damaged"); err != nil || it.Quantity != 9 {
		t.Fatal(it, err)
	}
	if _, err := st.SetStock(ctx, " x", 1, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad sku: %v", err)
	}
	o := mustCreate(t, st, Order{Packages: 2, Lines: []Line{{SKU: "BOX-S", Quantity: 2}, {SKU: "BOX-S", Quantity: 1}, {SKU: "UNTRACKED", Quantity: 5}}})
	p1, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 400_000}})
	if err != nil {
		t.Fatal(err)
	}
	want := func(q int64) {
		t.Helper()
		it, err := st.Stock(ctx, "BOX-S")
		if err != nil || it.Quantity != q {
			t.Fatalf("BOX-S: %d, %v; want %d", it.Quantity, err, q)
		}
	}
	want(6)
	if _, err := st.Stock(ctx, "UNTRACKED"); !errors.Is(err, ErrNotFound) {
		t.Errorf("untracked SKU got tracked: %v", err)
	}
	p2, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 400_000}})
	if err != nil {
		t.Fatal(err)
	}
	want(6) // the second parcel of the shipment moves nothing more
	if _, err := st.VoidPackage(ctx, p1.Reference, "x"); err != nil {
		t.Fatal(err)
	}
	want(6)
	if _, err := st.VoidPackage(ctx, p2.Reference, "x"); err != nil {
		t.Fatal(err)
	}
	want(9)
	// Label again, then cancel the order: back again.
	if _, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 400_000}}); err != nil {
		t.Fatal(err)
	}
	want(6)
	if _, err := st.CancelOrder(ctx, o.ID, "x"); err != nil {
		t.Fatal(err)
	}
	want(9)
	// 2 set/adjust + label, void, label, void = 6 events.
	if n := countEvents(t, st.db, EventStockChanged); n != 6 {
		t.Errorf("stock events: %d", n)
	}
	db.Close()
	st = newStation(t, openDB(t, dir, clk), clk, Config{})
	want(9)
	items, err := st.ListStock(ctx)
	if err != nil || len(items) != 1 || items[0].SKU != "BOX-S" {
		t.Fatalf("list: %+v, %v", items, err)
	}
}

func TestShopifyCallbackToken(t *testing.T) {
	ctx := context.Background()
	dir, clk := t.TempDir(), newClock()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, Config{})
	tok, err := st.ShopifyCallbackToken(ctx)
	if err != nil || len(tok) < 32 {
		t.Fatal(tok, err)
	}
	db.Close()
	st = newStation(t, openDB(t, dir, clk), clk, Config{})
	if again, _ := st.ShopifyCallbackToken(ctx); again != tok {
		t.Fatalf("token changed on reopen: %q → %q", tok, again)
	}
	if ok, _ := st.CheckShopifyCallbackToken(ctx, tok); !ok {
		t.Error("own token refused")
	}
	wrong := tok[:len(tok)-1] + "x"
	if tok[len(tok)-1] == 'x' { // a random token ends in x one time in 64
		wrong = tok[:len(tok)-1] + "y"
	}
	if ok, _ := st.CheckShopifyCallbackToken(ctx, wrong); ok {
		t.Error("wrong token accepted")
	}
	rot, err := st.RotateShopifyCallbackToken(ctx, true)
	if err != nil || rot == tok {
		t.Fatal(rot, err)
	}
	if ok, _ := st.CheckShopifyCallbackToken(ctx, tok); ok {
		t.Error("rotated token still accepted")
	}
	if err := (Config{Shopify: ShopifyConfig{CallbackToken: "short"}}).WithDefaults().Validate(); !errors.Is(err, ErrConfig) {
		t.Errorf("short token: %v", err)
	}
}

// Concurrent adjustments and labels never lose a change: each runs in its
// own write transaction.
func TestStockConcurrentChanges(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st := newStation(t, openDB(t, t.TempDir(), clk), clk, Config{})
	if _, err := st.SetStock(ctx, "S", 1000, ""); err != nil {
		t.Fatal(err)
	}
	var orders []string
	for range 5 {
		orders = append(orders, mustCreate(t, st, Order{Lines: []Line{{SKU: "S", Quantity: 3}}}).ID)
	}
	errs := make(chan error, 45)
	for i := range 40 {
		go func() {
			delta := int64(1)
			if i%2 == 0 {
				delta = -2
			}
			_, err := st.AdjustStock(ctx, "S", delta, "")
			errs <- err
		}()
	}
	for _, id := range orders {
		go func() {
			_, err := st.Ship(ctx, ShipRequest{OrderID: id, Weight: Weight{Milligrams: 100_000}})
			errs <- err
		}()
	}
	for range 45 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// 1000 + 20×1 − 20×2 − 5×3
	if it, err := st.Stock(ctx, "S"); err != nil || it.Quantity != 965 {
		t.Fatalf("%+v, %v; want 965", it, err)
	}
	if n := countEvents(t, st.db, EventStockChanged); n != 1+40+5 {
		t.Errorf("%d stock events, want 46", n)
	}
}

func TestShopifyConfigRedacted(t *testing.T) {
	c := Config{Shopify: ShopifyConfig{ClientSecret: "s3cret", CallbackToken: "tok_0123456789abcdef0123456789abcdef"}}.Redacted()
	if c.Shopify.ClientSecret != "(set)" || c.Shopify.CallbackToken != "(set)" {
		t.Fatalf("%+v", c.Shopify)
	}
	for _, bad := range []ShopifyConfig{{Handle: "a/b"}, {PublicURL: "ftp://x"}, {PublicURL: "https://x/?a=1"}, {ClientSecret: " x"}} {
		if err := (Config{Shopify: bad}).WithDefaults().Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
