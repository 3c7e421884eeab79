package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/internal/clocktest"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
)

const otherKey = "other-integrator-key-0123456789abcdef"

// sameAnswer checks that a replay is the first answer byte for byte.
func sameAnswer(t *testing.T, what string, first, again answer) {
	t.Helper()
	if again.status != first.status || !bytes.Equal(again.body, first.body) ||
		again.header.Get("Location") != first.header.Get("Location") ||
		again.header.Get("Content-Type") != first.header.Get("Content-Type") {
		t.Fatalf("%s: replay differs:\nfirst %d %q %s\nagain %d %q %s", what, first.status, first.header.Get("Location"), first.body,
			again.status, again.header.Get("Location"), again.body)
	}
	if first.header.Get(api.HeaderReplayed) != "" || again.header.Get(api.HeaderReplayed) != "true" {
		t.Fatalf("%s: %s = %q then %q, want \"\" then \"true\"", what, api.HeaderReplayed,
			first.header.Get(api.HeaderReplayed), again.header.Get(api.HeaderReplayed))
	}
}

func orderTotal(t *testing.T, b *bench) int {
	t.Helper()
	var page station.OrderPage
	b.ok("GET", "/api/v1/orders", nil, &page)
	return page.Total
}

func jobTotal(t *testing.T, db *queue.DB) int {
	t.Helper()
	counts, err := db.Counts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// The red team: "the same POST /api/v1/shipments sent twice prints two
// labels with two tracking numbers, and POST /api/v1/orders without an id
// twice makes two orders." With an Idempotency-Key each create runs once
// and the retry gets the first answer.
func TestIdempotencyKeyReplaysEveryCreate(t *testing.T) {
	b := newBench(t, nil)
	order := validOrder("")
	delete(order, "id")
	delete(order, "associated_identifiers")

	first := b.do("POST", "/api/v1/orders", order, api.HeaderIdempotencyKey, "order-1")
	if first.status != 201 || first.header.Get("Location") == "" {
		t.Fatalf("create: %d %q %s", first.status, first.header.Get("Location"), first.body)
	}
	// The same body re-indented is the same request.
	pretty, _ := json.MarshalIndent(order, "", "   ")
	sameAnswer(t, "order", first, b.do("POST", "/api/v1/orders", pretty, api.HeaderIdempotencyKey, "order-1"))
	if n := orderTotal(t, b); n != 1 {
		t.Fatalf("%d orders after a repeated create, want 1", n)
	}
	var o station.Order
	first.decode(t, &o)

	ship := map[string]any{"order_id": o.ID, "weight": map[string]any{"milligrams": 900000}}
	first = b.do("POST", "/api/v1/shipments", ship, api.HeaderIdempotencyKey, "ship-1")
	if first.status != 201 {
		t.Fatalf("ship: %d %s", first.status, first.body)
	}
	sameAnswer(t, "shipment", first, b.do("POST", "/api/v1/shipments", ship, api.HeaderIdempotencyKey, "ship-1"))
	var sh station.Shipment
	b.ok("GET", "/api/v1/shipments/"+o.ID, nil, &sh)
	if len(sh.Packages) != 1 || jobTotal(t, b.db) != 1 {
		t.Fatalf("%d packages, %d jobs after a repeated shipment, want 1 and 1", len(sh.Packages), jobTotal(t, b.db))
	}

	reprint := "/api/v1/jobs/" + sh.Packages[0].JobID.String() + "/reprint"
	first = b.do("POST", reprint, nil, api.HeaderIdempotencyKey, "reprint-1")
	if first.status != 201 {
		t.Fatalf("reprint: %d %s", first.status, first.body)
	}
	sameAnswer(t, "reprint", first, b.do("POST", reprint, nil, api.HeaderIdempotencyKey, "reprint-1"))
	first = b.do("POST", "/api/v1/printers/p1/test", nil, api.HeaderIdempotencyKey, "test-1")
	if first.status != 201 {
		t.Fatalf("test print: %d %s", first.status, first.body)
	}
	sameAnswer(t, "test print", first, b.do("POST", "/api/v1/printers/p1/test", nil, api.HeaderIdempotencyKey, "test-1"))
	if n := jobTotal(t, b.db); n != 3 {
		t.Fatalf("%d jobs, want the label, one reprint and one test print", n)
	}

	// Without a key a create is a create (what the header is for).
	b.ok("POST", "/api/v1/orders", order, nil)
	if n := orderTotal(t, b); n != 2 {
		t.Fatalf("%d orders, want 2", n)
	}
}

func TestIdempotencyKeyRefusals(t *testing.T) {
	b := newBench(t, &benchOptions{keys: []string{otherKey}})
	b.ok("POST", "/api/v1/orders", validOrder("SO-I1"), nil)
	ship := func(grams int, key string, headers ...string) answer {
		return b.do("POST", "/api/v1/shipments", map[string]any{"order_id": "SO-I1", "weight": map[string]any{"milligrams": grams * 1000}},
			append([]string{api.HeaderIdempotencyKey, key}, headers...)...)
	}
	if a := ship(500, "k-1"); a.status != 201 {
		t.Fatalf("ship: %d %s", a.status, a.body)
	}
	// The same key for another request: 409 naming the header, nothing made.
	ship(600, "k-1").wantError(t, 409, api.CodeIdempotencyKeyReused, api.HeaderIdempotencyKey)
	b.do("POST", "/api/v1/orders", validOrder("SO-I2"), api.HeaderIdempotencyKey, "k-1").
		wantError(t, 409, api.CodeIdempotencyKeyReused, api.HeaderIdempotencyKey)
	// Another integrator's key space is its own: its k-1 is a new request.
	if a := b.do("POST", "/api/v1/orders", validOrder("SO-I2"), api.HeaderIdempotencyKey, "k-1", "Authorization", "Bearer "+otherKey); a.status != 201 || a.header.Get(api.HeaderReplayed) != "" {
		t.Fatalf("other API key, same Idempotency-Key: %d %s", a.status, a.body)
	}
	for _, bad := range []string{strings.Repeat("k", api.MaxIdempotencyKeyLen+1), "caf\u00e9", "tab\there"} {
		ship(700, bad).wantError(t, 400, api.CodeInvalidField, api.HeaderIdempotencyKey)
	}
	if a := ship(700, strings.Repeat("k", api.MaxIdempotencyKeyLen)); a.status != 409 || !strings.Contains(string(a.body), "already has its 1 package") {
		t.Fatalf("a 255-character key is accepted (and the order is full): %d %s", a.status, a.body)
	}
	// A failed request keeps no answer: the same key runs again.
	if a := ship(700, strings.Repeat("k", api.MaxIdempotencyKeyLen)); a.header.Get(api.HeaderReplayed) != "" {
		t.Fatalf("an error was replayed: %d %s", a.status, a.body)
	}
	if n := jobTotal(t, b.db); n != 1 {
		t.Fatalf("%d jobs, want 1", n)
	}
}

// gate is a carrier that holds every label until released, so two
// requests with the same key overlap.
type gate struct {
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	calls   int
}

func (g *gate) Label(ctx context.Context, req station.LabelRequest) (station.LabelResult, error) {
	g.mu.Lock()
	g.calls++
	g.mu.Unlock()
	g.entered <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
		return station.LabelResult{}, ctx.Err()
	}
	return station.LabelResult{TrackingNumber: "TRK-" + req.Reference}, nil
}

