package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/labelrender"
)

const packroosterKey = "packrooster-e2e-key-0123456789abcdefgh"

// curl runs the real curl with args and returns its stdout and the HTTP
// status it wrote with -w.
func curl(t *testing.T, args ...string) (string, []byte) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "body")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "curl", append([]string{"-sS", "-o", out, "-w", "%{http_code}"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // no proxy settings, no curlrc
	status, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %v: %v", args, err)
	}
	body, err := os.ReadFile(out)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(status), body
}

// TestPackroosterDaemon: against the real daemon, a Flow credential made
// through the API labels an order the way a Shopify Flow HTTP action asks
// (curl with client_id/client_secret headers), twice with one printed
// label; the label URL fetched with plain curl is a PNG that decodes and a
// ZPL that passes labelrender's tokenizer; cancelling the fulfillment
// revokes the URL.
func TestPackroosterDaemon(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	emu, addr := emulator(t, nil)
	dir := t.TempDir()
	cfg := benchConfig(t, dir, addr, `[packrooster]
default_weight = "900g"
`)
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + packroosterKey}, "--config", cfg)
	d.key = packroosterKey

	var cred struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	d.must("POST", "/api/v1/flow-credentials", map[string]string{"name": "Shopify Flow"}, &cred)
	d.must("POST", "/api/v1/orders", map[string]any{"id": "SO7", "associated_identifiers": []string{"5501"},
		"ship_to": map[string]string{"name": "Ada Lovelace", "street1": "1 Analytical Way", "city": "London", "zip": "N1 9GU", "country": "GB"}}, nil)

	flowCall := func(method, path, body string) (string, []byte) {
		args := []string{"-X", method, "-H", "Content-Type: application/json",
			"-H", "client_id: " + cred.ClientID, "-H", "client_secret: " + cred.ClientSecret}
		if body != "" {
			args = append(args, "--data-binary", body)
		}
		return curl(t, append(args, d.url+path)...)
	}
	type answer struct {
		Status           string `json:"status"`
		TrackingCode     string `json:"tracking_code"`
		ShippingLabelURL string `json:"shipping_label_url"`
	}
	var first answer
	for i := range 2 {
		status, body := flowCall("POST", "/api/label-fulfill", `{"order_id":"gid://shopify/Order/5501","fulfillment_order_id":5601}`)
		if status != "200" {
			t.Fatalf("label-fulfill: %s %s", status, body)
		}
		var a answer
		if err := json.Unmarshal(body, &a); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = a
		}
		if a != first || a.Status != "fulfilled" || a.TrackingCode == "" || !strings.HasPrefix(a.ShippingLabelURL, d.url+"/labels/") {
			t.Fatalf("call %d: %+v (first %+v)", i, a, first)
		}
	}
	allPrinted(t, d, 1)
	if n := len(emu.Labels()); n != 1 {
		t.Fatalf("the printer got %d labels, want 1", n)
	}
	// Without any credential: 401.
	if status, _ := curl(t, "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", `{"order_id":5501}`, d.url+"/api/label"); status != "401" {
		t.Fatalf("no credential: %s", status)
	}

	// The label URL with plain curl: no header at all.
	status, pngData := curl(t, first.ShippingLabelURL)
	if status != "200" {
		t.Fatalf("label URL: %s", status)
	}
	if _, err := png.Decode(bytes.NewReader(pngData)); err != nil {
		t.Fatalf("label URL: not a PNG: %v", err)
	}
	status, zpl := curl(t, first.ShippingLabelURL+".zpl")
	if status != "200" || !bytes.Contains(zpl, []byte(first.TrackingCode)) {
		t.Fatalf("label URL .zpl: %s %.80q", status, zpl)
	}
	if err := labelrender.CheckZPL(zpl, nil); err != nil {
		t.Fatalf("label URL .zpl does not pass the tokenizer's check: %v", err)
	}
	if got, err := decodeCode128(renderZPL(t, zpl)); err != nil || got != first.TrackingCode {
		t.Fatalf("label URL .zpl renders barcode %q (%v), want %s", got, err, first.TrackingCode)
	}

	// Cancel the fulfillment: the URL is revoked.
	if status, body := flowCall("DELETE", "/api/delete?type=fulfillment-order&id=gid://shopify/FulfillmentOrder/5601", ""); status != "200" || !bytes.Contains(body, []byte(`"cancelled"`)) {
		t.Fatalf("delete: %s %s", status, body)
	}
	if status, _ := curl(t, first.ShippingLabelURL); status != "404" {
		t.Fatalf("revoked label URL: %s", status)
	}
}
