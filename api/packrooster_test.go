package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
)

// prAnswer is the seed's response with the bench's three extra members;
// decoding it with DisallowUnknownFields shows there is no other.
type prAnswer struct {
	Status             string `json:"status"`
	Carrier            string `json:"carrier"`
	TrackingURL        string `json:"tracking_url"`
	TrackingCode       string `json:"tracking_code"`
	ShippingLabelURL   string `json:"shipping_label_url"`
	ReturnLabelURL     string `json:"return_label_url"`
	OrderID            string `json:"order_id"`
	FulfillmentOrderID string `json:"fulfillment_order_id"`
	ReturnTrackingCode string `json:"return_tracking_code"`
}

func decodePR(t testing.TB, a answer) prAnswer {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	var p prAnswer
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("not the Packrooster shape: %v: %s", err, a.body)
	}
	for _, k := range []string{"status", "carrier", "tracking_url", "tracking_code", "shipping_label_url", "return_label_url"} {
		if !bytes.Contains(a.body, []byte(`"`+k+`":`)) {
			t.Errorf("answer lacks %s: %s", k, a.body)
		}
	}
	return p
}

// fetch GETs a URL with no header at all, as a printer or mail client would.
func fetch(t testing.TB, u string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// localURL is u with the test server's host: answers name "localhost"
// (the Host the requests sent), the listener is 127.0.0.1.
func (b *bench) localURL(u string) string {
	b.t.Helper()
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		b.t.Fatalf("not a URL: %q", u)
	}
	return b.ts.URL + p.Path
}

// jobCount is how many print jobs the queue holds.
func (b *bench) jobCount() int {
	b.t.Helper()
	var jl struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	b.ok("GET", "/api/v1/jobs?limit=500", nil, &jl)
	return len(jl.Jobs)
}

func prBench(t *testing.T) *bench {
	b := newBench(t, &benchOptions{stationConfig: station.Config{Carrier: station.CarrierConfig{TrackingURL: "https://track.example.com/{tracking}"}}})
	o := validOrder("SO100")
	o["associated_identifiers"] = []string{"4501", "LPN-SO100"}
	b.ok("POST", "/api/v1/orders", o, nil)
	return b
}

