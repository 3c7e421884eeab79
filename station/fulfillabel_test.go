package station

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"

	"github.com/packbench/packbench/internal/strictjson"
	"github.com/packbench/packbench/queue"
)

// seedLabelRequest is the seed's own example (002) with only its comments
// removed, read as the API reads it: packages[].amount is given twice and
// the last value wins.
func seedLabelRequest(t testing.TB) FulfilLabelRequest {
	t.Helper()
	data, err := os.ReadFile("testdata/fulfil_label_request.json")
	if err != nil {
		t.Fatal(err)
	}
	var req FulfilLabelRequest
	if err := strictjson.Decode(data, &req, &strictjson.Options{LastWins: []string{"packages[].amount"}}); err != nil {
		t.Fatal(err)
	}
	return req
}

func fulfilConfig() Config {
	return Config{Carrier: CarrierConfig{TrackingURL: "https://track.example.com/{tracking}"},
		Fulfil: FulfilConfig{ServiceCodes: []string{"S1", "GROUND"}, CarrierIdentifier: "usps"}}
}

// fulfilStation is a station on a fresh file with cfg.
func fulfilStation(t *testing.T, cfg Config) (*Station, *queue.DB) {
	t.Helper()
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	return newStation(t, db, clk, cfg), db
}

func TestFulfilSeedRequestIsIdempotentPerReference(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, fulfilConfig())
	ctx := context.Background()
	req := seedLabelRequest(t)
	if req.Packages[0].Amount != nil || req.Packages[1].Reference != "CS123PKG232" {
		t.Fatalf("the seed's duplicated amount: want the last (null) value, got %v", *req.Packages[0].Amount)
	}
	resp, err := st.FulfilLabel(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Packages) != 2 || resp.TrackingNumber != resp.Packages[0].TrackingNumber || resp.Packages[0].TrackingNumber == resp.Packages[1].TrackingNumber {
		t.Fatalf("tracking numbers: %+v", resp)
	}
	if resp.Amount != "0.00" || resp.Currency != "USD" || resp.CarrierIdentifier != "usps" ||
		resp.TrackingURL != "https://track.example.com/"+resp.TrackingNumber || resp.Packages[1].TrackingURL != "https://track.example.com/"+resp.Packages[1].TrackingNumber {
		t.Errorf("answer %+v", resp)
	}
	for i, p := range resp.Packages {
		img, err := base64.StdEncoding.DecodeString(p.Label)
		if err != nil || !bytes.HasPrefix(img, []byte("\x89PNG")) {
			t.Fatalf("packages[%d].label is not a base64 PNG: %v", i, err)
		}
	}
	if js := jobs(t, db); len(js) != 2 {
		t.Fatalf("%d print jobs, want one per package", len(js))
	}

	// The whole request again, then the second package alone: same numbers
	// and labels, no new job.
	again, err := st.FulfilLabel(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !sameFulfil(resp, again) {
		t.Errorf("a retried call answered differently")
	}
	alone := req
	alone.Packages = req.Packages[1:]
	one, err := st.FulfilLabel(ctx, alone)
	if err != nil {
		t.Fatal(err)
	}
	if one.Packages[0] != resp.Packages[1] || one.TrackingNumber != resp.Packages[1].TrackingNumber {
		t.Errorf("package retried alone: %+v, want %+v", one.Packages[0], resp.Packages[1])
	}
	if js := jobs(t, db); len(js) != 2 {
		t.Fatalf("%d print jobs after the retries, want 2", len(js))
	}

	// Durable: reopen the file, a new station answers the same.
	db.Close()
	db = openDB(t, dir, clk)
	st = newStation(t, db, clk, fulfilConfig())
	after, err := st.FulfilLabel(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !sameFulfil(resp, after) || len(jobs(t, db)) != 2 {
		t.Errorf("after reopening: a different answer or a new job")
	}
}

func sameFulfil(a, b FulfilLabelResponse) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// Fulfil references are their own namespace: a Fulfil package named like
// one of the bench's own package references gets its own order and label.
func TestFulfilReferencesApartFromBenchReferences(t *testing.T) {
	st, db := fulfilStation(t, fulfilConfig())
	ctx := context.Background()
	o := mustCreate(t, st, Order{})
	own, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 1_000_000, Display: "1 kg", Unit: "kg"}})
	if err != nil {
		t.Fatal(err)
	}
	req := seedLabelRequest(t)
	req.Packages = req.Packages[:1]
	req.Packages[0].Reference = own.Reference
	resp, err := st.FulfilLabel(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.TrackingNumber == own.TrackingNumber {
		t.Fatalf("the Fulfil reference %q answered with the bench's own package", own.Reference)
	}
	p, err := st.Package(ctx, resp.TrackingNumber)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.OrderID, "FL") || p.Reference == own.Reference {
		t.Errorf("Fulfil package %+v", p)
	}
	if js := jobs(t, db); len(js) != 2 {
		t.Errorf("%d jobs, want 2", len(js))
	}
}

