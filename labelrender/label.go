package labelrender

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/packbench/packbench/internal/strictjson"
)

// Label is one shipping label: who it goes from and to, how it travels and
// what identifies it. Build one in code or with ParseLabel from a JSON spec.
type Label struct {
	From    Address `json:"from" strictjson:"required"`
	To      Address `json:"to" strictjson:"required"`
	Carrier string  `json:"carrier" strictjson:"required"`
	Service string  `json:"service" strictjson:"required"`
	// TrackingNumber is printed as Code 128 (letters, digits and '-') or,
	// with Barcode GS1-128, as application identifiers in parentheses,
	// e.g. "(00)340123450000000000" or "(420)10019(92)612345…".
	TrackingNumber string      `json:"tracking_number" strictjson:"required"`
	Barcode        BarcodeType `json:"barcode,omitempty"`
	Weight         *Weight     `json:"weight,omitempty"`
	Reference      string      `json:"reference,omitempty"` // package reference, e.g. "CS123PKG231"
	Order          string      `json:"order,omitempty"`     // order reference, e.g. "SO123"
	// Date is printed as given (YYYY-MM-DD); empty means Options.Date.
	Date    string   `json:"date,omitempty"`
	Package *Package `json:"package,omitempty"`
	Code2D  *Code2D  `json:"code2d,omitempty"`
	Return  bool     `json:"return,omitempty"`
}

// Address uses the field names of the Fulfil /label payload. Name, Street1,
// City, Zip and Country (ISO 3166 alpha-2) are required. Phone and Email are
// kept for carriers but not printed.
type Address struct {
	Name    string `json:"name" strictjson:"required"`
	Company string `json:"company,omitempty"`
	Street1 string `json:"street1" strictjson:"required"`
	Street2 string `json:"street2,omitempty"`
	City    string `json:"city" strictjson:"required"`
	State   string `json:"state,omitempty"`
	Zip     string `json:"zip" strictjson:"required"`
	Country string `json:"country" strictjson:"required"`
	Phone   string `json:"phone,omitempty"`
	Email   string `json:"email,omitempty"`
}

// BarcodeType selects the linear symbology of the tracking number.
type BarcodeType string

// The tracking-number symbologies.
const (
	Code128 BarcodeType = "code128"
	GS1128  BarcodeType = "gs1-128"
)

// Weight is a decimal value with its unit, kept exact: Value is the decimal
// text of the JSON number (e.g. "2.35"), never a float.
type Weight struct {
	Value json.Number `json:"value" strictjson:"required"`
	Unit  string      `json:"unit" strictjson:"required"` // g, kg, oz or lb
}

// Package numbers one parcel of a multi-package shipment ("1 of 2").
type Package struct {
	Index int `json:"index" strictjson:"required"`
	Count int `json:"count" strictjson:"required"`
}

// Code2DType is the symbology of the optional 2-D code.
type Code2DType string

// The 2-D symbologies. MaxiCode exists only in native ZPL (^BD).
const (
	QR         Code2DType = "qr"
	DataMatrix Code2DType = "datamatrix"
	PDF417     Code2DType = "pdf417"
	MaxiCode   Code2DType = "maxicode"
)

// Code2D is the optional 2-D code. For MaxiCode, Data is the secondary
// message and the primary message is built from ServiceClass and the
// ship-to country and postal code (UPS modes 2 and 3).
type Code2D struct {
	Type         Code2DType `json:"type" strictjson:"required"`
	Data         string     `json:"data" strictjson:"required"`
	ServiceClass string     `json:"service_class,omitempty"`
}

// Limits on user text. They keep a label printable and bound the output size;
// longer text is an error, not silently cut.
const (
	maxTextLen     = 512 // bytes per free-text field
	maxTrackingLen = 48
	maxCode2DLen   = 1200
)

var (
	trackingRE = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
	gs1RE      = regexp.MustCompile(`^(\([0-9]{2,4}\)[0-9A-Za-z-]+)+$`)
	gs1PartRE  = regexp.MustCompile(`\(([0-9]{2,4})\)([0-9A-Za-z-]+)`)
	dateRE     = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	decimalRE  = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	countryRE  = regexp.MustCompile(`^[A-Za-z]{2}$`)
	usZipRE    = regexp.MustCompile(`^([0-9]{5})(?:-?([0-9]{4}))?$`)
)

