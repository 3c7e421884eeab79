package api_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/station"
)

const shopifySecret = "shpss_0123456789abcdef0123456789abcdef"

func shopifyBench(t testing.TB) *bench {
	return newBench(t, &benchOptions{stationConfig: station.Config{Shopify: station.ShopifyConfig{ClientSecret: shopifySecret}}})
}

// sign is Shopify's scheme, written out here independently of the bench:
// base64(HMAC-SHA256(client secret, raw body)).
func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func shopifyFulfillment(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/shopify_fulfillment_create.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`\u00e9`)) || !bytes.Contains(b, []byte("\n  ")) {
		t.Fatal("the fixture should be pretty-printed with \\u escapes")
	}
	return b
}

// webhook posts body as Shopify does: no API key, the signature headers.
func (b *bench) webhook(body []byte, id string, headers ...string) answer {
	b.t.Helper()
	h := []string{"Authorization", "", "X-Shopify-Topic", "fulfillments/create", "X-Shopify-Shop-Domain", "testshop.myshopify.com",
		"X-Shopify-Webhook-Id", id, "X-Shopify-Hmac-Sha256", sign(shopifySecret, body), "X-Shopify-API-Version", "2024-01"}
	return b.do("POST", "/webhooks/shopify", body, append(h, headers...)...)
}

func (b *bench) orderTotal() int {
	b.t.Helper()
	var page station.OrderPage
	b.ok("GET", "/api/v1/orders", nil, &page)
	return page.Total
}

func TestShopifyWebhookSignature(t *testing.T) {
	b := shopifyBench(t)
	body := shopifyFulfillment(t)
	tampered := bytes.Replace(body, []byte(`"quantity": 2`), []byte(`"quantity": 3`), 1)
	for name, a := range map[string]answer{
		"wrong secret":   b.webhook(body, "w1", "X-Shopify-Hmac-Sha256", sign("shpss_another_secret_entirely_0000000", body)),
		"tampered body":  b.do("POST", "/webhooks/shopify", tampered, "Authorization", "", "X-Shopify-Topic", "fulfillments/create", "X-Shopify-Hmac-Sha256", sign(shopifySecret, body)),
		"missing header": b.webhook(body, "w1", "X-Shopify-Hmac-Sha256", ""),
		"api key only":   b.webhook(body, "w1", "X-Shopify-Hmac-Sha256", "", "Authorization", "Bearer "+testKey),
		"not base64":     b.webhook(body, "w1", "X-Shopify-Hmac-Sha256", "%%%"),
		"hex digest": b.webhook(body, "w1", "X-Shopify-Hmac-Sha256", func() string {
			m := hmac.New(sha256.New, []byte(shopifySecret))
			m.Write(body)
			return hex.EncodeToString(m.Sum(nil))
		}()),
	} {
		if a.status != http.StatusUnauthorized {
			t.Errorf("%s: status %d: %s", name, a.status, a.body)
			continue
		}
		if code, _, _ := a.errBody(t); code != api.CodeUnauthorized {
			t.Errorf("%s: code %s", name, code)
		}
	}
	if n := b.orderTotal(); n != 0 {
		t.Fatalf("%d orders created by refused webhooks", n)
	}

	a := b.webhook(body, "w1")
	var res station.ShopifyResult
	if a.status != http.StatusOK {
		t.Fatalf("valid: %d %s", a.status, a.body)
	}
	a.decode(t, &res)
	if res.Result != station.ShopifyCreated || res.OrderID == "" {
		t.Fatalf("valid: %s", a.body)
	}
	var o station.Order
	b.ok("GET", "/api/v1/orders/"+res.OrderID, nil, &o)
	if o.ShipTo.Name != "José Ramírez" || o.Source != "shopify" || len(o.Lines) != 1 || o.Lines[0].Description != "IPod Nano - 8gb - green — “gift”" {
		t.Errorf("order: %+v", o)
	}
	// The replay: 200, nothing new.
	a = b.webhook(body, "w1")
	a.decode(t, &res)
	if a.status != http.StatusOK || res.Result != station.ShopifyDuplicate {
		t.Fatalf("replay: %d %s", a.status, a.body)
	}
	// Another topic: acknowledged and ignored.
	other := []byte(`{"id": 1, "name": "#1"}`)
	a = b.webhook(other, "w2", "X-Shopify-Topic", "orders/create")
	a.decode(t, &res)
	if a.status != http.StatusOK || res.Result != station.ShopifyIgnored {
		t.Fatalf("other topic: %d %s", a.status, a.body)
	}
	if n := b.orderTotal(); n != 1 {
		t.Fatalf("%d orders, want 1", n)
	}
	b.do("POST", "/webhooks/shopify", body, "X-Shopify-Hmac-Sha256", sign(shopifySecret, body)).wantError(t, http.StatusBadRequest, api.CodeInvalidField, "X-Shopify-Topic")
}

