package station

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/packbench/packbench/labelrender"
)

func TestSSCC(t *testing.T) {
	tests := []struct {
		ext    int
		prefix string
		serial uint64
		want   string
		err    bool
	}{
		{1, "0614141", 123456789, "106141411234567897", false},
		{3, "4012345", 0, "340123450000000000", false},
		{0, "0000000", 1, "000000000000000017", false},
		{0, "1234567890", 999999, "012345678909999997", false}, // by hand: weighted sum 193 → 7
		{0, "1234567890", 1000000, "", true},                   // serial does not fit 6 digits
		{10, "0614141", 1, "", true},
		{0, "061414", 1, "", true},
		{0, "06141x1", 1, "", true},
	}
	for _, tt := range tests {
		got, err := SSCC(tt.ext, tt.prefix, tt.serial)
		if tt.err {
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Errorf("SSCC(%d, %s, %d) = %q, %v; want an ErrInvalid", tt.ext, tt.prefix, tt.serial, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("SSCC(%d, %s, %d) = %q, %v; want %q", tt.ext, tt.prefix, tt.serial, got, err, tt.want)
		}
		if len(got) != 18 {
			t.Errorf("SSCC %q has %d digits", got, len(got))
		}
		// labelrender checks AI (00) check digits on its own: agree with it.
		l := labelrender.Label{From: tonyDouglas.render(), To: tonyDouglas.render(), Carrier: "X", Service: "Y",
			TrackingNumber: "(00)" + got, Barcode: labelrender.GS1128}
		if err := l.Validate(); err != nil {
			t.Errorf("labelrender refuses SSCC %s: %v", got, err)
		}
	}
}

func TestSequenceNumbers(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	c, err := NewLocalCarrier(db, CarrierConfig{Scheme: SchemeSequence, Prefix: "PB", Digits: 6, TrackingURL: "https://t.example/{tracking}?x=1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r1, err := c.Label(ctx, LabelRequest{Reference: "A-1", To: tonyDouglas, Weight: Weight{Milligrams: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := c.Label(ctx, LabelRequest{Reference: "A-2", To: tonyDouglas, Weight: Weight{Milligrams: 1000}})
	again, _ := c.Label(ctx, LabelRequest{Reference: "A-1", To: tonyDouglas, Weight: Weight{Milligrams: 1000}})
	// 000001 → check digit 7 (3·1 = 3, 10-3 = 7); 000002 → 4.
	if r1.TrackingNumber != "PB0000017" || r2.TrackingNumber != "PB0000024" {
		t.Errorf("numbers %q, %q; want PB0000017, PB0000024", r1.TrackingNumber, r2.TrackingNumber)
	}
	if again.TrackingNumber != r1.TrackingNumber {
		t.Errorf("asking again for A-1 gave %q, want the same %q", again.TrackingNumber, r1.TrackingNumber)
	}
	if r1.TrackingURL != "https://t.example/PB0000017?x=1" {
		t.Errorf("tracking url %q", r1.TrackingURL)
	}
	if r1.Barcode != "code128" || r1.BarcodeData != "" {
		t.Errorf("barcode %q %q, want code128 of the number", r1.Barcode, r1.BarcodeData)
	}
}

func TestRateTable(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	cfg := CarrierConfig{Currency: "EUR", Rates: RateTable{
		DefaultZone: "1",
		Zones: []ZoneRule{
			{Zone: "3", Countries: []string{"CA", "MX"}},
			{Zone: "2", Countries: []string{"US"}, ZipPrefixes: []string{"9", "8"}},
		},
		Bands: []RateBand{
			{UpTo: "500g", Prices: map[string]string{"1": "4.5", "2": "6.00", "3": "12"}},
			{UpTo: "2lb", Prices: map[string]string{"1": "5.25", "2": "7.10"}},
			{UpTo: "5kg", Prices: map[string]string{"1": "9.99", "2": "14.00", "3": "30.00"}},
		},
	}}
	c, err := NewLocalCarrier(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	la := Address{Country: "US", Zip: "90210"}
	ny := Address{Country: "US", Zip: "10019"}
	to := Address{Country: "ca", Zip: "M5V"}
	tests := []struct {
		name string
		to   Address
		mg   int64
		want string
		err  string
	}{
		{"lightest", ny, 1, "4.50", ""},
		{"band includes its limit", ny, 500_000, "4.50", ""},
		{"next band", ny, 500_001, "5.25", ""},
		{"2 lb exactly", ny, 907_185, "5.25", ""}, // 2 lb = 907.18474 g, rounded up a milligram
		{"zone by zip prefix", la, 200_000, "6.00", ""},
		{"zone by country, any case", to, 200_000, "12.00", ""},
		{"zone without a price in the band", to, 600_000, "", `no price for zone "3"`},
		{"exactly 5 kg", ny, 5_000_000, "9.99", ""},
		{"above the last band", ny, 5_000_001, "", "heavier than the rate table allows (5kg)"},
	}
	for _, tt := range tests {
		got, err := c.Rate(tt.to, tt.mg)
		if tt.err != "" {
			var ce *CarrierError
			if !errors.As(err, &ce) || !strings.Contains(ce.Message, tt.err) {
				t.Errorf("%s: Rate = %q, %v; want a CarrierError with %q", tt.name, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: Rate = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	res, err := c.Label(context.Background(), LabelRequest{Reference: "R-1", To: la, Weight: Weight{Milligrams: 300_000}})
	if err != nil || res.Amount != "6.00" || res.Currency != "EUR" {
		t.Errorf("Label: amount %q %q, err %v; want 6.00 EUR", res.Amount, res.Currency, err)
	}
	if !strings.HasPrefix(res.BarcodeData, "(00)") || res.Barcode != "gs1-128" || len(res.TrackingNumber) != 18 {
		t.Errorf("default scheme: %q %q %q, want an SSCC-18 as GS1-128 (00)", res.TrackingNumber, res.Barcode, res.BarcodeData)
	}
}

func TestRateTableRefusesShrinkingBands(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	_, err := NewLocalCarrier(db, CarrierConfig{Rates: RateTable{DefaultZone: "1", Bands: []RateBand{
		{UpTo: "500g", Prices: map[string]string{"1": "4.50"}},
		{UpTo: "1lb", Prices: map[string]string{"1": "5.00"}},
	}}})
	if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "carrier.rates.bands[1].up_to") {
		t.Fatalf("err = %v, want ErrConfig naming carrier.rates.bands[1].up_to", err)
	}
}

// A refusal of the local carrier (too heavy for the rate table) leaves
// nothing behind: no job, no pending package; the next parcel takes the
// same reference.
func TestLocalCarrierRefusalLeavesNothing(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{Carrier: CarrierConfig{Rates: RateTable{DefaultZone: "1",
		Bands: []RateBand{{UpTo: "10kg", Prices: map[string]string{"1": "7.00"}}}}}})
	o := mustCreate(t, st, Order{})
	ctx := context.Background()
	_, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 10_000_001}})
	var ce *CarrierError
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, "heavier") {
		t.Fatalf("err = %v", err)
	}
	if js := jobs(t, db); len(js) != 0 {
		t.Errorf("%d jobs", len(js))
	}
	if _, err := st.Package(ctx, o.ID+"-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("package after a refusal: %v, want ErrNotFound", err)
	}
	p, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 9_000_000}})
	if err != nil || p.Reference != o.ID+"-1" || p.Amount != "7.00" || p.Currency != "USD" {
		t.Fatalf("%+v, %v", p, err)
	}
	// The counter was not consumed by the refusal either.
	if p.TrackingNumber != "000000000000000017" {
		t.Errorf("first SSCC %s, want serial 1 (000000000000000017)", p.TrackingNumber)
	}
}
