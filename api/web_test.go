package api_test

import (
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/queue"
)

// The page and its assets need no key; the API behind them still does.
func TestWebPageServedWithoutKey(t *testing.T) {
	b := newBench(t, nil)
	for _, c := range []struct {
		path, ctype, contains string
	}{
		{"/", "text/html", `<script src="/web/app.js" defer>`},
		{"/web/app.js", "text/javascript", "EventSource"},
		{"/web/app.css", "text/css", "--text:"},
	} {
		a := b.do("GET", c.path, nil, "Authorization", "")
		if a.status != 200 {
			t.Fatalf("GET %s without key: %d %s", c.path, a.status, a.body)
		}
		if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, c.ctype) {
			t.Errorf("GET %s: Content-Type %q, want %s", c.path, ct, c.ctype)
		}
		if !strings.Contains(string(a.body), c.contains) {
			t.Errorf("GET %s: body lacks %q", c.path, c.contains)
		}
		csp := a.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP %q", c.path, csp)
		}
		if a.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", c.path)
		}
	}
	if a := b.do("GET", "/web/nothing.js", nil, "Authorization", ""); a.status != 404 {
		t.Errorf("missing asset: %d", a.status)
	}
	if a := b.do("POST", "/", nil, "Authorization", ""); a.status != 405 {
		t.Errorf("POST /: %d, want 405", a.status)
	}
	// The page does not open the API.
	if a := b.do("GET", "/api/v1/printers", nil, "Authorization", ""); a.status != 401 {
		t.Errorf("printers without key: %d", a.status)
	}
	// The page is not an API route: the route list and the OpenAPI
	// document stay the API's (the seed contracts' own paths, such as
	// Fulfil's POST /label, are API routes outside /api/v1).
	for _, r := range b.srv.Routes() {
		if r.Path == "/" || r.Path == "/web" || strings.HasPrefix(r.Path, "/web/") || strings.HasSuffix(r.Path, ".html") {
			t.Errorf("route list has a page route: %s %s", r.Method, r.Path)
		}
	}
}

