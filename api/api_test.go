package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
)

const testKey = "test-key-0123456789abcdef0123456789abcdef"

// bench is a whole API under test: a real queue file, a real station with
// the local carrier, a simulated scale behind a real Link, and the API on
// a real HTTP server.
type bench struct {
	t       testing.TB
	db      *queue.DB
	st      *station.Station
	sim     *scale.Simulator
	link    *scale.Link
	srv     *api.Server
	hooks   *station.WebhookStore
	ts      *httptest.Server
	log     *syncBuffer
	prn     *printers
	streams chan struct{} // one value per finished event-stream request
}

type benchOptions struct {
	opts      *api.Options
	noStation bool
	noSim     bool
	config    any
	wrap      func(api.Printers) api.Printers
	carrier   station.Carrier
	// writeTimeout is the HTTP server's WriteTimeout (as the daemon may set).
	writeTimeout time.Duration
	// links is Deps.Links (nil: none).
	links api.Links
	// keys are API keys accepted besides testKey.
	keys []string
	// stationConfig is the station's config (zero: the defaults).
	stationConfig station.Config
	// deviceID is Deps.DeviceID.
	deviceID string
	// queue opens the data file (nil: defaults).
	queue *queue.Options
	// firmware is Deps.Firmware (nil: none).
	firmware api.Firmware
}

// printers is the daemon's printer view, settable by tests.
type printers struct {
	mu sync.Mutex
	ps []api.PrinterInfo
}

func (p *printers) Printers() []api.PrinterInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]api.PrinterInfo(nil), p.ps...)
}

func (p *printers) set(ps ...api.PrinterInfo) {
	p.mu.Lock()
	p.ps = ps
	p.mu.Unlock()
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newBench(t testing.TB, bo *benchOptions) *bench {
	t.Helper()
	if bo == nil {
		bo = &benchOptions{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &bench{t: t, log: &syncBuffer{}, prn: &printers{}, streams: make(chan struct{}, 16)}
	logger := slog.New(slog.NewTextHandler(b.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db, err := queue.Open(filepath.Join(t.TempDir(), "packbench.db"), bo.queue)
	if err != nil {
		t.Fatal(err)
	}
	b.db = db
	var wg sync.WaitGroup
	b.sim = scale.NewSimulator(nil)
	b.link = scale.NewLink(b.sim.Open, &scale.LinkOptions{Logger: logger, Source: "sim"})
	first, unsub := b.link.Subscribe(1)
	wg.Add(1)
	go func() { defer wg.Done(); b.link.Run(ctx) }()
	select { // the first reading, so Latest is set before any test runs
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("no first reading from the simulated scale")
	}
	unsub()
	if !bo.noStation {
		b.st, err = station.New(db, &station.Options{Printers: []string{"p1"}, Logger: logger, Carrier: bo.carrier, Config: bo.stationConfig})
		if err != nil {
			t.Fatal(err)
		}
		filter, err := scale.NewFilter(nil)
		if err != nil {
			t.Fatal(err)
		}
		readings, unsubFlow := b.link.Subscribe(16)
		wg.Add(2)
		go func() { defer wg.Done(); b.st.Run(ctx) }()
		go func() { defer wg.Done(); defer unsubFlow(); b.st.WatchScale(ctx, readings, filter) }()
	}
	b.prn.set(api.PrinterInfo{Name: "p1", Transport: "spool", Address: "/var/spool", State: device.StateReady, Known: true})
	var prn api.Printers = b.prn
	if bo.wrap != nil {
		prn = bo.wrap(prn)
	}
	deps := api.Deps{Queue: db, Station: b.st, Scale: b.link, Printers: prn, Keys: append([]string{testKey}, bo.keys...),
		Version: "v0.0.0-test", Logger: logger, Config: bo.config, Links: bo.links, DeviceID: bo.deviceID, Firmware: bo.firmware}
	b.hooks = station.NewWebhookStore(db, nil)
	deps.Webhooks = b.hooks
	if !bo.noSim {
		deps.Sim = b.sim
	}
	b.srv, err = api.New(deps, bo.opts)
	if err != nil {
		t.Fatal(err)
	}
	b.ts = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.srv.ServeHTTP(w, r)
		if r.URL.Path == "/api/v1/scale/events" {
			b.streams <- struct{}{}
		}
	}))
	b.ts.Config.WriteTimeout = bo.writeTimeout
	b.ts.Start()
	t.Cleanup(func() {
		b.srv.Close()
		b.ts.Close()
		cancel()
		wg.Wait()
		db.Close()
	})
	return b
}

// answer is one HTTP exchange.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) errBody(t testing.TB) (code, message, field string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
			// A station refusal's next step and typed problem (issue 19).
			Action  string          `json:"action"`
			Problem json.RawMessage `json:"problem"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body is not the error shape: %v: %s", err, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q", ct)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("error without code or message: %s", a.body)
	}
	return e.Error.Code, e.Error.Message, e.Error.Field
}

// wantError checks status, code and field of an error answer.
func (a answer) wantError(t testing.TB, status int, code, field string) string {
	t.Helper()
	if a.status != status {
		t.Fatalf("status = %d, want %d: %s", a.status, status, a.body)
	}
	c, msg, f := a.errBody(t)
	if c != code || f != field {
		t.Fatalf("error = code %q field %q (%s), want code %q field %q", c, f, msg, code, field)
	}
	return msg
}

func (a answer) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

// do sends a request with the test key (Bearer) unless headers say
// otherwise; body may be nil, a string (sent as is) or a value (JSON).
func (b *bench) do(method, path string, body any, headers ...string) answer {
	b.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	case []byte:
		rd = bytes.NewReader(v)
	default:
		j, err := json.Marshal(v)
		if err != nil {
			b.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, b.ts.URL+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := b.ts.Client().Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, data}
}

func (b *bench) ok(method, path string, body any, v any) {
	b.t.Helper()
	a := b.do(method, path, body)
	if a.status/100 != 2 {
		b.t.Fatalf("%s %s: status %d: %s", method, path, a.status, a.body)
	}
	if v != nil {
		a.decode(b.t, v)
	}
}

// enqueue commits a job directly in the queue.
func (b *bench) enqueue(key, printer string) queue.Job {
	b.t.Helper()
	j, _, err := b.db.Enqueue(context.Background(), queue.NewJob{Key: key, Source: queue.SourceHTTP, Printer: printer,
		ContentType: queue.ContentZPL, Payload: []byte("^XA^FDtest^FS^XZ")})
	if err != nil {
		b.t.Fatal(err)
	}
	return j
}

// waitReading waits until the Link published a reading matching ok.
func (b *bench) waitReading(ok func(scale.Reading) bool) scale.Reading {
	b.t.Helper()
	ch, unsub := b.link.Subscribe(4)
	defer unsub()
	if r, have := b.link.Latest(); have && ok(r) {
		return r
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case r := <-ch:
			if ok(r) {
				return r
			}
		case <-timeout:
			b.t.Fatal("the scale never showed the expected reading")
		}
	}
}

func validOrder(id string) map[string]any {
	return map[string]any{
		"id":                     id,
		"associated_identifiers": []string{"LPN-" + id},
		"ship_to": map[string]any{"name": "Ada Lovelace", "street1": "1 Analytical Way", "city": "London",
			"zip": "N1 9GU", "country": "GB"},
	}
}
