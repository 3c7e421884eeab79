package labelrender

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const minimalSpec = `{"from":{"name":"A","street1":"1 St","city":"X","zip":"1","country":"US"},
"to":{"name":"B","street1":"2 St","city":"Y","zip":"10019","country":"US"},
"carrier":"usps","service":"Ground","tracking_number":"1Z999AA10123456784"}`

// withField replaces or adds one top-level field of minimalSpec.
func withField(t testing.TB, key, raw string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(minimalSpec), &m); err != nil {
		t.Fatal(err)
	}
	if raw == "" {
		delete(m, key)
	} else {
		m[key] = json.RawMessage(raw)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var parseErrorCases = []struct {
	name, key, raw, want string
}{
	{"missing to.zip", "to", `{"name":"B","street1":"2","city":"Y","country":"US"}`, "to.zip: required"},
	{"null is missing", "to", `{"name":"B","street1":"2","city":"Y","zip":null,"country":"US"}`, "to.zip: required"},
	{"blank name", "to", `{"name":"  ","street1":"2","city":"Y","zip":"1","country":"US"}`, "to.name: required"},
	{"unknown address field", "to", `{"name":"B","street1":"2","city":"Y","zip":"1","country":"US","zp":"2"}`, "to.zp: unknown field"},
	{"duplicate field", "to", `{"name":"B","name":"C","street1":"2","city":"Y","zip":"1","country":"US"}`, "to.name: duplicate field"},
	{"zip wrong type", "to", `{"name":"B","street1":"2","city":"Y","zip":10019,"country":"US"}`, "to.zip: must be a string"},
	{"country not ISO", "to", `{"name":"B","street1":"2","city":"Y","zip":"1","country":"USA"}`, "to.country: must be an ISO 3166 two-letter code"},
	{"missing from", "from", ``, "from: required"},
	{"missing tracking", "tracking_number", ``, "tracking_number: required"},
	{"unknown top-level", "colour", `"red"`, "colour: unknown field"},
	{"tracking with caret", "tracking_number", `"1Z^FS"`, "tracking_number: only letters, digits and '-'"},
	{"barcode kind", "barcode", `"ean13"`, `barcode: must be "code128" or "gs1-128"`},
	{"weight unit", "weight", `{"value":7,"unit":"stone"}`, "weight.unit: must be one of g, kg, oz, lb"},
	{"weight negative", "weight", `{"value":-1,"unit":"kg"}`, "weight.value: must be a non-negative decimal number"},
	{"weight string", "weight", `{"value":"7","unit":"kg"}`, "weight.value: must be a number"},
	{"weight missing unit", "weight", `{"value":7}`, "weight.unit: required"},
	{"weight unknown field", "weight", `{"value":7,"unit":"kg","tare":1}`, "weight.tare: unknown field"},
	{"date format", "date", `"22/11/2026"`, "date: must be YYYY-MM-DD"},
	{"date calendar", "date", `"2026-02-30"`, "date: not a calendar date"},
	{"package index", "package", `{"index":3,"count":2}`, "package.index: must be between 1 and package.count (2)"},
	{"package count", "package", `{"index":1,"count":0}`, "package.count: must be between 1 and 999"},
	{"package fraction", "package", `{"index":1.5,"count":2}`, "package.index: must be a whole number"},
	{"code2d type", "code2d", `{"type":"aztec","data":"x"}`, "code2d.type: must be one of qr, datamatrix, pdf417, maxicode"},
	{"code2d data", "code2d", `{"type":"qr"}`, "code2d.data: required"},
	{"datamatrix tilde", "code2d", `{"type":"datamatrix","data":"a~1"}`, "code2d.data: '~' is not allowed in DataMatrix data"},
	{"datamatrix utf8", "code2d", `{"type":"datamatrix","data":"é"}`, "code2d.data: DataMatrix data must be ASCII"},
	{"service class", "code2d", `{"type":"qr","data":"x","service_class":"001"}`, "code2d.service_class: only for maxicode"},
	{"return type", "return", `"yes"`, "return: must be true or false"},
	{"long text", "service", `"` + strings.Repeat("x", 600) + `"`, "service: longer than 512 bytes"},
}

func TestParseLabelErrorsNameTheField(t *testing.T) {
	for _, tc := range parseErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLabel([]byte(withField(t, tc.key, tc.raw)))
			if err == nil {
				t.Fatalf("accepted; want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %q, want prefix %q", err, tc.want)
			}
			if !errors.Is(err, ErrInvalidLabel) {
				t.Fatalf("error %v does not match ErrInvalidLabel", err)
			}
		})
	}
}

