package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/station"
)

// chromiumPath is Debian's chromium, which scripts/test installs.
const chromiumPath = "/usr/bin/chromium"

var updateScreenshots = flag.Bool("update-screenshots", false,
	"write the bench page screenshots of TestBrowserBenchPage into docs/ (packer-view.png, admin-view.png)")

// TestBrowserBenchPage drives the bench page in headless Chromium against
// the real daemon: a devicetest printer emulator over TCP and the simulated
// scale. It proves the page follows the scale, the flow and the printer
// live, that it works by keyboard, and takes the screenshots for the README.
func TestBrowserBenchPage(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("headless Chromium is needed at %s (%v): run scripts/test, which installs Debian's chromium package", chromiumPath, err)
	}
	// Speed 2 in/s: a 6-inch label takes 3 s, so "Printing" stays on screen
	// long enough for a person, and for this test, to see it.
	emu, addr := emulator(t, &devicetest.Options{Speed: 2})
	dir := t.TempDir()
	cfgFile := benchConfig(t, dir, addr, "[bench]\nname = \"bench-3\"\n")
	key := "browser-test-key-0123456789abcdef0123456789abcdef"
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + key}, "--config", cfgFile)
	d.key = key

	p := newPage(t, d)
	p.viewport(800, 480)
	p.do("open the page", chromedp.Navigate(d.url+"/"))

	// Without a key: the health banner and the key form, nothing else.
	p.waitJS("the key form", `!document.getElementById("keygate").hidden`)
	p.waitJS("the health banner", `/^(Bench OK|Needs attention)/.test(document.getElementById("health-text").textContent)`)
	if !p.evalBool(`document.getElementById("packer").hidden && document.getElementById("admin").hidden && document.getElementById("tabs").hidden`) {
		t.Fatal("the packer or admin view is shown without a key")
	}
	p.do("type a wrong key", chromedp.SendKeys(chromedp.ID("key-input"), "not-the-key-0123456789abcdef0123456789"+kb.Enter))
	p.waitJS("the refusal", `document.getElementById("key-error").textContent.includes("did not accept")`)
	if !p.evalBool(`document.getElementById("packer").hidden`) {
		t.Fatal("the packer view opened with a refused key")
	}
	p.waitJS("the key field emptied", `document.getElementById("key-input").value === ""`)
	p.do("type the key", chromedp.SendKeys(chromedp.ID("key-input"), key+kb.Enter))
	p.waitJS("the packer view", `!document.getElementById("packer").hidden && document.getElementById("keygate").hidden`)
	// Entered once: a reload goes straight to the packer view.
	p.do("reload", chromedp.Navigate(d.url+"/"))
	p.waitJS("the packer view after a reload", `!document.getElementById("packer").hidden`)
	p.waitJS("the first reading from the event stream", `document.getElementById("stability").textContent !== "No reading"`)
	// The scan field has the focus, for the keyboard-wedge scanner.
	p.waitJS("the scan field focused", `document.activeElement && document.activeElement.id === "scan"`)

	// The live weight follows the simulated scale.
	d.must("POST", "/api/v1/scale/sim", map[string]any{"grams": 1234}, nil)
	p.waitJS("1234 g stable", weightIs("1234", "g", "Stable"))
	d.must("POST", "/api/v1/scale/sim", map[string]any{"grams": 560, "status": "motion"}, nil)
	p.waitJS("560 g moving", weightIs("560", "g", "Moving"))
	d.must("POST", "/api/v1/scale/sim", map[string]any{"remove": true}, nil)
	p.waitJS("an empty scale", weightIs("0", "g", "Empty"))

	// A barcode with no order: said in plain words, with what to do.
	p.do("scan an unknown barcode", chromedp.SendKeys(chromedp.ID("scan"), "NOPE-404"+kb.Enter))
	p.waitJS("the no-order problem", problemShows("No order for this barcode.", "NOPE-404"))

	// A scan arms the flow.
	order := createOrder(t, d, "LPN-WEB-1", 2)
	p.do("scan the order", chromedp.SendKeys(chromedp.ID("scan"), "LPN-WEB-1"+kb.Enter))
	p.waitJS("Place the parcel", `document.getElementById("flow-step").textContent === "Place the parcel"`)
	p.waitJS("the order on screen", fmt.Sprintf(`document.getElementById("flow-detail").textContent.includes(%q)`, order.ID))
	if p.evalBool(problemShows("No order for this barcode.", "")) {
		t.Fatal("the no-order problem stayed after a good scan")
	}

	// Placing the parcel prints its label: "Printing 1 of 2", then the
	// label preview, then "Remove the parcel".
	d.must("POST", "/api/v1/scale/sim", map[string]string{"script": "place 1500g; settle"}, nil)
	p.waitJS("Printing 1 of 2", `document.getElementById("flow-step").textContent === "Printing 1 of 2"`)
	p.waitJS("the label preview", `(() => { const i = document.getElementById("label-img");
		return !i.hidden && i.complete && i.naturalWidth > 0 && i.src.startsWith("blob:"); })()`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := emu.WaitPrinted(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f := waitFlow(t, d, "label printed", func(f station.FlowState) bool { return f.JobState == "printed" })
	p.waitJS("Remove the parcel", `document.getElementById("flow-step").textContent === "Remove the parcel"`)
	p.waitJS("the tracking number under the preview",
		fmt.Sprintf(`document.getElementById("label-caption").textContent.includes(%q)`, f.TrackingNumber))
	p.waitJS("the printed label's weight", weightIs("1500", "g", "Stable"))
	p.screenshot("packer-view.png", 800, 480)

	// Keyboard only: every control has a name, Tab reaches the buttons with
	// a visible focus ring, and live updates do not steal the focus.
	if unnamed := p.evalString(`[...document.querySelectorAll("#packer button, #packer input, header a, header button")]
		.filter(e => e.offsetParent !== null)
		.filter(e => !((e.getAttribute("aria-label") || "").trim() || (e.labels && e.labels.length && e.labels[0].textContent.trim()) || e.textContent.trim()))
		.map(e => e.outerHTML).join("\n")`); unnamed != "" {
		t.Fatalf("controls without an accessible name:\n%s", unnamed)
	}
	reached := p.tabTo("btn-test", 12)
	for _, id := range []string{"btn-reprint", "btn-tare", "btn-zero"} {
		if !strings.Contains(reached, id+" ") {
			t.Errorf("Tab from the scan field did not reach #%s (reached: %s)", id, reached)
		}
	}
	if p.evalString(`getComputedStyle(document.activeElement).outlineStyle`) == "none" {
		t.Error("the focused button shows no focus ring")
	}
	d.must("POST", "/api/v1/scale/sim", map[string]any{"grams": 1510}, nil)
	p.waitJS("1510 g", weightIs("1510", "g", "Stable"))
	if id := p.evalString(`document.activeElement.id`); id != "btn-test" {
		t.Fatalf("a weight update moved the keyboard focus to %q", id)
	}

	// Paper out: the test print (pressed by keyboard) is held and the
	// page says what to do; the problem goes when the paper is back.
	emu.SetPaperOut(true)
	p.do("press Test print", chromedp.KeyEvent(kb.Enter))
	p.waitJS("the paper-out problem", problemShows("The printer is out of labels.", "Load a new roll and close the lid."))
	p.waitJS("the scan field focused after the button", `document.activeElement.id === "scan"`)
	p.waitJS("the degraded banner", `document.getElementById("health-text").textContent.includes("paper out")`)
	// The admin view shows the bench's problem next to the configuration
	// section it concerns.
	p.do("open the admin view", chromedp.Click(chromedp.ID("tab-admin")))
	p.waitJS("the problem next to [[printer]]", `(() => { const c = document.getElementById("config-printers");
		return c && c.classList.contains("has-problem") && c.querySelector(".field-problem").textContent === "printer zebra: paper out"; })()`)
	p.do("back to the bench", chromedp.Click(chromedp.ID("tab-bench")))
	p.waitJS("the scan field focused on the bench view", `!document.getElementById("packer").hidden && document.activeElement.id === "scan"`)
	emu.SetPaperOut(false)
	p.waitJS("the paper-out problem gone", `!document.getElementById("problems").textContent.includes("out of labels")`)
	if err := emu.WaitLabels(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if l := emu.Labels(); !bytes.Contains(l[len(l)-1], []byte("PACKBENCH TEST PRINT")) {
		t.Fatalf("last label is not the test print: %q", l[len(l)-1])
	}

	// The admin view: printers, jobs with their history, shipments with
	// their labels, the MQTT link, the version and the configuration.
	p.viewport(1280, 800)
	p.do("open the admin view", chromedp.Click(chromedp.ID("tab-admin")))
	p.waitJS("the admin view", `!document.getElementById("admin").hidden && document.getElementById("packer").hidden`)
	p.waitJS("the printer", `document.getElementById("printer-rows").textContent.includes("zebra")`)
	p.waitJS("the printer ready", `document.getElementById("printer-rows").textContent.includes("ready")`)
	p.waitJS("the flow job with its history", fmt.Sprintf(`[...document.querySelectorAll("#job-rows tr")].some(r =>
		r.cells[0].textContent === %q && r.querySelector(".history") && r.querySelector(".history").textContent.includes("sending → printed"))`, f.JobID.String()))
	// Printed after the paper came back: the table follows the job events.
	p.waitJS("the test print job printed", `[...document.querySelectorAll("#job-rows tr")].some(r =>
		r.cells[1].textContent.includes("test print") && r.cells[3].textContent.startsWith("printed"))`)
	p.waitJS("the shipment", fmt.Sprintf(`document.getElementById("ship-rows").textContent.includes(%q)`, f.TrackingNumber))
	p.waitJS("the MQTT link", `document.getElementById("mqtt-facts").textContent.includes("not configured")`)
	p.waitJS("the version", `document.getElementById("bench-facts").textContent.includes("Firmware")`)
	// The Shopify card: the full callback_url to register, token and all.
	var shopify struct {
		CallbackURL string `json:"callback_url"`
	}
	d.must("GET", "/api/v1/shopify", nil, &shopify)
	p.waitJS("the Shopify callback_url", fmt.Sprintf(`document.getElementById("shopify-facts").textContent.includes(%q)`, shopify.CallbackURL))
	p.waitJS("the configuration", `(() => { const c = document.getElementById("config-printers");
		return c && c.textContent.includes("zebra") && document.getElementById("config-carrier").textContent.includes("sequence"); })()`)
	if key := p.evalString(`document.body.innerText`); strings.Contains(key, d.key) {
		t.Fatal("the admin view shows the API key")
	}
	p.do("show a label", chromedp.Click(chromedp.CSS("#ship-rows a")))
	p.waitJS("the admin label preview", `(() => { const i = document.getElementById("admin-label-img");
		return !document.getElementById("admin-preview").hidden && i.complete && i.naturalWidth > 0; })()`)
	p.do("scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	if id := p.evalString(`document.activeElement.id`); id == "scan" {
		t.Fatal("the admin view gave the focus to the hidden scan field")
	}
	p.screenshot("admin-view.png", 1280, 800)

	// The daemon stops cleanly with the page's event stream open, and the
	// packer is told the bench is gone.
	p.do("back to the bench", chromedp.Click(chromedp.ID("tab-bench")))
	d.stop()
	p.waitJS("the lost-connection problem", problemShows("Lost the connection to the bench.", "reconnects by itself"))
}

// weightIs is a page expression: the weight, unit and stability shown.
func weightIs(value, unit, stability string) string {
	return fmt.Sprintf(`document.getElementById("weight-value").textContent === %q &&
		document.getElementById("weight-unit").textContent === %q &&
		document.getElementById("stability").textContent === %q`, value, unit, stability)
}

// problemShows is a page expression: a problem with both texts is shown.
func problemShows(title, todo string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#problems .problem")].some(p =>
		p.querySelector("strong").textContent === %q && p.textContent.includes(%q))`, title, todo)
}

// page is one Chromium tab on the daemon's page.
type page struct {
	t   *testing.T
	d   *daemon
	ctx context.Context
}

// newPage starts headless Chromium with the flags FACTS.md gives (no
// sandbox, no GPU, no background traffic) and a fresh profile.
func newPage(t *testing.T, d *daemon) *page {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Run starts the browser; its context must not time out.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return &page{t: t, d: d, ctx: ctx}
}

func (p *page) fail(what string, err error) {
	p.t.Helper()
	text, _ := p.eval(`document.body ? document.body.innerText : ""`)
	p.t.Fatalf("%s: %v\npage text:\n%s", what, err, text)
}

func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.fail(what, err)
	}
}

func (p *page) eval(expr string) (string, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[string](`String(`+expr+`)`))
}

func (p *page) evalString(expr string) string {
	p.t.Helper()
	s, err := p.eval(expr)
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

func (p *page) evalBool(expr string) bool {
	p.t.Helper()
	return p.evalString(`!!(`+expr+`)`) == "true"
}

// waitJS polls a page expression (in the page, every 50 ms) until it is
// true; the page is another process's view, so there is nothing to wait on.
func (p *page) waitJS(what, expr string) {
	p.t.Helper()
	const timeout = 25 * time.Second
	ctx, cancel := context.WithTimeout(p.ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		p.fail("waiting for "+what, err)
	}
}

func (p *page) viewport(w, h int64) {
	p.t.Helper()
	p.do(fmt.Sprintf("viewport %dx%d", w, h), chromedp.EmulateViewport(w, h))
}

// tabTo focuses the scan field and presses Tab until the element with id
// has the focus, at most n times; it returns the ids passed, each followed
// by a space.
func (p *page) tabTo(id string, n int) string {
	p.t.Helper()
	p.do("focus the scan field", chromedp.Focus(chromedp.ID("scan")))
	var reached strings.Builder
	for range n {
		p.do("press Tab", chromedp.KeyEvent(kb.Tab))
		got := p.evalString(`document.activeElement.id || document.activeElement.tagName`)
		reached.WriteString(got + " ")
		if got == id {
			return reached.String()
		}
	}
	p.t.Fatalf("#%s not reached with %d Tabs; focus went: %s", id, n, reached.String())
	return ""
}

// screenshot captures the viewport, checks its size, and writes it into
// docs/ with -update-screenshots.
func (p *page) screenshot(name string, w, h int) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	// Let the page finish its frame (fonts, the image) before capturing.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.fonts.status === "loaded"`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		p.fail("fonts", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.fail("screenshot "+name, err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		p.t.Fatalf("screenshot %s is %dx%d, want %dx%d", name, b.Dx(), b.Dy(), w, h)
	}
	out := filepath.Join("..", "..", "docs", name)
	if *updateScreenshots {
		if err := os.WriteFile(out, shot, 0o644); err != nil {
			p.t.Fatal(err)
		}
		p.t.Logf("wrote %s", out)
	} else if _, err := os.Stat(out); errors.Is(err, os.ErrNotExist) {
		p.t.Errorf("%s is missing: run go test ./cmd/packbenchd -run TestBrowserBenchPage -args -update-screenshots", out)
	}
}