// ParseLabel decodes a JSON label spec strictly: unknown fields, wrong types,
// missing required fields and invalid values are errors that name the field
// by its path (e.g. "to.zip: required"). Every error wraps ErrInvalidLabel.
func ParseLabel(data []byte) (Label, error) {
	if string(bytes.TrimSpace(data)) == "null" {
		return Label{}, fieldErr("", "must be a JSON object")
	}
	var l Label
	// Keys are matched exactly: "To" is a typo, not "to".
	if err := strictjson.Decode(data, &l, &strictjson.Options{ExactCase: true}); err != nil {
		return Label{}, specError(err)
	}
	if err := l.Validate(); err != nil {
		return Label{}, err
	}
	return l, nil
}

// specError words the strict decoder's refusals as label FieldErrors.
func specError(err error) error {
	var e *strictjson.Error
	if !errors.As(err, &e) {
		return fieldErr("", "not valid JSON: %v", err)
	}
	switch e.Kind {
	case strictjson.KindUnknownField:
		return fieldErr(e.Path, "unknown field")
	case strictjson.KindDuplicate:
		return fieldErr(e.Path, "duplicate field")
	case strictjson.KindMissing:
		return fieldErr(e.Path, "required")
	case strictjson.KindType:
		switch want := e.Want(); want {
		case "an integer":
			return fieldErr(e.Path, "must be a whole number")
		case "an object":
			return fieldErr(e.Path, "must be a JSON object")
		default:
			return fieldErr(e.Path, "must be %s", want)
		}
	case strictjson.KindTrailing:
		return fieldErr("", "unexpected data after the object")
	case strictjson.KindSyntax:
		return fieldErr(e.Path, "not valid JSON: %v", e.Err)
	case strictjson.KindValue:
		return fieldErr(e.Path, "%v", e.Err)
	}
	return fieldErr(e.Path, "not valid JSON: %s", e.Kind)
}

// FieldError names the field of a label spec that broke a rule.
type FieldError struct {
	Path string // e.g. "to.zip"
	Rule string // e.g. "required"
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Rule }

// Is makes every FieldError match ErrInvalidLabel.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidLabel }

func fieldErr(path, format string, args ...any) error {
	if path == "" {
		path = "label"
	}
	return &FieldError{Path: path, Rule: fmt.Sprintf(format, args...)}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Validate checks the rules ParseLabel enforces, for labels built in code.
func (l *Label) Validate() error {
	if err := l.From.validate("from"); err != nil {
		return err
	}
	if err := l.To.validate("to"); err != nil {
		return err
	}
	for _, f := range []struct{ path, v string }{
		{"carrier", l.Carrier}, {"service", l.Service},
	} {
		if err := checkText(f.path, f.v, true); err != nil {
			return err
		}
	}
	for _, f := range []struct{ path, v string }{
		{"reference", l.Reference}, {"order", l.Order},
	} {
		if err := checkText(f.path, f.v, false); err != nil {
			return err
		}
	}
	if err := l.validateTracking(); err != nil {
		return err
	}
	if l.Weight != nil {
		if _, err := l.Weight.text(); err != nil {
			return err
		}
	}
	if l.Date != "" {
		if !dateRE.MatchString(l.Date) {
			return fieldErr("date", "must be YYYY-MM-DD")
		}
		if _, err := time.Parse(time.DateOnly, l.Date); err != nil {
			return fieldErr("date", "not a calendar date")
		}
	}
	if p := l.Package; p != nil {
		if p.Count < 1 || p.Count > 999 {
			return fieldErr("package.count", "must be between 1 and 999")
		}
		if p.Index < 1 || p.Index > p.Count {
			return fieldErr("package.index", "must be between 1 and package.count (%d)", p.Count)
		}
	}
	if c := l.Code2D; c != nil {
		if err := c.validate(&l.To); err != nil {
			return err
		}
	}
	return nil
}

func checkText(path, v string, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return fieldErr(path, "required")
	}
	if len(v) > maxTextLen {
		return fieldErr(path, "longer than %d bytes", maxTextLen)
	}
	if !utf8.ValidString(v) {
		return fieldErr(path, "not valid UTF-8")
	}
	return nil
}