// 20 identical calls at once: one label and one print job per package.
func TestFulfilConcurrentIdenticalCalls(t *testing.T) {
	st, db := fulfilStation(t, fulfilConfig())
	req := seedLabelRequest(t)
	req.Options.LabelType = "ZPL"
	const n = 20
	answers := make([]FulfilLabelResponse, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = st.FulfilLabel(context.Background(), req)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if !sameFulfil(answers[0], answers[i]) {
			t.Fatalf("call %d answered differently", i)
		}
	}
	js := jobs(t, db)
	if len(js) != 2 {
		t.Fatalf("%d print jobs, want 2", len(js))
	}
	for i, p := range answers[0].Packages {
		if !strings.HasPrefix(p.Label, "^XA") {
			t.Errorf("packages[%d].label is not raw ZPL: %.20q", i, p.Label)
		}
	}
}

// The PNG label decodes to its tracking number (raster layout).
func TestFulfilPNGLabelBarcode(t *testing.T) {
	cfg := fulfilConfig()
	cfg.Carrier.Scheme, cfg.Carrier.Prefix = SchemeSequence, "PB"
	st, _ := fulfilStation(t, cfg)
	req := seedLabelRequest(t)
	resp, err := st.FulfilLabel(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range resp.Packages {
		data, _ := base64.StdEncoding.DecodeString(p.Label)
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
		res, err := oned.NewCode128Reader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
		if err != nil {
			t.Fatalf("packages[%d]: no barcode: %v", i, err)
		}
		if res.GetText() != p.TrackingNumber {
			t.Errorf("packages[%d]: barcode %q, tracking number %q", i, res.GetText(), p.TrackingNumber)
		}
	}
}

// Units reach the package exactly; no_print issues labels without jobs.
func TestFulfilUnitsAndNoPrint(t *testing.T) {
	cfg := fulfilConfig()
	cfg.Fulfil.NoPrint = true
	st, db := fulfilStation(t, cfg)
	ctx := context.Background()
	tests := []struct {
		weight, unit string
		mg           int64
		dims         []string
		dimUnit      string
	}{
		{"7", "lb", 3_175_147, []string{"4", "4", "5"}, "in"},
		{"7.8", "oz", 221_126, nil, ""},
		{"2.5", "kg", 2_500_000, []string{"30", "20.5", "10"}, "cm"},
		{"850", "g", 850_000, nil, ""},
	}
	for i, tt := range tests {
		req := seedLabelRequest(t)
		req.Packages = req.Packages[:1]
		p := &req.Packages[0]
		p.Reference = "UNITS-" + tt.unit
		p.Weight, p.WeightUnit = json.Number(tt.weight), tt.unit
		p.Length, p.Width, p.Height, p.DimensionUnit = nil, nil, nil, nil
		if tt.dims != nil {
			l, w, h, u := json.Number(tt.dims[0]), json.Number(tt.dims[1]), json.Number(tt.dims[2]), tt.dimUnit
			p.Length, p.Width, p.Height, p.DimensionUnit = &l, &w, &h, &u
		}
		resp, err := st.FulfilLabel(ctx, req)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		got, err := st.Package(ctx, resp.TrackingNumber)
		if err != nil {
			t.Fatal(err)
		}
		if got.Weight.Milligrams != tt.mg || got.Weight.Unit != tt.unit || got.Weight.Display != tt.weight+" "+tt.unit {
			t.Errorf("%s %s: weight %+v, want %d mg", tt.weight, tt.unit, got.Weight, tt.mg)
		}
		if tt.dims != nil && (got.Dimensions == nil || got.Dimensions.Width != tt.dims[1] || got.Dimensions.Unit != tt.dimUnit) {
			t.Errorf("%s: dimensions %+v", tt.unit, got.Dimensions)
		}
		if got.JobID != 0 || got.Printer != "" || got.Status != PackageLabelled {
			t.Errorf("no_print: package %+v has a job", got)
		}
	}
	if js := jobs(t, db); len(js) != 0 {
		t.Errorf("no_print: %d jobs", len(js))
	}
}

// Every refusal is a FieldError naming the seed's path, and nothing is stored.
func TestFulfilRefusals(t *testing.T) {
	st, db := fulfilStation(t, fulfilConfig())
	tests := []struct {
		field string
		edit  func(r *FulfilLabelRequest)
	}{
		{"service_code", func(r *FulfilLabelRequest) { r.ServiceCode = "OVERNIGHT" }},
		{"service_code", func(r *FulfilLabelRequest) { r.ServiceCode = "" }},
		{"options.label_type", func(r *FulfilLabelRequest) { r.Options.LabelType = "PDF" }},
		{"packages[1].weight_unit", func(r *FulfilLabelRequest) { r.Packages[1].WeightUnit = "stone" }},
		{"packages[0].weight", func(r *FulfilLabelRequest) { r.Packages[0].Weight = "0" }},
		{"packages[0].weight", func(r *FulfilLabelRequest) { r.Packages[0].Weight = "" }},
		{"packages[1].dimension_unit", func(r *FulfilLabelRequest) { u := "mm"; r.Packages[1].DimensionUnit = &u }},
		{"packages[0].width", func(r *FulfilLabelRequest) { r.Packages[0].Width = nil }},
		{"packages[1].reference", func(r *FulfilLabelRequest) { r.Packages[1].Reference = r.Packages[0].Reference }},
		{"packages[0].reference", func(r *FulfilLabelRequest) { r.Packages[0].Reference = "" }},
		{"packages", func(r *FulfilLabelRequest) { r.Packages = nil }},
		{"destination.zip", func(r *FulfilLabelRequest) { r.Destination.Zip = "" }},
		{"origin.country", func(r *FulfilLabelRequest) { r.Origin.Country = "USA" }},
		{"packages[0].lines[0].weight_uom", func(r *FulfilLabelRequest) { r.Packages[0].Lines[0].WeightUOM = "ton" }},
		{"options.insurance_amount", func(r *FulfilLabelRequest) { r.Options.InsuranceAmount = "12.345" }},
		{"customs.items[0].country_of_origin", func(r *FulfilLabelRequest) { r.Customs.Items[0].CountryOfOrigin = "USA" }},
	}
	for _, tt := range tests {
		req := seedLabelRequest(t)
		tt.edit(&req)
		_, err := st.FulfilLabel(context.Background(), req)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v", tt.field, err)
		}
	}
	if js := jobs(t, db); len(js) != 0 {
		t.Errorf("refused requests left %d jobs", len(js))
	}
	var n int
	db.View(func(tx *queue.Tx) error {
		recs, err := tx.ListRecords(kindFulfilRefs, queue.RecordPage{})
		n = len(recs)
		return err
	})
	if n != 0 {
		t.Errorf("refused requests left %d references", n)
	}
}

