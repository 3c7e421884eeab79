package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/packbench/packbench/station"
)

func TestWebhookSubscriptions(t *testing.T) {
	b := newBench(t, nil)
	a := b.do("POST", "/api/v1/webhooks", map[string]any{"url": "https://hooks.example.com/in?t=1", "topics": []string{"order.created", "tracking.updated"}})
	if a.status != 201 {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	var wh station.Webhook
	a.decode(t, &wh)
	if wh.ID == "" || len(wh.Secret) < 43 || wh.Kind != station.WebhookPackbench || a.header.Get("Location") != "/api/v1/webhooks/"+wh.ID ||
		a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create answer %+v, headers %v", wh, a.header)
	}
	// The secret is shown once: never in a read.
	for _, path := range []string{"/api/v1/webhooks", "/api/v1/webhooks/" + wh.ID, "/api/v1/webhooks/" + wh.ID + "/deliveries"} {
		a := b.do("GET", path, nil)
		if a.status != 200 || strings.Contains(string(a.body), wh.Secret) || strings.Contains(string(a.body), `"secret"`) {
			t.Fatalf("GET %s: %d %s", path, a.status, a.body)
		}
	}
	var one station.Webhook
	b.ok("GET", "/api/v1/webhooks/"+wh.ID, nil, &one)
	if one.URL != wh.URL || len(one.Topics) != 2 {
		t.Fatalf("get: %+v", one)
	}
	// Its outbox consumer exists while it does.
	cons, err := b.db.Consumers(context.Background())
	if _, ok := cons[wh.Consumer()]; err != nil || !ok {
		t.Fatalf("consumers %v, %v", cons, err)
	}

	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"url": "ftp://hooks.example.com/", "topics": []string{"*"}}, "url"},
		{map[string]any{"url": "hooks.example.com/in", "topics": []string{"*"}}, "url"},
		{map[string]any{"url": "https://user:pw@hooks.example.com/", "topics": []string{"*"}}, "url"},
		{map[string]any{"url": "https://" + strings.Repeat("a", 3000) + ".com/", "topics": []string{"*"}}, "url"},
		{map[string]any{"topics": []string{"*"}}, "url"},
		{map[string]any{"url": "https://hooks.example.com/", "topics": []string{"order.created", "order.exploded"}}, "topics[1]"},
		{map[string]any{"url": "https://hooks.example.com/", "topics": []string{}}, "topics"},
		{map[string]any{"url": "https://hooks.example.com/", "topics": []string{"order/delivered"}}, "topics[0]"},
		{map[string]any{"url": "https://hooks.example.com/", "topics": []string{"*"}, "secret": "mine"}, "secret"},
	} {
		b.do("POST", "/api/v1/webhooks", c.body).wantError(t, 400, "invalid_field", c.field)
	}

	// An Idempotency-Key replays the create instead of making another.
	body := map[string]any{"url": "http://127.0.0.1:9/x", "topics": []string{"*"}}
	a1 := b.do("POST", "/api/v1/webhooks", body, "Idempotency-Key", "hook-1")
	a2 := b.do("POST", "/api/v1/webhooks", body, "Idempotency-Key", "hook-1")
	var w1, w2 station.Webhook
	a1.decode(t, &w1)
	a2.decode(t, &w2)
	if a1.status != 201 || a2.status != 201 || w1.ID != w2.ID || a2.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("idempotent create: %d %s / %d %s", a1.status, a1.body, a2.status, a2.body)
	}

	b.ok("DELETE", "/api/v1/webhooks/"+wh.ID, nil, nil)
	b.do("GET", "/api/v1/webhooks/"+wh.ID, nil).wantError(t, 404, "not_found", "")
	b.do("DELETE", "/api/v1/webhooks/"+wh.ID, nil).wantError(t, 404, "not_found", "")
	b.do("GET", "/api/v1/webhooks/"+wh.ID+"/deliveries", nil).wantError(t, 404, "not_found", "")
	b.do("GET", "/api/v1/webhooks/..%2Fx", nil).wantError(t, 404, "not_found", "")
	cons, _ = b.db.Consumers(context.Background())
	if _, ok := cons[wh.Consumer()]; ok {
		t.Fatal("the deleted subscription's consumer is still registered")
	}
}