func (a *Address) validate(path string) error {
	for _, f := range []struct {
		key, v   string
		required bool
	}{
		{"name", a.Name, true}, {"company", a.Company, false},
		{"street1", a.Street1, true}, {"street2", a.Street2, false},
		{"city", a.City, true}, {"state", a.State, false},
		{"zip", a.Zip, true}, {"country", a.Country, true},
		{"phone", a.Phone, false}, {"email", a.Email, false},
	} {
		if err := checkText(join(path, f.key), f.v, f.required); err != nil {
			return err
		}
	}
	if !countryRE.MatchString(a.Country) {
		return fieldErr(join(path, "country"), "must be an ISO 3166 two-letter code")
	}
	return nil
}

func (l *Label) validateTracking() error {
	t := l.TrackingNumber
	switch l.Barcode {
	case "", Code128:
		if t == "" {
			return fieldErr("tracking_number", "required")
		}
		if len(t) > maxTrackingLen {
			return fieldErr("tracking_number", "longer than %d characters", maxTrackingLen)
		}
		if !trackingRE.MatchString(t) {
			return fieldErr("tracking_number", "only letters, digits and '-' are allowed in Code 128")
		}
	case GS1128:
		if _, err := gs1Parts(t); err != nil {
			return err
		}
	default:
		return fieldErr("barcode", "must be %q or %q", Code128, GS1128)
	}
	return nil
}

// gs1Element is one application identifier and its value.
type gs1Element struct{ ai, value string }

// gs1Fixed lists the element lengths of the fixed-length AIs we check.
var gs1Fixed = map[string]int{"00": 18, "01": 14, "02": 14, "402": 17}

