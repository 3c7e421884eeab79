package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/api"
)

// pairKiosk makes a pairing code with the key and redeems it with nothing.
func (b *bench) pairKiosk(name string) (id, token string) {
	b.t.Helper()
	var pc api.PairingAnswer
	b.ok("POST", "/api/v1/kiosks/pairing", map[string]string{"name": name}, &pc)
	var k struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Token string `json:"token"`
	}
	a := b.do("POST", "/api/v1/kiosks/pair", map[string]string{"code": pc.Code}, "Authorization", "")
	if a.status != http.StatusCreated || a.header.Get("Cache-Control") != "no-store" {
		b.t.Fatalf("pair: %d %s", a.status, a.body)
	}
	a.decode(b.t, &k)
	if k.Name != name || k.Token == "" {
		b.t.Fatalf("pair: %s", a.body)
	}
	return k.ID, k.Token
}

// kioskRoutes are the routes a kiosk token may call: what the packer's
// page does, and nothing of the admin's.
var kioskRoutes = map[string]bool{
	"GET /api/v1/printers": true, "POST /api/v1/printers/{name}/test": true,
	"GET /api/v1/scale": true, "GET /api/v1/scale/events": true, "POST /api/v1/scale/zero": true, "POST /api/v1/scale/tare": true,
	"POST /api/v1/jobs/{id}/cancel": true, "POST /api/v1/jobs/{id}/retry": true, "POST /api/v1/jobs/{id}/mark-printed": true,
	"POST /api/v1/jobs/{id}/reprint": true,
	"GET /api/v1/flow":               true, "POST /api/v1/flow/scan": true, "POST /api/v1/flow/arm": true, "POST /api/v1/flow/disarm": true,
	"GET /api/v1/labels/{file}": true,
}

func TestKioskPairingAndScope(t *testing.T) {
	b := newBench(t, nil)
	var pc api.PairingAnswer
	a := b.do("POST", "/api/v1/kiosks/pairing", nil)
	if a.status != http.StatusCreated || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("pairing: %d %s", a.status, a.body)
	}
	a.decode(t, &pc)
	if !regexp.MustCompile(`^[0-9]{8}$`).MatchString(pc.Code) || pc.Name != "Bench screen" || !pc.ExpiresAt.After(time.Now()) {
		t.Fatalf("pairing: %s", a.body)
	}
	u, err := url.Parse(pc.PairURL)
	if err != nil || u.Host != b.ts.Listener.Addr().String() || u.Fragment != "pair="+pc.Code {
		t.Fatalf("pair_url %q (%v)", pc.PairURL, err)
	}
	raw, err := base64.StdEncoding.DecodeString(pc.QRPNG)
	if err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(bytes.NewReader(raw)); err != nil || img.Bounds().Dx() < 200 {
		t.Fatalf("QR code: %v", err)
	}
	// Making a code needs the key; a wrong code is refused.
	b.do("POST", "/api/v1/kiosks/pairing", nil, "Authorization", "").wantError(t, 401, api.CodeUnauthorized, "")
	b.do("POST", "/api/v1/kiosks/pair", `{"code":"00000000x"}`, "Authorization", "").wantError(t, 401, api.CodeUnauthorized, "")
	var k struct {
		ID, Token string
	}
	b.do("POST", "/api/v1/kiosks/pair", map[string]string{"code": pc.Code}, "Authorization", "").decode(t, &k)
	if k.Token == "" {
		t.Fatal("no token")
	}
	// Single use.
	b.do("POST", "/api/v1/kiosks/pair", map[string]string{"code": pc.Code}, "Authorization", "").wantError(t, 401, api.CodeUnauthorized, "")

	// The token works the flow like the packer's page does.
	bearer := []string{"Authorization", "Bearer " + k.Token}
	b.ok("POST", "/api/v1/orders", validOrder("SO-K1"), nil)
	if a := b.do("POST", "/api/v1/flow/scan", `{"code":"SO-K1"}`, bearer...); a.status != 200 || !strings.Contains(string(a.body), `"armed"`) {
		t.Fatalf("scan with a kiosk token: %d %s", a.status, a.body)
	}
	for _, p := range []string{"/api/v1/flow", "/api/v1/scale", "/api/v1/printers"} {
		if a := b.do("GET", p, nil, bearer...); a.status != 200 {
			t.Fatalf("GET %s with a kiosk token: %d %s", p, a.status, a.body)
		}
	}
	if a := b.do("GET", "/api/v1/flow", nil, "Authorization", "", "X-Api-Key", k.Token); a.status != 200 {
		t.Fatalf("kiosk token in X-Api-Key: %d %s", a.status, a.body)
	}

	// Every other route that needs a credential refuses it with 403,
	// named by the OpenAPI document, which marks the packer's routes.
	var doc struct {
		Paths map[string]map[string]struct {
			Security []any `json:"security"`
			Kiosk    bool  `json:"x-packbench-kiosk"`
		} `json:"paths"`
	}
	b.ok("GET", "/api/v1/openapi.json", nil, &doc)
	fill := strings.NewReplacer("{id}", "x", "{name}", "p1", "{file}", "x.png", "{client_id}", "x", "{orderId}", "x", "{uuid}", "x")
	checked := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			m := strings.ToUpper(method)
			if op.Kiosk != kioskRoutes[m+" "+path] {
				t.Errorf("%s %s: x-packbench-kiosk %v, want %v", m, path, op.Kiosk, kioskRoutes[m+" "+path])
			}
			if op.Kiosk || (op.Security != nil && len(op.Security) == 0) {
				continue
			}
			p := regexp.MustCompile(`\{[a-zA-Z_]+\}`).ReplaceAllString(fill.Replace(path), "x")
			a := b.do(m, p, "{}", bearer...)
			if a.status != http.StatusForbidden {
				t.Errorf("%s %s with a kiosk token: %d %s", m, p, a.status, a.body)
				continue
			}
			a.wantError(t, 403, api.CodeForbidden, "")
			checked++
		}
	}
	if checked < 30 {
		t.Fatalf("only %d routes checked", checked)
	}

	// Listed without the token; revoked, refused at once.
	l := b.do("GET", "/api/v1/kiosks", nil)
	if l.status != 200 || !bytes.Contains(l.body, []byte(k.ID)) || bytes.Contains(l.body, []byte(k.Token[len(k.Token)-20:])) {
		t.Fatalf("list: %s", l.body)
	}
	b.ok("DELETE", "/api/v1/kiosks/"+k.ID, nil, nil)
	b.do("GET", "/api/v1/flow", nil, bearer...).wantError(t, 401, api.CodeUnauthorized, "")
	b.do("DELETE", "/api/v1/kiosks/"+k.ID, nil).wantError(t, 404, api.CodeNotFound, "")
	if strings.Contains(b.log.String(), k.Token[len(k.Token)-20:]) || strings.Contains(b.log.String(), pc.Code) {
		t.Fatal("a kiosk token or pairing code is in the log")
	}
}

