package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// offerShows is a page expression: a problem titled title offers a button
// (data-offer) for act.
func offerShows(title, act string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#problems .problem")].some(p =>
		p.querySelector("strong").textContent === %q && p.querySelector('button[data-offer=%q]'))`, title, act)
}

// TestBrowserPackerRefusals: the packer's view says, in plain words and
// with the next action's button, what the issue 19 situations are: an
// order already labelled (Reprint offered and working), a parcel too light
// to ship, and a label left uncertain by a crash (Printed? Yes / Print
// again, after a restart of the real daemon).
func TestBrowserPackerRefusals(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("headless Chromium is needed at %s (%v): run scripts/test, which installs Debian's chromium package", chromiumPath, err)
	}
	emu, addr, pauseAt := pausingEmulator(t)
	dir := t.TempDir()
	cfgFile := benchConfig(t, dir, addr, "[bench]\nname = \"bench-words\"\n")
	key := "browser-words-key-0123456789abcdef0123456789abcdef"
	env := []string{"PACKBENCH_API_KEY=" + key}
	d := startDaemon(t, dir, env, "--config", cfgFile)
	d.key = key
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	p := newPage(t, d)
	p.viewport(800, 480)
	p.do("open the page", chromedp.Navigate(d.url+"/"))
	p.do("type the key", chromedp.SendKeys(chromedp.ID("key-input"), key+kb.Enter))
	p.waitJS("the packer view", `!document.getElementById("packer").hidden`)

	// Too light: 10 g settles on the scale with an order armed; nothing
	// prints and the page says why.
	createOrder(t, d, "LPN0001", 1)
	p.do("scan the order", chromedp.SendKeys(chromedp.ID("scan"), "LPN0001"+kb.Enter))
	p.waitJS("Place the parcel", `document.getElementById("flow-step").textContent === "Place the parcel"`)
	d.must("POST", "/api/v1/scale/sim", map[string]any{"grams": 10}, nil)
	p.waitJS("the too-light hint", problemShows("Too light to ship (minimum 20 g).", "heavier"))
	p.screenshot("packer-too-light.png", 800, 480)
	d.must("POST", "/api/v1/scale/sim", map[string]any{"remove": true}, nil)
	p.waitJS("the hint gone", `!document.querySelector('#problems [data-problem="flow-too_light"]')`)

	// The real parcel prints; re-scanning the order then offers a reprint.
	d.must("POST", "/api/v1/scale/sim", map[string]string{"script": "place 900g; settle"}, nil)
	if err := emu.WaitPrinted(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f := waitFlow(t, d, "label printed", func(f station.FlowState) bool { return f.JobState == queue.StatePrinted })
	d.must("POST", "/api/v1/scale/sim", map[string]any{"remove": true}, nil)
	waitFlow(t, d, "parcel lifted", func(f station.FlowState) bool { return !f.AwaitRemoval })
	p.do("scan the order again", chromedp.SendKeys(chromedp.ID("scan"), "LPN0001"+kb.Enter))
	p.waitJS("already labelled, reprint offered", offerShows("Already labelled — Reprint?", "reprint"))
	if p.evalBool(`document.getElementById("problems").textContent.includes("station:") || document.getElementById("problems").textContent.includes("conflict")`) {
		t.Fatalf("Go error text on the packer view: %s", p.evalString(`document.getElementById("problems").textContent`))
	}
	p.screenshot("packer-already-labelled.png", 800, 480)
	p.do("press Reprint", chromedp.Click(chromedp.CSS(`#problems button[data-offer="reprint"]`)))
	if err := emu.WaitPrinted(ctx, 2); err != nil {
		t.Fatal(err)
	}
	var reprints struct {
		Jobs []queue.Job `json:"jobs"`
	}
	d.must("GET", "/api/v1/jobs", nil, &reprints)
	if n := len(reprints.Jobs); n != 2 || reprints.Jobs[1].Key != f.LabelID+"-reprint-1" {
		t.Fatalf("after Reprint: %d jobs %+v, want the reprint of %s", n, reprints.Jobs, f.LabelID)
	}

	// Uncertain: the daemon dies while the printer holds the next label;
	// after the restart the packer view names the parcel and asks.
	third := int64(len(emu.Labels()) + 1)
	pauseAt.Store(third)
	o := createOrder(t, d, "LPN0002", 1)
	d.must("POST", "/api/v1/flow/scan", map[string]string{"code": "LPN0002"}, nil)
	d.must("POST", "/api/v1/scale/sim", map[string]any{"grams": 700}, nil)
	if err := emu.WaitLabels(ctx, int(third)); err != nil {
		t.Fatal(err)
	}
	f3 := waitFlow(t, d, "job claimed", func(f station.FlowState) bool { return f.Order != nil && f.Order.ID == o.ID && f.JobID != 0 })
	poll(t, "job sending", 10*time.Second, func() (bool, error) {
		var j queue.Job
		_, err := d.call("GET", "/api/v1/jobs/"+f3.JobID.String(), nil, &j)
		return err == nil && j.State == queue.StateSending, err
	})
	d.kill()
	emu.SetPaused(false)
	d2 := startDaemon(t, dir, env, "--config", cfgFile)
	d2.key = key
	p.d = d2
	p.do("reload", chromedp.Navigate(d2.url+"/"))
	// The restarted daemon listens on another port: another origin, so
	// the key is typed again.
	p.do("type the key", chromedp.SendKeys(chromedp.ID("key-input"), key+kb.Enter))
	p.waitJS("the packer view", `!document.getElementById("packer").hidden`)
	p.waitJS("the uncertain choice", offerShows("Did label "+o.ID+"-1 print?", "mark-printed"))
	if !p.evalBool(fmt.Sprintf(`document.getElementById("problems").textContent.includes(%q) && document.querySelector('#problems button[data-offer="retry"]')`, "order "+o.ID+", package 1 of 1")) {
		t.Fatalf("the uncertain problem does not name the parcel or lacks Print again: %s", p.evalString(`document.getElementById("problems").textContent`))
	}
	p.screenshot("packer-uncertain.png", 800, 480)
	p.do("press Yes", chromedp.Click(chromedp.CSS(`#problems button[data-offer="mark-printed"]`)))
	p.waitJS("the choice gone", `!document.querySelector('#problems [data-problem="flow-uncertain"]')`)
	var j queue.Job
	d2.must("GET", "/api/v1/jobs/"+f3.JobID.String(), nil, &j)
	if j.State != queue.StatePrinted {
		t.Fatalf("after Yes the job is %s, want printed", j.State)
	}
	d2.stop()
}