func TestFulfilConfigCarrierIdentifier(t *testing.T) {
	cfg := Config{Fulfil: FulfilConfig{CarrierIdentifier: "acme_post"}}.WithDefaults()
	if err := cfg.Validate(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "fulfil.carrier_identifier") {
		t.Errorf("an identifier outside the seed's list: %v", err)
	}
	cfg = Config{Fulfil: FulfilConfig{CarrierIdentifier: "yun_express"}}.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Errorf("the seed's last identifier: %v", err)
	}
	if got := len(FulfilCarriers()); got != 176 {
		t.Errorf("%d carrier identifiers, the seed lists 176", got)
	}
}

// With auto_arm_next the flow never arms a /label order: it is labelled by
// its call, not by a parcel on the scale.
func TestFulfilOrdersAreNotArmed(t *testing.T) {
	cfg := fulfilConfig()
	cfg.Flow.AutoArmNext = true
	st, _ := fulfilStation(t, cfg)
	if _, err := st.FulfilLabel(context.Background(), seedLabelRequest(t)); err != nil {
		t.Fatal(err)
	}
	if f := st.State(); f.State != FlowIdle || f.Order != nil {
		t.Fatalf("flow %+v after /label: want idle with no order", f)
	}
	o := mustCreate(t, st, Order{})
	if f := st.State(); f.State != FlowArmed || f.Order == nil || f.Order.ID != o.ID {
		t.Fatalf("flow %+v: want the bench's own order armed", f)
	}
}

