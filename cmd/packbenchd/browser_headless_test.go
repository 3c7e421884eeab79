package main

import (
	"os"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserHeadlessFeedback: the page gives the signals the bench's LED
// and buzzer give (for benches with a screen): the status light's mode and
// blink code, a beep per signal with the buzzer's pattern; and the admin
// view shows the command barcodes to print.
func TestBrowserHeadlessFeedback(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("headless Chromium is needed at %s (%v): run scripts/test, which installs Debian's chromium package", chromiumPath, err)
	}
	_, addr := emulator(t, nil)
	dir := t.TempDir()
	cfgFile := benchConfig(t, dir, addr, "")
	key := "browser-headless-key-0123456789abcdef0123456789abcdef"
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + key}, "--config", cfgFile)
	d.key = key

	p := newPage(t, d)
	p.viewport(800, 480)
	p.do("open the page", chromedp.Navigate(d.url+"/"))
	p.waitJS("the key form", `!document.getElementById("keygate").hidden`)
	p.do("type the key", chromedp.SendKeys(chromedp.ID("key-input"), key+kb.Enter))
	p.waitJS("the packer view", `!document.getElementById("packer").hidden`)
	p.waitJS("the ready light", `document.getElementById("light").dataset.led === "ready" &&
		document.getElementById("light").getAttribute("aria-label") === "Status light: ready: scan an order"`)
	if b := p.evalString(`document.body.dataset.beep || ""`); b != "" {
		t.Fatalf("a beep on load: %q", b)
	}

	// An unknown code: the error pattern and the attention light, blink code 1.
	p.do("scan an unknown barcode", chromedp.SendKeys(chromedp.ID("scan"), "NOPE-404"+kb.Enter))
	p.waitJS("the unknown-code beep", `/^\d+:unknown-code$/.test(document.body.dataset.beep || "")`)
	p.waitJS("the attention light", `(() => { const l = document.getElementById("light");
		return l.dataset.led === "attention" && l.dataset.blinks === "1" && l.getAttribute("aria-label").includes("blink code 1 (no_order)"); })()`)
	p.waitJS("the light flashing", `document.getElementById("light").classList.contains("on")`)
	p.waitJS("the light dark between flashes", `!document.getElementById("light").classList.contains("on")`)

	// A good scan: the short beep, the armed light.
	createOrder(t, d, "LPN-BEEP-1", 1)
	p.do("scan the order", chromedp.SendKeys(chromedp.ID("scan"), "LPN-BEEP-1"+kb.Enter))
	p.waitJS("the good-scan beep", `/^\d+:scan-ok$/.test(document.body.dataset.beep || "")`)
	p.waitJS("the armed light", `document.getElementById("light").dataset.led === "armed"`)
	// A command barcode typed like a scan: two short beeps.
	p.do("scan the cancel command", chromedp.SendKeys(chromedp.ID("scan"), "PB-CMD-CANCEL"+kb.Enter))
	p.waitJS("the command beep", `/^\d+:command-ok$/.test(document.body.dataset.beep || "")`)
	p.waitJS("the ready light again", `document.getElementById("light").dataset.led === "ready"`)

	// The admin view: the command barcodes as images to print.
	p.viewport(1280, 800)
	p.do("open the admin view", chromedp.Click(chromedp.ID("tab-admin")))
	p.waitJS("the command sheet", `(() => { const items = [...document.querySelectorAll("#command-sheet li")];
		return items.length === 5 && items.every(li => { const i = li.querySelector("img"); return i && i.complete && i.naturalWidth > 0; }) &&
			items[0].textContent.includes("PB-CMD-REPRINT"); })()`)
	p.do("print the sheet on the label printer", chromedp.Click(chromedp.ID("btn-sheet-print")))
	p.waitJS("the sheet queued", `document.getElementById("sheet-msg").textContent.startsWith("Queued as job")`)
}
