package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/queue"
)

const printZPL = "^XA^FO50,50^A0N,40,40^FDAPI-1^FS^XZ"

// apiJobs lists the queue's jobs from the print API.
func apiJobs(t testing.TB, db *queue.DB) []queue.Job {
	t.Helper()
	js, err := db.List(context.Background(), queue.ListOptions{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []queue.Job
	for _, j := range js {
		if j.Source == queue.SourceAPI {
			out = append(out, j)
		}
	}
	return out
}

// labelServer serves what body says at /label, and counts nothing: each
// test reads what it needs from the answer.
func labelServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL + "/label"
}

// Every content kind becomes one committed job with source "api"; the
// answer is 202 with the job and its status URL (also Location).
func TestPrintEveryKind(t *testing.T) {
	b := newBench(t, nil)
	png := readFile(t, "../labelrender/testdata/carrier-4x6-203.png")
	spec := readFile(t, "../docs/examples/label.json")
	srvZPL := labelServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, printZPL)
	})
	srvPNG := labelServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write(png) })

	for _, tc := range []struct {
		name, ct string
		body     any
		query    string
		wantZPL  string // "" : a graphic or a rendered label (^XA... checked below)
		ref      string
	}{
		{"zpl json", "", map[string]any{"zpl": printZPL, "title": "order 7", "source": "wms"}, "", printZPL, "order 7"},
		{"png json", "", map[string]any{"png": png, "printer": "p1"}, "", "", ""},
		{"label json", "", map[string]any{"label": json.RawMessage(spec), "copies": 2}, "", "", ""},
		{"url zpl", "", map[string]any{"url": srvZPL}, "", printZPL, ""},
		{"url png", "", map[string]any{"url": srvPNG}, "", "", ""},
		{"raw zpl", "application/vnd.zebra.zpl", printZPL, "?title=raw&copies=3", printZPL, "raw"},
		{"raw png", "image/png", png, "?source=browser", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(apiJobs(t, b.db))
			var hs []string
			if tc.ct != "" {
				hs = []string{"Content-Type", tc.ct}
			}
			a := b.do("POST", "/api/v1/print"+tc.query, tc.body, hs...)
			if a.status != http.StatusAccepted {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			var ans api.PrintAnswer
			a.decode(t, &ans)
			if ans.ID == 0 || ans.StatusURL != "/api/v1/jobs/"+ans.ID.String() || a.header.Get("Location") != ans.StatusURL ||
				ans.EventsURL != ans.StatusURL+"/events" || ans.State != queue.StateQueued || ans.Source != queue.SourceAPI || ans.Printer != "p1" {
				t.Fatalf("answer %s (Location %q)", a.body, a.header.Get("Location"))
			}
			js := apiJobs(t, b.db)
			if len(js) != before+1 {
				t.Fatalf("%d api jobs, want %d", len(js), before+1)
			}
			j, err := b.db.Job(context.Background(), ans.ID)
			if err != nil {
				t.Fatal(err)
			}
			if j.ContentType != queue.ContentZPL || !bytes.HasPrefix(j.Payload, []byte("^XA")) || j.Ref != tc.ref {
				t.Fatalf("job %+v payload %.60q", j, j.Payload)
			}
			if tc.wantZPL != "" && string(j.Payload) != tc.wantZPL {
				t.Fatalf("payload %q, want the ZPL sent %q", j.Payload, tc.wantZPL)
			}
			if strings.Contains(tc.name, "png") && !bytes.Contains(j.Payload, []byte(":Z64:")) {
				t.Fatalf("png job is not a Z64 graphic: %.80q", j.Payload)
			}
			var got queue.Job
			b.ok("GET", ans.StatusURL, nil, &got)
			if got.ID != ans.ID || len(got.History) == 0 {
				t.Fatalf("status URL: %+v", got)
			}
		})
	}
	js := apiJobs(t, b.db)
	if js[0].Origin != "wms" || js[2].Copies != 2 || js[5].Copies != 3 || js[6].Origin != "browser" {
		t.Fatalf("origin/copies not kept: %+v", js)
	}
}

