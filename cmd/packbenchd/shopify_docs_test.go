package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packbench/packbench/station"
)

// TestShopifyGuide runs docs/integrations/shopify.md: its configuration
// on the real daemon, each curl example (the webhook signed with openssl),
// and each answer shown after one.
func TestShopifyGuide(t *testing.T) {
	blocks := docBlocks(t, filepath.Join("..", "..", "docs", "integrations", "shopify.md"))
	const secret = "shpss_guide_0123456789abcdef0123456789"
	var cfg string
	for _, b := range blocks {
		if b.lang == "toml" {
			cfg = b.text
		}
	}
	if !strings.Contains(cfg, secret) {
		t.Fatal("the guide's configuration does not hold the secret the examples sign with")
	}
	d, _ := guideDaemon(t, blocks, shopifyKey)
	env := []string{"BENCH=" + d.url, "KEY=" + shopifyKey, "SECRET=" + secret, "PATH=" + os.Getenv("PATH")}
	ran := runGuide(t, blocks, func() []string { return env }, nil)
	if ran < 6 {
		t.Fatalf("ran %d examples", ran)
	}
	// The guide's webhook made the order it shows, with its lines.
	var o station.Order
	d.must("GET", "/api/v1/orders/shopify-255858046", nil, &o)
	if o.ShipTo.Name != "José Ramírez" || len(o.Lines) != 1 || o.Lines[0].SKU != "123" {
		t.Errorf("order %+v", o)
	}
	d.stop()
}