func gs1Parts(t string) ([]gs1Element, error) {
	if t == "" {
		return nil, fieldErr("tracking_number", "required")
	}
	if len(t) > maxTrackingLen+8 || !gs1RE.MatchString(t) {
		return nil, fieldErr("tracking_number", "GS1-128 needs (AI)value pairs, e.g. (00)340123450000000000")
	}
	var out []gs1Element
	for _, m := range gs1PartRE.FindAllStringSubmatch(t, -1) {
		e := gs1Element{m[1], m[2]}
		if n, ok := gs1Fixed[e.ai]; ok {
			if len(e.value) != n || strings.Trim(e.value, "0123456789") != "" {
				return nil, fieldErr("tracking_number", "AI (%s) needs %d digits", e.ai, n)
			}
			if !gs1CheckDigitOK(e.value) {
				return nil, fieldErr("tracking_number", "AI (%s) check digit is wrong", e.ai)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

var weightUnits = map[string]string{"g": "G", "kg": "KG", "oz": "OZ", "lb": "LB"}

// text renders the weight as the packer reads it, e.g. "7 LB" or "2.35 KG",
// keeping the digits exactly as given (trailing zeros after the point dropped).
func (w *Weight) text() (string, error) {
	unit, ok := weightUnits[w.Unit]
	if !ok {
		return "", fieldErr("weight.unit", "must be one of g, kg, oz, lb")
	}
	v := string(w.Value)
	if v == "" {
		return "", fieldErr("weight.value", "required")
	}
	if !decimalRE.MatchString(v) {
		// Accept exponent forms only when they are exact decimals.
		r, ok := new(big.Rat).SetString(v)
		if !ok || r.Sign() < 0 {
			return "", fieldErr("weight.value", "must be a non-negative decimal number")
		}
		v = r.FloatString(6)
	}
	if strings.Contains(v, ".") {
		v = strings.TrimRight(strings.TrimRight(v, "0"), ".")
	}
	v = strings.TrimLeft(v, "0")
	if v == "" || v[0] == '.' {
		v = "0" + v
	}
	if len(v) > 12 {
		return "", fieldErr("weight.value", "too many digits")
	}
	return v + " " + unit, nil
}

func (c *Code2D) validate(to *Address) error {
	if len(c.Data) == 0 {
		return fieldErr("code2d.data", "required")
	}
	if len(c.Data) > maxCode2DLen {
		return fieldErr("code2d.data", "longer than %d bytes", maxCode2DLen)
	}
	if !utf8.ValidString(c.Data) {
		return fieldErr("code2d.data", "not valid UTF-8")
	}
	switch c.Type {
	case QR, PDF417:
	case DataMatrix:
		for i := 0; i < len(c.Data); i++ {
			if b := c.Data[i]; b == 0 || b > 127 {
				return fieldErr("code2d.data", "DataMatrix data must be ASCII without NUL")
			}
		}
		// '~' is the escape character of ^BX at quality 200: a printer would
		// reinterpret it, so the printed symbol would not hold the input.
		if strings.Contains(c.Data, "~") {
			return fieldErr("code2d.data", "'~' is not allowed in DataMatrix data (it is the ZPL ^BX escape character)")
		}
	case MaxiCode:
		if sc := c.serviceClass(); len(sc) != 3 || strings.Trim(sc, "0123456789") != "" {
			return fieldErr("code2d.service_class", "must be 3 digits")
		}
		if _, _, _, err := maxiPostal(to); err != nil {
			return err
		}
	default:
		return fieldErr("code2d.type", "must be one of qr, datamatrix, pdf417, maxicode")
	}
	if c.Type != MaxiCode && c.ServiceClass != "" {
		return fieldErr("code2d.service_class", "only for maxicode")
	}
	return nil
}

// serviceClass is the MaxiCode class of service, "001" unless given.
func (c *Code2D) serviceClass() string {
	if c.ServiceClass == "" {
		return "001"
	}
	return c.ServiceClass
}

// isoNumeric maps ISO 3166 alpha-2 to numeric codes for the MaxiCode primary message.
var isoNumeric = map[string]string{
	"US": "840", "CA": "124", "MX": "484", "GB": "826", "DE": "276", "FR": "250",
	"NL": "528", "BE": "056", "IT": "380", "ES": "724", "AT": "040", "CH": "756",
	"PL": "616", "SE": "752", "DK": "208", "IE": "372", "AU": "036", "JP": "392",
	"CN": "156", "PR": "630",
}

// maxiPostal returns the MaxiCode mode (2 numeric US postal code, 3
// alphanumeric) and the postal digits of the primary message.
func maxiPostal(to *Address) (mode int, postal, country string, err error) {
	country, ok := isoNumeric[strings.ToUpper(to.Country)]
	if !ok {
		return 0, "", "", fieldErr("to.country", "no MaxiCode country code known for %q", to.Country)
	}
	zip := strings.ReplaceAll(strings.ToUpper(to.Zip), " ", "")
	if m := usZipRE.FindStringSubmatch(zip); m != nil {
		plus4 := m[2]
		if plus4 == "" {
			plus4 = "0000"
		}
		return 2, m[1] + plus4, country, nil
	}
	if len(zip) > 6 || zip == "" || strings.Trim(zip, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return 0, "", "", fieldErr("to.zip", "MaxiCode needs a postal code of up to 6 letters and digits")
	}
	return 3, zip + strings.Repeat(" ", 6-len(zip)), country, nil
}

// dateText is the date printed on the label.
func (l *Label) dateText(opts *Options) string {
	if l.Date != "" {
		return l.Date
	}
	if !opts.Date.IsZero() {
		return opts.Date.Format(time.DateOnly)
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

// milligramsPer is each unit in milligrams, exact (1 oz = 28.349523125 g,
// 1 lb = 453.59237 g).
var milligramsPer = map[string]*big.Rat{
	"g": big.NewRat(1000, 1), "kg": big.NewRat(1000000, 1),
	"oz": big.NewRat(28349523125, 1000000), "lb": big.NewRat(45359237, 100),
}

// WeightFromMilligrams converts a scale reading in integer milligrams to a
// label weight in unit, rounded half up to decimals places: (3175147, "lb",
// 2) gives "7" (7.00 lb), (2350000, "kg", 2) gives "2.35". The arithmetic is
// exact rational arithmetic, never floats.
func WeightFromMilligrams(mg int64, unit string, decimals int) (Weight, error) {
	per, ok := milligramsPer[unit]
	if !ok {
		return Weight{}, fieldErr("weight.unit", "must be one of g, kg, oz, lb")
	}
	if mg < 0 {
		return Weight{}, fieldErr("weight.value", "must not be negative")
	}
	if decimals < 0 || decimals > 6 {
		return Weight{}, fmt.Errorf("%w: %d decimals (0..6)", ErrInvalidOptions, decimals)
	}
	v := new(big.Rat).Quo(new(big.Rat).SetInt64(mg), per)
	s := v.FloatString(decimals) // rounds half away from zero: half up for weights
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return Weight{Value: json.Number(s), Unit: unit}, nil
}
