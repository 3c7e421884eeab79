package station

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/packbench/packbench/internal/clock"
	"github.com/packbench/packbench/queue"
)

// WebhookKind says which contract a subscription speaks.
type WebhookKind string

// Webhook kinds.
const (
	// WebhookPackbench: packbench's own subscriptions; the body is the
	// queue.Event JSON, topics are outbox event types (or "*").
	WebhookPackbench WebhookKind = "packbench"
	// WebhookTracktor: Tracktor's (seed 004) subscriptions; topics are the
	// seed's ten, the body is Tracktor's order or fulfillment JSON.
	WebhookTracktor WebhookKind = "tracktor"
)

// PackbenchTopics are the outbox event types a packbench subscription may
// name, besides "*" (every event). push.rejected is uplink's (MQTT):
// listed here so a typo is refused.
func PackbenchTopics() []string {
	return []string{
		queue.EventJobQueued, queue.EventJobState,
		EventOrderCreated, EventOrderCancelled, EventOrderShipped,
		EventPackageLabelled, EventPackageReprinted, EventPackageVoided,
		EventTrackingUpdated, EventStockChanged, EventShopifyRefused,
		EventFulfillmentFulfilled, EventFulfillmentCancelled, EventOrderDeleted, "push.rejected",
	}
}

// TracktorTopics are the seed's ten webhook topics: order/… fires on the
// order's roll-up, fulfillment/… on one package; pre_transit is
// order_ready (TopicStatus).
func TracktorTopics() []string {
	return []string{
		"order/all", "order/pre_transit", "order/in_transit", "order/out_for_delivery", "order/delivered",
		"fulfillment/all", "fulfillment/pre_transit", "fulfillment/in_transit", "fulfillment/out_for_delivery", "fulfillment/delivered",
	}
}

// Limits on a subscription.
const (
	MaxWebhookURL    = 2048
	MaxWebhookTopics = 32
	MaxWebhooks      = 64 // each is a goroutine and an outbox consumer holding events back
	// WebhookLogSize is how many attempts a subscription's delivery log keeps.
	WebhookLogSize = 50
)

// Webhook is a subscription. Secret is set only in the answer to the
// create: the store keeps it to sign, and never hands it out again.
type Webhook struct {
	ID        string      `json:"id"`
	Kind      WebhookKind `json:"kind"`
	URL       string      `json:"url"`
	Topics    []string    `json:"topics"`
	CreatedAt time.Time   `json:"created_at"`
	Secret    string      `json:"secret,omitempty"`
}

// Consumer is the subscription's outbox consumer name.
func (w Webhook) Consumer() string { return WebhookConsumerPrefix + w.ID }

// WebhookConsumerPrefix starts the outbox consumer name of every subscription.
const WebhookConsumerPrefix = "webhook:"

// storedWebhook is the bbolt record: the subscription with its secret.
type storedWebhook struct {
	Webhook
	Key string `json:"key"` // the secret (Webhook.Secret is never stored)
}

// Delivery is one attempt in a subscription's delivery log.
type Delivery struct {
	Time       time.Time  `json:"time"`
	EventID    uint64     `json:"event_id"`
	Topic      string     `json:"topic"`
	Attempt    int        `json:"attempt"`          // 1 for the first try of this event
	Status     int        `json:"status,omitempty"` // the receiver's HTTP status; 0 if none came
	Error      string     `json:"error,omitempty"`
	DurationMS float64    `json:"duration_ms"`
	NextRetry  *time.Time `json:"next_retry,omitempty"` // set when this attempt failed
}

// WebhookStore keeps webhook subscriptions in the bbolt file (records of
// kind queue.KindWebhooks) and their delivery logs (in memory, saved to
// the file by SaveDeliveries: a restart keeps the log up to the last
// save). One store per daemon: the API writes it, the delivery worker
// follows it through Changed. Safe for concurrent use.
type WebhookStore struct {
	db    *queue.DB
	clock clock.Clock

	createMu sync.Mutex // one create at a time: the MaxWebhooks check holds

	mu      sync.Mutex
	changed chan struct{}
	logs    map[string][]Delivery
	dirty   map[string]bool
}

