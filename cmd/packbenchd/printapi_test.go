package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/pdfrender/pdftest"
	"github.com/packbench/packbench/queue"
)

const printAPIKey = "print-api-test-key-0123456789abcdef0123456789"

// printDaemon starts packbenchd with the printer emulator and extra
// config; it returns the daemon and the emulator.
func printDaemon(t *testing.T, extra string) (*daemon, *devicetest.Emulator) {
	t.Helper()
	emu, addr := emulator(t, nil)
	dir := t.TempDir()
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + printAPIKey}, "--config", benchConfig(t, dir, addr, extra))
	d.key = printAPIKey
	return d, emu
}

// post sends body with a content type and headers (pairs) to the daemon
// with the key, and returns the status, the answer and its headers.
func (d *daemon) post(t *testing.T, path, ct string, body []byte, headers ...string) (int, []byte, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", d.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+d.key)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data, resp.Header
}

func apiPrintJobs(t *testing.T, d *daemon) []queue.Job {
	t.Helper()
	return jobsWhere(t, d, func(j queue.Job) bool { return j.Source == queue.SourceAPI })
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPrintAPIDaemon: every content kind of POST /api/v1/print prints at
// the emulator through the real daemon; an Idempotency-Key prints once;
// URLs that are slow, huge or not labels are refused with nothing queued.
func TestPrintAPIDaemon(t *testing.T) {
	png, err := os.ReadFile("../../labelrender/testdata/carrier-4x6-203.png")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile("../../docs/examples/label.json")
	if err != nil {
		t.Fatal(err)
	}
	const zpl = "^XA^FO50,50^A0N,40,40^FDPRINT-API-1^FS^FO50,120^BCN,80^FDPRINT-API-1^FS^XZ"
	labels := http.NewServeMux()
	labels.HandleFunc("/zpl", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.zebra.zpl")
		fmt.Fprint(w, zpl)
	})
	labels.HandleFunc("/png", func(w http.ResponseWriter, r *http.Request) { w.Write(png) })
	labels.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		fmt.Fprint(w, "^XA")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // never ends: the bench's time limit does
	})
	labels.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("^XA^FDx^FS^XZ\n"), 20000)) // 280 KB
	})
	labels.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>Your label is ready!</body></html>")
	})
	ls := httptest.NewServer(labels)
	t.Cleanup(ls.Close)

	d, emu := printDaemon(t, "[api]\nprint_url_timeout = \"1s\"\nprint_url_max_bytes = 131072\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	printed := 0
	for _, tc := range []struct {
		name, path, ct string
		body           []byte
		want           func(label []byte) bool
	}{
		{"zpl", "/api/v1/print", "application/json", mustJSON(t, map[string]any{"zpl": zpl, "title": "zpl"}),
			func(l []byte) bool { return string(l) == zpl }},
		{"png", "/api/v1/print", "application/json", mustJSON(t, map[string]any{"png": png}),
			func(l []byte) bool { return bytes.Contains(l, []byte("^GFA")) && bytes.Contains(l, []byte(":Z64:")) }},
		{"label", "/api/v1/print", "application/json", mustJSON(t, map[string]any{"label": json.RawMessage(spec)}),
			func(l []byte) bool { return bytes.HasPrefix(l, []byte("^XA")) && bytes.Contains(l, []byte("^BC")) }},
		{"url zpl", "/api/v1/print", "application/json", mustJSON(t, map[string]any{"url": ls.URL + "/zpl"}),
			func(l []byte) bool { return string(l) == zpl }},
		{"url png", "/api/v1/print", "application/json", mustJSON(t, map[string]any{"url": ls.URL + "/png"}),
			func(l []byte) bool { return bytes.Contains(l, []byte(":Z64:")) }},
		{"raw zpl", "/api/v1/print?title=raw", "application/vnd.zebra.zpl", []byte(zpl),
			func(l []byte) bool { return string(l) == zpl }},
		{"raw png", "/api/v1/print", "image/png", png,
			func(l []byte) bool { return bytes.Contains(l, []byte(":Z64:")) }},
		{"pdf", "/api/v1/print", "application/json", mustJSON(t, map[string]any{"pdf": pdftest.PDF(pdftest.Label("1Z999AA10123456784"))}),
			func(l []byte) bool { return bytes.Contains(l, []byte("^GFA")) && bytes.Contains(l, []byte(":Z64:")) }},
		{"raw pdf", "/api/v1/print", "application/pdf", pdftest.PDF(pdftest.Label("1Z999AA10123456785")),
			func(l []byte) bool { return bytes.Contains(l, []byte(":Z64:")) }},
	} {
		status, body, h := d.post(t, tc.path, tc.ct, tc.body)
		if status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", tc.name, status, body)
		}
		var ans api.PrintAnswer
		if err := json.Unmarshal(body, &ans); err != nil || h.Get("Location") != ans.StatusURL {
			t.Fatalf("%s: %v %s", tc.name, err, body)
		}
		printed++
		if err := emu.WaitLabels(ctx, printed); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if l := emu.Labels()[printed-1]; !tc.want(l) {
			t.Fatalf("%s: the emulator printed %.120q", tc.name, l)
		}
		// The job's state history through its status URL: it printed.
		poll(t, tc.name+" printed", 20*time.Second, func() (bool, error) {
			var j queue.Job
			_, err := d.call("GET", ans.StatusURL, nil, &j)
			return j.State == queue.StatePrinted && len(j.History) >= 3, err
		})
	}

	// The same Idempotency-Key twice: one job, the same answer.
	body := mustJSON(t, map[string]any{"zpl": zpl})
	s1, a1, _ := d.post(t, "/api/v1/print", "application/json", body, "Idempotency-Key", "order-77-label")
	s2, a2, h2 := d.post(t, "/api/v1/print", "application/json", body, "Idempotency-Key", "order-77-label")
	if s1 != 202 || s2 != 202 || !bytes.Equal(a1, a2) || h2.Get(api.HeaderReplayed) != "true" {
		t.Fatalf("idempotent: %d %s / %d %s", s1, a1, s2, a2)
	}
	printed++
	if err := emu.WaitLabels(ctx, printed); err != nil {
		t.Fatal(err)
	}
	if js := apiPrintJobs(t, d); len(js) != printed {
		t.Fatalf("%d api jobs, want %d (the key's second request made none)", len(js), printed)
	}

	// Refused URLs and a corrupt PDF: clear errors, nothing queued.
	for _, tc := range []struct {
		name   string
		status int
		body   []byte
		want   string
	}{
		{"slow", 422, mustJSON(t, map[string]any{"url": ls.URL + "/slow"}), "no complete answer within 1s"},
		{"huge", 422, mustJSON(t, map[string]any{"url": ls.URL + "/huge"}), "more than the 131072 bytes"},
		{"not a label", 422, mustJSON(t, map[string]any{"url": ls.URL + "/html"}), "is not a label"},
		{"corrupt pdf", 422, mustJSON(t, map[string]any{"pdf": []byte("%PDF-1.7\nnot a document")}), `"field":"pdf"`},
	} {
		status, body, _ := d.post(t, "/api/v1/print", "application/json", tc.body)
		if status != tc.status || !strings.Contains(string(body), tc.want) {
			t.Fatalf("%s: %d %s, want %d saying %q", tc.name, status, body, tc.status, tc.want)
		}
	}
	if js := apiPrintJobs(t, d); len(js) != printed {
		t.Fatalf("%d api jobs after the refusals, want %d", len(js), printed)
	}
}

