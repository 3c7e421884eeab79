package station

import (
	"errors"
	"slices"
	"strings"
	"testing"

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