func TestKioskRevokeEndsItsStream(t *testing.T) {
	b := newBench(t, nil)
	idA, tokA := b.pairKiosk("A")
	_, tokB := b.pairKiosk("B")
	sa := b.openStream("?key=" + url.QueryEscape(tokA))
	sb := b.openStream("", "Authorization", "Bearer "+tokB)
	sa.next("ready", func(ev sseEvent) bool { return ev.comment == "ok" }, nil)
	sb.next("ready", func(ev sseEvent) bool { return ev.comment == "ok" }, nil)
	b.ok("DELETE", "/api/v1/kiosks/"+idA, nil, nil)
	select {
	case <-sa.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked screen's stream did not end")
	}
	<-b.streams
	// The other screen's stream goes on: a weight still reaches it.
	b.ok("POST", "/api/v1/scale/sim", map[string]any{"grams": 1234, "status": "stable"}, nil)
	sb.next("reading of 1234 g", func(ev sseEvent) bool {
		if ev.name != api.EventReading {
			return false
		}
		var r struct {
			Display string `json:"display"`
		}
		json.Unmarshal([]byte(ev.data), &r)
		return strings.HasPrefix(r.Display, "1234")
	}, nil)
}

func TestTrustLoopback(t *testing.T) {
	off := newBench(t, nil)
	off.do("GET", "/api/v1/flow", nil, "Authorization", "").wantError(t, 401, api.CodeUnauthorized, "")

	on := newBench(t, &benchOptions{opts: &api.Options{TrustLoopback: true}})
	// httptest listens on loopback: the packer's routes need nothing.
	if a := on.do("GET", "/api/v1/flow", nil, "Authorization", ""); a.status != 200 {
		t.Fatalf("flow from loopback: %d %s", a.status, a.body)
	}
	// The admin's routes still need the key; a wrong key is still wrong.
	on.do("GET", "/api/v1/config", nil, "Authorization", "").wantError(t, 401, api.CodeUnauthorized, "")
	on.do("GET", "/api/v1/kiosks", nil, "Authorization", "").wantError(t, 401, api.CodeUnauthorized, "")
	on.do("GET", "/api/v1/flow", nil, "Authorization", "Bearer "+testKey+"x").wantError(t, 401, api.CodeUnauthorized, "")
}
