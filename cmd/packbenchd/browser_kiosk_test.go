package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/packbench/packbench/station"
)

// TestBrowserKiosk: the admin makes a pairing code on the admin page; a
// second browser (the bench screen) types it and then works the bench
// without the API key: it scans, prints, asks before taring, keeps the
// last label across a reload, and has no admin view. Revoked on the admin
// page, the screen is refused at once; the QR code's address pairs it
// again.
func TestBrowserKiosk(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("headless Chromium is needed at %s (%v): run scripts/test, which installs Debian's chromium package", chromiumPath, err)
	}
	emu, addr := emulator(t, nil)
	dir := t.TempDir()
	cfgFile := benchConfig(t, dir, addr, "[bench]\nname = \"bench-3\"\ndevice_id = \"bench-3\"\n")
	key := "browser-kiosk-key-0123456789abcdef0123456789abcdef"
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + key}, "--config", cfgFile)
	d.key = key

	// The admin makes a pairing code.
	admin := newPage(t, d)
	admin.viewport(1280, 800)
	admin.do("open the admin view", chromedp.Navigate(d.url+"/#admin"))
	admin.waitJS("the key form", `!document.getElementById("keygate").hidden`)
	admin.do("type the key", chromedp.SendKeys(chromedp.ID("key-input"), key+kb.Enter))
	admin.waitJS("the admin view", `!document.getElementById("admin").hidden`)
	admin.waitJS("the bench's MQTT id", `(document.getElementById("device-id") || {}).textContent === "bench-3"`)
	admin.waitJS("no screens yet", `document.getElementById("kiosk-rows").textContent.includes("No screens paired yet.")`)
	// The configuration shows effective values (the filter's defaults the
	// file does not set) and leaves out the sections not in use.
	admin.waitJS("the effective filter values", `(() => { const c = document.getElementById("config-scale");
		return c && c.textContent.includes("filter.min_weight_mg20000") && c.textContent.includes("filter.settle300ms"); })()`)
	if admin.evalBool(`document.getElementById("config-mqtt") || document.getElementById("config-raw9100")`) {
		t.Fatal("the configuration shows sections not in use")
	}
	admin.do("name the screen", chromedp.SendKeys(chromedp.ID("kiosk-name"), "Bench 3 screen"+kb.Enter))
	admin.waitJS("the code and its QR code", `!document.getElementById("kiosk-code-box").hidden &&
		/^[0-9]{4} [0-9]{4}$/.test(document.getElementById("kiosk-code").textContent) &&
		document.getElementById("kiosk-qr").complete && document.getElementById("kiosk-qr").naturalWidth > 100`)
	code := admin.evalString(`document.getElementById("kiosk-code").textContent`)
	admin.do("scroll to the screens", chromedp.ScrollIntoView(chromedp.ID("h-kiosks")))
	admin.screenshot("kiosk-pairing.png", 1280, 800)

	// The bench screen: the gate's code field has the focus (a scanner
	// types a scanned QR code there); the code as shown pairs it.
	kiosk := newPage(t, d)
	kiosk.viewport(800, 480)
	kiosk.do("open the page on the bench screen", chromedp.Navigate(d.url+"/"))
	kiosk.waitJS("the pairing field focused", `!document.getElementById("keygate").hidden && document.activeElement.id === "pair-input"`)
	kiosk.do("type a wrong code", chromedp.SendKeys(chromedp.ID("pair-input"), "0000 0000"+kb.Enter))
	kiosk.waitJS("the refusal", `document.getElementById("pair-error").textContent.includes("did not work")`)
	kiosk.do("type the code", chromedp.SendKeys(chromedp.ID("pair-input"), code+kb.Enter))
	kiosk.waitJS("the packer view", `!document.getElementById("packer").hidden && document.getElementById("keygate").hidden`)
	if !kiosk.evalBool(`localStorage.getItem("packbench.apiKey").startsWith("pbk_") && document.getElementById("tab-admin").hidden`) {
		t.Fatal("the screen holds no kiosk token, or shows the admin tab")
	}
	if kiosk.evalBool(fmt.Sprintf(`JSON.stringify(localStorage).includes(%q)`, key)) {
		t.Fatal("the screen holds the API key")
	}
	admin.waitJS("the screen listed", `document.getElementById("kiosk-rows").textContent.includes("Bench 3 screen")`)

	// A paired screen works the flow: scan, place, print.
	order := createOrder(t, d, "LPN-KIOSK-1", 2)
	kiosk.waitJS("the scan field focused", `document.activeElement.id === "scan"`)
	kiosk.do("scan the order", chromedp.SendKeys(chromedp.ID("scan"), "LPN-KIOSK-1"+kb.Enter))
	kiosk.waitJS("Place the parcel", `document.getElementById("flow-step").textContent === "Place the parcel"`)
	d.must("POST", "/api/v1/scale/sim", map[string]string{"script": "place 1500g; settle"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := emu.WaitPrinted(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f := waitFlow(t, d, "label printed", func(f station.FlowState) bool {
		return f.JobState == "printed" && f.Order != nil && f.Order.ID == order.ID
	})
	kiosk.waitJS("the label preview", `(() => { const i = document.getElementById("label-img");
		return !i.hidden && i.complete && i.naturalWidth > 0; })()`)

	// Buttons a gloved finger hits: at least 12 mm (64 px on the 7-inch
	// 800x480 screen), and the view still fits without scrolling.
	if small := kiosk.evalString(`[...document.querySelectorAll("#packer button")].filter(b => b.offsetParent !== null)
		.filter(b => b.getBoundingClientRect().height < 63.5).map(b => b.id || b.textContent).join(",")`); small != "" {
		t.Fatalf("packer buttons under 12 mm: %s", small)
	}
	if !kiosk.evalBool(`document.documentElement.scrollHeight <= 480`) {
		t.Fatalf("the packer view scrolls at 800x480: %s px", kiosk.evalString(`document.documentElement.scrollHeight`))
	}

	// Tare asks first: one press asks, the second tares.
	d.must("POST", "/api/v1/scale/sim", map[string]any{"remove": true}, nil)
	waitFlow(t, d, "parcel removed", func(f station.FlowState) bool { return !f.AwaitRemoval && f.State == "armed" })
	kiosk.do("press Tare", chromedp.Click(chromedp.ID("btn-tare")))
	kiosk.waitJS("the question", `document.getElementById("btn-tare").textContent.startsWith("Tare now?")`)
	if kiosk.evalBool(`document.getElementById("action-msg").textContent === "Tared"`) {
		t.Fatal("Tare acted on the first press")
	}
	kiosk.do("press Tare again", chromedp.Click(chromedp.ID("btn-tare")))
	kiosk.waitJS("tared", `document.getElementById("action-msg").textContent === "Tared" && document.getElementById("btn-tare").textContent === "Tare"`)

	// A reload keeps the last label and Reprint, though the flow has moved
	// on (the parcel is off the scale, the next package armed).
	kiosk.do("reload", chromedp.Navigate(d.url+"/"))
	kiosk.waitJS("the packer view after a reload", `!document.getElementById("packer").hidden`)
	kiosk.waitJS("the last label after a reload", fmt.Sprintf(`(() => { const i = document.getElementById("label-img");
		return !i.hidden && i.complete && i.naturalWidth > 0 && document.getElementById("label-caption").textContent.includes(%q); })()`, f.TrackingNumber))
	kiosk.waitJS("Reprint offered", `!document.getElementById("btn-reprint").disabled`)
	kiosk.waitJS("the next package armed", `document.getElementById("flow-step").textContent === "Place the parcel"`)
	kiosk.screenshot("kiosk-view.png", 800, 480)
	kiosk.do("press Reprint", chromedp.Click(chromedp.ID("btn-reprint")))
	kiosk.waitJS("reprinting", `document.getElementById("action-msg").textContent.startsWith("Reprinting")`)
	if err := emu.WaitPrinted(ctx, 2); err != nil {
		t.Fatal(err)
	}

	// Revoked on the admin page: the screen is refused at once and asks
	// to be paired again.
	token := kiosk.evalString(`localStorage.getItem("packbench.apiKey")`)
	admin.do("revoke the screen", chromedp.Click(chromedp.CSS(`#kiosk-rows button`)))
	admin.waitJS("the revoke said", `document.getElementById("kiosk-msg").textContent.includes("paired again")`)
	kiosk.waitJS("the screen refused", `!document.getElementById("keygate").hidden &&
		document.getElementById("pair-error").textContent.includes("no longer accepts this screen")`)
	req, err := http.NewRequest("GET", d.url+"/api/v1/flow", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a revoked kiosk token: %d", resp.StatusCode)
	}

	// The QR code's address pairs the screen again by itself.
	var pc struct {
		PairURL string `json:"pair_url"`
	}
	d.must("POST", "/api/v1/kiosks/pairing", map[string]string{}, &pc)
	kiosk.do("open the QR code's address", chromedp.Navigate(pc.PairURL))
	kiosk.waitJS("paired again", `!document.getElementById("packer").hidden && location.hash === "#bench" &&
		localStorage.getItem("packbench.apiKey").startsWith("pbk_")`)
}