// An order created through the bench's own API with the id /label would
// give a reference is never labelled for Fulfil: the reference takes the
// next free number instead.
func TestFulfilOrderIDTaken(t *testing.T) {
	st, db := fulfilStation(t, fulfilConfig())
	mustCreate(t, st, Order{ID: "FL000001"})
	req := seedLabelRequest(t)
	resp, err := st.FulfilLabel(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if js := jobs(t, db); len(js) != len(req.Packages) {
		t.Errorf("%d jobs, want one per package (%d)", len(js), len(req.Packages))
	}
	if sh, err := st.Shipment(context.Background(), "FL000001"); err == nil && len(sh.Packages) > 0 {
		t.Errorf("the bench's own order FL000001 got packages %+v", sh.Packages)
	}
	for i, p := range req.Packages {
		id, err := st.fulfilRefOrder(p.Reference)
		if err != nil || id == "" || id == "FL000001" {
			t.Errorf("packages[%d] (%s) → order %q, %v: want a number of its own", i, p.Reference, id, err)
		}
	}
	if len(resp.Packages) != len(req.Packages) {
		t.Errorf("%d labels in the answer, want %d", len(resp.Packages), len(req.Packages))
	}
}

// With a rate table, amount is the sum of the packages' rates.
func TestFulfilAmountFromRates(t *testing.T) {
	cfg := fulfilConfig()
	cfg.Carrier.Currency = "CAD"
	cfg.Carrier.Rates = RateTable{DefaultZone: "1", Bands: []RateBand{
		{UpTo: "1lb", Prices: map[string]string{"1": "4.50"}}, {UpTo: "10lb", Prices: map[string]string{"1": "8.05"}}}}
	st, _ := fulfilStation(t, cfg)
	req := seedLabelRequest(t)
	req.Packages[1].Weight, req.Packages[1].WeightUnit = "12", "oz"
	resp, err := st.FulfilLabel(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Amount != "12.55" || resp.Currency != "CAD" {
		t.Errorf("amount %s %s, want 12.55 CAD (8.05 for 7 lb + 4.50 for 12 oz)", resp.Amount, resp.Currency)
	}
}

// A reference whose carrier call failed is labelled on the retry with the
// order and package the first call stored (one order, one package, the
// same reference), and nothing is printed for the failed call.
func TestFulfilRetryAfterCarrierFailure(t *testing.T) {
	var fail sync.Mutex
	failing := true
	label := base64.StdEncoding.EncodeToString(carrierPNG(t, 812, 1218))
	_, url := startFulfil(t, func(w http.ResponseWriter, r *http.Request, attempt int) {
		fail.Lock()
		f := failing
		fail.Unlock()
		if f {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, `{"error":"address not served"}`)
			return
		}
		okAnswer(label)(w, r, attempt)
	})
	clk := newClock()
	clk.SetAuto(true)
	db := openDB(t, t.TempDir(), clk)
	cfg := fulfilConfig()
	cfg.Carrier = CarrierConfig{Kind: CarrierHTTP, HTTP: HTTPCarrierConfig{URL: url, Timeout: Duration(5 * time.Second)}}
	st := newStation(t, db, clk, cfg)
	ctx := context.Background()
	req := seedLabelRequest(t)
	req.Packages = req.Packages[:1]
	req.Options.LabelType = FulfilZPL
	if _, err := st.FulfilLabel(ctx, req); !errors.Is(err, ErrCarrier) {
		t.Fatalf("first call: %v, want the carrier's refusal", err)
	}
	id, err := st.fulfilRefOrder(req.Packages[0].Reference)
	if err != nil || id == "" {
		t.Fatalf("reference %s → order %q, %v: want the order stored with its reference", req.Packages[0].Reference, id, err)
	}
	if js := jobs(t, db); len(js) != 0 {
		t.Fatalf("%d jobs after a refused label", len(js))
	}
	fail.Lock()
	failing = false
	fail.Unlock()
	resp, err := st.FulfilLabel(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := st.Shipment(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(sh.Packages) != 1 || sh.Packages[0].Status != PackageLabelled || sh.Packages[0].TrackingNumber != resp.TrackingNumber {
		t.Errorf("order %s packages %+v, want the one package labelled with %s", id, sh.Packages, resp.TrackingNumber)
	}
	if js := jobs(t, db); len(js) != 1 {
		t.Errorf("%d jobs, want 1", len(js))
	}
	if again, err := st.fulfilRefOrder(req.Packages[0].Reference); err != nil || again != id {
		t.Errorf("reference now → %q, %v; want %s still", again, err, id)
	}
}
