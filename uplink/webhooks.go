package uplink

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/packbench/packbench/internal/backoff"
	"github.com/packbench/packbench/internal/clock"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// Headers of every webhook delivery.
const (
	HeaderEventID   = "X-Packbench-Event-Id"    // the outbox event id: de-duplicate by it
	HeaderTopic     = "X-Packbench-Topic"       // the subscription topic the event matched
	HeaderTimestamp = "X-Packbench-Timestamp"   // unix seconds when this attempt was signed
	HeaderHMAC      = "X-Packbench-Hmac-Sha256" // base64 HMAC-SHA256 of the raw body
	// HeaderSignature covers the timestamp too: "t=<unix>,v1=<base64
	// HMAC-SHA256 of "<unix>.<raw body>">", so a replayed delivery can be
	// refused by its age.
	HeaderSignature = "X-Packbench-Signature"
)

// WebhookSubscriptions is what the delivery worker needs of the
// subscription store (station.WebhookStore).
type WebhookSubscriptions interface {
	WebhooksWithSecrets(ctx context.Context) ([]station.Webhook, error)
	Changed() <-chan struct{}
	RecordDelivery(id string, d station.Delivery)
	Deliveries(ctx context.Context, id string) ([]station.Delivery, error)
	SaveDeliveries(ctx context.Context, id string) error
	RemoveOrphans(ctx context.Context) error
}

var _ WebhookSubscriptions = (*station.WebhookStore)(nil)

// TracktorRenderer turns an outbox event into the body of a Tracktor
// delivery for topic; ok false means the event does not match the topic.
type TracktorRenderer func(ctx context.Context, topic string, ev queue.Event) (body []byte, ok bool, err error)

// WebhookOptions tune the delivery worker; nil or zero fields mean the
// defaults.
type WebhookOptions struct {
	Clock  Clock
	Logger *slog.Logger
	// Tracktor renders Tracktor subscriptions' bodies (api.Server's
	// TracktorWebhook); nil: they deliver nothing (logged once).
	Tracktor TracktorRenderer
	// RootCAs verifies receivers' certificates; nil means the system
	// roots. Verification is never turned off.
	RootCAs *x509.CertPool
	// Timeout bounds one attempt, connect to response (default 10 s).
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts of one
	// event (default 1 s and 5 min, exponential with jitter).
	MinBackoff, MaxBackoff time.Duration
	// MaxResponse is how much of a response body is read (default 64 KiB);
	// the rest is dropped with the connection.
	MaxResponse int64
	// AckDelay is how long a subscription's durable cursor may lag its
	// deliveries (default 100 ms): a crash inside it only delivers again.
	AckDelay time.Duration
	// Batch is how many events are read from the outbox at once (default 64).
	Batch int
	// Jitter is backoff's random source (tests); nil is math/rand.
	Jitter func() float64
}