func TestPackroosterEndpoints(t *testing.T) {
	b := prBench(t)
	// No weight anywhere yet (the simulated scale reads zero): 422 naming weight.
	b.do("POST", "/api/label", `{"order_id":4501}`).wantError(t, http.StatusUnprocessableEntity, api.CodeInvalidField, "weight")
	b.ok("POST", "/api/v1/scale/sim", map[string]any{"grams": 1200, "status": "stable"}, nil)
	b.waitReading(func(r scale.Reading) bool { return r.Milligrams == 1_200_000 && r.Status == scale.StatusStable })

	first := decodePR(t, b.do("POST", "/api/label", `{"order_id":4501,"fulfillment_order_id":"gid://shopify/FulfillmentOrder/88"}`))
	if first.Status != "label_created" || first.TrackingCode == "" || first.Carrier != "LOCAL" || first.OrderID != "SO100" || first.FulfillmentOrderID != "88" ||
		first.TrackingURL != "https://track.example.com/"+first.TrackingCode || !strings.HasPrefix(first.ShippingLabelURL, b.ts.URL+"/labels/") || first.ReturnLabelURL != "" {
		t.Fatalf("first label: %+v", first)
	}
	for _, body := range []string{
		`{"order_id":"4501","fulfillment_order_id":88}`,
		`{"order_id":"gid://shopify/Order/4501","fulfillment_order_id":"88"}`,
		`{"order_id":"SO100","fulfillment_order_id":"gid://shopify/FulfillmentOrder/88"}`,
	} {
		if got := decodePR(t, b.do("POST", "/api/label", body)); got != first {
			t.Errorf("%s: %+v, want %+v", body, got, first)
		}
	}
	if n := b.jobCount(); n != 1 {
		t.Fatalf("%d jobs after four label calls, want 1", n)
	}
	lf := decodePR(t, b.do("POST", "/api/label-fulfill", `{"order_id":4501,"fulfillment_order_id":88}`))
	if lf.Status != "fulfilled" || lf.TrackingCode != first.TrackingCode || lf.ShippingLabelURL != first.ShippingLabelURL {
		t.Fatalf("label-fulfill: %+v", lf)
	}
	got := decodePR(t, b.do("GET", "/api/get?fulfillment_order_id="+url.QueryEscape("gid://shopify/FulfillmentOrder/88"), nil))
	if got != lf {
		t.Fatalf("get: %+v, want %+v", got, lf)
	}
	if n := b.jobCount(); n != 1 {
		t.Fatalf("%d jobs, want 1", n)
	}

	// The label URL works with no header: PNG by default and .png, ZPL by .zpl.
	for _, suffix := range []string{"", ".png"} {
		status, ctype, body := fetch(t, b.localURL(first.ShippingLabelURL)+suffix)
		if status != 200 || ctype != "image/png" {
			t.Fatalf("label URL%s: %d %s", suffix, status, ctype)
		}
		if _, err := png.Decode(bytes.NewReader(body)); err != nil {
			t.Fatalf("label URL%s: not a PNG: %v", suffix, err)
		}
	}
	status, ctype, zpl := fetch(t, b.localURL(first.ShippingLabelURL)+".zpl")
	if status != 200 || ctype != "application/zpl" || !bytes.Contains(zpl, []byte(first.TrackingCode)) {
		t.Fatalf("label URL .zpl: %d %s %.60q", status, ctype, zpl)
	}
	if err := labelrender.CheckZPL(zpl, nil); err != nil {
		t.Fatalf("label URL .zpl: %v", err)
	}
	// The bench's own layout has no PDF: only a carrier's PDF label does.
	if status, _, _ := fetch(t, b.localURL(first.ShippingLabelURL)+".pdf"); status != 404 {
		t.Fatalf(".pdf: %d", status)
	}

	// fulfill alone on another order: fulfilled, no label.
	b.ok("POST", "/api/v1/orders", validOrder("SO200"), nil)
	ff := decodePR(t, b.do("POST", "/api/fulfill", `{"order_id":"SO200"}`))
	if ff.Status != "fulfilled" || ff.TrackingCode != "" || ff.ShippingLabelURL != "" {
		t.Fatalf("fulfill: %+v", ff)
	}
	// A return label alone: not printed, its own URL.
	rt := decodePR(t, b.do("POST", "/api/label", `{"order_id":"SO200","return_label":true,"shipping_label":false}`))
	if rt.ReturnLabelURL == "" || rt.ShippingLabelURL != "" || rt.ReturnTrackingCode == "" {
		t.Fatalf("return label: %+v", rt)
	}
	if status, _, body := fetch(t, b.localURL(rt.ReturnLabelURL)+".zpl"); status != 200 || !bytes.Contains(body, []byte("RETURN")) {
		t.Fatalf("return label ZPL: %d %.200q", status, body)
	}
	if n := b.jobCount(); n != 1 {
		t.Fatalf("%d jobs after fulfill and a return label, want 1", n)
	}

	// Cancel the fulfillment (query form): the URL is revoked.
	var st struct {
		Status string `json:"status"`
	}
	b.ok("DELETE", "/api/delete?type=fulfillment-order&id=88", nil, &st)
	if st.Status != "cancelled" {
		t.Fatalf("delete fulfillment-order: %+v", st)
	}
	if status, _, _ := fetch(t, b.localURL(first.ShippingLabelURL)); status != 404 {
		t.Fatalf("voided label URL: %d", status)
	}
	if g := decodePR(t, b.do("GET", "/api/get?fulfillment_order_id=88", nil)); g.Status != "cancelled" || g.ShippingLabelURL != "" {
		t.Fatalf("get after cancel: %+v", g)
	}
	// Delete the order (body form): gone.
	b.ok("DELETE", "/api/delete", `{"type":"order","id":"gid://shopify/Order/4501"}`, &st)
	if st.Status != "deleted" {
		t.Fatalf("delete order: %+v", st)
	}
	b.do("GET", "/api/v1/orders/SO100", nil).wantError(t, 404, api.CodeNotFound, "")
	b.do("GET", "/api/get?fulfillment_order_id=88", nil).wantError(t, 404, api.CodeNotFound, "")
}

