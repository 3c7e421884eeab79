package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

const (
	shopifyKey    = "shopify-e2e-key-0123456789abcdefghijkl"
	shopifySecret = "shpss_e2e_0123456789abcdef0123456789"
)

// shopifyGet sends a GET without any key header (as Shopify's callbacks
// come) and decodes the JSON answer.
func shopifyGet(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", url, resp.StatusCode, data, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		t.Fatalf("GET %s: not the seed's shape: %v: %s", url, err, data)
	}
}

// TestShopifyEndToEnd: a signed fulfillments/create to the real daemon
// (secret from PACKBENCH_SHOPIFY_SECRET) becomes a bench order; the
// packer scans the fulfillment name, the parcel goes on the scale, one
// label prints; the callback_url's fetch_tracking_numbers answers its
// tracking number and fetch_stock shows the stock it took.
func TestShopifyEndToEnd(t *testing.T) {
	emu, addr := emulator(t, nil)
	dir := t.TempDir()
	cfg := benchConfig(t, dir, addr, "[shopify]\nhandle = \"packbench\"\n")
	env := []string{"PACKBENCH_API_KEY=" + shopifyKey, "PACKBENCH_SHOPIFY_SECRET=" + shopifySecret}
	d := startDaemon(t, dir, env, "--config", cfg)
	d.key = shopifyKey
	if strings.Contains(d.log(), shopifySecret) {
		t.Fatal("the client secret was logged")
	}
	d.must("PUT", "/api/v1/stock/IPOD2008GREEN", map[string]any{"quantity": 10, "reason": "count"}, nil)

	body, err := os.ReadFile("../../api/testdata/shopify_fulfillment_create.json")
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, []byte(shopifySecret))
	m.Write(body)
	post := func(sig string) (int, []byte) {
		req, err := http.NewRequest("POST", d.url+"/webhooks/shopify", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Shopify-Topic", "fulfillments/create")
		req.Header.Set("X-Shopify-Shop-Domain", "testshop.myshopify.com")
		req.Header.Set("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
		req.Header.Set("X-Shopify-Hmac-Sha256", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, data
	}
	if status, data := post(base64.StdEncoding.EncodeToString([]byte("forged"))); status != http.StatusUnauthorized {
		t.Fatalf("forged: %d %s", status, data)
	}
	status, data := post(base64.StdEncoding.EncodeToString(m.Sum(nil)))
	var res station.ShopifyResult
	if status != http.StatusOK || json.Unmarshal(data, &res) != nil || res.Result != station.ShopifyCreated {
		t.Fatalf("webhook: %d %s", status, data)
	}

	var armed station.FlowState
	d.must("POST", "/api/v1/flow/scan", map[string]string{"code": "#1001.1"}, &armed)
	if armed.State != station.FlowArmed || armed.Order == nil || armed.Order.ID != res.OrderID {
		t.Fatalf("after scan: %+v, want armed with %s", armed, res.OrderID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d.must("POST", "/api/v1/scale/sim", map[string]string{"script": "place 640g; bounce; settle"}, nil)
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f := waitFlow(t, d, "label printed", func(f station.FlowState) bool { return f.JobState == queue.StatePrinted })
	checkLabel(t, emu.Labels()[0], f.TrackingNumber, "", "Chestnut Street 92", "Louisville", "KY 40202")

	// A redelivery changes nothing: no second order, no second label.
	if status, data := post(base64.StdEncoding.EncodeToString(m.Sum(nil))); status != http.StatusOK || !bytes.Contains(data, []byte(`"duplicate"`)) {
		t.Fatalf("redelivery: %d %s", status, data)
	}
	var page station.OrderPage
	d.must("GET", "/api/v1/orders", nil, &page)
	if page.Total != 1 {
		t.Fatalf("%d orders, want 1", page.Total)
	}
	allPrinted(t, d, 1)

	var info struct {
		CallbackURL string `json:"callback_url"`
	}
	d.must("GET", "/api/v1/shopify", nil, &info)
	if !strings.HasPrefix(info.CallbackURL, d.url+"/shopify/") {
		t.Fatalf("callback_url %q", info.CallbackURL)
	}
	var tr struct {
		TrackingNumbers map[string]string `json:"tracking_numbers"`
		Message         string            `json:"message"`
		Success         bool              `json:"success"`
	}
	shopifyGet(t, info.CallbackURL+"/fetch_tracking_numbers.json?order_names[]=%231001.1&order_names[]=%231002.1&shop=testshop.myshopify.com", &tr)
	if !tr.Success || len(tr.TrackingNumbers) != 1 || tr.TrackingNumbers["#1001.1"] != f.TrackingNumber {
		t.Fatalf("tracking numbers %+v, want #1001.1 → %s", tr, f.TrackingNumber)
	}
	var stock map[string]int64
	shopifyGet(t, info.CallbackURL+"/fetch_stock.json?sku=IPOD2008GREEN&shop=testshop.myshopify.com&max_retries=3&timestamp=1532548742", &stock)
	if len(stock) != 1 || stock["IPOD2008GREEN"] != 8 {
		t.Fatalf("stock %v, want IPOD2008GREEN 10 - 2 = 8", stock)
	}
	if strings.Contains(d.log(), strings.TrimPrefix(info.CallbackURL, d.url+"/shopify/")) {
		t.Error("the callback token was logged")
	}
	d.stop()
}
