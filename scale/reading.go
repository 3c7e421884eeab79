package scale

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Unit is the unit a scale displays. Weights are carried as exact integer
// milligrams; the unit and the raw value are kept for display, so a label
// says "7.8 oz" exactly as the scale did.
type Unit uint8

// Units. The HID POS unit codes map onto these; serial protocols name them.
const (
	UnitNone Unit = iota // no unit known (Toledo polled: it comes from config)
	UnitMilligram
	UnitGram
	UnitKilogram
	UnitCarat
	UnitGrain
	UnitPennyweight
	UnitMetricTon
	UnitShortTon
	UnitTroyOunce
	UnitOunce
	UnitPound
)

var unitNames = [...]string{"", "mg", "g", "kg", "ct", "gr", "dwt", "t", "ton", "ozt", "oz", "lb"}

// nanogramsPer is the exact size of one unit in nanograms: every unit we
// accept is an integer number of nanograms (1 oz = 28.349523125 g), so the
// conversion to milligrams is exact integer arithmetic plus one rounding.
var nanogramsPer = [...]uint64{
	UnitMilligram:   1_000_000,
	UnitGram:        1_000_000_000,
	UnitKilogram:    1_000_000_000_000,
	UnitCarat:       200_000_000,
	UnitGrain:       64_798_910,
	UnitPennyweight: 1_555_173_840,
	UnitMetricTon:   1_000_000_000_000_000,
	UnitShortTon:    907_184_740_000_000,
	UnitTroyOunce:   31_103_476_800,
	UnitOunce:       28_349_523_125,
	UnitPound:       453_592_370_000,
}

func (u Unit) String() string {
	if int(u) < len(unitNames) {
		return unitNames[u]
	}
	return "unit(" + strconv.Itoa(int(u)) + ")"
}

// Valid reports whether u is a unit with an exact conversion.
func (u Unit) Valid() bool { return u > UnitNone && int(u) < len(nanogramsPer) }