// Two requests with the same key at once: one runs, the other waits for it
// and gets its answer (whichever arrives first).
func TestIdempotencyKeyConcurrent(t *testing.T) {
	g := &gate{entered: make(chan struct{}, 4), release: make(chan struct{})}
	b := newBench(t, &benchOptions{carrier: g})
	b.ok("POST", "/api/v1/orders", map[string]any{"id": "SO-C1", "packages": 3, "ship_to": validOrder("x")["ship_to"]}, nil)
	body := map[string]any{"order_id": "SO-C1", "weight": map[string]any{"milligrams": 800000}}
	answers := make(chan answer, 2)
	go func() { answers <- b.do("POST", "/api/v1/shipments", body, api.HeaderIdempotencyKey, "same") }()
	<-g.entered // the first is asking the carrier
	go func() { answers <- b.do("POST", "/api/v1/shipments", body, api.HeaderIdempotencyKey, "same") }()
	close(g.release)
	a1, a2 := <-answers, <-answers
	if a1.header.Get(api.HeaderReplayed) == "true" {
		a1, a2 = a2, a1
	}
	sameAnswer(t, "concurrent shipment", a1, a2)
	g.mu.Lock()
	calls := g.calls
	g.mu.Unlock()
	if calls != 1 || jobTotal(t, b.db) != 1 {
		t.Fatalf("carrier asked %d times, %d jobs: want 1 and 1", calls, jobTotal(t, b.db))
	}
}

// idemServer is an API on a data file that the test closes and reopens.
type idemServer struct {
	db *queue.DB
	ts *httptest.Server
	s  *api.Server
}