// The same Idempotency-Key twice is one job and the same answer; another
// body under it is 409; a new key is a new job.
func TestPrintIdempotencyKey(t *testing.T) {
	b := newBench(t, nil)
	body := map[string]any{"zpl": printZPL}
	a1 := b.do("POST", "/api/v1/print", body, "Idempotency-Key", "print-1")
	a2 := b.do("POST", "/api/v1/print", body, "Idempotency-Key", "print-1")
	if a1.status != 202 || a2.status != 202 || !bytes.Equal(a1.body, a2.body) || a2.header.Get(api.HeaderReplayed) != "true" {
		t.Fatalf("first %d %s, second %d %s (replayed %q)", a1.status, a1.body, a2.status, a2.body, a2.header.Get(api.HeaderReplayed))
	}
	if n := len(apiJobs(t, b.db)); n != 1 {
		t.Fatalf("%d jobs, want 1", n)
	}
	b.do("POST", "/api/v1/print", map[string]any{"zpl": "^XA^FDother^FS^XZ"}, "Idempotency-Key", "print-1").
		wantError(t, 409, api.CodeIdempotencyKeyReused, api.HeaderIdempotencyKey)
	if a := b.do("POST", "/api/v1/print", body, "Idempotency-Key", "print-2"); a.status != 202 || bytes.Equal(a.body, a1.body) {
		t.Fatalf("new key: %d %s", a.status, a.body)
	}
	if n := len(apiJobs(t, b.db)); n != 2 {
		t.Fatalf("%d jobs, want 2", n)
	}
}

// A URL that is slow, huge, failing or not a label is refused naming the
// cause, and nothing is queued.
func TestPrintURLRefusals(t *testing.T) {
	b := newBench(t, &benchOptions{opts: &api.Options{PrintURLTimeout: 300 * time.Millisecond, PrintURLMaxBytes: 64 << 10}})
	slow := labelServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.zebra.zpl")
		w.WriteHeader(200)
		fmt.Fprint(w, "^XA")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // never finishes: the bench gives up
	})
	huge := labelServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("^XA^FDx^FS^XZ\n"), 10000)) // 140 KB, chunked
	})
	html := labelServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>not a label</body></html>")
	})
	missing := labelServer(t, http.NotFound)
	badZPL := labelServer(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "^XA^JUS^XZ") })
	for _, tc := range []struct{ name, url, want string }{
		{"slow", slow, "no complete answer within 300ms"},
		{"huge", huge, "more than the 65536 bytes"},
		{"not a label", html, "(text/html, 37 bytes) is not a label"},
		{"404", missing, "404"},
		{"policy", badZPL, "not printable"},
		{"refused connection", "http://127.0.0.1:1/label", "fetching failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := b.do("POST", "/api/v1/print", map[string]any{"url": tc.url}).wantError(t, 422, api.CodeURLRefused, "url")
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("message %q, want it to say %q", msg, tc.want)
			}
		})
	}
	b.do("POST", "/api/v1/print", map[string]any{"url": "ftp://example.com/x.zpl"}).wantError(t, 400, api.CodeInvalidField, "url")
	if js := apiJobs(t, b.db); len(js) != 0 {
		t.Fatalf("refused URLs queued %d jobs", len(js))
	}
}

// Bodies that are not one printable thing are refused naming the field.
func TestPrintRefusals(t *testing.T) {
	b := newBench(t, nil)
	if msg := b.do("POST", "/api/v1/print", map[string]any{"zpl": printZPL, "png": []byte("x")}).wantError(t, 400, api.CodeInvalidField, ""); !strings.Contains(msg, "got 2: zpl, png") {
		t.Fatalf("two kinds: %q", msg)
	}
	b.do("POST", "/api/v1/print", map[string]any{"copies": 2}).wantError(t, 400, api.CodeInvalidField, "")
	b.do("POST", "/api/v1/print", map[string]any{"zpl": printZPL, "colour": "red"}).wantError(t, 400, api.CodeInvalidField, "colour")
	b.do("POST", "/api/v1/print", map[string]any{"zpl": printZPL, "printer": "nope"}).wantError(t, 400, api.CodeInvalidField, "printer")
	b.do("POST", "/api/v1/print", map[string]any{"zpl": printZPL, "copies": 1001}).wantError(t, 400, api.CodeInvalidField, "copies")
	b.do("POST", "/api/v1/print", map[string]any{"zpl": "^XA^JUS^XZ"}).wantError(t, 400, api.CodeInvalidField, "zpl")
	b.do("POST", "/api/v1/print", map[string]any{"png": []byte("not a png")}).wantError(t, 400, api.CodeInvalidField, "png")
	b.do("POST", "/api/v1/print", map[string]any{"label": map[string]any{}}).wantError(t, 400, api.CodeInvalidField, "label.from")
	b.do("POST", "/api/v1/print?colour=red", printZPL, "Content-Type", "application/vnd.zebra.zpl").wantError(t, 400, api.CodeInvalidField, "colour")
	b.do("POST", "/api/v1/print", "hello", "Content-Type", "text/csv").wantError(t, 415, api.CodeUnsupportedMedia, "")
	// No PDF engine wired: 415, through the one hook.
	msg := b.do("POST", "/api/v1/print", map[string]any{"pdf": []byte("%PDF-1.4 ...")}).wantError(t, 415, api.CodeUnsupportedMedia, "")
	if !strings.Contains(msg, "PDF not supported yet") {
		t.Fatalf("pdf: %q", msg)
	}
	b.do("POST", "/api/v1/print", "%PDF-1.4", "Content-Type", "application/pdf").wantError(t, 415, api.CodeUnsupportedMedia, "")
	if js := apiJobs(t, b.db); len(js) != 0 {
		t.Fatalf("refusals queued %d jobs", len(js))
	}
}

