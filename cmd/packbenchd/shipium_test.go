package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

var reShBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")

// TestShipiumGuide runs every example of docs/integrations/shipium.md, in
// order, against the real daemon: the seed's example request (verbatim)
// is accepted, found, searched and refused as the guide says; then the
// LPN scanned on the simulated bench and a parcel placed on the scale
// give exactly one label at the printer.
func TestShipiumGuide(t *testing.T) {
	doc, err := os.ReadFile("../../docs/integrations/shipium.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../../api/testdata/shipium_order_request.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, append([]byte("<<'JSON'\n"), append(example, []byte("JSON\n")...)...)) {
		t.Fatal("the guide's create example is not the seed's example request verbatim (api/testdata/shipium_order_request.json)")
	}
	blocks := reShBlock.FindAllSubmatch(doc, -1)
	if len(blocks) < 6 {
		t.Fatalf("%d sh blocks in the guide, want at least 6", len(blocks))
	}

	emu, addr := emulator(t, nil)
	dir := t.TempDir()
	cfgFile := benchConfig(t, dir, addr, "[bench]\nname = \"shipium\"\ndevice_id = \"bench-shipium-7\"\n")
	key := "shipium-guide-key-0123456789abcdef"
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + key}, "--config", cfgFile)
	d.key = key

	var out []string
	for i, b := range blocks {
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", string(b[1]))
		cmd.Env = []string{"BENCH=" + d.url, "KEY=" + key, "PATH=" + os.Getenv("PATH")}
		got, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("guide block %d failed: %v\n%s\n--- output:\n%s", i+1, err, b[1], got)
		}
		out = append(out, string(got))
	}
	for i, want := range []string{
		`"device_id":"bench-shipium-7"`,
		`"shipiumOrderId":"`,
		`"partnerOrderId":"partner-order:12345"`,
		"X-Total-Count: 1",
		`"field":"fulfillmentType"`,
		`"state":"armed"`,
	} {
		if !strings.Contains(out[i], want) {
			t.Errorf("guide block %d: output lacks %s:\n%s", i+1, want, out[i])
		}
	}
	// The create answer is the seed's example response, with the bench's
	// ids and the order's status.
	var got, want map[string]any
	if err := json.Unmarshal([]byte(out[1]), &got); err != nil {
		t.Fatalf("create answer: %v: %s", err, out[1])
	}
	resp, err := os.ReadFile("../../api/testdata/shipium_order_response.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(resp, &want); err != nil {
		t.Fatal(err)
	}
	id, _ := got["shipiumOrderId"].(string)
	item, _ := got["orderItemQuantities"].([]any)[0].(map[string]any)
	if got["orderStatus"] != "open" || len(id) != 36 || item["shipiumOrderId"] != id || len(fmt.Sprint(item["deliveryEstimateId"])) != 36 {
		t.Fatalf("create answer ids and status: %s", out[1])
	}
	delete(got, "orderStatus")
	delete(item, "deliveryEstimateId")
	got["shipiumOrderId"], item["shipiumOrderId"] = want["shipiumOrderId"], want["shipiumOrderId"]
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("create answer differs from the seed's example response:\n%s", out[1])
	}
	if strings.Contains(out[3], "X-Page-Next") || strings.Contains(out[3], "X-Page-Previous") {
		t.Errorf("a single page has paging headers:\n%s", out[3])
	}

	// The scan in the last block armed the order: place the parcel.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d.must("POST", "/api/v1/scale/sim", map[string]string{"script": "place 1500g; settle"}, nil)
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f := waitFlow(t, d, "label printed", func(f station.FlowState) bool { return f.JobState == queue.StatePrinted })
	var so struct {
		ShipiumOrderID string `json:"shipiumOrderId"`
		OrderStatus    string `json:"orderStatus"`
	}
	d.must("GET", "/api/v1/packShip/order/partner-order:12345", nil, &so)
	if f.Order == nil || f.Order.ID != so.ShipiumOrderID || so.OrderStatus != "shipped" {
		t.Fatalf("flow %+v, order %+v: want the Shipium order labelled and shipped", f, so)
	}
	waitScaleSteady(t, d, 1500_000, 2*time.Second)
	labels := emu.Labels()
	if len(labels) != 1 {
		t.Fatalf("%d labels for one parcel, want 1", len(labels))
	}
	checkLabel(t, labels[0], f.TrackingNumber, "", "Wile E. Coyote", "123 Main St.", "Albuquerque")
	d.stop()
}

// TestBrowserSharedLPN: two Shipium orders share an LPN; the packer scans
// it on the bench page, and the page arms the older one and says so.
func TestBrowserSharedLPN(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("headless Chromium is needed at %s (%v): run scripts/test", chromiumPath, err)
	}
	_, addr := emulator(t, nil)
	dir := t.TempDir()
	cfgFile := benchConfig(t, dir, addr, "")
	key := "shipium-browser-key-0123456789abcdef"
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + key}, "--config", cfgFile)
	d.key = key
	example, err := os.ReadFile("../../api/testdata/shipium_order_request.json")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, partner := range []string{"partner-order:1", "partner-order:2"} {
		var body map[string]any
		if err := json.Unmarshal(example, &body); err != nil {
			t.Fatal(err)
		}
		body["partnerOrderId"] = partner
		body["associatedIdentifiers"] = []string{"lpn-barcode:shared"}
		var so struct {
			ID string `json:"shipiumOrderId"`
		}
		d.must("POST", "/api/v1/packShip/order", body, &so)
		ids = append(ids, so.ID)
	}

	p := newPage(t, d)
	p.viewport(800, 480)
	p.do("open the page", chromedp.Navigate(d.url+"/"))
	p.do("type the key", chromedp.SendKeys(chromedp.ID("key-input"), key+kb.Enter))
	p.waitJS("the scan field focused", `document.activeElement && document.activeElement.id === "scan"`)
	p.do("scan the shared LPN", chromedp.SendKeys(chromedp.ID("scan"), "lpn-barcode:shared"+kb.Enter))
	p.waitJS("Place the parcel", `document.getElementById("flow-step").textContent === "Place the parcel"`)
	p.waitJS("the older order on screen", fmt.Sprintf(`document.getElementById("flow-detail").textContent.includes(%q)`, "Wile E. Coyote"))
	p.waitJS("the note", problemShows("Several open orders share this code.", "matches 2 open orders: armed the oldest with packages to label, "+ids[0]))
	if f := flow(t, d); f.Order == nil || f.Order.ID != ids[0] {
		t.Fatalf("flow %+v, want %s armed", f, ids[0])
	}
}
