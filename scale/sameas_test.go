package scale_test

import (
	"errors"
	"testing"
	"time"

	"github.com/packbench/packbench/scale"
)

func TestReadingSameAs(t *testing.T) {
	base := scale.Reading{Milligrams: 221_126, Unit: scale.UnitOunce, Value: 78, Exp: -1, Status: scale.StatusStable,
		Time: time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC), Source: "hid:/dev/hidraw0"}
	fault := base
	fault.Status, fault.Err = scale.StatusFault, errors.New("no answer")
	tests := []struct {
		name string
		edit func(*scale.Reading)
		from scale.Reading
		same bool
	}{
		{"identical", func(*scale.Reading) {}, base, true},
		{"only the time", func(r *scale.Reading) { r.Time = r.Time.Add(time.Second) }, base, true},
		{"weight", func(r *scale.Reading) { r.Milligrams++ }, base, false},
		{"unit", func(r *scale.Reading) { r.Unit = scale.UnitGram }, base, false},
		{"value", func(r *scale.Reading) { r.Value++ }, base, false},
		{"exponent (same mg, other display)", func(r *scale.Reading) { r.Value, r.Exp = 780, -2 }, base, false},
		{"status", func(r *scale.Reading) { r.Status = scale.StatusMotion }, base, false},
		{"source", func(r *scale.Reading) { r.Source = "sim" }, base, false},
		{"no value", func(r *scale.Reading) { r.NoValue = true }, base, false},
		{"an error appears", func(r *scale.Reading) { r.Err = errors.New("x") }, base, false},
		{"same error text, another value", func(r *scale.Reading) { r.Err = errors.New("no answer") }, fault, true},
		{"other error text", func(r *scale.Reading) { r.Err = errors.New("unplugged") }, fault, false},
	}
	for _, tt := range tests {
		b := tt.from
		tt.edit(&b)
		if got := tt.from.SameAs(b); got != tt.same {
			t.Errorf("%s: a.SameAs(b) = %v, want %v", tt.name, got, tt.same)
		}
		if got := b.SameAs(tt.from); got != tt.same {
			t.Errorf("%s: b.SameAs(a) = %v, want %v (not symmetric)", tt.name, got, tt.same)
		}
	}
}