func TestTracktorWebhooks(t *testing.T) {
	const dev = "3f0e9a52-7c1b-4d8e-9a43-0b5c2d7e8f10"
	b := newBench(t, &benchOptions{deviceID: dev})
	base := "/apps/tracktor/api/admin/" + dev
	key := []string{"Authorization", "", "x-api-key", testKey}

	b.do("GET", "/apps/tracktor/api/admin/another-uuid/webhooks.json", nil, key...).wantError(t, 404, "not_found", "")
	b.do("GET", base+"/webhooks.json", nil, "Authorization", "").wantError(t, 401, "unauthorized", "")

	// Shopify's shape, wrapped in "webhook".
	a := b.do("POST", base+"/webhooks.json", map[string]any{"webhook": map[string]any{"topic": "fulfillment/delivered", "address": "https://shop.example.com/tracktor"}}, key...)
	var created struct {
		Webhook struct {
			ID      int64  `json:"id"`
			Topic   string `json:"topic"`
			Address string `json:"address"`
			Secret  string `json:"secret"`
		} `json:"webhook"`
	}
	a.decode(t, &created)
	if a.status != 200 || created.Webhook.ID <= 0 || created.Webhook.Topic != "fulfillment/delivered" || len(created.Webhook.Secret) < 43 {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	// Flat works too.
	a = b.do("POST", base+"/webhooks.json", map[string]any{"topic": "order/all", "address": "http://10.0.0.5:8080/hook"}, key...)
	if a.status != 200 {
		t.Fatalf("flat create: %d %s", a.status, a.body)
	}
	// A packbench subscription is not listed by Tracktor.
	b.ok("POST", "/api/v1/webhooks", map[string]any{"url": "https://hooks.example.com/", "topics": []string{"*"}}, nil)

	var list struct {
		Webhooks []struct {
			ID     int64  `json:"id"`
			Topic  string `json:"topic"`
			Secret string `json:"secret"`
		} `json:"webhooks"`
	}
	a = b.do("GET", base+"/webhooks.json", nil, key...)
	a.decode(t, &list)
	if len(list.Webhooks) != 2 || list.Webhooks[0].ID != created.Webhook.ID || list.Webhooks[1].Topic != "order/all" || strings.Contains(string(a.body), "secret") {
		t.Fatalf("list: %s", a.body)
	}

	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"webhook": map[string]any{"topic": "order/shipped", "address": "https://shop.example.com/"}}, "webhook.topic"},
		{map[string]any{"topic": "order.created", "address": "https://shop.example.com/"}, "topic"},
		{map[string]any{"topic": "order/all", "address": "mailto:ops@example.com"}, "address"},
		{map[string]any{"webhook": map[string]any{"topic": "order/all", "address": "file:///etc/passwd"}}, "webhook.address"},
		{map[string]any{"webhook": map[string]any{"topic": "order/all"}}, "webhook.address"},
		{map[string]any{"address": "https://shop.example.com/"}, "topic"},
		{map[string]any{"webhook": map[string]any{"topic": "order/all", "address": "https://a.example/"}, "topic": "order/all"}, "webhook"},
		{map[string]any{"topic": "order/all", "address": "https://a.example/", "format": "xml"}, "format"},
	} {
		b.do("POST", base+"/webhooks.json", c.body, key...).wantError(t, 400, "invalid_field", c.field)
	}

	id := list.Webhooks[0].ID
	path := base + "/webhooks/" + itoa64(id) + ".json"
	a = b.do("DELETE", path, nil, key...)
	if a.status != 200 || strings.TrimSpace(string(a.body)) != "{}" {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	b.do("DELETE", path, nil, key...).wantError(t, 404, "not_found", "")
	b.do("DELETE", base+"/webhooks/"+itoa64(id), nil, key...).wantError(t, 404, "not_found", "")
	// The packbench subscription cannot be deleted through Tracktor.
	var all struct {
		Webhooks []station.Webhook `json:"webhooks"`
	}
	b.ok("GET", "/api/v1/webhooks", nil, &all)
	for _, w := range all.Webhooks {
		if w.Kind == station.WebhookPackbench {
			b.do("DELETE", base+"/webhooks/"+w.ID+".json", nil, key...).wantError(t, 404, "not_found", "")
		}
	}
}

func itoa64(v int64) string {
	var buf [20]byte
	i := len(buf)
	for v > 0 || i == len(buf) {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return string(buf[i:])
}
