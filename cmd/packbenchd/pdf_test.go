package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boombuler/barcode/code128"
	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// labelHTML is a carrier label page as a web label service draws it: one
// 4x6 (or 6x4) page per tracking number, text and a Code 128 barcode of
// SVG bars.
func labelHTML(t *testing.T, landscape bool, trackings ...string) string {
	t.Helper()
	w, h := "4in", "6in"
	if landscape {
		w, h = h, w
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<!doctype html><html><head><style>@page{size:%s %s;margin:0}
body{margin:0;font-family:sans-serif}.l{width:%s;height:%s;box-sizing:border-box;padding:.15in;border:3px solid #000;break-after:page;overflow:hidden}
</style></head><body>`, w, h, w, h)
	for _, tr := range trackings {
		bc, err := code128.Encode(tr)
		if err != nil {
			t.Fatal(err)
		}
		n := bc.Bounds().Dx()
		var bars strings.Builder
		for x := 0; x < n; x++ {
			if r, _, _, _ := bc.At(x, 0).RGBA(); r == 0 {
				fmt.Fprintf(&bars, `<rect x="%d" y="0" width="1" height="1"/>`, x)
			}
		}
		fmt.Fprintf(&b, `<div class="l"><h1 style="font-size:26pt;margin:0">UPS GROUND</h1>
<p style="font-size:11pt">SHIP TO: Ada Lovelace<br>10 Downing Street<br>London SW1A 1AA GB</p>
<svg width="3.4in" height="1.1in" viewBox="0 0 %d 1" preserveAspectRatio="none" shape-rendering="crispEdges">%s</svg>
<p style="font-size:12pt">TRACKING #: %s</p></div>`, n, bars.String(), tr)
	}
	b.WriteString("</body></html>")
	return b.String()
}

// chromiumPDFs prints each HTML page to PDF with one headless Chromium
// (Page.printToPDF, the page's own @page size).
func chromiumPDFs(t *testing.T, pages ...string) [][]byte {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("headless Chromium is needed at %s (%v): run scripts/test, which installs Debian's chromium package", chromiumPath, err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i int
		if _, err := fmt.Sscanf(r.URL.Path, "/%d", &i); err != nil || i < 0 || i >= len(pages) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, pages[i])
	}))
	defer srv.Close()
	p := newPage(t, nil)
	out := make([][]byte, len(pages))
	for i := range pages {
		p.do("open the label page", chromedp.Navigate(fmt.Sprintf("%s/%d", srv.URL, i)))
		ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
		yes, zero := true, 0.0
		res, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (cdppage.PrintToPDFResult, error) {
			return cdp.Call(ctx, tg, cdppage.PrintToPDF, cdppage.PrintToPDFParams{PreferCSSPageSize: &yes, PrintBackground: &yes,
				MarginTop: &zero, MarginBottom: &zero, MarginLeft: &zero, MarginRight: &zero})
		})
		cancel()
		if err != nil {
			t.Fatalf("print to PDF: %v", err)
		}
		out[i] = res.Data
	}
	return out
}

var reZXingText = regexp.MustCompile(`(?m)^Text:\s+"(.*)"$`)

