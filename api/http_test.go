package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

func TestNewRefusesMissingParts(t *testing.T) {
	b := newBench(t, &benchOptions{noStation: true})
	cases := []struct {
		name string
		deps api.Deps
		want string
	}{
		{"no queue", api.Deps{Scale: b.link, Keys: []string{testKey}}, "Deps.Queue"},
		{"no scale", api.Deps{Queue: b.db, Keys: []string{testKey}}, "Deps.Scale"},
		{"no key", api.Deps{Queue: b.db, Scale: b.link}, "Deps.Keys"},
		{"short key", api.Deps{Queue: b.db, Scale: b.link, Keys: []string{"short"}}, "Deps.Keys[0]"},
		{"31-character key", api.Deps{Queue: b.db, Scale: b.link, Keys: []string{strings.Repeat("k", 31)}}, "at least 32 characters"},
	}
	for _, c := range cases {
		_, err := api.New(c.deps, nil)
		if !errors.Is(err, api.ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want ErrConfig naming %s", c.name, err, c.want)
		}
	}
}

func TestAuth(t *testing.T) {
	b := newBench(t, nil)
	cases := []struct {
		name    string
		path    string
		headers []string
		status  int
	}{
		{"health needs no key", "/api/v1/health", []string{"Authorization", ""}, 200},
		{"bearer", "/api/v1/jobs", nil, 200},
		{"bearer any case", "/api/v1/jobs", []string{"Authorization", "bearer " + testKey}, 200},
		{"x-api-key", "/api/v1/jobs", []string{"Authorization", "", "X-Api-Key", testKey}, 200},
		{"missing", "/api/v1/jobs", []string{"Authorization", ""}, 401},
		{"wrong bearer", "/api/v1/jobs", []string{"Authorization", "Bearer " + testKey + "x"}, 401},
		{"wrong x-api-key", "/api/v1/jobs", []string{"Authorization", "", "X-Api-Key", "nope"}, 401},
		{"basic scheme", "/api/v1/jobs", []string{"Authorization", "Basic " + testKey}, 401},
		{"query key refused off the event stream", "/api/v1/jobs?key=" + testKey, []string{"Authorization", ""}, 401},
		{"metrics need a key", "/metrics", []string{"Authorization", ""}, 401},
		{"openapi needs a key", "/api/v1/openapi.json", []string{"Authorization", ""}, 401},
		{"event stream refuses a wrong query key", "/api/v1/scale/events?key=nope", []string{"Authorization", ""}, 401},
	}
	for _, c := range cases {
		a := b.do("GET", c.path, nil, c.headers...)
		if a.status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, a.status, c.status, a.body)
			continue
		}
		if c.status == 401 {
			a.wantError(t, 401, api.CodeUnauthorized, "")
			if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: WWW-Authenticate = %q", c.name, a.header.Get("WWW-Authenticate"))
			}
		}
	}
	// The one place ?key= works: the event stream (EventSource cannot set headers).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.ts.URL+"/api/v1/scale/events?key="+testKey, nil)
	resp, err := b.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("event stream with ?key=: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The key never reaches the log, not even from the query string.
	cancel()
	<-b.streams
	if strings.Contains(b.log.String(), testKey) {
		t.Fatal("the API key appears in the log")
	}
	if !strings.Contains(b.log.String(), `route="GET /api/v1/jobs"`) {
		t.Fatalf("request log lacks the route pattern:\n%s", b.log.String())
	}
}

