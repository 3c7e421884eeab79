package station

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/packbench/packbench/queue"
)

func TestWebhookStore(t *testing.T) {
	ctx := context.Background()
	dir, clk := t.TempDir(), newClock()
	db := openDB(t, dir, clk)
	s := NewWebhookStore(db, clk)
	// An event from before the subscription: not its business.
	if err := db.Update(func(tx *queue.Tx) error { return appendEvent(tx, EventOrderCreated, "old", map[string]string{}) }); err != nil {
		t.Fatal(err)
	}
	changed := s.Changed()
	a, err := s.CreateWebhook(ctx, WebhookRequest{Kind: WebhookTracktor, URL: "https://shop.example.com/t", Topics: []string{"order/delivered"}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	default:
		t.Fatal("create did not signal Changed")
	}
	b, err := s.CreateWebhook(ctx, WebhookRequest{Kind: WebhookPackbench, URL: "http://10.0.0.2:8080/x", Topics: []string{"job.state", "*", "job.state"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "1" || b.ID != "2" || len(a.Secret) != 43 || a.Secret == b.Secret || strings.Join(b.Topics, ",") != "*,job.state" {
		t.Fatalf("created %+v and %+v", a, b)
	}
	evs, err := db.Events(ctx, a.Consumer(), 10)
	if err != nil || len(evs) != 0 {
		t.Fatalf("a new subscription's consumer sees %v, %v: want nothing from before it", evs, err)
	}

	// Reopened: the subscriptions and their secrets are kept; reads hide them.
	db.Close()
	db = openDB(t, dir, clk)
	s = NewWebhookStore(db, clk)
	all, err := s.Webhooks(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "1" || all[1].URL != b.URL || all[0].Secret != "" || all[1].Secret != "" {
		t.Fatalf("after reopen: %+v, %v", all, err)
	}
	signing, err := s.WebhooksWithSecrets(ctx)
	if err != nil || signing[0].Secret != a.Secret || signing[1].Secret != b.Secret {
		t.Fatalf("secrets after reopen: %+v, %v", signing, err)
	}
	if one, err := s.Webhook(ctx, "2"); err != nil || one.Secret != "" || one.Kind != WebhookPackbench {
		t.Fatalf("get: %+v, %v", one, err)
	}

	// The delivery log: bounded, saved, read back after a reopen.
	for i := range WebhookLogSize + 5 {
		s.RecordDelivery(a.ID, Delivery{EventID: uint64(i + 1), Status: 200})
	}
	if err := s.SaveDeliveries(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openDB(t, dir, clk)
	s = NewWebhookStore(db, clk)
	log, err := s.Deliveries(ctx, a.ID)
	if err != nil || len(log) != WebhookLogSize || log[0].EventID != 6 || log[len(log)-1].EventID != WebhookLogSize+5 {
		t.Fatalf("log after reopen: %d entries, %v", len(log), err)
	}

	// Delete: the record, the consumer and the log go.
	if err := s.DeleteWebhook(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Webhook(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
	if err := s.DeleteWebhook(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted twice: %v", err)
	}
	cons, _ := db.Consumers(ctx)
	if _, ok := cons[a.Consumer()]; ok {
		t.Fatal("consumer kept")
	}
	if _, err := db.GetRecord(ctx, kindWebhookLog, webhookKey(a.ID)); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("log kept: %v", err)
	}
	// Ids are never reused.
	c, err := s.CreateWebhook(ctx, WebhookRequest{Kind: WebhookPackbench, URL: "https://x.example/", Topics: []string{"*"}})
	if err != nil || c.ID != "3" {
		t.Fatalf("after delete: %+v, %v", c, err)
	}
	// An orphan consumer (a create that crashed between its writes) goes.
	if err := db.AddConsumer(ctx, WebhookConsumerPrefix+"99"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveOrphans(ctx); err != nil {
		t.Fatal(err)
	}
	cons, _ = db.Consumers(ctx)
	_, orphan := cons[WebhookConsumerPrefix+"99"]
	_, hasB := cons[b.Consumer()]
	_, hasC := cons[c.Consumer()]
	if orphan || !hasB || !hasC {
		t.Fatalf("consumers after RemoveOrphans: %v", cons)
	}
}

func TestWebhookRequestChecks(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s := NewWebhookStore(openDB(t, t.TempDir(), clk), clk)
	for _, c := range []struct {
		req   WebhookRequest
		field string
	}{
		{WebhookRequest{Kind: WebhookPackbench, URL: "gopher://x.example/", Topics: []string{"*"}}, "url"},
		{WebhookRequest{Kind: WebhookPackbench, URL: "https:///path", Topics: []string{"*"}}, "url"},
		{WebhookRequest{Kind: WebhookPackbench, URL: "https://x.example:99999/", Topics: []string{"*"}}, "url"},
		{WebhookRequest{Kind: WebhookPackbench, URL: "https://x.example/a b", Topics: []string{"*"}}, "url"},
		{WebhookRequest{Kind: WebhookPackbench, URL: "https://x.example/#frag", Topics: []string{"*"}}, "url"},
		{WebhookRequest{Kind: WebhookTracktor, URL: "ftp://x.example/", Topics: []string{"order/all"}, URLField: "address"}, "address"},
		{WebhookRequest{Kind: WebhookTracktor, URL: "https://x.example/", Topics: []string{"*"}, TopicField: "topic"}, "topic"},
		{WebhookRequest{Kind: WebhookTracktor, URL: "https://x.example/", Topics: []string{"order/all", "nope"}}, "topics[1]"},
		{WebhookRequest{Kind: WebhookPackbench, URL: "https://x.example/", Topics: nil}, "topics"},
		{WebhookRequest{Kind: WebhookPackbench, URL: "https://x.example/", Topics: make([]string, MaxWebhookTopics+1)}, "topics"},
		{WebhookRequest{Kind: "zapier", URL: "https://x.example/", Topics: []string{"*"}}, "kind"},
	} {
		_, err := s.CreateWebhook(ctx, c.req)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want a field error on %s", c.req, err, c.field)
		}
	}
	if all, _ := s.Webhooks(ctx); len(all) != 0 {
		t.Fatalf("refused creates stored %v", all)
	}
	for i := range MaxWebhooks {
		if _, err := s.CreateWebhook(ctx, WebhookRequest{Kind: WebhookPackbench, URL: "https://x.example/", Topics: []string{"*"}}); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	if _, err := s.CreateWebhook(ctx, WebhookRequest{Kind: WebhookPackbench, URL: "https://x.example/", Topics: []string{"*"}}); !errors.Is(err, ErrConflict) {
		t.Fatalf("one over the limit: %v", err)
	}
}