// TestPrintAPIBrowserCORS: the example page in docs/, served by a real
// HTTP server, prints from Chromium on an origin in [api] cors_origins and
// is refused on another; the refused page queues nothing.
func TestPrintAPIBrowserCORS(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("headless Chromium is needed at %s (%v): run scripts/test", chromiumPath, err)
	}
	page, err := os.ReadFile("../../docs/examples/print-from-browser.html")
	if err != nil {
		t.Fatal(err)
	}
	serve := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	allowed, other := httptest.NewServer(serve), httptest.NewServer(serve)
	t.Cleanup(allowed.Close)
	t.Cleanup(other.Close)
	// Two origins: the allowed one by name, the other by address.
	allowedOrigin := strings.Replace(allowed.URL, "127.0.0.1", "localhost", 1)
	d, emu := printDaemon(t, fmt.Sprintf("[api]\ncors_origins = [%q]\n", allowedOrigin))

	var tok api.PrintToken
	d.must("POST", "/api/v1/print-tokens", map[string]string{"name": "browser example"}, &tok)

	p := newPage(t, d)
	open := func(origin string) {
		p.do("open "+origin, chromedp.Navigate(origin+"/print-from-browser.html?bench="+d.url+"&token="+tok.Token))
		p.waitJS("the form", `document.getElementById("token").value.startsWith("pbt_")`)
		p.do("print", chromedp.Click(chromedp.ID("print")))
	}

	open(other.URL)
	p.waitJS("the refusal", `document.getElementById("result").dataset.state === "refused"`)
	if js := apiPrintJobs(t, d); len(js) != 0 {
		t.Fatalf("a page on %s queued %d jobs", other.URL, len(js))
	}

	open(allowedOrigin)
	p.waitJS("printed", `document.getElementById("result").dataset.state === "printed"`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if l := string(emu.Labels()[0]); !strings.Contains(l, "PB-BROWSER-1") {
		t.Fatalf("printed %q", l)
	}
	js := apiPrintJobs(t, d)
	if len(js) != 1 || js[0].Origin != allowedOrigin || js[0].State != queue.StatePrinted {
		t.Fatalf("jobs %+v, want one printed job from %s", js, allowedOrigin)
	}

	// The job shows on the bench's own page like any other, with its title.
	p.do("open the bench page", chromedp.Navigate(d.url+"/"))
	p.waitJS("the key form", `!document.getElementById("keygate").hidden`)
	p.do("type the key", chromedp.SendKeys(chromedp.ID("key-input"), d.key+kb.Enter))
	p.waitJS("the packer view", `!document.getElementById("packer").hidden`)
	p.do("open the admin view", chromedp.Click(chromedp.ID("tab-admin")))
	p.waitJS("the API job printed", fmt.Sprintf(`[...document.querySelectorAll("#job-rows tr")].some(r =>
		r.cells[0].textContent === %q && r.cells[1].textContent.includes("browser example") && r.cells[3].textContent.startsWith("printed"))`, js[0].ID.String()))
}