// With a PDF engine wired, a PDF's pages are one job, one format per page.
func TestPrintPDFHook(t *testing.T) {
	var got []byte
	b := newBench(t, &benchOptions{opts: &api.Options{PDFToZPL: func(ctx context.Context, pdf []byte) ([][]byte, error) {
		got = pdf
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			return nil, fmt.Errorf("not a PDF (no %%PDF- header)")
		}
		return [][]byte{[]byte("^XA^FDpage1^FS^XZ"), []byte("^XA^FDpage2^FS^XZ")}, nil
	}}})
	var ans api.PrintAnswer
	b.ok("POST", "/api/v1/print", map[string]any{"pdf": []byte("%PDF-1.4 two pages")}, &ans)
	j, err := b.db.Job(context.Background(), ans.ID)
	if err != nil || string(j.Payload) != "^XA^FDpage1^FS^XZ^XA^FDpage2^FS^XZ" || string(got) != "%PDF-1.4 two pages" {
		t.Fatalf("job %q %v (engine got %q)", j.Payload, err, got)
	}
	b.do("POST", "/api/v1/print", "garbage", "Content-Type", "application/pdf").wantError(t, 422, api.CodeInvalidField, "pdf")
}

// A print token prints and reads its own jobs, nothing else; revoked, it
// is refused. The file keeps only its hash.
func TestPrintTokens(t *testing.T) {
	b := newBench(t, nil)
	var tok api.PrintToken
	b.ok("POST", "/api/v1/print-tokens", map[string]any{"name": "shipping app"}, &tok)
	if !strings.HasPrefix(tok.Token, api.PrintTokenPrefix) || len(tok.Token) < api.MinKeyLen || tok.ID == "" {
		t.Fatalf("token %+v", tok)
	}
	bearer := "Bearer " + tok.Token
	// The file keeps the token's SHA-256, never the token.
	sum := sha256.Sum256([]byte(tok.Token))
	if err := b.db.View(func(tx *queue.Tx) error {
		recs, err := tx.ListRecords("api-print-tokens", queue.RecordPage{})
		if len(recs) != 1 || recs[0].Key != hex.EncodeToString(sum[:]) || bytes.Contains(recs[0].Value, []byte(tok.Token)) {
			t.Errorf("stored token records %+v, want one keyed by the token's SHA-256 without the token", recs)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var mine api.PrintAnswer
	a := b.do("POST", "/api/v1/print", map[string]any{"zpl": printZPL}, "Authorization", bearer)
	if a.status != 202 {
		t.Fatalf("print with token: %d %s", a.status, a.body)
	}
	a.decode(t, &mine)
	var other api.PrintAnswer
	b.ok("POST", "/api/v1/print", map[string]any{"zpl": printZPL}, &other)

	if a := b.do("GET", mine.StatusURL, nil, "Authorization", bearer); a.status != 200 {
		t.Fatalf("own job: %d %s", a.status, a.body)
	}
	b.do("GET", other.StatusURL, nil, "Authorization", bearer).wantError(t, 404, api.CodeNotFound, "")
	b.do("GET", "/api/v1/jobs", nil, "Authorization", bearer).wantError(t, 401, api.CodeUnauthorized, "")
	b.do("DELETE", mine.StatusURL, nil, "Authorization", bearer).wantError(t, 401, api.CodeUnauthorized, "")
	b.do("GET", "/api/v1/print-tokens", nil, "Authorization", bearer).wantError(t, 401, api.CodeUnauthorized, "")
	// The key sees every job.
	b.ok("GET", mine.StatusURL, nil, nil)

	var list struct{ Tokens []api.PrintToken }
	b.ok("GET", "/api/v1/print-tokens", nil, &list)
	if len(list.Tokens) != 1 || list.Tokens[0].Token != "" || list.Tokens[0].Name != "shipping app" {
		t.Fatalf("list %+v", list)
	}
	b.ok("DELETE", "/api/v1/print-tokens/"+tok.ID, nil, nil)
	b.do("POST", "/api/v1/print", map[string]any{"zpl": printZPL}, "Authorization", bearer).wantError(t, 401, api.CodeUnauthorized, "")
	b.do("DELETE", "/api/v1/print-tokens/"+tok.ID, nil).wantError(t, 404, api.CodeNotFound, "")
}

// CORS: the configured origin gets its preflight and its answers; any
// other origin is refused before anything is queued; the bench's own page
// (same origin) and clients without Origin are untouched.
func TestPrintCORS(t *testing.T) {
	allowed := "http://localhost:3000"
	b := newBench(t, &benchOptions{opts: &api.Options{CORSOrigins: []string{allowed}}})
	pre := b.do("OPTIONS", "/api/v1/print", nil, "Origin", allowed, "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type,idempotency-key", "Authorization", "")
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != allowed ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") || !strings.Contains(pre.header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", pre.status, pre.header)
	}
	a := b.do("POST", "/api/v1/print", map[string]any{"zpl": printZPL}, "Origin", allowed)
	if a.status != 202 || a.header.Get("Access-Control-Allow-Origin") != allowed || !strings.Contains(a.header.Get("Access-Control-Expose-Headers"), "Location") {
		t.Fatalf("allowed origin: %d %v", a.status, a.header)
	}
	for _, o := range []string{"http://localhost:3001", "https://localhost:3000", "http://evil.example"} {
		pre := b.do("OPTIONS", "/api/v1/print", nil, "Origin", o, "Access-Control-Request-Method", "POST", "Authorization", "")
		if pre.status != 403 || pre.header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("%s preflight: %d %v", o, pre.status, pre.header)
		}
		b.do("POST", "/api/v1/print", map[string]any{"zpl": printZPL}, "Origin", o).wantError(t, 403, api.CodeOriginNotAllowed, "")
		// Elsewhere the browser is left to refuse: no CORS headers.
		if a := b.do("GET", "/api/v1/health", nil, "Origin", o); a.status != 200 || a.header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("%s GET health: %d %v", o, a.status, a.header)
		}
	}
	host := strings.TrimPrefix(b.ts.URL, "http://")
	if a := b.do("POST", "/api/v1/print", map[string]any{"zpl": printZPL}, "Origin", "http://"+host); a.status != 202 || a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("same origin: %d %v", a.status, a.header)
	}
	if n := len(apiJobs(t, b.db)); n != 2 {
		t.Fatalf("%d jobs, want 2 (allowed and same origin)", n)
	}
	if _, err := api.New(api.Deps{Queue: b.db, Scale: b.link, Keys: []string{testKey}}, &api.Options{CORSOrigins: []string{"http://x.example/"}}); err == nil {
		t.Fatal("an origin with a path was accepted")
	}
}