func TestShopifyWebhookOffWithoutSecret(t *testing.T) {
	b := newBench(t, nil)
	body := shopifyFulfillment(t)
	b.webhook(body, "w1").wantError(t, http.StatusServiceUnavailable, api.CodeUnavailable, "")
	if n := b.orderTotal(); n != 0 {
		t.Fatalf("%d orders", n)
	}
}

// TestShopifyCallbacksSeedURLs replays the seed's callback URLs, with the
// key header and with the callback token, and checks the documented shapes.
func TestShopifyCallbacksSeedURLs(t *testing.T) {
	b := shopifyBench(t)
	body := shopifyFulfillment(t)
	var res station.ShopifyResult
	b.webhook(body, "w1").decode(t, &res)
	var pkg station.Package
	b.ok("POST", "/api/v1/shipments", map[string]any{"order_id": res.OrderID, "weight": map[string]any{"milligrams": 400000}}, &pkg)
	b.ok("PUT", "/api/v1/stock/123", map[string]any{"quantity": 1000}, nil)
	b.ok("PUT", "/api/v1/stock/456", map[string]any{"quantity": 500}, nil)

	var info api.ShopifyInfo
	b.ok("GET", "/api/v1/shopify", nil, &info)
	if info.Handle != "packbench" || !info.WebhooksEnabled || !strings.HasPrefix(info.CallbackURL, b.ts.URL+"/shopify/") ||
		info.WebhookURL != b.ts.URL+"/webhooks/shopify" || len(info.Topics) != 2 {
		t.Fatalf("info %+v", info)
	}
	tokenPath := strings.TrimPrefix(info.CallbackURL, b.ts.URL)

	type tracking struct {
		TrackingNumbers map[string]string `json:"tracking_numbers"`
		Message         string            `json:"message"`
		Success         bool              `json:"success"`
	}
	strict := func(a answer, v any) {
		t.Helper()
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		dec := json.NewDecoder(bytes.NewReader(a.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("not the seed's shape: %v: %s", err, a.body)
		}
	}
	noKey := []string{"Authorization", ""}
	for _, u := range []string{
		// The seed's URL, the # percent-encoded as any HTTP client sends it.
		"/fetch_tracking_numbers.json?order_names[]=%231001.1&order_names[]=%231002.1&order_names[]=%231003.2",
		"/fetch_tracking_numbers?order_names%5B%5D=%231001.1&order_names%5B%5D=%231002.1&shop=testshop.myshopify.com",
		"/fetch_tracking_numbers.json?order_names[0]=%231001.1",
	} {
		for _, form := range []struct {
			path    string
			headers []string
		}{{u, nil}, {tokenPath + u, noKey}} {
			var tr tracking
			strict(b.do("GET", form.path, nil, form.headers...), &tr)
			if !tr.Success || tr.Message == "" || len(tr.TrackingNumbers) != 1 || tr.TrackingNumbers["#1001.1"] != pkg.TrackingNumber {
				t.Errorf("%s: %+v (want #1001.1 → %s)", form.path, tr, pkg.TrackingNumber)
			}
		}
	}
	var tr tracking
	strict(b.do("GET", "/fetch_tracking_numbers.json?order_names[]=%231001.1&shop=other.myshopify.com", nil), &tr)
	if len(tr.TrackingNumbers) != 0 {
		t.Errorf("another shop's names: %v", tr.TrackingNumbers)
	}
	b.do("GET", "/fetch_tracking_numbers.json", nil).wantError(t, http.StatusBadRequest, api.CodeInvalidField, "order_names[]")

	for _, c := range []struct {
		u    string
		want map[string]int64
	}{
		{"/fetch_stock.json?sku=123&shop=testshop.myshopify.com&max_retries=3&timestamp=1532548742", map[string]int64{"123": 1000}},
		{"/fetch_stock.json?shop=testshop.myshopify.com", map[string]int64{"123": 1000, "456": 500}},
		{"/fetch_stock?sku=789", map[string]int64{}},
	} {
		for _, form := range []struct {
			path    string
			headers []string
		}{{c.u, nil}, {tokenPath + c.u, noKey}} {
			var got map[string]int64
			strict(b.do("GET", form.path, nil, form.headers...), &got)
			if len(got) != len(c.want) {
				t.Errorf("%s: %v, want %v", form.path, got, c.want)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s: %v, want %v", form.path, got, c.want)
				}
			}
		}
	}
	b.do("GET", "/fetch_stock.json?timestamp=yesterday", nil).wantError(t, http.StatusBadRequest, api.CodeInvalidField, "timestamp")

	// Without a key or with a wrong token: 401.
	b.do("GET", "/fetch_stock.json", nil, noKey...).wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")
	b.do("GET", "/shopify/not-the-token-but-just-as-long-as-one/fetch_stock.json", nil, noKey...).wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")
	// The token never reaches the log.
	tok := strings.TrimPrefix(tokenPath, "/shopify/")
	if strings.Contains(b.log.String(), tok) {
		t.Error("the callback token was logged")
	}
	// Rotated: the old callback_url stops working.
	var rotated api.ShopifyInfo
	b.ok("POST", "/api/v1/shopify/callback-token/rotate", nil, &rotated)
	if rotated.CallbackURL == info.CallbackURL {
		t.Fatal("token not rotated")
	}
	b.do("GET", tokenPath+"/fetch_stock.json", nil, noKey...).wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")
	var got map[string]int64
	strict(b.do("GET", strings.TrimPrefix(rotated.CallbackURL, b.ts.URL)+"/fetch_stock.json?sku=456", nil, noKey...), &got)
	if got["456"] != 500 {
		t.Errorf("rotated: %v", got)
	}
}

