package uplink

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/internal/clocktest"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// hookHit is one request a test receiver got.
type hookHit struct {
	id, topic, ts, sig, sig2 string
	body                     []byte
}

// receiver is a real HTTP server recording each delivery; answer decides
// the status (nil: 200).
type receiver struct {
	srv    *httptest.Server
	hits   chan hookHit
	answer func(h hookHit) int
}

func newReceiver(t testing.TB, answer func(h hookHit) int) *receiver {
	r := &receiver{hits: make(chan hookHit, 4096), answer: answer}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		h := hookHit{id: req.Header.Get(HeaderEventID), topic: req.Header.Get(HeaderTopic), ts: req.Header.Get(HeaderTimestamp),
			sig: req.Header.Get(HeaderHMAC), sig2: req.Header.Get(HeaderSignature), body: body}
		status := http.StatusOK
		if r.answer != nil {
			status = r.answer(h)
		}
		r.hits <- h
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// next returns the next hit, failing after a generous bound (a hang, not
// a timing assertion).
func (r *receiver) next(t testing.TB) hookHit {
	t.Helper()
	select {
	case h := <-r.hits:
		return h
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery arrived")
	}
	return hookHit{}
}

type hookBench struct {
	db    *queue.DB
	store *station.WebhookStore
	clock *clocktest.Clock
	path  string
}

func openHookBench(t testing.TB, path string) *hookBench {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "bench.db")
	}
	clk := clocktest.NewClock(time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC))
	db, err := queue.Open(path, &queue.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &hookBench{db: db, store: station.NewWebhookStore(db, clk), clock: clk, path: path}
}