func TestParseLabelRejectsNonObjects(t *testing.T) {
	for _, in := range []string{``, `[]`, `"x"`, `{"to":`, minimalSpec + ` {}`, `{"to":[]}`} {
		if _, err := ParseLabel([]byte(in)); err == nil || !errors.Is(err, ErrInvalidLabel) {
			t.Errorf("ParseLabel(%q) = %v, want an ErrInvalidLabel", in, err)
		}
	}
}

func TestParseLabelReference(t *testing.T) {
	l := referenceLabel(t)
	if l.To.Zip != "10019" || l.From.Company != "Fulfil.IO Inc." || l.Package.Count != 2 ||
		l.Code2D.Type != QR || l.Weight.Value != "7" || l.Carrier != "usps" {
		t.Fatalf("parsed %+v", l)
	}
}

func TestWeightTextIsExact(t *testing.T) {
	for _, tc := range []struct{ value, unit, want string }{
		{"7", "lb", "7 LB"},
		{"2.35", "kg", "2.35 KG"},
		{"2.350", "kg", "2.35 KG"},
		{"7.8", "oz", "7.8 OZ"},
		{"0.5", "lb", "0.5 LB"},
		{"878", "g", "878 G"},
		{"1e2", "g", "100 G"},
		{"7.85e0", "lb", "7.85 LB"},
		{"0", "kg", "0 KG"},
		{"007", "kg", "7 KG"},
	} {
		w := Weight{Value: json.Number(tc.value), Unit: tc.unit}
		got, err := w.text()
		if err != nil || got != tc.want {
			t.Errorf("%s %s → %q, %v; want %q", tc.value, tc.unit, got, err, tc.want)
		}
	}
}

func TestGS1Validation(t *testing.T) {
	ok := []string{"(00)340123450000000000", "(420)10019(92)612345", "(01)09501101530003(21)ABC-1"}
	bad := []string{"00340123450000000000", "(00)340123450000000019", "(00)3401", "(420)", "(4201)10019^FS"}
	for _, s := range ok {
		if _, err := gs1Parts(s); err != nil {
			t.Errorf("gs1Parts(%q): %v", s, err)
		}
	}
	for _, s := range bad {
		if _, err := gs1Parts(s); err == nil {
			t.Errorf("gs1Parts(%q) accepted", s)
		}
	}
}

func TestMaxiCodePrimary(t *testing.T) {
	for _, tc := range []struct {
		zip, country string
		mode         int
		postal       string
	}{
		{"10019", "US", 2, "100190000"},
		{"15238-2802", "US", 2, "152382802"},
		{"M5V 3L9", "CA", 3, "M5V3L9"},
		{"EC1A", "GB", 3, "EC1A  "},
	} {
		mode, postal, _, err := maxiPostal(&Address{Zip: tc.zip, Country: tc.country})
		if err != nil || mode != tc.mode || postal != tc.postal {
			t.Errorf("%s %s → %d %q %v", tc.zip, tc.country, mode, postal, err)
		}
	}
	if _, _, _, err := maxiPostal(&Address{Zip: "1", Country: "ZZ"}); err == nil {
		t.Error("unknown country accepted")
	}
}