func TestErrorShapes(t *testing.T) {
	b := newBench(t, &benchOptions{opts: &api.Options{MaxBody: 2048}})
	b.enqueue("k1", "p1")
	big := `{"id":"SO1","ship_to":{"name":"` + strings.Repeat("x", 4096) + `"}}`
	cases := []struct {
		name                string
		method, path        string
		body                any
		headers             []string
		status              int
		code, field, inText string
	}{
		{"unknown path", "GET", "/api/v1/nothing", nil, nil, 404, api.CodeNotFound, "", "no such endpoint"},
		{"unknown top-level path", "GET", "/nothing-here", nil, nil, 404, api.CodeNotFound, "", ""},
		{"wrong method", "DELETE", "/api/v1/jobs", nil, nil, 405, api.CodeMethodNotAllowed, "", "GET"},
		{"unknown job", "GET", "/api/v1/jobs/j99", nil, nil, 404, api.CodeNotFound, "", ""},
		{"not a job id", "GET", "/api/v1/jobs/xyz", nil, nil, 404, api.CodeNotFound, "", "not a job id"},
		{"bad state filter", "GET", "/api/v1/jobs?state=lost", nil, nil, 400, api.CodeInvalidField, "state", "lost"},
		{"bad limit", "GET", "/api/v1/jobs?limit=0", nil, nil, 400, api.CodeInvalidField, "limit", ""},
		{"malformed JSON", "POST", "/api/v1/orders", `{"id":`, nil, 400, api.CodeInvalidJSON, "", ""},
		{"syntax error", "POST", "/api/v1/orders", `{"id" "x"}`, nil, 400, api.CodeInvalidJSON, "", "byte"},
		{"empty body", "POST", "/api/v1/orders", "", nil, 400, api.CodeInvalidJSON, "", "empty"},
		{"trailing data", "POST", "/api/v1/orders", `{"id":"a"} {"id":"b"}`, nil, 400, api.CodeInvalidJSON, "", "after"},
		{"unknown field", "POST", "/api/v1/orders", `{"id":"SO1","colour":"red"}`, nil, 400, api.CodeInvalidField, "colour", "colour: unknown field"},
		{"nested unknown field names the path", "POST", "/api/v1/orders", `{"ship_to":{"zipcode":"N1"}}`, nil, 400, api.CodeInvalidField, "ship_to.zipcode", "ship_to.zipcode: unknown field"},
		{"type error names the path", "POST", "/api/v1/orders", `{"ship_to":{"zip":12345}}`, nil, 400, api.CodeInvalidField, "ship_to.zip", "string"},
		{"validation names the path", "POST", "/api/v1/orders", `{"ship_to":{"name":"A","street1":"B","city":"C","country":"GB"}}`, nil, 400, api.CodeInvalidField, "ship_to.zip", ""},
		{"not JSON", "POST", "/api/v1/orders", `id=1`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, api.CodeUnsupportedMedia, "", ""},
		{"no content type", "POST", "/api/v1/orders", `{}`, []string{"Content-Type", ""}, 415, api.CodeUnsupportedMedia, "", ""},
		{"too large", "POST", "/api/v1/orders", big, nil, 413, api.CodeBodyTooLarge, "", "2048"},
		{"job conflict", "POST", "/api/v1/jobs/j1/retry", nil, nil, 409, api.CodeConflict, "", "queued"},
		{"sim needs one thing", "POST", "/api/v1/scale/sim", `{"grams":5,"script":"settle"}`, nil, 400, api.CodeInvalidField, "grams", ""},
		{"sim bad script", "POST", "/api/v1/scale/sim", `{"script":"jump 3m"}`, nil, 400, api.CodeInvalidField, "script", "unknown command"},
		{"sim bad status", "POST", "/api/v1/scale/sim", `{"grams":5,"status":"wobbly"}`, nil, 400, api.CodeInvalidField, "status", "wobbly"},
		{"sim bad grams", "POST", "/api/v1/scale/sim", `{"grams":1e400}`, nil, 400, api.CodeInvalidField, "grams", ""},
		{"sim grams not a number", "POST", "/api/v1/scale/sim", `{"grams":true}`, nil, 400, api.CodeInvalidField, "grams", ""},
		{"label without format", "GET", "/api/v1/labels/SO1-1", nil, nil, 404, api.CodeNotFound, "", ".zpl"},
		{"label not there", "GET", "/api/v1/labels/SO1-1.zpl", nil, nil, 404, api.CodeNotFound, "", ""},
		{"order not there", "GET", "/api/v1/orders/SO404", nil, nil, 404, api.CodeNotFound, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := b.do(c.method, c.path, c.body, c.headers...)
			msg := a.wantError(t, c.status, c.code, c.field)
			if !strings.Contains(msg, c.inText) {
				t.Errorf("message %q lacks %q", msg, c.inText)
			}
			if c.status == 405 && a.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestNotSimulatedAndNoStation(t *testing.T) {
	b := newBench(t, &benchOptions{noSim: true, noStation: true})
	b.do("POST", "/api/v1/scale/sim", `{"grams":100}`).wantError(t, 409, api.CodeNotSimulated, "")
	for _, p := range []string{"/api/v1/flow", "/api/v1/orders", "/api/v1/shipments", "/api/v1/labels/x.zpl"} {
		b.do("GET", p, nil).wantError(t, 503, api.CodeUnavailable, "")
	}
	b.do("POST", "/api/v1/flow/scan", `{"code":"x"}`).wantError(t, 503, api.CodeUnavailable, "")
}

func TestJobs(t *testing.T) {
	b := newBench(t, nil)
	var ids []queue.JobID
	for i := range 5 {
		printer := "p1"
		if i%2 == 1 {
			printer = "p2"
		}
		ids = append(ids, b.enqueue("key-"+strconv.Itoa(i), printer).ID)
	}
	type list struct {
		Jobs []queue.Job `json:"jobs"`
		Next string      `json:"next"`
	}
	// Paging: 2 + 2 + 1, each page continuing after the last.
	var got []queue.JobID
	path := "/api/v1/jobs?limit=2"
	for pages := 0; ; pages++ {
		var l list
		b.ok("GET", path, nil, &l)
		for _, j := range l.Jobs {
			got = append(got, j.ID)
		}
		if l.Next == "" {
			if pages != 2 {
				t.Fatalf("%d pages, want 3", pages+1)
			}
			break
		}
		path = "/api/v1/jobs?limit=2&after=" + l.Next
	}
	if len(got) != 5 || got[0] != ids[0] || got[4] != ids[4] {
		t.Fatalf("paged ids %v, want %v", got, ids)
	}
	var l list
	b.ok("GET", "/api/v1/jobs?printer=p2", nil, &l)
	if len(l.Jobs) != 2 || l.Jobs[0].Printer != "p2" {
		t.Fatalf("printer filter: %+v", l.Jobs)
	}

	// Cancel, then the conflicts a cancelled job has.
	var j queue.Job
	b.ok("POST", "/api/v1/jobs/"+ids[0].String()+"/cancel", map[string]string{"reason": "wrong box"}, &j)
	if j.State != queue.StateCancelled {
		t.Fatalf("after cancel: %s", j.State)
	}
	b.do("POST", "/api/v1/jobs/"+ids[0].String()+"/cancel", nil).wantError(t, 409, api.CodeConflict, "")
	b.do("POST", "/api/v1/jobs/"+ids[0].String()+"/retry", nil).wantError(t, 409, api.CodeConflict, "")
	b.do("POST", "/api/v1/jobs/"+ids[0].String()+"/mark-printed", nil).wantError(t, 409, api.CodeConflict, "")
	b.ok("GET", "/api/v1/jobs?state=cancelled", nil, &l)
	if len(l.Jobs) != 1 || l.Jobs[0].ID != ids[0] {
		t.Fatalf("state filter: %+v", l.Jobs)
	}

	// A job that failed can be retried and marked printed; history shows it all.
	ctx := context.Background()
	if _, err := b.db.Claim(ctx, "p1"); err != nil { // ids[2]: p1's oldest queued
		t.Fatal(err)
	}
	if _, err := b.db.SetState(ctx, ids[2], queue.StateFailed, "paper jam"); err != nil {
		t.Fatal(err)
	}
	b.ok("POST", "/api/v1/jobs/j"+strconv.Itoa(int(ids[2]))+"/retry", nil, &j) // short id form
	if j.State != queue.StateQueued || j.Attempts != 0 {
		t.Fatalf("after retry: %s attempts %d", j.State, j.Attempts)
	}
	b.ok("GET", "/api/v1/jobs/"+ids[2].String(), nil, &j)
	var trail []string
	for _, h := range j.History {
		trail = append(trail, string(h.To))
	}
	if strings.Join(trail, ",") != "queued,sending,failed,queued" {
		t.Fatalf("history %v", trail)
	}
	if j.History[3].Reason != "api" {
		t.Fatalf("default reason %q", j.History[3].Reason)
	}
}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	b := newBench(t, nil)
	a := b.do("GET", "/api/v1/openapi.json", nil)
	if a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	a.decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	// Every $ref resolves to a component schema.
	var whole map[string]any
	a.decode(t, &whole)
	schemas := whole["components"].(map[string]any)["schemas"].(map[string]any)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				name, found := strings.CutPrefix(ref, "#/components/schemas/")
				if _, ok := schemas[name]; !found || !ok {
					t.Errorf("dangling $ref %s", ref)
				}
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(whole)
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			key := strings.ToUpper(method) + " " + path
			documented[key] = true
			var op struct {
				Summary   string                     `json:"summary"`
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil || op.Summary == "" || len(op.Responses) == 0 {
				t.Errorf("%s: incomplete operation (%v)", key, err)
			}
		}
	}
	registered := map[string]bool{}
	for _, r := range b.srv.Routes() {
		key := r.Method + " " + r.Path
		registered[key] = true
		if !documented[key] {
			t.Errorf("registered but not documented: %s", key)
		}
	}
	for key := range documented {
		if !registered[key] {
			t.Errorf("documented but not registered: %s", key)
		}
	}
	// The brief's routes must all be there.
	for _, want := range []string{
		"GET /api/v1/health", "GET /api/v1/printers", "GET /api/v1/scale", "GET /api/v1/scale/events",
		"POST /api/v1/scale/zero", "POST /api/v1/scale/tare", "POST /api/v1/scale/sim", "GET /api/v1/jobs",
		"GET /api/v1/jobs/{id}", "POST /api/v1/jobs/{id}/cancel", "POST /api/v1/jobs/{id}/retry",
		"POST /api/v1/jobs/{id}/reprint", "POST /api/v1/jobs/{id}/mark-printed", "GET /api/v1/flow",
		"POST /api/v1/flow/scan", "POST /api/v1/flow/arm", "POST /api/v1/flow/disarm", "POST /api/v1/orders",
		"GET /api/v1/orders", "GET /api/v1/orders/{id}", "POST /api/v1/orders/{id}/void", "GET /api/v1/shipments",
		"GET /api/v1/shipments/{id}", "GET /api/v1/labels/{file}", "GET /api/v1/config", "GET /api/v1/openapi.json",
		"GET /metrics",
	} {
		if !documented[want] {
			t.Errorf("missing from the document: %s", want)
		}
	}
	// Every documented operation reaches a handler of its own: the mux's
	// "no such endpoint" and 405 answers never come back.
	for key := range documented {
		method, path, _ := strings.Cut(key, " ")
		if path == "/api/v1/scale/events" {
			continue // a stream: TestAuth and the event tests cover it
		}
		path = strings.NewReplacer("{id}", "x1", "{file}", "x1.zpl").Replace(path)
		a := b.do(method, path, nil)
		if a.status == 405 {
			t.Errorf("%s: 405", key)
		}
		if a.status == 404 && strings.Contains(string(a.body), "no such endpoint") {
			t.Errorf("%s: not routed", key)
		}
	}
}

func TestHealth(t *testing.T) {
	b := newBench(t, nil)
	// api.Health, with the scale part decoded loosely (scale.Reading has
	// no UnmarshalJSON).
	var h struct {
		api.Health
		Scale struct {
			Status    string         `json:"status"`
			Simulated bool           `json:"simulated"`
			Reading   map[string]any `json:"reading"`
		} `json:"scale"`
	}
	a := b.do("GET", "/api/v1/health", nil, "Authorization", "")
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	a.decode(t, &h)
	if h.Status != api.HealthOK || h.Version != "v0.0.0-test" || !h.Queue.Open || h.Scale.Status != "ok" ||
		!h.Scale.Simulated || len(h.Printers) != 1 || h.Flow == nil {
		t.Fatalf("health: %s", a.body)
	}
	if strings.Contains(string(a.body), testKey) || strings.Contains(string(a.body), "/var/spool") {
		t.Fatal("health shows the key or a printer address")
	}

	// Paper out: degraded, still 200, and it says which printer.
	b.prn.set(api.PrinterInfo{Name: "p1", Transport: "tcp", State: device.StatePaperOut, Known: true})
	a = b.do("GET", "/api/v1/health", nil)
	a.decode(t, &h)
	if a.status != 200 || h.Status != api.HealthDegraded || !strings.Contains(strings.Join(h.Problems, ";"), "printer p1: paper out") {
		t.Fatalf("paper out: %d %s", a.status, a.body)
	}

	// The scale powered off: the Link publishes a fault reading.
	b.prn.set(api.PrinterInfo{Name: "p1", State: device.StateReady, Known: true})
	b.sim.Power(false)
	b.waitReading(func(r scale.Reading) bool { return r.Status == scale.StatusFault })
	a = b.do("GET", "/api/v1/health", nil)
	a.decode(t, &h)
	if h.Status != api.HealthDegraded || h.Scale.Status != "fault" {
		t.Fatalf("scale off: %s", a.body)
	}
	b.sim.Power(true)

	// The data file gone: down, 503, same body shape.
	b.db.Close()
	a = b.do("GET", "/api/v1/health", nil)
	a.decode(t, &h)
	if a.status != 503 || h.Status != api.HealthDown || h.Queue.Open {
		t.Fatalf("queue closed: %d %s", a.status, a.body)
	}
	b.do("GET", "/api/v1/jobs", nil).wantError(t, 503, api.CodeUnavailable, "")
}

func TestConfigIsRedacted(t *testing.T) {
	type http struct {
		URL           string            `json:"url"`
		Authorization string            `json:"authorization"`
		Headers       map[string]string `json:"headers"`
	}
	cfg := map[string]any{
		"api":     map[string]any{"listen": "localhost:8080", "key": "super-secret-key-1"},
		"carrier": map[string]any{"kind": "http", "http": http{URL: "http://127.0.0.1:1/label", Authorization: "Bearer upstream-secret", Headers: map[string]string{"X-Custom": "hdr-secret"}}},
		"mqtt":    map[string]any{"password": "mqtt-secret", "client_token": "tok-secret"},
	}
	b := newBench(t, &benchOptions{config: cfg})
	a := b.do("GET", "/api/v1/config", nil)
	if a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	for _, secret := range []string{"super-secret-key-1", "upstream-secret", "hdr-secret", "mqtt-secret", "tok-secret"} {
		if strings.Contains(string(a.body), secret) {
			t.Errorf("config shows %s: %s", secret, a.body)
		}
	}
	if !strings.Contains(string(a.body), "localhost:8080") || !strings.Contains(string(a.body), "http://127.0.0.1:1/label") {
		t.Errorf("config lost its plain values: %s", a.body)
	}
}

// panicky is a printer view with a bug.
type panicky struct{}

func (panicky) Printers() []api.PrinterInfo { panic("boom") }

func TestPanicBecomesJSON500(t *testing.T) {
	b := newBench(t, &benchOptions{wrap: func(api.Printers) api.Printers { return panicky{} }})
	b.do("GET", "/api/v1/printers", nil).wantError(t, 500, api.CodeInternal, "")
	if !strings.Contains(b.log.String(), "boom") {
		t.Fatal("the panic is not logged")
	}
	// The server goes on.
	b.ok("GET", "/api/v1/jobs", nil, nil)
}

func TestPrintersAndScale(t *testing.T) {
	b := newBench(t, nil)
	var ps struct {
		Printers []api.PrinterInfo `json:"printers"`
	}
	b.ok("GET", "/api/v1/printers", nil, &ps)
	if len(ps.Printers) != 1 || ps.Printers[0].Name != "p1" || ps.Printers[0].State != device.StateReady {
		t.Fatalf("printers %+v", ps)
	}

	var sim struct {
		Reading map[string]any `json:"reading"`
	}
	b.ok("POST", "/api/v1/scale/sim", `{"grams":1234.5}`, &sim)
	if sim.Reading["milligrams"] != 1234500.0 || sim.Reading["status"] != "stable" {
		t.Fatalf("sim answer %+v", sim)
	}
	b.waitReading(func(r scale.Reading) bool { return r.Milligrams == 1234500 })
	var rd map[string]any
	b.ok("GET", "/api/v1/scale", nil, &rd)
	if rd["milligrams"] != 1234500.0 || rd["display"] != "1234.5 g" {
		t.Fatalf("scale reading %+v", rd)
	}
	b.ok("POST", "/api/v1/scale/sim", `{"grams":80,"status":"motion"}`, nil)
	b.waitReading(func(r scale.Reading) bool { return r.Milligrams == 80000 && r.Status == scale.StatusMotion })

	// Zero through the Link: the simulator empties.
	b.ok("POST", "/api/v1/scale/zero", nil, nil)
	b.waitReading(func(r scale.Reading) bool { return r.Status == scale.StatusZero })

	// A script runs in the background and says how long it takes.
	var sc struct {
		ScriptMS int64 `json:"script_ms"`
	}
	a := b.do("POST", "/api/v1/scale/sim", `{"script":"place 2300g; settle"}`)
	if a.status != 202 {
		t.Fatalf("script: %d %s", a.status, a.body)
	}
	a.decode(t, &sc)
	if sc.ScriptMS != 1100 {
		t.Fatalf("script_ms %d", sc.ScriptMS)
	}
	b.waitReading(func(r scale.Reading) bool { return r.Milligrams == 2300000 && r.Status == scale.StatusStable })
	// remove stops the script and empties the scale for good.
	b.ok("POST", "/api/v1/scale/sim", `{"remove":true}`, nil)
	if cur := b.sim.Current(); cur.Status != scale.StatusZero {
		t.Fatalf("after remove: %v", cur)
	}
}