// Every API call the page makes is a registered route with that method: a
// renamed route cannot silently break the page.
func TestWebCallsRegisteredRoutes(t *testing.T) {
	b := newBench(t, nil)
	js, err := os.ReadFile("web/app.js")
	if err != nil {
		t.Fatal(err)
	}
	type use struct{ method, path string }
	var uses []use
	// call("POST", API + "/jobs/" + f.job_id + "/reprint", ...)
	callRe := regexp.MustCompile(`call\("(GET|POST|DELETE)", API \+ "([^"]*)"(?: \+ [^"]*? \+ "([^"]*)")?`)
	for _, m := range callRe.FindAllStringSubmatch(string(js), -1) {
		p := m[2]
		if strings.HasSuffix(p, "/") {
			p += "{}" + m[3]
		}
		uses = append(uses, use{m[1], p})
	}
	for _, m := range regexp.MustCompile(`loadRecent\(API \+ "([^"]+)"`).FindAllStringSubmatch(string(js), -1) {
		uses = append(uses, use{"GET", m[1]})
	}
	for _, m := range regexp.MustCompile(`fetchImage\(API \+ "([^"]*)" \+ [^"]*? \+ "([^"]*)"`).FindAllStringSubmatch(string(js), -1) {
		uses = append(uses, use{"GET", m[1] + "{}" + m[2]})
	}
	for _, m := range regexp.MustCompile(`new EventSource\(API \+ "([^"?]+)`).FindAllStringSubmatch(string(js), -1) {
		uses = append(uses, use{"GET", m[1]})
	}
	if len(uses) < 15 {
		t.Fatalf("found only %d API uses in app.js: the patterns above no longer match the script", len(uses))
	}
	routes := b.srv.Routes()
	matches := func(pattern, path string) bool {
		ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
		if len(ps) != len(xs) {
			return false
		}
		for i := range ps {
			if strings.HasPrefix(ps[i], "{") {
				continue
			}
			if ps[i] != xs[i] {
				return false
			}
		}
		return true
	}
	seen := map[string]bool{}
	for _, u := range uses {
		path := "/api/v1" + u.path
		seen[u.method+" "+path] = true
		ok := false
		for _, r := range routes {
			if r.Method == u.method && matches(r.Path, path) {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("app.js uses %s %s: no such API route", u.method, path)
		}
	}
	for _, want := range []string{"POST /api/v1/flow/scan", "GET /api/v1/scale/events", "POST /api/v1/jobs/{}/reprint",
		"POST /api/v1/printers/{}/test", "GET /api/v1/labels/{}.png", "POST /api/v1/scale/tare", "GET /api/v1/config",
		"GET /api/v1/flow-credentials", "POST /api/v1/flow-credentials", "DELETE /api/v1/flow-credentials/{}"} {
		if !seen[want] {
			t.Errorf("app.js does not call %s (or the extraction missed it)", want)
		}
	}
}

// Text colours meet WCAG AA (4.5:1) on every background app.css says they
// are used on.
func TestWebContrast(t *testing.T) {
	css, err := os.ReadFile("web/app.css")
	if err != nil {
		t.Fatal(err)
	}
	colours := map[string][3]float64{}
	for _, m := range regexp.MustCompile(`(--[a-z-]+):\s*#([0-9a-fA-F]{6});`).FindAllStringSubmatch(string(css), -1) {
		var c [3]float64
		for i := range 3 {
			v, _ := strconv.ParseUint(m[2][2*i:2*i+2], 16, 8)
			c[i] = float64(v) / 255
		}
		colours[m[1]] = c
	}
	pairs := regexp.MustCompile(`contrast: (--[a-z-]+) on (--[a-z-]+)`).FindAllStringSubmatch(string(css), -1)
	if len(pairs) < 10 {
		t.Fatalf("only %d contrast pairs documented in app.css", len(pairs))
	}
	for _, p := range pairs {
		fg, ok1 := colours[p[1]]
		bg, ok2 := colours[p[2]]
		if !ok1 || !ok2 {
			t.Errorf("contrast pair %s on %s: colour not defined as #rrggbb", p[1], p[2])
			continue
		}
		if r := contrast(fg, bg); r < 4.5 {
			t.Errorf("%s on %s: contrast %.2f:1, WCAG AA needs 4.5:1", p[1], p[2], r)
		} else {
			t.Logf("%s on %s: %.2f:1", p[1], p[2], r)
		}
	}
	// The check itself: black on white is 21:1, a light grey on white fails.
	if r := contrast([3]float64{0, 0, 0}, [3]float64{1, 1, 1}); math.Abs(r-21) > 0.01 {
		t.Fatalf("black on white = %.2f", r)
	}
	if r := contrast([3]float64{0.6, 0.6, 0.6}, [3]float64{1, 1, 1}); r >= 4.5 {
		t.Fatalf("#999 on white = %.2f, want < 4.5", r)
	}
}

// contrast is the WCAG 2 contrast ratio of two sRGB colours.
func contrast(a, b [3]float64) float64 {
	lum := func(c [3]float64) float64 {
		var l [3]float64
		for i, v := range c {
			if v <= 0.04045 {
				l[i] = v / 12.92
			} else {
				l[i] = math.Pow((v+0.055)/1.055, 2.4)
			}
		}
		return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
	}
	la, lb := lum(a), lum(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func TestTestPrint(t *testing.T) {
	b := newBench(t, nil)
	b.prn.set(api.PrinterInfo{Name: "p1", Transport: "tcp", State: device.StateReady, Known: true})
	a := b.do("POST", "/api/v1/printers/p1/test", nil)
	if a.status != 201 {
		t.Fatalf("test print: %d %s", a.status, a.body)
	}
	var j queue.Job
	a.decode(t, &j)
	stored, err := b.db.Job(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Printer != "p1" || stored.State != queue.StateQueued || stored.ContentType != queue.ContentZPL ||
		!strings.Contains(string(stored.Payload), "PACKBENCH TEST PRINT") || !strings.HasPrefix(string(stored.Payload), "^XA") {
		t.Fatalf("queued job %+v payload %q", stored, stored.Payload)
	}
	// A second test print is a new job, not the first one again.
	var j2 queue.Job
	b.do("POST", "/api/v1/printers/p1/test", nil).decode(t, &j2)
	if j2.ID == j.ID {
		t.Fatalf("second test print returned job %s again", j.ID)
	}
	// (station.TestTestPrint proves a printer name never becomes ZPL commands.)
	b.do("POST", "/api/v1/printers/nope/test", nil).wantError(t, 404, api.CodeNotFound, "")
	b.do("POST", "/api/v1/printers/p1/test", nil, "Authorization", "").wantError(t, 401, api.CodeUnauthorized, "")
}
