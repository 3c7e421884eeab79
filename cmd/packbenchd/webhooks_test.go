package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/uplink"
)

// hookLog is a receiver's record of the daemon's deliveries.
type hookLog struct {
	mu      sync.Mutex
	orders  map[string]uint64 // order id (the event's key) → event id
	maxID   uint64
	hits    int
	badSeq  []string
	badSign []string
	gateAt  int           // the hit that waits for gate (0: none)
	gate    chan struct{} // closed to let the gated hit answer
	reached chan struct{} // closed when the gated hit arrived
}

func (h *hookLog) handler(secret string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev queue.Event
		_ = json.Unmarshal(body, &ev)
		h.mu.Lock()
		h.hits++
		n := h.hits
		if r.Header.Get(uplink.HeaderHMAC) != uplink.Sign(secret, body) {
			h.badSign = append(h.badSign, r.Header.Get(uplink.HeaderEventID))
		}
		id, _ := strconv.ParseUint(r.Header.Get(uplink.HeaderEventID), 10, 64)
		prev, dup := h.orders[ev.Key]
		switch {
		case id != ev.ID:
			h.badSeq = append(h.badSeq, fmt.Sprintf("header id %d, body id %d", id, ev.ID))
		case dup && prev != id:
			h.badSeq = append(h.badSeq, fmt.Sprintf("order %s came as event %d and %d", ev.Key, prev, id))
		case !dup && id < h.maxID:
			h.badSeq = append(h.badSeq, fmt.Sprintf("new event %d after %d", id, h.maxID))
		}
		h.orders[ev.Key] = id
		h.maxID = max(h.maxID, id)
		gated := n == h.gateAt
		h.mu.Unlock()
		if gated {
			close(h.reached)
			<-h.gate
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// TestWebhooksSurviveSIGKILL: the real daemon delivers order.created
// events to a local receiver; it is SIGKILLed while a delivery is in the
// receiver's hands, with more events waiting. After the restart every
// event arrives, in order, duplicates only with their first event id,
// every one signed.
func TestWebhooksSurviveSIGKILL(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir, nil)
	key, err := os.ReadFile(filepath.Join(dir, "api-key"))
	if err != nil {
		t.Fatal(err)
	}
	d.key = strings.TrimSpace(string(key))

	h := &hookLog{orders: map[string]uint64{}, gateAt: 30, gate: make(chan struct{}), reached: make(chan struct{})}
	var secret string
	var srvHandler http.Handler
	var hmu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hmu.Lock()
		hd := srvHandler
		hmu.Unlock()
		hd.ServeHTTP(w, r)
	}))
	defer srv.Close()
	defer func() {
		select {
		case <-h.gate:
		default:
			close(h.gate)
		}
	}()
	var created struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	d.must("POST", "/api/v1/webhooks", map[string]any{"url": srv.URL + "/hook", "topics": []string{"order.created"}}, &created)
	secret = created.Secret
	hmu.Lock()
	srvHandler = h.handler(secret)
	hmu.Unlock()

	const n = 80
	var want []string
	for i := range n {
		want = append(want, createOrder(t, d, fmt.Sprintf("LPN-HOOK-%03d", i), 1).ID)
	}
	select {
	case <-h.reached:
	case <-time.After(60 * time.Second):
		t.Fatal("the daemon never reached the 30th delivery")
	}
	d.kill() // the 30th delivery is in the receiver's hands, 50 more wait
	close(h.gate)

	d2 := startDaemon(t, dir, nil)
	d2.key = d.key
	poll(t, "every order.created delivered after the restart", 60*time.Second, func() (bool, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, id := range want {
			if _, ok := h.orders[id]; !ok {
				return false, fmt.Errorf("order %s not delivered", id)
			}
		}
		return true, nil
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.badSeq) > 0 || len(h.badSign) > 0 {
		t.Fatalf("out of order or duplicate with a new id: %v; bad signatures on events %v", h.badSeq, h.badSign)
	}
	if len(h.orders) != n {
		t.Fatalf("%d orders delivered, want %d", len(h.orders), n)
	}
	// The delivery log survived the restart (saved with the cursor) and
	// shows the second run's attempts.
	var log struct {
		Deliveries []struct {
			EventID uint64 `json:"event_id"`
			Status  int    `json:"status"`
		} `json:"deliveries"`
	}
	d2.must("GET", "/api/v1/webhooks/"+created.ID+"/deliveries", nil, &log)
	if len(log.Deliveries) == 0 || log.Deliveries[len(log.Deliveries)-1].Status != 204 {
		t.Fatalf("delivery log %+v", log.Deliveries)
	}
	t.Logf("%d requests for %d events (duplicates after the kill: %d)", h.hits, n, h.hits-n)
}

// TestBrowserWebhookLog: the admin page shows each subscription with its
// last attempt: the receiver's refusal and the next retry, then the
// success once it accepts.
func TestBrowserWebhookLog(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("headless Chromium is needed at %s (%v): run scripts/test, which installs Debian's chromium package", chromiumPath, err)
	}
	var mu sync.Mutex
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.WriteHeader(status)
	}))
	defer srv.Close()
	dir := t.TempDir()
	key := "browser-test-key-0123456789abcdef0123456789abcdef"
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + key})
	d.key = key
	var created struct {
		Secret string `json:"secret"`
	}
	d.must("POST", "/api/v1/webhooks", map[string]any{"url": srv.URL + "/erp", "topics": []string{"order.created"}}, &created)
	if created.Secret == "" {
		t.Fatal("the create answered no secret")
	}
	createOrder(t, d, "LPN-WEB-1", 1)

	p := newPage(t, d)
	p.viewport(1280, 800)
	p.do("open the page", chromedp.Navigate(d.url+"/"))
	p.do("type the key", chromedp.SendKeys(chromedp.ID("key-input"), key+kb.Enter))
	p.do("open the admin view", chromedp.Click(chromedp.ID("tab-admin")))
	p.waitJS("the subscription with its refused attempt and next retry", `(() => {
		const r = document.querySelector("#hook-rows tr"); if (!r || r.cells.length < 7) return false;
		return r.cells[2].textContent.endsWith("/erp") && r.cells[3].textContent === "order.created" &&
			r.cells[5].textContent.startsWith("503") && r.cells[6].textContent !== ""; })()`)
	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	// The retry comes after the backoff (1 – 2 s); the page refreshes every 5 s.
	p.waitJS("the delivery accepted", `(() => { const r = document.querySelector("#hook-rows tr");
		return r && r.cells[5].textContent.startsWith("200 in") && r.cells[6].textContent === "" &&
			r.cells[4].textContent.includes("attempt"); })()`)
	// The subscription's secret was shown once, by the create: the page,
	// which reads the subscriptions, never has it.
	if strings.Contains(p.evalString(`document.documentElement.outerHTML`), created.Secret) {
		t.Fatal("the admin view shows the subscription's secret")
	}
}
