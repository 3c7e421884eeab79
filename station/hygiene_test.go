package station

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

// listedChoices reads the choices an error message offers: "want one of a,
// b, c, not …" or "want a or b, not …" gives a, b, c.
func listedChoices(t *testing.T, msg string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(msg, "want ")
	if !ok {
		t.Fatalf("%q lists no choices", msg)
	}
	rest, _, _ = strings.Cut(rest, ", not ")
	rest = strings.TrimPrefix(rest, "one of ")
	var out []string
	for _, p := range strings.Split(rest, ", ") {
		out = append(out, strings.Split(p, " or ")...)
	}
	return out
}

func goodShip() ShipRequest {
	return ShipRequest{OrderID: "SO000001", Weight: Weight{Milligrams: 1000, Unit: "g", Display: "1 g"}}
}

// TestShipUnitsListed: the error for a unit lists exactly the units that
// validate (and every one is a unit the scale package reads).
func TestShipUnitsListed(t *testing.T) {
	r := goodShip()
	r.Weight.Unit = "furlong"
	err := r.validate()
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "weight.unit" {
		t.Fatalf("unit furlong: %v", err)
	}
	units := listedChoices(t, fe.Rule)
	if len(units) < 4 {
		t.Fatalf("%q lists %q", fe.Rule, units)
	}
	for _, u := range units {
		r.Weight.Unit = u
		if err := r.validate(); err != nil {
			t.Errorf("listed unit %q refused: %v", u, err)
		}
		if pu, err := scale.ParseUnit(u); err != nil || pu.String() != u {
			t.Errorf("listed unit %q is not the scale's symbol: %v %v", u, pu, err)
		}
	}
	// Every symbol the scale knows is either listed or refused.
	for u := scale.Unit(1); u.Valid(); u++ {
		r.Weight.Unit = u.String()
		if err := r.validate(); err == nil && !slices.Contains(units, u.String()) {
			t.Errorf("unit %q is accepted but not listed in %q", u, fe.Rule)
		}
	}
	for _, u := range []string{"lbs", "LB", "kilogram", "G", " g"} {
		r.Weight.Unit = u
		if err := r.validate(); err == nil {
			t.Errorf("unit %q is not listed but accepted", u)
		}
	}

	r = goodShip()
	r.Dimensions = &Dimensions{Length: "1", Width: "2", Height: "3", Unit: "yd"}
	if !errors.As(r.validate(), &fe) || fe.Field != "dimensions.unit" {
		t.Fatalf("dimension unit yd: %v", fe)
	}
	for _, u := range listedChoices(t, fe.Rule) {
		r.Dimensions.Unit = u
		if err := r.validate(); err != nil {
			t.Errorf("listed dimension unit %q refused: %v", u, err)
		}
	}
}

func TestShipHygiene(t *testing.T) {
	for _, tt := range []struct {
		name, field, rule string
		edit              func(*ShipRequest)
	}{
		{"slash in order_id", "order_id", `"/"`, func(r *ShipRequest) { r.OrderID = "../SO1" }},
		{"hash in order_id", "order_id", `"#"`, func(r *ShipRequest) { r.OrderID = "SO1#x" }},
		{"RLM in order_id", "order_id", "direction mark", func(r *ShipRequest) { r.OrderID = "SO1\u200f" }},
		{"bidi in printer", "printer", "bidi", func(r *ShipRequest) { r.Printer = "zebra\u202e" }},
		{"question mark in printer", "printer", `"?"`, func(r *ShipRequest) { r.Printer = "zebra?x" }},
		{"C1 in display", "weight.display", "control", func(r *ShipRequest) { r.Weight.Display = "1\u0085g" }},
		{"invalid UTF-8 in display", "weight.display", "UTF-8", func(r *ShipRequest) { r.Weight.Display = "1\xffg" }},
	} {
		r := goodShip()
		tt.edit(&r)
		var fe *FieldError
		if err := r.validate(); !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(fe.Rule, tt.rule) {
			t.Errorf("%s: %v, want %s: …%s…", tt.name, err, tt.field, tt.rule)
		}
	}
	if r := goodShip(); r.validate() != nil {
		t.Fatal(r.validate())
	}
}

// TestCarrierZPLSettings: a carrier's real ZPL with ^LS0, ^MMT and ^MD is
// refused by default and accepted when [zpl] allow lists them, with one
// info line naming the job and the commands (not the label).
func TestCarrierZPLSettings(t *testing.T) {
	const label = "^XA^MMT^LS0^MD10^FO50,50^A0N,40,40^FDSECRET-NAME^FS^XZ"
	// Ship logs on the caller's goroutine (the station starts none
	// without Run), so a plain buffer read after it returns is safe.
	ship := func(allow []string) (*Station, *queue.DB, *bytes.Buffer, Package, error) {
		_, url := startFulfil(t, okAnswer(label))
		clk := newClock()
		clk.SetAuto(true)
		db := openDB(t, t.TempDir(), clk)
		logs := &bytes.Buffer{}
		st := newStation(t, db, clk, Config{
			Carrier: CarrierConfig{Kind: CarrierHTTP, HTTP: HTTPCarrierConfig{URL: url, LabelType: "ZPL", Timeout: Duration(5 * time.Second)}},
			ZPL:     ZPLConfig{Allow: allow},
		}, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
		o := mustCreate(t, st, Order{})
		p, err := st.Ship(context.Background(), ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 1000}})
		return st, db, logs, p, err
	}

	_, db, _, _, err := ship(nil)
	var ce *CarrierError
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, "^MM") {
		t.Fatalf("without [zpl] allow: %v, want a CarrierError naming ^MM", err)
	}
	if js := jobs(t, db); len(js) != 0 {
		t.Fatalf("%d jobs for a refused label", len(js))
	}

	_, db, logs, p, err := ship([]string{"^LS", "^mm", "^MD"})
	if err != nil {
		t.Fatal(err)
	}
	j, err := db.Job(context.Background(), p.JobID)
	if err != nil || string(j.Payload) != label {
		t.Fatalf("job %+v %v", j, err)
	}
	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "[zpl] allow") {
			line = l
		}
	}
	if !strings.Contains(line, "level=INFO") || !strings.Contains(line, "job="+p.JobID.String()) || !strings.Contains(line, "commands=\"[^MM ^LS ^MD]\"") {
		t.Fatalf("log line %q, want info with the job and the commands\n%s", line, logs)
	}
	if strings.Contains(logs.String(), "SECRET-NAME") {
		t.Fatalf("the label contents were logged:\n%s", logs)
	}
}

func TestZPLAllowConfig(t *testing.T) {
	c := Config{ZPL: ZPLConfig{Allow: []string{"^LS", "^CC"}}}.WithDefaults()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "zpl: allow[1]") {
		t.Fatalf("^CC allowed: %v", err)
	}
	c = Config{ZPL: ZPLConfig{Allow: []string{"^LS", "^JU", "~JR"}}}.WithDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
