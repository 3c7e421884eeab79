package scale_test

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/packbench/packbench/scale"
)

func TestToMilligrams(t *testing.T) {
	tests := []struct {
		v    int64
		exp  int
		u    scale.Unit
		want int64
	}{
		{78, -1, scale.UnitOunce, 221_126},     // 221.1262803750 g
		{1135, -1, scale.UnitOunce, 3_217_671}, // 3217.6708746875 g
		{785, -2, scale.UnitPound, 3_560_700},  // 3560.700104500 g
		{1, 0, scale.UnitPound, 453_592},       // 453.59237 g
		{1, 0, scale.UnitOunce, 28_350},        // 28.349523125 g
		{-78, -1, scale.UnitOunce, -221_126},   // symmetric rounding
		{1, 0, scale.UnitMilligram, 1},
		{5, -1, scale.UnitMilligram, 1}, // 0.5 mg rounds away from zero
		{-5, -1, scale.UnitMilligram, -1},
		{4, -1, scale.UnitMilligram, 0},
		{1, 0, scale.UnitGrain, 65},         // 64.79891 mg
		{1, 0, scale.UnitTroyOunce, 31_103}, // 31.1034768 g
		{1, 0, scale.UnitCarat, 200},
		{65535, 6, scale.UnitShortTon, 0}, // overflows: checked below
		{2, 0, scale.UnitMetricTon, 2_000_000_000},
		{1, -30, scale.UnitKilogram, 0},
		{12345, 2, scale.UnitGram, 1_234_500_000},
	}
	for _, tc := range tests {
		got, err := scale.ToMilligrams(tc.v, tc.exp, tc.u)
		if tc.u == scale.UnitShortTon {
			if !errors.Is(err, scale.ErrOutOfRange) {
				t.Errorf("%de%d %s: err %v, want ErrOutOfRange", tc.v, tc.exp, tc.u, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%de%d %s = %d, %v; want %d", tc.v, tc.exp, tc.u, got, err, tc.want)
		}
	}
	if _, err := scale.ToMilligrams(1, 0, scale.UnitNone); !errors.Is(err, scale.ErrUnknownUnit) {
		t.Errorf("no unit: %v", err)
	}
	// The big.Int path agrees with the fast path where both apply.
	got, err := scale.ToMilligrams(math.MaxInt64/1_000_000, -2, scale.UnitPound)
	if err != nil || got != 41_836_511_815_883_332 { // 9223372036854 × 453592370000 ng / 1e8, rounded
		t.Errorf("big path: %d %v", got, err)
	}
}

func TestDecimal(t *testing.T) {
	for _, tc := range []struct {
		in  string
		v   int64
		exp int
		out string
	}{
		{"100.00", 10000, -2, "100.00"},
		{"  -12.345", -12345, -3, "-12.345"},
		{"+0001.25", 125, -2, "1.25"},
		{"7", 7, 0, "7"},
		{".5", 5, -1, "0.5"},
		{"- 3.0", -30, -1, "-3.0"},
	} {
		v, exp, err := scale.ParseDecimal(tc.in)
		if err != nil || v != tc.v || exp != tc.exp {
			t.Errorf("ParseDecimal(%q) = %d, %d, %v", tc.in, v, exp, err)
		}
		if s := scale.FormatDecimal(v, exp); s != tc.out {
			t.Errorf("FormatDecimal(%d, %d) = %q, want %q", v, exp, s, tc.out)
		}
	}
	for _, bad := range []string{"", ".", "1.2.3", "12a", "1234567890123456789", "--1"} {
		if _, _, err := scale.ParseDecimal(bad); !errors.Is(err, scale.ErrMalformed) {
			t.Errorf("ParseDecimal(%q): err %v, want ErrMalformed", bad, err)
		}
	}
	if s := scale.FormatDecimal(math.MinInt64, 0); s != "-9223372036854775808" {
		t.Errorf("MinInt64: %s", s)
	}
	if s := scale.FormatDecimal(5, 2); s != "500" {
		t.Errorf("positive exp: %s", s)
	}
}

func TestUnitsAndStatusText(t *testing.T) {
	for _, s := range []string{"g", "KG", "oz", "lb", "lbs", "mg", "ct", "gr", "dwt", "t", "ton", "ozt"} {
		u, err := scale.ParseUnit(s)
		if err != nil || !u.Valid() {
			t.Errorf("ParseUnit(%q) = %v, %v", s, u, err)
		}
		if !strings.EqualFold(u.String(), strings.TrimSuffix(strings.ToLower(s), "s")) && s != "lbs" {
			t.Errorf("%q round-trips as %q", s, u)
		}
	}
	if _, err := scale.ParseUnit("stone"); !errors.Is(err, scale.ErrUnknownUnit) {
		t.Errorf("stone: %v", err)
	}
	r := scale.Reading{Milligrams: 221_126, Unit: scale.UnitOunce, Value: 78, Exp: -1, Status: scale.StatusStable, Source: "hid:/dev/hidraw0"}
	if got := r.String(); got != "7.8 oz  (221.126 g)  stable  hid:/dev/hidraw0" {
		t.Errorf("String() = %q", got)
	}
	b, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(b), `"status":"stable"`) || !strings.Contains(string(b), `"unit":"oz"`) || !strings.Contains(string(b), `"display":"7.8 oz"`) {
		t.Errorf("JSON %s %v", b, err)
	}
	var st scale.Status
	if err := st.UnmarshalText([]byte("needs-zero")); err != nil || st != scale.StatusNeedsZero {
		t.Errorf("status text: %v %v", st, err)
	}
}

// TestParseUnitListsUnits: the error lists exactly the units ParseUnit
// accepts.
func TestParseUnitListsUnits(t *testing.T) {
	_, err := scale.ParseUnit("furlong")
	if err == nil {
		t.Fatal("accepted")
	}
	_, list, ok := strings.Cut(err.Error(), "want one of ")
	if !ok {
		t.Fatalf("%v lists no units", err)
	}
	list = strings.TrimSuffix(list, " (any case)")
	var listed []string
	for _, p := range strings.Split(list, ", ") {
		listed = append(listed, strings.Split(p, " or ")...)
	}
	for _, u := range listed {
		for _, spelled := range []string{u, strings.ToUpper(u)} {
			if _, err := scale.ParseUnit(spelled); err != nil {
				t.Errorf("listed unit %q refused: %v", spelled, err)
			}
		}
	}
	for u := scale.Unit(1); u.Valid(); u++ {
		if !slices.Contains(listed, u.String()) {
			t.Errorf("unit %q is accepted but not listed in %q", u, err)
		}
	}
	for _, u := range []string{"pound", "kgs", "tael", "grams", "l b"} {
		if _, err := scale.ParseUnit(u); err == nil {
			t.Errorf("unit %q accepted but not listed", u)
		}
	}
}