// kindWebhookLog holds each subscription's saved delivery log.
const kindWebhookLog = "webhook-log"

// NewWebhookStore returns the store over db; a nil clock is the real one.
func NewWebhookStore(db *queue.DB, clk clock.Clock) *WebhookStore {
	if clk == nil {
		clk = clock.Real{}
	}
	return &WebhookStore{db: db, clock: clk, changed: make(chan struct{}), logs: map[string][]Delivery{}, dirty: map[string]bool{}}
}

// Changed returns a channel closed at the next create or delete.
func (s *WebhookStore) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *WebhookStore) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.changed)
	s.changed = make(chan struct{})
}

// CheckWebhookURL accepts an absolute http or https URL with a host and
// no user info, at most MaxWebhookURL bytes.
func CheckWebhookURL(field, raw string) error {
	if raw == "" {
		return fieldErr(field, "required")
	}
	if len(raw) > MaxWebhookURL {
		return fieldErr(field, "%d bytes, at most %d", len(raw), MaxWebhookURL)
	}
	if !utf8.ValidString(raw) || strings.ContainsAny(raw, " \t\r\n") {
		return fieldErr(field, "not a URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fieldErr(field, "not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fieldErr(field, "want an http or https URL, got scheme %q", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fieldErr(field, "want a host, like https://hooks.example.com/packbench")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fieldErr(field, "port %q: want 1 to 65535", p)
		}
	}
	if u.User != nil {
		return fieldErr(field, "no user info in the URL")
	}
	if u.Fragment != "" {
		return fieldErr(field, "no fragment in the URL")
	}
	if strings.ContainsAny(u.Hostname(), "%") && net.ParseIP(u.Hostname()) == nil {
		return fieldErr(field, "bad host")
	}
	return nil
}

// checkTopics checks a subscription's topics for its kind; field names
// the list ("topics", or Tracktor's "topic").
func checkTopics(kind WebhookKind, field string, topics []string) error {
	if len(topics) == 0 {
		return fieldErr(field, "required")
	}
	if len(topics) > MaxWebhookTopics {
		return fieldErr(field, "%d topics, at most %d", len(topics), MaxWebhookTopics)
	}
	var allowed []string
	switch kind {
	case WebhookPackbench:
		allowed = append(PackbenchTopics(), "*")
	case WebhookTracktor:
		allowed = TracktorTopics()
	default:
		return fieldErr("kind", "want packbench or tracktor, got %q", kind)
	}
	for i, t := range topics {
		if !slices.Contains(allowed, t) {
			f := field
			if len(topics) > 1 || field == "topics" {
				f = fmt.Sprintf("%s[%d]", field, i)
			}
			return fieldErr(f, "unknown topic %q, want one of %s", clip(t, 80), strings.Join(allowed, ", "))
		}
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// WebhookRequest is a new subscription. TopicField and URLField name the
// request's own members in errors (Tracktor's "topic" and "address");
// empty means "topics" and "url".
type WebhookRequest struct {
	Kind       WebhookKind
	URL        string
	Topics     []string
	TopicField string
	URLField   string
}

// CreateWebhook checks and stores a subscription and registers its outbox
// consumer at the current end of the outbox: it gets the events written
// from now on. The answer carries the secret, the only time it is shown.
func (s *WebhookStore) CreateWebhook(ctx context.Context, req WebhookRequest) (Webhook, error) {
	tf, uf := req.TopicField, req.URLField
	if tf == "" {
		tf = "topics"
	}
	if uf == "" {
		uf = "url"
	}
	if err := CheckWebhookURL(uf, req.URL); err != nil {
		return Webhook{}, err
	}
	topics := slices.Compact(slices.Sorted(slices.Values(req.Topics)))
	if err := checkTopics(req.Kind, tf, req.Topics); err != nil {
		return Webhook{}, err
	}
	var key [32]byte
	rand.Read(key[:]) // never fails (crypto/rand)
	secret := base64.RawURLEncoding.EncodeToString(key[:])
	w := Webhook{Kind: req.Kind, URL: req.URL, Topics: topics, CreatedAt: s.clock.Now().UTC().Truncate(time.Second)}
	s.createMu.Lock()
	defer s.createMu.Unlock()
	// The consumer first, at the outbox's end: a crash before the record
	// leaves an orphan consumer, which RemoveOrphans drops.
	last, err := s.db.LastEventID(ctx)
	if err != nil {
		return Webhook{}, fmt.Errorf("station: create webhook: %w", err)
	}
	err = s.db.Update(func(tx *queue.Tx) error {
		n, err := tx.ListRecords(queue.KindWebhooks, queue.RecordPage{Limit: MaxWebhooks})
		if err != nil {
			return err
		}
		if len(n) >= MaxWebhooks {
			return fmt.Errorf("%w: at most %d webhook subscriptions", ErrConflict, MaxWebhooks)
		}
		seq, err := tx.NextCounter("webhook")
		if err != nil {
			return err
		}
		w.ID = strconv.FormatUint(seq, 10)
		return nil
	})
	if err != nil {
		return Webhook{}, fmt.Errorf("station: create webhook: %w", err)
	}
	if err := s.db.AddConsumer(ctx, w.Consumer()); err != nil {
		return Webhook{}, fmt.Errorf("station: create webhook %s: %w", w.ID, err)
	}
	if last > 0 {
		if err := s.db.Ack(ctx, w.Consumer(), last); err != nil {
			return Webhook{}, fmt.Errorf("station: create webhook %s: %w", w.ID, err)
		}
	}
	v, err := json.Marshal(storedWebhook{Webhook: w, Key: secret})
	if err != nil {
		return Webhook{}, fmt.Errorf("station: create webhook: %w", err)
	}
	if err := s.db.PutRecord(ctx, queue.KindWebhooks, webhookKey(w.ID), v); err != nil {
		return Webhook{}, fmt.Errorf("station: create webhook %s: %w", w.ID, err)
	}
	s.notify()
	w.Secret = secret
	return w, nil
}

// webhookKey sorts ids numerically (zero-padded).
func webhookKey(id string) string {
	if len(id) < 20 {
		return strings.Repeat("0", 20-len(id)) + id
	}
	return id
}

// Webhooks returns every subscription, oldest first, without secrets.
func (s *WebhookStore) Webhooks(ctx context.Context) ([]Webhook, error) {
	all, err := s.list(ctx)
	for i := range all {
		all[i].Secret = ""
	}
	return all, err
}

// WebhooksWithSecrets is Webhooks with each secret in Secret: for the
// delivery worker, which signs with it. Nothing else may show it.
func (s *WebhookStore) WebhooksWithSecrets(ctx context.Context) ([]Webhook, error) {
	return s.list(ctx)
}

func (s *WebhookStore) list(ctx context.Context) ([]Webhook, error) {
	recs, err := s.db.ListRecords(ctx, queue.KindWebhooks, queue.RecordPage{})
	if err != nil {
		return nil, fmt.Errorf("station: list webhooks: %w", err)
	}
	out := make([]Webhook, 0, len(recs))
	for _, r := range recs {
		var sw storedWebhook
		if err := json.Unmarshal(r.Value, &sw); err != nil {
			return nil, fmt.Errorf("station: list webhooks: decode %s: %w", r.Key, err)
		}
		sw.Webhook.Secret = sw.Key
		out = append(out, sw.Webhook)
	}
	return out, nil
}

// Webhook returns one subscription without its secret, or ErrNotFound.
func (s *WebhookStore) Webhook(ctx context.Context, id string) (Webhook, error) {
	if id == "" || len(id) > 20 || strings.Trim(id, "0123456789") != "" {
		return Webhook{}, fmt.Errorf("station: webhook %q: %w", clip(id, 40), ErrNotFound)
	}
	v, err := s.db.GetRecord(ctx, queue.KindWebhooks, webhookKey(id))
	if errors.Is(err, queue.ErrNotFound) {
		return Webhook{}, fmt.Errorf("station: webhook %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Webhook{}, fmt.Errorf("station: webhook %s: %w", id, err)
	}
	var sw storedWebhook
	if err := json.Unmarshal(v, &sw); err != nil {
		return Webhook{}, fmt.Errorf("station: webhook %s: decode: %w", id, err)
	}
	sw.Webhook.Secret = ""
	return sw.Webhook, nil
}

// DeleteWebhook removes a subscription and its outbox consumer (so it no
// longer holds events back) and its delivery log. The worker stops its
// deliveries at the next Changed.
func (s *WebhookStore) DeleteWebhook(ctx context.Context, id string) error {
	w, err := s.Webhook(ctx, id)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *queue.Tx) error {
		if err := tx.DeleteRecord(queue.KindWebhooks, webhookKey(w.ID)); err != nil {
			return err
		}
		return tx.DeleteRecord(kindWebhookLog, webhookKey(w.ID))
	})
	if err != nil {
		return fmt.Errorf("station: delete webhook %s: %w", id, err)
	}
	if err := s.db.RemoveConsumer(ctx, w.Consumer()); err != nil && !errors.Is(err, queue.ErrNotFound) {
		return fmt.Errorf("station: delete webhook %s: %w", id, err)
	}
	s.mu.Lock()
	delete(s.logs, w.ID)
	delete(s.dirty, w.ID)
	s.mu.Unlock()
	s.notify()
	return nil
}

// RemoveOrphans drops "webhook:" outbox consumers without a subscription
// (a create that crashed half way, or a delete between its two writes),
// so they do not hold events back.
func (s *WebhookStore) RemoveOrphans(ctx context.Context) error {
	subs, err := s.list(ctx)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, w := range subs {
		have[w.Consumer()] = true
	}
	cons, err := s.db.Consumers(ctx)
	if err != nil {
		return fmt.Errorf("station: webhook consumers: %w", err)
	}
	for name := range cons {
		if strings.HasPrefix(name, WebhookConsumerPrefix) && !have[name] {
			if err := s.db.RemoveConsumer(ctx, name); err != nil && !errors.Is(err, queue.ErrNotFound) {
				return fmt.Errorf("station: remove orphan consumer %s: %w", name, err)
			}
		}
	}
	return nil
}

// RecordDelivery adds an attempt to id's log (in memory; SaveDeliveries
// writes it). The log keeps the last WebhookLogSize attempts.
func (s *WebhookStore) RecordDelivery(id string, d Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := append(s.logs[id], d)
	if len(l) > WebhookLogSize {
		l = slices.Clone(l[len(l)-WebhookLogSize:])
	}
	s.logs[id] = l
	s.dirty[id] = true
}

// Deliveries returns id's log, newest last: what is in memory, or else
// what the file kept from before a restart.
func (s *WebhookStore) Deliveries(ctx context.Context, id string) ([]Delivery, error) {
	w, err := s.Webhook(ctx, id)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	l, ok := s.logs[w.ID]
	l = slices.Clone(l)
	s.mu.Unlock()
	if ok {
		return l, nil
	}
	v, err := s.db.GetRecord(ctx, kindWebhookLog, webhookKey(w.ID))
	if errors.Is(err, queue.ErrNotFound) {
		return []Delivery{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("station: webhook %s deliveries: %w", id, err)
	}
	if err := json.Unmarshal(v, &l); err != nil {
		return nil, fmt.Errorf("station: webhook %s deliveries: decode: %w", id, err)
	}
	s.mu.Lock()
	if _, ok := s.logs[w.ID]; !ok {
		s.logs[w.ID] = slices.Clone(l)
	}
	s.mu.Unlock()
	return l, nil
}

// SaveDeliveries writes id's log to the file if it changed since the last
// save. Shared commits (queue.Batch): the worker calls it with its cursor
// writes.
func (s *WebhookStore) SaveDeliveries(ctx context.Context, id string) error {
	s.mu.Lock()
	if !s.dirty[id] {
		s.mu.Unlock()
		return nil
	}
	v, err := json.Marshal(s.logs[id])
	s.dirty[id] = false
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("station: save webhook %s deliveries: %w", id, err)
	}
	err = s.db.Batch(func(tx *queue.Tx) error {
		// A delete in between must not bring the log back.
		if _, err := tx.GetRecord(queue.KindWebhooks, webhookKey(id)); err != nil {
			return err
		}
		return tx.PutRecord(kindWebhookLog, webhookKey(id), v)
	})
	if errors.Is(err, queue.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("station: save webhook %s deliveries: %w", id, err)
	}
	return nil
}