// zxingCode128 reads the Code 128 symbols of an image with ZXingReader
// (Debian's zxing-cpp-tools, installed by scripts/test).
func zxingCode128(t *testing.T, img image.Image) []string {
	t.Helper()
	bin, err := exec.LookPath("ZXingReader")
	if err != nil {
		t.Fatal("ZXingReader is not installed: run scripts/test (it installs zxing-cpp-tools)")
	}
	path := filepath.Join(t.TempDir(), "label.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command(bin, "-format", "Code128", path).Output()
	if err != nil {
		t.Fatalf("ZXingReader: %v", err)
	}
	var got []string
	for _, m := range reZXingText.FindAllStringSubmatch(string(out), -1) {
		got = append(got, m[1])
	}
	return got
}

// TestCarrierPDFLabels drives the real daemon with an http carrier that
// answers Chromium-printed PDFs: a 4x6 PDF prints at the emulator and its
// barcode decodes (ZXing) from the independent renderer's drawing of what
// the emulator received; a 2-page PDF is two labels; a landscape PDF is
// turned onto the portrait label; a corrupt PDF is refused with a clear
// problem and nothing printed.
func TestCarrierPDFLabels(t *testing.T) {
	pdfs := chromiumPDFs(t, labelHTML(t, false, "1Z999AA10123456784"),
		labelHTML(t, false, "1Z999AA10000000001", "1Z999AA10000000002"), labelHTML(t, true, "1Z999AA10000000003"))
	portrait, two, landscape := pdfs[0], pdfs[1], pdfs[2]
	corrupt := portrait[:len(portrait)/2]

	var current atomic.Pointer[[]byte]
	var n atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tracking := fmt.Sprintf("1Z999AA1%010d", n.Add(1))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"tracking_number": tracking, "carrier_identifier": "ups",
			"packages": []map[string]string{{"tracking_number": tracking, "label": base64.StdEncoding.EncodeToString(*current.Load())}},
		})
	}))
	t.Cleanup(upstream.Close)

	emu, addr := emulator(t, nil)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bench.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `
[[printer]]
name = "zebra"
transport = "tcp"
address = %q
[scale]
driver = "sim"
[carrier]
kind = "http"
[carrier.http]
url = %q
retries = -1
`, addr, upstream.URL+"/label"), 0o644); err != nil {
		t.Fatal(err)
	}
	key := "pdf-test-key-0123456789abcdef0123456789abcdef"
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + key}, "--config", cfg)
	d.key = key
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// ship places one parcel for a new order with the upstream answering
	// pdf, and waits for the job to print (or the flow to show a problem).
	var lastJob queue.JobID
	ship := func(lpn string, pdf []byte) station.FlowState {
		t.Helper()
		current.Store(&pdf)
		o := createOrder(t, d, lpn, 1)
		d.must("POST", "/api/v1/flow/scan", map[string]string{"code": lpn}, nil)
		d.must("POST", "/api/v1/scale/sim", map[string]any{"grams": 1200}, nil)
		var f station.FlowState
		poll(t, lpn+" printed or refused", 30*time.Second, func() (bool, error) {
			f = station.FlowState{}
			_, err := d.call("GET", "/api/v1/flow", nil, &f)
			return err == nil && (f.Problem != nil || f.JobState == queue.StatePrinted && f.JobID != lastJob && f.Order != nil && f.Order.ID == o.ID), err
		})
		lastJob = f.JobID
		d.must("POST", "/api/v1/scale/sim", map[string]any{"remove": true}, nil)
		waitFlow(t, d, "cleared", func(f station.FlowState) bool { return !f.AwaitRemoval })
		return f
	}

	f := ship("LPN-PDF-1", portrait)
	if f.Problem != nil {
		t.Fatalf("4x6 PDF: problem %s: %s", f.Problem.Code, f.Problem.Message)
	}
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	img := renderZPL(t, emu.Labels()[0])
	if got := zxingCode128(t, img); len(got) != 1 || got[0] != "1Z999AA10123456784" {
		t.Fatalf("4x6 PDF label: barcodes %q, want the PDF's 1Z999AA10123456784", got)
	}

	f = ship("LPN-PDF-2", two)
	if f.Problem != nil {
		t.Fatalf("2-page PDF: problem %s: %s", f.Problem.Code, f.Problem.Message)
	}
	if err := emu.WaitLabels(ctx, 3); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"1Z999AA10000000001", "1Z999AA10000000002"} {
		if got := zxingCode128(t, renderZPL(t, emu.Labels()[1+i])); len(got) != 1 || got[0] != want {
			t.Fatalf("2-page PDF, label %d: barcodes %q, want [%s]", i+1, got, want)
		}
	}

	f = ship("LPN-PDF-3", landscape)
	if f.Problem != nil {
		t.Fatalf("landscape PDF: problem %s: %s", f.Problem.Code, f.Problem.Message)
	}
	if err := emu.WaitLabels(ctx, 4); err != nil {
		t.Fatal(err)
	}
	img = renderZPL(t, emu.Labels()[3])
	if got := zxingCode128(t, img); len(got) != 1 || got[0] != "1Z999AA10000000003" {
		t.Fatalf("landscape PDF: barcodes %q, want [1Z999AA10000000003]", got)
	}
	// Turned a quarter turn clockwise: the heading at the page's top left
	// is down the label's top right; the page's empty bottom right is at
	// the label's bottom left (turned the other way, the heading would be
	// there).
	if head, empty := darkIn(img, image.Rect(680, 40, 790, 600)), darkIn(img, image.Rect(25, 620, 140, 1190)); head < 2000 || empty > 200 {
		t.Fatalf("landscape PDF: %d dark dots top right, %d bottom left: want the page turned clockwise", head, empty)
	}

	f = ship("LPN-PDF-4", corrupt)
	if f.Problem == nil || !strings.Contains(f.Problem.Message, "PDF") {
		t.Fatalf("corrupt PDF: flow %+v, want a problem naming the PDF", f)
	}
	if got := len(emu.Labels()); got != 4 {
		t.Fatalf("%d labels after a corrupt PDF, want still 4", got)
	}
	var js struct {
		Jobs []queue.Job `json:"jobs"`
	}
	d.must("GET", "/api/v1/jobs", nil, &js)
	if len(js.Jobs) != 3 {
		t.Fatalf("%d jobs, want 3 (nothing queued for the corrupt PDF)", len(js.Jobs))
	}
}

// darkIn counts the dark pixels of img inside r.
func darkIn(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if darkPixel(img, x, y) {
				n++
			}
		}
	}
	return n
}

func darkPixel(img image.Image, x, y int) bool {
	cr, cg, cb, _ := img.At(x, y).RGBA()
	return (cr+cg+cb)/3 < 0x8000
}