// A job's event stream sends its state now and after each change, and
// ends when the job is done; DELETE cancels a queued job.
func TestPrintJobEventsAndDelete(t *testing.T) {
	b := newBench(t, nil)
	var ans api.PrintAnswer
	b.ok("POST", "/api/v1/print", map[string]any{"zpl": printZPL}, &ans)
	req, err := http.NewRequest("GET", b.ts.URL+ans.EventsURL+"?key="+testKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %v", resp.StatusCode, resp.Header)
	}
	sc := bufio.NewScanner(resp.Body)
	next := func() queue.Job {
		t.Helper()
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var j queue.Job
				if err := json.Unmarshal([]byte(data), &j); err != nil {
					t.Fatal(err)
				}
				return j
			}
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return queue.Job{}
	}
	if j := next(); j.ID != ans.ID || j.State != queue.StateQueued {
		t.Fatalf("first event %+v", j)
	}
	var cancelled queue.Job
	b.ok("DELETE", ans.StatusURL, nil, &cancelled)
	if cancelled.State != queue.StateCancelled {
		t.Fatalf("DELETE: %+v", cancelled)
	}
	if j := next(); j.State != queue.StateCancelled || len(j.History) < 2 {
		t.Fatalf("second event %+v", j)
	}
	for sc.Scan() { // the stream ends by itself
	}
	b.do("DELETE", ans.StatusURL, nil).wantError(t, 409, api.CodeConflict, "")
	b.do("GET", "/api/v1/jobs/j99999999/events", nil).wantError(t, 404, api.CodeNotFound, "")
}