// TestPrintGuide runs docs/integrations/print-api.md: its configuration on
// the real daemon, each curl example, and the answer shown after one.
func TestPrintGuide(t *testing.T) {
	for _, tool := range []string{"curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (scripts/test installs it): %v", tool, err)
		}
	}
	blocks := docBlocks(t, filepath.Join("..", "..", "docs", "integrations", "print-api.md"))
	d, emu := guideDaemon(t, blocks, printAPIKey)
	env := []string{"BENCH=" + d.url, "KEY=" + printAPIKey, "PATH=" + os.Getenv("PATH")}
	ran := runGuide(t, blocks, func() []string { return env }, nil)
	if ran != 3 {
		t.Fatalf("ran %d examples, want 3", ran)
	}
	// The raw ZPL once, the label spec twice (two copies).
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := emu.WaitLabels(ctx, 3); err != nil {
		t.Fatal(err)
	}
	js := apiPrintJobs(t, d)
	if len(js) != 2 || js[0].Ref != "order 42" || js[1].Ref != "order 43" || js[1].Copies != 2 || js[1].Origin != "wms" {
		t.Fatalf("jobs %+v", js)
	}
	if l := string(emu.Labels()[0]); !strings.Contains(l, "PB-ORDER-42") {
		t.Fatalf("first label %q", l)
	}
	var toks struct{ Tokens []api.PrintToken }
	d.must("GET", "/api/v1/print-tokens", nil, &toks)
	if len(toks.Tokens) != 1 || toks.Tokens[0].Name != "shipping web app" {
		t.Fatalf("tokens %+v", toks)
	}
}