func TestStockAPI(t *testing.T) {
	b := newBench(t, nil)
	var it station.StockItem
	b.ok("PUT", "/api/v1/stock/BOX%2FS", map[string]any{"quantity": 10, "reason": "count"}, &it)
	if it.SKU != "BOX/S" || it.Quantity != 10 {
		t.Fatalf("%+v", it)
	}
	b.ok("POST", "/api/v1/stock/BOX%2FS/adjust", map[string]any{"delta": -3}, &it)
	if it.Quantity != 7 {
		t.Fatalf("%+v", it)
	}
	var list struct {
		Stock []station.StockItem `json:"stock"`
	}
	b.ok("GET", "/api/v1/stock", nil, &list)
	if len(list.Stock) != 1 || list.Stock[0].Quantity != 7 {
		t.Fatalf("%+v", list)
	}
	b.do("GET", "/api/v1/stock/NONE", nil).wantError(t, http.StatusNotFound, api.CodeNotFound, "")
	b.do("PUT", "/api/v1/stock/X", map[string]any{}).wantError(t, http.StatusBadRequest, api.CodeInvalidField, "quantity")
	b.do("POST", "/api/v1/stock/X/adjust", map[string]any{"delta": "x"}).wantError(t, http.StatusBadRequest, api.CodeInvalidField, "delta")
	b.do("PUT", "/api/v1/stock/X", map[string]any{"quantity": 1, "colour": 1}).wantError(t, http.StatusBadRequest, api.CodeInvalidField, "colour")
	b.do("GET", "/api/v1/stock", nil, "Authorization", "").wantError(t, http.StatusUnauthorized, api.CodeUnauthorized, "")
}

// Shopify redelivers while the first delivery is still running (its 5 s
// timeout): concurrent deliveries of one webhook make one order.
func TestShopifyWebhookConcurrentRedeliveries(t *testing.T) {
	b := shopifyBench(t)
	body := shopifyFulfillment(t)
	done := make(chan answer, 8)
	for range 8 {
		go func() { done <- b.webhook(body, "same-id") }()
	}
	created := 0
	for range 8 {
		a := <-done
		var res station.ShopifyResult
		if a.status != http.StatusOK || json.Unmarshal(a.body, &res) != nil {
			t.Fatalf("%d %s", a.status, a.body)
		}
		switch res.Result {
		case station.ShopifyCreated:
			created++
		case station.ShopifyDuplicate, station.ShopifyExists:
		default:
			t.Errorf("result %s", a.body)
		}
	}
	if created != 1 || b.orderTotal() != 1 {
		t.Fatalf("%d created, %d orders; want 1", created, b.orderTotal())
	}
}