func (o *WebhookOptions) withDefaults() WebhookOptions {
	var r WebhookOptions
	if o != nil {
		r = *o
	}
	if r.Clock == nil {
		r.Clock = clock.Real{}
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Timeout <= 0 {
		r.Timeout = 10 * time.Second
	}
	if r.MinBackoff <= 0 {
		r.MinBackoff = time.Second
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = 5 * time.Minute
	}
	r.MaxBackoff = max(r.MaxBackoff, r.MinBackoff)
	if r.MaxResponse <= 0 {
		r.MaxResponse = 64 << 10
	}
	if r.AckDelay <= 0 {
		r.AckDelay = 100 * time.Millisecond
	}
	if r.Batch <= 0 {
		r.Batch = 64
	}
	return r
}

// Webhooks delivers the outbox to webhook subscriptions: one goroutine per
// subscription drains its own outbox consumer, in order, at-least-once. A
// slow or dead receiver holds up only its own subscription.
type Webhooks struct {
	db     *queue.DB
	subs   WebhookSubscriptions
	o      WebhookOptions
	log    *slog.Logger
	client *http.Client

	tracktorOnce sync.Once
}

// NewWebhooks builds the delivery worker; run it with Run.
func NewWebhooks(db *queue.DB, subs WebhookSubscriptions, opts *WebhookOptions) (*Webhooks, error) {
	if db == nil || subs == nil {
		return nil, errors.New("uplink: new webhooks: queue and subscriptions are required")
	}
	o := opts.withDefaults()
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.RootCAs},
		TLSHandshakeTimeout: o.Timeout,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	client := &http.Client{
		Transport: tr,
		// A redirect is not a delivery: the POST is not replayed elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Webhooks{db: db, subs: subs, o: o, log: o.Logger, client: client}, nil
}

// Run starts a worker per subscription and follows creates and deletes
// until ctx ends; it returns after every worker stopped.
func (w *Webhooks) Run(ctx context.Context) error {
	type worker struct {
		cancel context.CancelFunc
		done   chan struct{}
		sub    station.Webhook
	}
	running := map[string]*worker{}
	defer func() {
		for _, wk := range running {
			wk.cancel()
		}
		for _, wk := range running {
			<-wk.done
		}
	}()
	if err := w.subs.RemoveOrphans(ctx); err != nil && ctx.Err() == nil {
		w.log.Warn("webhooks: remove orphan consumers", "err", err)
	}
	bo := backoff.Backoff{Min: w.o.MinBackoff, Max: w.o.MaxBackoff, Jitter: w.o.Jitter}
	for {
		changed := w.subs.Changed() // before the list: nothing slips between
		subs, err := w.subs.WebhooksWithSecrets(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.log.Warn("webhooks: list subscriptions", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-w.o.Clock.After(bo.Next()):
				continue
			}
		}
		bo.Reset()
		seen := map[string]bool{}
		for _, s := range subs {
			seen[s.ID] = true
			if wk, ok := running[s.ID]; ok {
				select {
				case <-wk.done: // ended (its consumer went): start again below if still listed
				default:
					continue
				}
			}
			wctx, cancel := context.WithCancel(ctx)
			wk := &worker{cancel: cancel, done: make(chan struct{}), sub: s}
			running[s.ID] = wk
			go func() {
				defer close(wk.done)
				w.deliverLoop(wctx, wk.sub)
			}()
		}
		for id, wk := range running {
			if !seen[id] {
				wk.cancel()
				<-wk.done
				delete(running, id)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-w.db.Fatal():
			return nil
		}
	}
}

// deliverLoop keeps one subscription's deliveries going: runOnce until
// ctx ends, with backoff after an outbox error.
func (w *Webhooks) deliverLoop(ctx context.Context, sub station.Webhook) {
	log := w.log.With("webhook", sub.ID, "host", hostOf(sub.URL))
	// Load the saved log, so new attempts are added to it.
	if _, err := w.subs.Deliveries(ctx, sub.ID); err != nil && ctx.Err() == nil {
		log.Warn("webhooks: read delivery log", "err", err)
	}
	bo := backoff.Backoff{Min: w.o.MinBackoff, Max: w.o.MaxBackoff, Jitter: w.o.Jitter}
	for ctx.Err() == nil {
		err := w.runOnce(ctx, sub, log)
		if err == nil || ctx.Err() != nil {
			return
		}
		if errors.Is(err, queue.ErrNotFound) || errors.Is(err, queue.ErrClosed) || errors.Is(err, queue.ErrBroken) {
			return // deleted, or the file is gone
		}
		log.Warn("webhooks: outbox", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-w.o.Clock.After(bo.Next()):
		}
	}
}

// runOnce drains the subscription's consumer from its durable cursor.
// Events go one at a time, in order; the next goes only after the last
// got a 2xx. The cursor follows at most AckDelay or Batch events behind.
func (w *Webhooks) runOnce(ctx context.Context, sub station.Webhook, log *slog.Logger) error {
	consumer := sub.Consumer()
	var sent, acked uint64
	var ackDue <-chan time.Time
	flush := func() error {
		ackDue = nil
		// Without ctx's cancel: what was delivered is worth recording.
		bg := context.WithoutCancel(ctx)
		if err := w.subs.SaveDeliveries(bg, sub.ID); err != nil {
			log.Warn("webhooks: save delivery log", "err", err)
		}
		if sent <= acked {
			return nil
		}
		if err := w.db.Ack(bg, consumer, sent); err != nil {
			return fmt.Errorf("uplink: webhook %s: ack: %w", sub.ID, err)
		}
		acked = sent
		return nil
	}
	defer func() { _ = flush() }()
	for {
		wake := w.db.WaitEvents() // before Events, so nothing slips between
		var all []queue.Event
		var err error
		if sent == 0 {
			all, err = w.db.Events(ctx, consumer, w.o.Batch)
		} else {
			// Past the durable cursor: the acknowledged lag is not read again.
			all, err = w.db.EventsAfter(ctx, sent, w.o.Batch)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("uplink: webhook %s: read outbox: %w", sub.ID, err)
		}
		evs := all[:0:0]
		for _, ev := range all {
			if ev.ID > sent {
				evs = append(evs, ev)
			}
		}
		if len(evs) == 0 {
			if sent > acked && ackDue == nil {
				ackDue = w.o.Clock.After(w.o.AckDelay)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-ackDue:
				if err := flush(); err != nil {
					return err
				}
			case <-wake:
			}
			continue
		}
		for _, ev := range evs {
			if err := w.deliverEvent(ctx, sub, ev, log, flush); err != nil {
				return err
			}
			if ctx.Err() != nil {
				return nil
			}
			sent = ev.ID
		}
		if sent-acked >= uint64(w.o.Batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// deliverEvent sends ev until a 2xx or ctx ends. beforeWait runs before
// each retry wait.
func (w *Webhooks) deliverEvent(ctx context.Context, sub station.Webhook, ev queue.Event, log *slog.Logger, beforeWait func() error) error {
	bo := backoff.Backoff{Min: w.o.MinBackoff, Max: w.o.MaxBackoff, Jitter: w.o.Jitter}
	for attempt := 1; ; attempt++ {
		topic, body, ok, err := w.render(ctx, sub, ev, log)
		if err == nil && !ok {
			return nil // not for this subscription: acknowledged without a request
		}
		start := w.o.Clock.Now()
		status := 0
		if err == nil {
			status, err = w.post(ctx, sub, topic, ev.ID, body)
		}
		if ctx.Err() != nil {
			return nil
		}
		d := station.Delivery{Time: start.UTC(), EventID: ev.ID, Topic: topic, Attempt: attempt, Status: status,
			DurationMS: float64(w.o.Clock.Now().Sub(start).Microseconds()) / 1000}
		if err == nil {
			w.subs.RecordDelivery(sub.ID, d)
			return nil
		}
		wait := bo.Next()
		next := start.Add(wait).UTC()
		d.Error, d.NextRetry = err.Error(), &next
		w.subs.RecordDelivery(sub.ID, d)
		log.Info("webhooks: delivery failed", "event", ev.ID, "attempt", attempt, "status", status, "err", err, "retry_in", wait)
		// The cursor of what went before, and the log with this failure,
		// on disk before a wait that may be long.
		if err := beforeWait(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.o.Clock.After(wait):
		}
	}
}

// render gives the topic and body of ev for sub; ok false: not for it.
func (w *Webhooks) render(ctx context.Context, sub station.Webhook, ev queue.Event, log *slog.Logger) (topic string, body []byte, ok bool, err error) {
	switch sub.Kind {
	case station.WebhookPackbench:
		if !slices.Contains(sub.Topics, "*") && !slices.Contains(sub.Topics, ev.Type) {
			return "", nil, false, nil
		}
		body, err := json.Marshal(ev)
		if err != nil {
			return ev.Type, nil, false, fmt.Errorf("encode event %d: %w", ev.ID, err)
		}
		return ev.Type, body, true, nil
	case station.WebhookTracktor:
		if w.o.Tracktor == nil {
			w.tracktorOnce.Do(func() {
				log.Warn("webhooks: no Tracktor renderer wired: Tracktor subscriptions deliver nothing")
			})
			return "", nil, false, nil
		}
		for _, t := range sub.Topics {
			body, ok, err := w.o.Tracktor(ctx, t, ev)
			if err != nil {
				return t, nil, false, fmt.Errorf("render %s: %w", t, err)
			}
			if ok {
				return t, body, true, nil
			}
		}
		return "", nil, false, nil
	}
	log.Warn("webhooks: unknown subscription kind", "kind", sub.Kind)
	return "", nil, false, nil
}

// post makes one attempt; a 2xx is a delivery, anything else an error.
func (w *Webhooks) post(ctx context.Context, sub station.Webhook, topic string, id uint64, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("request: %w", err)
	}
	ts := strconv.FormatInt(w.o.Clock.Now().Unix(), 10)
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "packbench-webhooks")
	h.Set(HeaderEventID, strconv.FormatUint(id, 10))
	h.Set(HeaderTopic, topic)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderHMAC, Sign(sub.Secret, body))
	h.Set(HeaderSignature, "t="+ts+",v1="+SignTimestamped(sub.Secret, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, trimURLError(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, w.o.MaxResponse))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// Sign is the X-Packbench-Hmac-Sha256 value: base64 HMAC-SHA256 of the raw
// body with the subscription's secret (its text, as shown at creation).
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SignTimestamped is the v1 part of X-Packbench-Signature: base64
// HMAC-SHA256 of timestamp + "." + body.
func SignTimestamped(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// trimURLError keeps the cause and drops the URL (its query may carry a
// receiver's token, and the log shows the host already).
func trimURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("post: %w", ue.Err)
	}
	return err
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