// FuzzParseLabel: any input either fails with a field error or gives a label
// whose native ZPL passes our own raw-ZPL check and carries no command the
// layout does not emit.
func FuzzParseLabel(f *testing.F) {
	f.Add(minimalSpec)
	for _, tc := range parseErrorCases {
		f.Add(withField(f, tc.key, tc.raw))
	}
	allowed := layoutCommands()
	f.Fuzz(func(t *testing.T, spec string) {
		l, err := ParseLabel([]byte(spec))
		if err != nil {
			if !errors.Is(err, ErrInvalidLabel) {
				t.Fatalf("error %v is not ErrInvalidLabel", err)
			}
			return
		}
		z, err := RenderZPL(l, nil)
		if err != nil {
			if !errors.Is(err, ErrNoRoom) && !errors.Is(err, ErrInvalidLabel) {
				t.Fatalf("RenderZPL: %v", err)
			}
			return
		}
		if err := CheckZPL(z, nil); err != nil {
			t.Fatalf("our own ZPL refused: %v\n%s", err, z)
		}
		for _, c := range tokenizeZPL(z) {
			if !allowed[c.name] {
				t.Fatalf("command %s at %d is not one the layout emits\n%s", c.name, c.offset, z)
			}
		}
	})
}

// TestExamplesRender: every sample spec in docs/examples parses and renders
// in each form (the README's first command renders label.json).
func TestExamplesRender(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../docs/examples/*.json")
	if err != nil || len(files) < 2 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		l, err := ParseLabel(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		o := &Options{Date: refDate}
		if _, err := RenderZPL(l, o); err != nil {
			t.Fatalf("%s: zpl: %v", f, err)
		}
		if _, err := RenderPNG(l, o); err != nil {
			t.Fatalf("%s: png: %v", f, err)
		}
	}
}

func TestWeightFromMilligrams(t *testing.T) {
	for _, tc := range []struct {
		mg       int64
		unit     string
		decimals int
		want     string
	}{
		{3175147, "lb", 2, "7 LB"},
		{2350000, "kg", 2, "2.35 KG"},
		{878000, "g", 0, "878 G"},
		{221126, "oz", 1, "7.8 OZ"}, // 7.8 oz = 221126.28 mg
		{3560700, "lb", 2, "7.85 LB"},
		{0, "kg", 3, "0 KG"},
		{5, "g", 2, "0.01 G"}, // 0.005 rounds half up
	} {
		w, err := WeightFromMilligrams(tc.mg, tc.unit, tc.decimals)
		if err != nil {
			t.Fatal(err)
		}
		got, err := w.text()
		if err != nil || got != tc.want {
			t.Errorf("%d mg in %s: %q, %v; want %q", tc.mg, tc.unit, got, err, tc.want)
		}
	}
	if _, err := WeightFromMilligrams(1, "stone", 0); !errors.Is(err, ErrInvalidLabel) {
		t.Fatalf("bad unit: %v", err)
	}
	if _, err := WeightFromMilligrams(-1, "g", 0); err == nil {
		t.Fatal("negative accepted")
	}
}

// TestLabelJSONRoundTrip: a Label marshals to a spec ParseLabel accepts
// unchanged (the bench stores specs in its queue).
func TestLabelJSONRoundTrip(t *testing.T) {
	l := referenceLabel(t)
	data, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseLabel(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	again, _ := json.Marshal(back)
	if string(again) != string(data) {
		t.Fatalf("round trip changed the label:\n%s\n%s", data, again)
	}
}

// TestLabelTextStripsBidiAndControls: label text with bidi overrides,
// isolates, direction marks and C1 controls still prints, without them
// (the escaped UTF-8 of U+202E would be _E2_80_AE in ^FH data).
func TestLabelTextStripsBidiAndControls(t *testing.T) {
	spec := withField(t, "to", `{"name":"Bob\u202eexe.txt","company":"A\u2066C\u2069ME\u200f","street1":"2\u0085St","city":"Y","zip":"10019","country":"US"}`)
	l, err := ParseLabel([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	zpl, err := RenderZPL(l, &Options{DPI: 203})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"_E2_80_AE", "_E2_81_A6", "_E2_81_A9", "_E2_80_8F", "_C2_85"} {
		if strings.Contains(string(zpl), bad) {
			t.Errorf("ZPL still carries %s:\n%s", bad, zpl)
		}
	}
	for _, want := range []string{"^FDBobexe.txt^FS", "^FDACME^FS", "^FD2 St^FS"} {
		if !strings.Contains(string(zpl), want) {
			t.Errorf("ZPL lacks %q:\n%s", want, zpl)
		}
	}
}