func openIdemServer(t *testing.T, path string, clk *clocktest.Clock) *idemServer {
	t.Helper()
	db, err := queue.Open(path, &queue.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	st, err := station.New(db, &station.Options{Printers: []string{"p1"}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	sim := scale.NewSimulator(nil)
	s, err := api.New(api.Deps{Queue: db, Station: st, Scale: scale.NewLink(sim.Open, nil), Keys: []string{testKey}},
		&api.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return &idemServer{db: db, ts: httptest.NewServer(s), s: s}
}

func (is *idemServer) close() {
	is.s.Close()
	is.ts.Close()
	is.db.Close()
}

func (is *idemServer) post(t *testing.T, path, key string, body any) answer {
	t.Helper()
	j, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", is.ts.URL+path, bytes.NewReader(j))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set(api.HeaderIdempotencyKey, key)
	resp, err := is.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, data}
}

// Kept answers survive a restart, and expire after the retention through
// Housekeep (on the injected clock).
func TestIdempotencyKeyDurableAndExpires(t *testing.T) {
	path := filepath.Join(t.TempDir(), "packbench.db")
	clk := clocktest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	order := validOrder("")
	delete(order, "id")
	delete(order, "associated_identifiers")

	is := openIdemServer(t, path, clk)
	first := is.post(t, "/api/v1/orders", "restart-1", order)
	if first.status != 201 {
		t.Fatalf("create: %d %s", first.status, first.body)
	}
	is.close()

	is = openIdemServer(t, path, clk)
	sameAnswer(t, "after a restart", first, is.post(t, "/api/v1/orders", "restart-1", order))
	// Nothing expires before the retention.
	clk.Advance(api.DefaultIdempotencyRetention - time.Second)
	if n, err := is.s.Housekeep(t.Context()); err != nil || n != 0 {
		t.Fatalf("housekeep before the retention: %d, %v", n, err)
	}
	sameAnswer(t, "just before the retention", first, is.post(t, "/api/v1/orders", "restart-1", order))
	clk.Advance(time.Second)
	if n, err := is.s.Housekeep(t.Context()); err != nil || n != 1 {
		t.Fatalf("housekeep after the retention: %d, %v, want 1", n, err)
	}
	recs, err := is.db.ListRecords(t.Context(), "api-idempotency", queue.RecordPage{})
	if err != nil || len(recs) != 0 {
		t.Fatalf("records after housekeeping: %d, %v", len(recs), err)
	}
	// The key is free again: a new order.
	again := is.post(t, "/api/v1/orders", "restart-1", order)
	if again.status != 201 || again.header.Get(api.HeaderReplayed) != "" || bytes.Equal(again.body, first.body) {
		t.Fatalf("after expiry: %d %s", again.status, again.body)
	}
	is.close()
}

// POST /shipments with a package reference is safe to retry without an
// Idempotency-Key: the same package comes back; other content is 409.
func TestShipmentReferenceRetry(t *testing.T) {
	b := newBench(t, nil)
	b.ok("POST", "/api/v1/orders", map[string]any{"id": "SO-R1", "packages": 2, "ship_to": validOrder("x")["ship_to"]}, nil)
	body := map[string]any{"order_id": "SO-R1", "weight": map[string]any{"milligrams": 500000}, "reference": "fulfil-77"}
	var p1, p2 station.Package
	b.ok("POST", "/api/v1/shipments", body, &p1)
	b.ok("POST", "/api/v1/shipments", body, &p2)
	if p1.Reference != p2.Reference || p1.TrackingNumber != p2.TrackingNumber || p2.ClientReference != "fulfil-77" {
		t.Fatalf("retry made another package: %+v then %+v", p1, p2)
	}
	body["weight"] = map[string]any{"milligrams": 510000}
	b.do("POST", "/api/v1/shipments", body).wantError(t, 409, api.CodeConflict, "")
	if n := jobTotal(t, b.db); n != 1 {
		t.Fatalf("%d jobs, want 1", n)
	}
}

// The OpenAPI document shows the header on every create, and only there.
func TestOpenAPIDocumentsIdempotencyKey(t *testing.T) {
	b := newBench(t, nil)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string } `json:"parameters"`
			Responses  map[string]struct {
				Headers map[string]any `json:"headers"`
			} `json:"responses"`
		} `json:"paths"`
	}
	b.ok("GET", "/api/v1/openapi.json", nil, &doc)
	creates := map[string]string{"/api/v1/orders": "201", "/api/v1/shipments": "201",
		"/api/v1/jobs/{id}/reprint": "201", "/api/v1/printers/{name}/test": "201",
		"/api/v1/webhooks": "201", "/apps/tracktor/api/admin/{uuid}/webhooks.json": "200",
		"/api/v1/commands/sheet/print": "201", "/api/v1/print": "202"}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			has := false
			for _, p := range op.Parameters {
				has = has || (p.Name == api.HeaderIdempotencyKey && p.In == "header")
			}
			ok, create := creates[path]
			create = create && method == "post"
			if has != create {
				t.Errorf("%s %s: Idempotency-Key documented %v, want %v", method, path, has, create)
			}
			if create {
				if _, conflict := op.Responses["409"]; !conflict || op.Responses[ok].Headers[api.HeaderReplayed] == nil {
					t.Errorf("%s %s: no 409 or no %s header documented", method, path, api.HeaderReplayed)
				}
			}
		}
	}
}