// MarshalText writes the unit's symbol.
func (u Unit) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText reads a unit symbol (see ParseUnit).
func (u *Unit) UnmarshalText(b []byte) error {
	v, err := ParseUnit(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// ParseUnit reads a unit symbol as scales and config files spell it: g, kg,
// oz, lb (also lbs), mg, ct, gr, dwt, t, ton, ozt. Case is ignored.
func ParseUnit(s string) (Unit, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "lbs":
		return UnitPound, nil
	case "":
		return UnitNone, fmt.Errorf("%w: empty unit", ErrUnknownUnit)
	}
	for i, n := range unitNames {
		if i > 0 && n == s {
			return Unit(i), nil
		}
	}
	return UnitNone, fmt.Errorf("%w: %q: want one of %s or lbs (any case)", ErrUnknownUnit, s, strings.Join(unitNames[1:], ", "))
}

// Status is what the scale says about the weight it reports.
type Status uint8

// Statuses. Only Stable, Motion and Zero carry a usable weight.
const (
	StatusUnknown Status = iota
	StatusStable
	StatusMotion
	StatusZero  // stable at zero
	StatusUnder // below zero (negative weight)
	StatusOver  // over capacity: the weight is not meaningful
	StatusFault // the scale or the link failed; see Reading.Err
	StatusNeedsZero
	StatusNeedsCalibration
)

var statusNames = [...]string{"unknown", "stable", "motion", "zero", "under", "over", "fault", "needs-zero", "needs-calibration"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes the status name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a status name.
func (s *Status) UnmarshalText(b []byte) error {
	for i, n := range statusNames {
		if n == string(b) {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("scale: unknown status %q", b)
}

// HasWeight reports whether a reading with this status carries a weight.
// Under is left out: some scales send a negative weight with it, others none;
// either way the parcel is off the scale.
func (s Status) HasWeight() bool {
	return s == StatusStable || s == StatusMotion || s == StatusZero
}

// Reading is one weight report.
type Reading struct {
	// Milligrams is the exact weight, rounded to the nearest milligram
	// (halves away from zero). Meaningful only when Status.HasWeight().
	Milligrams int64
	// Unit, Value and Exp are what the scale showed: Value × 10^Exp Unit.
	Unit  Unit
	Value int64
	Exp   int
	// Status is the scale's own status (or StatusFault for link errors).
	Status Status
	// Time is when the reading was received.
	Time time.Time
	// Source names the scale, e.g. "hid:/dev/hidraw0" or "mt-sics:/dev/ttyUSB0".
	Source string
	// NoValue is set when the scale sent a status without a weight (a
	// Toledo "?" status reply, an NCI status-only reply in motion).
	NoValue bool
	// Err says why, for StatusFault readings published by a Link.
	Err error
}

// HasWeight reports whether Milligrams is a real weight.
func (r Reading) HasWeight() bool { return r.Status.HasWeight() && !r.NoValue }

// SameAs reports whether r shows nothing new compared with o: the same
// weight, the same display (unit, value, exponent), status, source,
// no-value flag and error text; only the time may differ. It is the one
// rule for "a reading changed" wherever readings are streamed on change
// (the API's event stream, the MQTT weight topic, the CLI's weigh), so
// every consumer sees a change exactly when the reading's JSON would.
func (r Reading) SameAs(o Reading) bool {
	return r.Milligrams == o.Milligrams && r.Unit == o.Unit && r.Value == o.Value && r.Exp == o.Exp &&
		r.Status == o.Status && r.Source == o.Source && r.NoValue == o.NoValue && errText(r.Err) == errText(o.Err)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Display formats the raw value in the scale's unit, e.g. "7.8 oz".
func (r Reading) Display() string {
	s := FormatDecimal(r.Value, r.Exp)
	if r.Unit != UnitNone {
		s += " " + r.Unit.String()
	}
	return s
}

// Grams formats Milligrams as grams with three decimals, e.g. "221.126 g".
func (r Reading) Grams() string { return FormatDecimal(r.Milligrams, -3) + " g" }

func (r Reading) String() string {
	if !r.HasWeight() && !(r.Status == StatusUnder && r.Unit.Valid()) {
		if r.Err != nil {
			return fmt.Sprintf("%s (%v)  %s", r.Status, r.Err, r.Source)
		}
		return fmt.Sprintf("%s  %s", r.Status, r.Source)
	}
	return fmt.Sprintf("%s  (%s)  %s  %s", r.Display(), r.Grams(), r.Status, r.Source)
}

// MarshalJSON writes the reading with names, not codes, and Err as text.
func (r Reading) MarshalJSON() ([]byte, error) {
	type out struct {
		Milligrams int64     `json:"milligrams"`
		Display    string    `json:"display"`
		Unit       Unit      `json:"unit"`
		Value      int64     `json:"value"`
		Exp        int       `json:"exp"`
		Status     Status    `json:"status"`
		Time       time.Time `json:"time"`
		Source     string    `json:"source"`
		Error      string    `json:"error,omitempty"`
	}
	o := out{r.Milligrams, r.Display(), r.Unit, r.Value, r.Exp, r.Status, r.Time, r.Source, ""}
	if r.Err != nil {
		o.Error = r.Err.Error()
	}
	return json.Marshal(o)
}

// FormatDecimal writes v × 10^exp without floating point.
func FormatDecimal(v int64, exp int) string {
	neg := v < 0
	var digits string
	if neg {
		digits = strconv.FormatUint(uint64(-(v+1))+1, 10)
	} else {
		digits = strconv.FormatInt(v, 10)
	}
	switch {
	case exp > 0:
		digits += strings.Repeat("0", exp)
	case exp < 0:
		n := -exp
		if len(digits) <= n {
			digits = strings.Repeat("0", n-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-n] + "." + digits[len(digits)-n:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// ToMilligrams converts value × 10^exp unit to milligrams exactly, rounding
// the last half milligram away from zero.
func ToMilligrams(value int64, exp int, u Unit) (int64, error) {
	if !u.Valid() {
		return 0, fmt.Errorf("%w: %s", ErrUnknownUnit, u)
	}
	if value == 0 {
		return 0, nil
	}
	neg := value < 0
	abs := uint64(value)
	if neg {
		abs = uint64(-(value + 1)) + 1
	}
	f := nanogramsPer[u]
	k := exp - 6 // nanograms → milligrams
	hi, p := bits.Mul64(abs, f)
	var mg uint64
	switch {
	case hi != 0 || k > 19 || k < -40:
		return toMilligramsBig(value, exp, f)
	case k >= 0:
		h2, lo := bits.Mul64(p, pow10[k])
		if h2 != 0 {
			return 0, fmt.Errorf("%w: %se%d %s", ErrOutOfRange, strconv.FormatInt(value, 10), exp, u)
		}
		mg = lo
	case k >= -19:
		d := pow10[-k]
		q, r := p/d, p%d
		if r >= d-r {
			q++
		}
		mg = q
	default:
		mg = 0 // p < 2^64 < 10^20 / 2: rounds to zero
	}
	if mg > math.MaxInt64 {
		return 0, fmt.Errorf("%w: %se%d %s", ErrOutOfRange, strconv.FormatInt(value, 10), exp, u)
	}
	if neg {
		return -int64(mg), nil
	}
	return int64(mg), nil
}

func toMilligramsBig(value int64, exp int, f uint64) (int64, error) {
	r := new(big.Rat).SetInt(new(big.Int).Mul(big.NewInt(value), new(big.Int).SetUint64(f)))
	ten := big.NewInt(10)
	k := exp - 6
	p := new(big.Int).Exp(ten, big.NewInt(int64(abs(k))), nil)
	if k >= 0 {
		r.Mul(r, new(big.Rat).SetInt(p))
	} else {
		r.Quo(r, new(big.Rat).SetInt(p))
	}
	// Round half away from zero.
	num, den := new(big.Int).Set(r.Num()), r.Denom()
	neg := num.Sign() < 0
	num.Abs(num)
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if new(big.Int).Lsh(m, 1).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	if !q.IsInt64() {
		return 0, fmt.Errorf("%w: %de%d", ErrOutOfRange, value, exp)
	}
	return q.Int64(), nil
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// ParseDecimal reads a decimal number as scales print it ("  -12.345",
// "+0001.25", "100.00") into value × 10^exp, exactly.
func ParseDecimal(s string) (value int64, exp int, err error) {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = strings.TrimLeft(s[1:], " ")
	}
	if s == "" {
		return 0, 0, fmt.Errorf("%w: empty number", ErrMalformed)
	}
	dot, digits := -1, 0
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' && dot < 0:
			dot = i
		case c >= '0' && c <= '9':
			if digits == 18 {
				return 0, 0, fmt.Errorf("%w: number %q has too many digits", ErrMalformed, s)
			}
			if v != 0 || c != '0' {
				digits++
			}
			v = v*10 + uint64(c-'0')
		default:
			return 0, 0, fmt.Errorf("%w: %q is not a number", ErrMalformed, s)
		}
	}
	if dot >= 0 {
		if len(s) == 1 {
			return 0, 0, fmt.Errorf("%w: %q is not a number", ErrMalformed, s)
		}
		exp = -(len(s) - dot - 1)
	}
	value = int64(v)
	if neg {
		value = -value
	}
	return value, exp, nil
}
