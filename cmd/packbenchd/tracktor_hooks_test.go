package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/uplink"
)

// tracktorReceiver records the Tracktor deliveries of one subscription.
type tracktorReceiver struct {
	mu     sync.Mutex
	secret string
	bodies []map[string]any
	bad    []string
}

func (h *tracktorReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.secret == "" || r.Header.Get(uplink.HeaderHMAC) != uplink.Sign(h.secret, body) {
		h.bad = append(h.bad, r.Header.Get(uplink.HeaderEventID))
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		h.bad = append(h.bad, "not JSON: "+string(body))
	}
	h.bodies = append(h.bodies, m)
	w.WriteHeader(http.StatusOK)
}

func (h *tracktorReceiver) got() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.bodies...)
}

// Issue 15 through the real daemon: Tracktor subscriptions made with the
// seed's webhooks.json, then manual status updates through the seed's
// POST orders/{id}.json. The fulfillment/delivered subscriber gets the
// delivered change, signed; the order/in_transit subscriber does not (its
// first delivery, in order per subscription, is the later in_transit
// change); the order shows delivered with days_since_ordered.
func TestTracktorWebhooksThroughTheDaemon(t *testing.T) {
	dir := t.TempDir()
	key := "tracktor-hooks-0123456789abcdef0123"
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + key})
	d.key = key
	var health struct {
		DeviceID string `json:"device_id"`
	}
	d.must("GET", "/api/v1/health", nil, &health)
	if health.DeviceID == "" {
		t.Fatal("health has no device_id")
	}
	base := "/apps/tracktor/api/admin/" + health.DeviceID

	delivered, inTransit := &tracktorReceiver{}, &tracktorReceiver{}
	srvDelivered, srvTransit := httptest.NewServer(delivered), httptest.NewServer(inTransit)
	defer srvDelivered.Close()
	defer srvTransit.Close()
	for _, sub := range []struct {
		topic string
		url   string
		rcv   *tracktorReceiver
	}{{"fulfillment/delivered", srvDelivered.URL, delivered}, {"order/in_transit", srvTransit.URL, inTransit}} {
		var created struct {
			Webhook struct {
				Secret string `json:"secret"`
			} `json:"webhook"`
			Secret string `json:"secret"`
		}
		d.must("POST", base+"/webhooks.json", map[string]any{"webhook": map[string]any{"topic": sub.topic, "address": sub.url}}, &created)
		secret := created.Webhook.Secret + created.Secret
		if secret == "" {
			t.Fatalf("create %s: no secret in the answer", sub.topic)
		}
		sub.rcv.mu.Lock()
		sub.rcv.secret = secret
		sub.rcv.mu.Unlock()
	}

	o := createOrder(t, d, "LPN-TRACKTOR-1", 1)
	d.must("POST", "/api/v1/shipments", map[string]any{"order_id": o.ID, "weight": map[string]any{"milligrams": 750000}}, nil)

	var order map[string]any
	d.must("POST", base+"/orders/"+o.ID+".json", map[string]any{"status": "delivered"}, &order)
	poll(t, "the fulfillment/delivered subscriber called", 30*time.Second, func() (bool, error) {
		got := delivered.got()
		if len(got) == 0 {
			return false, fmt.Errorf("no delivery yet")
		}
		return true, nil
	})
	d.must("GET", base+"/orders/"+o.ID+".json", nil, &order)
	if _, ok := order["days_since_ordered"]; !ok {
		t.Errorf("order after delivered: no days_since_ordered: %v", order)
	}
	d.must("POST", base+"/orders/"+o.ID+".json", map[string]any{"status": "in_transit"}, nil)
	poll(t, "the order/in_transit subscriber called", 30*time.Second, func() (bool, error) {
		if len(inTransit.got()) == 0 {
			return false, fmt.Errorf("no delivery yet")
		}
		return true, nil
	})

	first := delivered.got()[0]
	if first["topic"] != "fulfillment/delivered" {
		t.Errorf("delivered subscriber's first body has topic %v: %v", first["topic"], first)
	}
	for i, b := range inTransit.got() {
		if b["topic"] != "order/in_transit" {
			t.Errorf("in_transit subscriber's body %d has topic %v: %v", i, b["topic"], b)
		}
	}
	// Deliveries keep the outbox's order per subscription: had the
	// delivered change matched order/in_transit, it would have come first.
	if a, b := first["event_id"].(float64), inTransit.got()[0]["event_id"].(float64); b <= a {
		t.Errorf("the order/in_transit subscriber's first delivery is event %v, not after the delivered change (event %v)", b, a)
	}
	for _, r := range []*tracktorReceiver{delivered, inTransit} {
		r.mu.Lock()
		if len(r.bad) > 0 {
			t.Errorf("bad signatures or bodies: %v", r.bad)
		}
		r.mu.Unlock()
	}
}