// run starts the worker; the returned func stops it and waits.
func (b *hookBench) run(t testing.TB, o *WebhookOptions) func() {
	t.Helper()
	if o == nil {
		o = &WebhookOptions{}
	}
	if o.Clock == nil {
		o.Clock = b.clock
	}
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	w, err := NewWebhooks(b.db, b.store, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func (b *hookBench) create(t testing.TB, kind station.WebhookKind, url string, topics ...string) station.Webhook {
	t.Helper()
	wh, err := b.store.CreateWebhook(context.Background(), station.WebhookRequest{Kind: kind, URL: url, Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	return wh
}

func (b *hookBench) appendEvent(t testing.TB, typ string, data any) queue.Event {
	t.Helper()
	var raw json.RawMessage
	if data != nil {
		raw, _ = json.Marshal(data)
	}
	var ev queue.Event
	err := b.db.Update(func(tx *queue.Tx) error {
		var err error
		ev, err = tx.AppendEvent(queue.Event{Type: typ, Data: raw})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// checkSigned verifies both signatures of a hit with secret.
func checkSigned(t testing.TB, h hookHit, secret string) {
	t.Helper()
	if !hmac.Equal([]byte(h.sig), []byte(Sign(secret, h.body))) {
		t.Fatalf("event %s: %s %q does not verify", h.id, HeaderHMAC, h.sig)
	}
	if _, err := strconv.ParseInt(h.ts, 10, 64); err != nil {
		t.Fatalf("event %s: timestamp %q", h.id, h.ts)
	}
	if want := "t=" + h.ts + ",v1=" + SignTimestamped(secret, h.ts, h.body); h.sig2 != want {
		t.Fatalf("event %s: %s %q, want %q", h.id, HeaderSignature, h.sig2, want)
	}
	if Sign("another secret of the same length......", h.body) == h.sig {
		t.Fatal("signature does not depend on the secret")
	}
}

// tracking renders "tracking.updated" events whose data has a status for
// the Tracktor topics <order|fulfillment>/<status> and /all.
func tracking(_ context.Context, topic string, ev queue.Event) ([]byte, bool, error) {
	if ev.Type != "tracking.updated" {
		return nil, false, nil
	}
	var d struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return nil, false, err
	}
	scope, st, _ := strings.Cut(topic, "/")
	if st != "all" && st != d.Status {
		return nil, false, nil
	}
	body, _ := json.Marshal(map[string]any{scope: map[string]any{"shipment_status": d.Status, "event": ev.ID}})
	return body, true, nil
}

func TestWebhookSignedDeliveriesRightTopicsOnly(t *testing.T) {
	b := openHookBench(t, "")
	before := b.appendEvent(t, station.EventOrderCreated, map[string]string{"id": "old"}) // before any subscription: not delivered
	delivered, inTransit, orders, all := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	whDel := b.create(t, station.WebhookTracktor, delivered.srv.URL+"/hook?x=1", "fulfillment/delivered")
	whTr := b.create(t, station.WebhookTracktor, inTransit.srv.URL, "order/in_transit")
	whOrd := b.create(t, station.WebhookPackbench, orders.srv.URL, station.EventOrderCreated)
	whAll := b.create(t, station.WebhookPackbench, all.srv.URL, "*")
	for _, wh := range []station.Webhook{whDel, whTr, whOrd, whAll} {
		if len(wh.Secret) < 40 {
			t.Fatalf("secret %q: want 256 bits", wh.Secret)
		}
	}
	b.run(t, &WebhookOptions{Tracktor: tracking})

	e1 := b.appendEvent(t, station.EventOrderCreated, map[string]string{"id": "A1"})
	e2 := b.appendEvent(t, "tracking.updated", map[string]string{"status": "delivered"})
	e3 := b.appendEvent(t, "tracking.updated", map[string]string{"status": "in_transit"})

	h := delivered.next(t)
	checkSigned(t, h, whDel.Secret)
	if h.id != strconv.FormatUint(e2.ID, 10) || h.topic != "fulfillment/delivered" || !bytes.Contains(h.body, []byte(`"shipment_status":"delivered"`)) {
		t.Fatalf("fulfillment/delivered got event %s topic %s body %s, want event %d", h.id, h.topic, h.body, e2.ID)
	}
	// The in_transit subscriber's first delivery is e3: it was not given
	// e2 (deliveries are in order, so e2 would have come first).
	h = inTransit.next(t)
	checkSigned(t, h, whTr.Secret)
	if h.id != strconv.FormatUint(e3.ID, 10) || h.topic != "order/in_transit" {
		t.Fatalf("order/in_transit got event %s (%s), want %d only", h.id, h.topic, e3.ID)
	}
	h = orders.next(t)
	checkSigned(t, h, whOrd.Secret)
	var got queue.Event
	if err := json.Unmarshal(h.body, &got); err != nil || got.ID != e1.ID || got.Type != station.EventOrderCreated || h.topic != station.EventOrderCreated {
		t.Fatalf("order.created subscriber got %s (%v), want event %d", h.body, err, e1.ID)
	}
	for _, want := range []queue.Event{e1, e2, e3} {
		h := all.next(t)
		checkSigned(t, h, whAll.Secret)
		if h.id != strconv.FormatUint(want.ID, 10) || h.topic != want.Type {
			t.Fatalf("* subscriber: got event %s %s, want %d %s (and never %d from before it existed)", h.id, h.topic, want.ID, want.Type, before.ID)
		}
	}
	// A later order.created reaches the orders subscriber next: the
	// tracking events in between were acknowledged without a request.
	e4 := b.appendEvent(t, station.EventOrderCreated, map[string]string{"id": "A2"})
	if h := orders.next(t); h.id != strconv.FormatUint(e4.ID, 10) {
		t.Fatalf("orders subscriber got event %s, want %d", h.id, e4.ID)
	}
	// The delivery log shows the attempts.
	log, err := b.store.Deliveries(context.Background(), whOrd.ID)
	if err != nil || len(log) < 1 || log[0].EventID != e1.ID || log[0].Status != 200 || log[0].Attempt != 1 || log[0].NextRetry != nil {
		t.Fatalf("delivery log %+v, %v", log, err)
	}
}

// TestWebhookReceiverDownThenBack: events produced while the receiver
// answers 503 all arrive once it is back, in order, none lost; the
// retries wait with growing backoff; the log shows the failures.
func TestWebhookReceiverDownThenBack(t *testing.T) {
	b := openHookBench(t, "")
	var mu sync.Mutex
	down := true
	rc := newReceiver(t, func(hookHit) int {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	wh := b.create(t, station.WebhookPackbench, rc.srv.URL, "*")
	b.run(t, &WebhookOptions{MinBackoff: time.Second, MaxBackoff: time.Minute, Jitter: func() float64 { return 0 }})
	const n = 30
	var want []uint64
	for i := range n {
		want = append(want, b.appendEvent(t, "order.created", map[string]int{"i": i}).ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 4 { // four failed attempts of the first event, a backoff wait after each
		if h := rc.next(t); h.id != strconv.FormatUint(want[0], 10) {
			t.Fatalf("attempt %d: event %s, want the first, %d", i+1, h.id, want[0])
		}
		if err := b.clock.WaitWaiters(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if i < 3 {
			b.clock.Advance(time.Minute)
		}
	}
	if w := b.clock.Pending(); len(w) != 1 || w[0] != 4*time.Second {
		t.Fatalf("pending waits %v: want the 4th retry after 4s (1s doubled, jitter 0 keeps half: 8s/2)", w)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	b.clock.Advance(time.Minute)
	for i, id := range want {
		if h := rc.next(t); h.id != strconv.FormatUint(id, 10) {
			t.Fatalf("delivery %d: event %s, want %d (in order, none lost)", i, h.id, id)
		}
	}
	log, err := b.store.Deliveries(ctx, wh.ID)
	if err != nil {
		t.Fatal(err)
	}
	var failed int
	for _, d := range log {
		if d.Status == 503 {
			failed++
			if d.NextRetry == nil || d.Error == "" {
				t.Fatalf("failed attempt without next retry or error: %+v", d)
			}
		}
	}
	if failed != 4 || log[4].Attempt != 5 || log[4].Status != 204 {
		t.Fatalf("log: %d failures (want 4), then %+v", failed, log[min(4, len(log)-1)])
	}
}

// TestWebhookHungReceiverDoesNotDelayOthers: one receiver holds its
// request open; another subscription gets all its deliveries meanwhile.
func TestWebhookHungReceiverDoesNotDelayOthers(t *testing.T) {
	b := openHookBench(t, "")
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	}))
	defer hung.Close()
	defer close(release)
	fast := newReceiver(t, nil)
	b.create(t, station.WebhookPackbench, hung.URL, "*")
	b.create(t, station.WebhookPackbench, fast.srv.URL, "*")
	b.run(t, &WebhookOptions{Timeout: time.Hour})
	var ids []uint64
	for range 50 {
		ids = append(ids, b.appendEvent(t, "order.created", nil).ID)
	}
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the hung receiver never got its request")
	}
	for _, id := range ids {
		if h := fast.next(t); h.id != strconv.FormatUint(id, 10) {
			t.Fatalf("fast receiver got %s, want %d", h.id, id)
		}
	}
	select {
	case <-release:
		t.Fatal("released early")
	default: // the hung request is still open: the fast one did not wait for it
	}
}

// TestWebhookRestartResumes: a worker stopped mid-stream (its cursor
// lagging) and a reopened file deliver the rest, duplicates only with the
// same event id, nothing lost.
func TestWebhookRestartResumes(t *testing.T) {
	b := openHookBench(t, "")
	rc := newReceiver(t, nil)
	wh := b.create(t, station.WebhookPackbench, rc.srv.URL, "*")
	stop := b.run(t, &WebhookOptions{AckDelay: time.Hour, Batch: 1000})
	var ids []uint64
	for range 20 {
		ids = append(ids, b.appendEvent(t, "order.created", nil).ID)
	}
	seen := map[string]bool{}
	for range 10 {
		seen[rc.next(t).id] = true
	}
	stop()
	for range 20 {
		ids = append(ids, b.appendEvent(t, "order.created", nil).ID)
	}
	if err := b.db.Close(); err != nil {
		t.Fatal(err)
	}
	b2 := openHookBench(t, b.path)
	if subs, err := b2.store.Webhooks(context.Background()); err != nil || len(subs) != 1 || subs[0].ID != wh.ID || subs[0].Secret != "" {
		t.Fatalf("after reopen: %+v, %v", subs, err)
	}
	b2.run(t, nil)
	last := uint64(0)
	for len(seen) < len(ids) {
		h := rc.next(t)
		id, _ := strconv.ParseUint(h.id, 10, 64)
		if seen[h.id] {
			continue // a duplicate, with the same id
		}
		if id < last {
			t.Fatalf("event %d after %d", id, last)
		}
		last = id
		seen[h.id] = true
		checkSigned(t, h, wh.Secret)
	}
	for _, id := range ids {
		if !seen[strconv.FormatUint(id, 10)] {
			t.Fatalf("event %d lost", id)
		}
	}
}

// TestWebhookDeleteStops: a deleted subscription's consumer is gone and
// it gets nothing more.
func TestWebhookDeleteStops(t *testing.T) {
	b := openHookBench(t, "")
	gone, stays := newReceiver(t, nil), newReceiver(t, nil)
	whGone := b.create(t, station.WebhookPackbench, gone.srv.URL, "*")
	b.create(t, station.WebhookPackbench, stays.srv.URL, "*")
	b.run(t, nil)
	e1 := b.appendEvent(t, "order.created", nil)
	gone.next(t)
	stays.next(t)
	if err := b.store.DeleteWebhook(context.Background(), whGone.ID); err != nil {
		t.Fatal(err)
	}
	cons, err := b.db.Consumers(context.Background())
	if err != nil || len(cons) != 1 {
		t.Fatalf("consumers %v, %v: want only the remaining subscription's", cons, err)
	}
	if _, ok := cons[whGone.Consumer()]; ok {
		t.Fatal("deleted subscription's consumer still registered")
	}
	e2 := b.appendEvent(t, "order.created", nil)
	if h := stays.next(t); h.id != strconv.FormatUint(e2.ID, 10) {
		t.Fatalf("remaining got %s, want %d", h.id, e2.ID)
	}
	select {
	case h := <-gone.hits:
		if h.id != strconv.FormatUint(e1.ID, 10) { // a repeat of e1 is at-least-once; e2 is not allowed
			t.Fatalf("deleted subscription got event %s", h.id)
		}
	default:
	}
	if _, err := b.store.Deliveries(context.Background(), whGone.ID); err == nil {
		t.Fatal("deleted subscription still has a delivery log")
	}
}

// TestWebhookTLSVerified: a receiver whose certificate the bench does not
// trust gets nothing (the attempt is logged as failed); with its CA in
// RootCAs it gets the delivery.
func TestWebhookTLSVerified(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		b := openHookBench(t, "")
		hits := make(chan string, 16)
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits <- r.Header.Get(HeaderEventID)
		}))
		defer srv.Close()
		wh := b.create(t, station.WebhookPackbench, srv.URL, "*")
		o := &WebhookOptions{}
		if trusted {
			pool := x509.NewCertPool()
			pool.AddCert(srv.Certificate())
			o.RootCAs = pool
		}
		b.run(t, o)
		ev := b.appendEvent(t, "order.created", nil)
		if trusted {
			select {
			case id := <-hits:
				if id != strconv.FormatUint(ev.ID, 10) {
					t.Fatalf("got %s", id)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("no delivery over TLS with the CA trusted")
			}
			continue
		}
		// Untrusted: the first attempt fails on the certificate, then waits.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := b.clock.WaitWaiters(ctx, 1); err != nil {
			t.Fatal(err)
		}
		cancel()
		log, _ := b.store.Deliveries(context.Background(), wh.ID)
		if len(log) != 1 || log[0].Status != 0 || !strings.Contains(log[0].Error, "certificate") {
			t.Fatalf("log %+v: want one failed attempt naming the certificate", log)
		}
		select {
		case id := <-hits:
			t.Fatalf("untrusted receiver got event %s", id)
		default:
		}
	}
}

// TestWebhookTracktorWithoutRenderer: with no Tracktor renderer wired,
// Tracktor subscriptions get no request and hold nothing up.
func TestWebhookTracktorWithoutRenderer(t *testing.T) {
	b := openHookBench(t, "")
	tr, pb := newReceiver(t, nil), newReceiver(t, nil)
	b.create(t, station.WebhookTracktor, tr.srv.URL, "order/all")
	b.create(t, station.WebhookPackbench, pb.srv.URL, "order.created")
	b.run(t, nil)
	b.appendEvent(t, "tracking.updated", map[string]string{"status": "delivered"})
	e2 := b.appendEvent(t, "order.created", nil)
	if h := pb.next(t); h.id != strconv.FormatUint(e2.ID, 10) {
		t.Fatalf("packbench subscriber got %s", h.id)
	}
	e3 := b.appendEvent(t, "order.created", nil)
	if h := pb.next(t); h.id != strconv.FormatUint(e3.ID, 10) {
		t.Fatalf("packbench subscriber got %s", h.id)
	}
	select {
	case h := <-tr.hits:
		t.Fatalf("Tracktor subscriber got event %s without a renderer", h.id)
	default:
	}
}