func TestPackroosterErrors(t *testing.T) {
	b := prBench(t)
	b.ok("POST", "/api/v1/scale/sim", map[string]any{"grams": 800, "status": "stable"}, nil)
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code, field        string
	}{
		{"unknown order number", "POST", "/api/label", `{"order_id":999}`, 404, api.CodeNotFound, ""},
		{"unknown gid", "POST", "/api/label-fulfill", `{"order_id":"gid://shopify/Order/999"}`, 404, api.CodeNotFound, ""},
		{"unknown bench id", "POST", "/api/fulfill", `{"order_id":"SO999"}`, 404, api.CodeNotFound, ""},
		{"unknown get", "GET", "/api/get?fulfillment_order_id=999", nil, 404, api.CodeNotFound, ""},
		{"unknown delete order", "DELETE", "/api/delete?type=order&id=999", nil, 404, api.CodeNotFound, ""},
		{"unknown delete fulfillment", "DELETE", "/api/delete?type=fulfillment-order&id=999", nil, 404, api.CodeNotFound, ""},
		{"no order_id", "POST", "/api/label", `{"fulfillment_order_id":1}`, 400, api.CodeInvalidField, "order_id"},
		{"fractional order_id", "POST", "/api/label", `{"order_id":1.5}`, 400, api.CodeInvalidField, "order_id"},
		{"bool order_id", "POST", "/api/label", `{"order_id":true}`, 400, api.CodeInvalidField, "order_id"},
		{"bad gid", "POST", "/api/label", `{"order_id":"gid://shopify/Order/x"}`, 400, api.CodeInvalidField, "order_id"},
		{"bad fulfillment id", "POST", "/api/label", `{"order_id":4501,"fulfillment_order_id":"gid://shopify/FulfillmentOrder/"}`, 400, api.CodeInvalidField, "fulfillment_order_id"},
		{"unknown member", "POST", "/api/label", `{"order_id":4501,"colour":"red"}`, 400, api.CodeInvalidField, "colour"},
		{"fulfill with a return label", "POST", "/api/fulfill", `{"order_id":4501,"return_label":true}`, 400, api.CodeInvalidField, "return_label"},
		{"get without id", "GET", "/api/get", nil, 400, api.CodeInvalidField, "fulfillment_order_id"},
		{"delete without type", "DELETE", "/api/delete?id=4501", nil, 400, api.CodeInvalidField, "type"},
		{"delete bad type", "DELETE", "/api/delete?type=shipment&id=4501", nil, 400, api.CodeInvalidField, "type"},
		{"delete without id", "DELETE", "/api/delete?type=order", nil, 400, api.CodeInvalidField, "id"},
		{"delete query and body differ", "DELETE", "/api/delete?type=order&id=4501", `{"type":"order","id":"4502"}`, 400, api.CodeInvalidField, "id"},
		{"label URL unknown token", "GET", "/labels/" + strings.Repeat("A", station.LabelTokenLen), nil, 404, api.CodeNotFound, ""},
		{"label URL short token", "GET", "/labels/SO100-1.png", nil, 404, api.CodeNotFound, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := b.do(c.method, c.path, c.body).wantError(t, c.status, c.code, c.field)
			if c.field != "" && !strings.Contains(msg, c.field) {
				t.Errorf("message %q does not name %s", msg, c.field)
			}
		})
	}
	// Nothing of the refused calls printed.
	if n := b.jobCount(); n != 0 {
		t.Fatalf("%d jobs after refused calls", n)
	}
}

func TestPackroosterFlowCredentials(t *testing.T) {
	b := prBench(t)
	b.ok("POST", "/api/v1/scale/sim", map[string]any{"grams": 800, "status": "stable"}, nil)
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		Name         string `json:"name"`
	}
	a := b.do("POST", "/api/v1/flow-credentials", `{"name":"Shopify Flow"}`)
	if a.status != http.StatusCreated || a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %v %s", a.status, a.header, a.body)
	}
	a.decode(t, &c)
	if c.ClientID == "" || c.ClientSecret == "" || c.Name != "Shopify Flow" {
		t.Fatalf("create: %s", a.body)
	}
	// Listed without the secret.
	l := b.do("GET", "/api/v1/flow-credentials", nil)
	if l.status != 200 || !bytes.Contains(l.body, []byte(c.ClientID)) || bytes.Contains(l.body, []byte(c.ClientSecret)) || bytes.Contains(l.body, []byte("secret")) {
		t.Fatalf("list: %s", l.body)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.ClientID+":"+c.ClientSecret))
	wrongBasic := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.ClientID+":"+c.ClientSecret+"x"))
	body := `{"order_id":4501}`
	cases := []struct {
		name    string
		headers []string
		status  int
	}{
		{"flow headers", []string{"Authorization", "", "client_id", c.ClientID, "client_secret", c.ClientSecret}, 200},
		{"flow basic", []string{"Authorization", basic}, 200},
		{"api key bearer", nil, 200},
		{"api key header", []string{"Authorization", "", "X-Api-Key", testKey}, 200},
		{"nothing", []string{"Authorization", ""}, 401},
		{"wrong secret", []string{"Authorization", "", "client_id", c.ClientID, "client_secret", c.ClientSecret + "x"}, 401},
		{"secret of another id", []string{"Authorization", "", "client_id", "pbf_nobody", "client_secret", c.ClientSecret}, 401},
		{"id alone", []string{"Authorization", "", "client_id", c.ClientID}, 401},
		{"secret alone", []string{"Authorization", "", "client_secret", c.ClientSecret}, 401},
		{"wrong basic", []string{"Authorization", wrongBasic}, 401},
		{"basic not base64", []string{"Authorization", "Basic %%%"}, 401},
		{"the secret as a bearer key", []string{"Authorization", "Bearer " + c.ClientSecret}, 401},
		{"wrong key, right flow headers are not mixed in", []string{"Authorization", "Bearer " + testKey + "x"}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := b.do("POST", "/api/label", body, tc.headers...)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			if tc.status == 401 {
				a.wantError(t, 401, api.CodeUnauthorized, "")
			}
		})
	}
	// A Flow credential opens the Packrooster routes only.
	b.do("GET", "/api/v1/jobs", nil, "Authorization", basic).wantError(t, 401, api.CodeUnauthorized, "")
	b.do("GET", "/api/v1/jobs", nil, "Authorization", "", "client_id", c.ClientID, "client_secret", c.ClientSecret).wantError(t, 401, api.CodeUnauthorized, "")
	b.do("GET", "/api/v1/flow-credentials", nil, "Authorization", basic).wantError(t, 401, api.CodeUnauthorized, "")
	// Label URLs need nothing; the get and delete routes take the credential.
	if a := b.do("GET", "/api/get?fulfillment_order_id=SO100", nil, "Authorization", basic); a.status != 200 {
		t.Fatalf("get with a Flow credential: %d %s", a.status, a.body)
	}
	// Deleted: refused at once.
	b.ok("DELETE", "/api/v1/flow-credentials/"+c.ClientID, nil, nil)
	b.do("POST", "/api/label", body, "Authorization", basic).wantError(t, 401, api.CodeUnauthorized, "")
	b.do("DELETE", "/api/v1/flow-credentials/"+c.ClientID, nil).wantError(t, 404, api.CodeNotFound, "")
	b.do("POST", "/api/v1/flow-credentials", `{"name":""}`).wantError(t, 400, api.CodeInvalidField, "name")
	// The secret never reaches the log.
	if strings.Contains(b.log.String(), c.ClientSecret) {
		t.Fatal("a client secret is in the log")
	}
}

