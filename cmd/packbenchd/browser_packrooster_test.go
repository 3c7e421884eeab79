package main

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserFlowCredentials: in the admin view an admin makes a Flow
// credential (the secret shown once), which the Packrooster endpoints of
// the real daemon then accept, and deletes it, after which they refuse it.
func TestBrowserFlowCredentials(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("headless Chromium is needed at %s (%v): run scripts/test, which installs Debian's chromium package", chromiumPath, err)
	}
	_, addr := emulator(t, nil)
	dir := t.TempDir()
	cfgFile := benchConfig(t, dir, addr, "")
	key := "browser-flowcred-key-0123456789abcdef0123456789"
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + key}, "--config", cfgFile)
	d.key = key
	d.must("POST", "/api/v1/orders", map[string]any{"id": "SO9",
		"ship_to": map[string]string{"name": "Ada Lovelace", "street1": "1 Analytical Way", "city": "London", "zip": "N1 9GU", "country": "GB"}}, nil)

	// getWith asks api/get with the credential as Flow sends it.
	getWith := func(id, secret string) int {
		req, err := http.NewRequest("GET", d.url+"/api/get?fulfillment_order_id=SO9", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("client_id", id)
		req.Header.Set("client_secret", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	p := newPage(t, d)
	p.viewport(1280, 800)
	p.do("open the page", chromedp.Navigate(d.url+"/#admin"))
	p.waitJS("the key form", `!document.getElementById("keygate").hidden`)
	p.do("type the key", chromedp.SendKeys(chromedp.ID("key-input"), key+kb.Enter))
	p.waitJS("the admin view", `!document.getElementById("admin").hidden`)
	p.waitJS("no credentials yet", `document.getElementById("flowcred-rows").textContent.includes("No Flow credentials yet.")`)
	p.waitJS("the endpoint to call", fmt.Sprintf(`document.getElementById("flowcred-endpoint").textContent === %q`, d.url+"/api/label-fulfill"))

	p.do("name a credential", chromedp.SendKeys(chromedp.ID("flowcred-name"), "Shopify Flow"+kb.Enter))
	p.waitJS("the new secret", `!document.getElementById("flowcred-new").hidden && document.getElementById("flowcred-secret").textContent.length > 40`)
	id := p.evalString(`document.getElementById("flowcred-id").textContent`)
	secret := p.evalString(`document.getElementById("flowcred-secret").textContent`)
	p.waitJS("the credential listed", fmt.Sprintf(`!!document.querySelector('#flowcred-rows tr[data-client-id=%q]')`, id))
	if p.evalBool(fmt.Sprintf(`document.getElementById("flowcred-rows").textContent.includes(%q)`, secret)) {
		t.Fatal("the secret is in the list")
	}
	if got := getWith(id, secret); got != http.StatusOK {
		t.Fatalf("api/get with the new credential: %d", got)
	}
	if got := getWith(id, secret+"x"); got != http.StatusUnauthorized {
		t.Fatalf("api/get with a wrong secret: %d", got)
	}

	p.do("delete it", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#flowcred-rows tr[data-client-id=%q] button`, id))))
	p.waitJS("the deletion said", `document.getElementById("flowcred-msg").textContent.includes("no longer works")`)
	p.waitJS("the list empty again", `document.getElementById("flowcred-rows").textContent.includes("No Flow credentials yet.")`)
	if got := getWith(id, secret); got != http.StatusUnauthorized {
		t.Fatalf("api/get with a deleted credential: %d", got)
	}
}