func TestPackroosterLabelURLBase(t *testing.T) {
	b := newBench(t, &benchOptions{stationConfig: station.Config{Packrooster: station.PackroosterConfig{PublicURL: "https://bench1.example.com/", DefaultWeight: "1lb"}}})
	b.ok("POST", "/api/v1/orders", validOrder("SO300"), nil)
	a := decodePR(t, b.do("POST", "/api/label", `{"order_id":"SO300"}`))
	if !strings.HasPrefix(a.ShippingLabelURL, "https://bench1.example.com/labels/") {
		t.Fatalf("label URL %q: want it under the configured public_url", a.ShippingLabelURL)
	}
	if status, _, _ := fetch(t, b.localURL(a.ShippingLabelURL)); status != 200 {
		t.Fatalf("label URL: %d", status)
	}
	// Bounded: with every slot taken, 503 at once, not a queue of renders.
	release := b.srv.HoldLabelURLs()
	if status, _, _ := fetch(t, b.localURL(a.ShippingLabelURL)); status != 503 {
		t.Fatalf("label URL with every slot taken: %d, want 503", status)
	}
	release()
	if status, _, _ := fetch(t, b.localURL(a.ShippingLabelURL)); status != 200 {
		t.Fatalf("label URL after the slots are free: %d", status)
	}
}

// zplCarrier answers every label with its own ZPL (no PNG preview).
type zplCarrier struct{}

func (zplCarrier) Label(_ context.Context, req station.LabelRequest) (station.LabelResult, error) {
	return station.LabelResult{TrackingNumber: "Z" + strings.ReplaceAll(req.Reference, "-", ""), Carrier: "ZC",
		ZPL: []byte("^XA^FO50,50^A0N,40,40^FDCARRIER LABEL " + req.Reference + "^FS^XZ")}, nil
}

// A carrier's ZPL label has no PNG: the plain URL serves the ZPL, .png is 404.
func TestPackroosterLabelURLOfACarrierZPL(t *testing.T) {
	b := newBench(t, &benchOptions{carrier: zplCarrier{}, stationConfig: station.Config{Packrooster: station.PackroosterConfig{DefaultWeight: "1kg"}}})
	b.ok("POST", "/api/v1/orders", validOrder("SO400"), nil)
	a := decodePR(t, b.do("POST", "/api/label", `{"order_id":"SO400"}`))
	if a.Carrier != "ZC" || a.TrackingCode != "ZSO4001" {
		t.Fatalf("answer %+v", a)
	}
	status, ctype, body := fetch(t, b.localURL(a.ShippingLabelURL))
	if status != 200 || ctype != "application/zpl" || !bytes.Contains(body, []byte("CARRIER LABEL SO400-1")) {
		t.Fatalf("plain URL: %d %s %q", status, ctype, body)
	}
	if status, _, _ := fetch(t, b.localURL(a.ShippingLabelURL)+".png"); status != 404 {
		t.Fatalf(".png of a ZPL label: %d", status)
	}
}
