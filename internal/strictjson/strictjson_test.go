package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

type hazmat struct {
	HazmatID string `json:"hazmatId"`
	Class    int    `json:"class"`
}

type item struct {
	SKU        string  `json:"sku"`
	Quantity   int     `json:"quantity"`
	HazmatInfo *hazmat `json:"hazmatInfo"`
}

// level decodes itself from text and refuses unknown words.
type level int

func (l *level) UnmarshalText(b []byte) error {
	switch string(b) {
	case "low":
		*l = 1
	case "high":
		*l = 2
	default:
		return fmt.Errorf("level %q: want low or high", b)
	}
	return nil
}

type Meta struct {
	Source string `json:"source"`
}

type order struct {
	ID      string          `json:"id"`
	Items   []item          `json:"orderItemQuantities"`
	Pair    [2]int          `json:"pair"`
	Tags    map[string]int  `json:"tags"`
	ByIndex map[int]string  `json:"by_index"`
	Seed    json.RawMessage `json:"seed"`
	Any     any             `json:"any"`
	When    time.Time       `json:"when"`
	PNG     []byte          `json:"png"`
	Ratio   float32         `json:"ratio"`
	Small   int8            `json:"small"`
	Count   uint            `json:"count"`
	OK      bool            `json:"ok"`
	Level   level           `json:"level"`
	Num     json.Number     `json:"num"`
	Meta
	Skip    string `json:"-"`
	private int
}

// decodeCases is the decoder's table, also the fuzz seeds.
var decodeCases = []struct {
	name, in string
	kind     Kind // 0: accepted
	path     string
	want     string // Error() must contain it
}{
	{"full", `{"id":"SO1","orderItemQuantities":[{"sku":"A","quantity":2,"hazmatInfo":{"hazmatId":"UN1","class":3}}],
		"pair":[1,2],"tags":{"a":1},"by_index":{"7":"x"},"seed":{"x":[1,{"y":null}]},"any":[true,"x",1.5],
		"when":"2026-01-01T00:00:00Z","png":"aGk=","ratio":1.5,"small":-128,"count":0,"ok":true,"level":"high",
		"num":12.5,"source":"mqtt"}`, 0, "", ""},
	{"white space around", " \n{\"id\":\"x\"}\t\n", 0, "", ""},
	{"null document", `null`, 0, "", ""},
	{"nulls anywhere", `{"id":null,"orderItemQuantities":[null,{"hazmatInfo":null}],"level":null,"when":null}`, 0, "", ""},
	{"case-insensitive key as encoding/json", `{"ID":"x","Source":"y"}`, 0, "", ""},

	{"empty", ``, KindEmpty, "", "empty"},
	{"only space", "  \n", KindEmpty, "", "empty"},
	{"truncated", `{"id":`, KindSyntax, "id", "unexpected end of input"},
	{"truncated in array", `{"orderItemQuantities":[{"sku":"A"}`, KindSyntax, "orderItemQuantities", "unexpected end of input"},
	{"missing colon", `{"id" 1}`, KindSyntax, "id", "not valid JSON"},
	{"trailing comma", `{"id":"a",}`, KindSyntax, "", "not valid JSON"},
	{"bare word", `nope`, KindSyntax, "", "not valid JSON"},
	{"second value", `{"id":"a"}{"id":"b"}`, KindTrailing, "", "after the JSON value"},
	{"trailing junk", `{"id":"a"} x`, KindTrailing, "", "after the JSON value"},

	{"invalid UTF-8 in a value", "{\"id\":\"a\xffb\"}", KindEncoding, "id", "id: must be valid UTF-8"},
	{"invalid UTF-8 deep", "{\"orderItemQuantities\":[{\"sku\":\"A\"},{\"sku\":\"\xc3\"}]}", KindEncoding, "orderItemQuantities[1].sku", "valid UTF-8"},
	{"invalid UTF-8 in a key", "{\"i\xe2d\":1}", KindEncoding, "i\ufffdd", "valid UTF-8"},
	{"invalid UTF-8 in free JSON", "{\"seed\":{\"x\":[\"\xff\"]}}", KindEncoding, "seed.x[0]", "valid UTF-8"},
	{"lone high surrogate", `{"id":"a\ud800b"}`, KindEncoding, "id", "valid UTF-8"},
	{"lone low surrogate", `{"id":"\udc00"}`, KindEncoding, "id", "valid UTF-8"},
	{"high surrogate at the end", `{"id":"\uD83D"}`, KindEncoding, "id", "valid UTF-8"},
	{"two high surrogates", `{"id":"\ud83d\ud83d"}`, KindEncoding, "id", "valid UTF-8"},
	{"surrogate pair", `{"id":"\ud83d\ude00"}`, 0, "", ""},
	{"escaped backslash before u", `{"id":"\\ud800"}`, 0, "", ""},
	{"escaped replacement char", `{"id":"\ufffd"}`, 0, "", ""},
	{"raw replacement char", "{\"id\":\"\xef\xbf\xbd\"}", 0, "", ""},

	{"unknown top-level", `{"nope":1}`, KindUnknownField, "nope", "nope: unknown field"},
	{"unknown deep", `{"orderItemQuantities":[{"sku":"A"},{"sku":"B","hazmatInfo":{"hazmatId":"UN1","hazmatID2":"x"}}]}`,
		KindUnknownField, "orderItemQuantities[1].hazmatInfo.hazmatID2", ""},
	{"unknown keeps the client's spelling", `{"META":1}`, KindUnknownField, "META", ""},
	{"ignored field is unknown", `{"Skip":"x"}`, KindUnknownField, "Skip", ""},
	{"unexported field is unknown", `{"private":1}`, KindUnknownField, "private", ""},
	{"anything goes under any", `{"any":{"whatever":[{"deep":1}]},"seed":{"free":1}}`, 0, "", ""},
	{"empty key", `{"":1}`, KindUnknownField, "", "unknown field"},

	{"duplicate", `{"id":"a","id":"b"}`, KindDuplicate, "id", "duplicate"},
	{"duplicate by case", `{"id":"a","ID":"b"}`, KindDuplicate, "ID", "duplicate"},
	{"duplicate in a map", `{"tags":{"a":1,"a":2}}`, KindDuplicate, "tags.a", ""},
	{"duplicate in raw JSON", `{"seed":{"x":1,"x":2}}`, KindDuplicate, "seed.x", ""},
	{"duplicate under any", `{"any":[{"k":1,"k":1}]}`, KindDuplicate, "any[0].k", ""},

	{"string for int", `{"orderItemQuantities":[{"quantity":1},{"quantity":"2"}]}`, KindType, "orderItemQuantities[1].quantity", "want an integer, got string"},
	{"fraction for int", `{"orderItemQuantities":[{"quantity":1.5}]}`, KindType, "orderItemQuantities[0].quantity", "got number 1.5"},
	{"int8 overflow", `{"small":128}`, KindType, "small", "number 128"},
	{"negative uint", `{"count":-1}`, KindType, "count", "number -1"},
	{"float32 overflow", `{"ratio":1e39}`, KindType, "ratio", ""},
	{"number for string", `{"orderItemQuantities":[{"hazmatInfo":{"hazmatId":1}}]}`, KindType, "orderItemQuantities[0].hazmatInfo.hazmatId", "want a string, got number"},
	{"object for string", `{"id":{}}`, KindType, "id", "got object"},
	{"array for struct", `{"orderItemQuantities":[[]]}`, KindType, "orderItemQuantities[0]", "want an object, got array"},
	{"string for array", `{"orderItemQuantities":"A"}`, KindType, "orderItemQuantities", "want an array, got string"},
	{"bool for number", `{"ratio":true}`, KindType, "ratio", "got bool"},
	{"string for bool", `{"ok":"yes"}`, KindType, "ok", "want true or false"},
	{"array for the document", `[]`, KindType, "", "want an object, got array"},
	{"string for the document", `"text"`, KindType, "", "got string"},
	{"bad map key", `{"by_index":{"x":"y"}}`, KindType, "by_index.x", "want an integer"},
	{"number for text type", `{"level":2}`, KindType, "level", "want a string, got number"},
	{"bad time", `{"when":"yesterday"}`, KindValue, "when", "invalid value"},
	{"text type refuses", `{"level":"medium"}`, KindValue, "level", "want low or high"},
	{"bad base64", `{"png":"%%%"}`, KindValue, "png", "base64"},
	{"quoted number", `{"num":"12"}`, KindType, "num", "want a number, got string"},
	{"object for number", `{"num":{}}`, KindType, "num", "got object"},
}

func TestDecode(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			var o order
			err := Decode([]byte(tc.in), &o, nil)
			if tc.kind == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v (%T), want an *Error", err, err)
			}
			if e.Kind != tc.kind || e.Path != tc.path || !strings.Contains(e.Error(), tc.want) {
				t.Fatalf("got kind %v path %q (%v), want kind %v path %q containing %q", e.Kind, e.Path, e, tc.kind, tc.path, tc.want)
			}
		})
	}
}

func TestDecodeFills(t *testing.T) {
	var o order
	in := `{"id":"SO1","orderItemQuantities":[{"sku":"A","quantity":2,"hazmatInfo":{"hazmatId":"UN1"}}],"level":"low","source":"s","png":"aGk="}`
	if err := Decode([]byte(in), &o, nil); err != nil {
		t.Fatal(err)
	}
	if o.ID != "SO1" || len(o.Items) != 1 || o.Items[0].HazmatInfo.HazmatID != "UN1" || o.Level != 1 || o.Source != "s" || string(o.PNG) != "hi" {
		t.Fatalf("decoded %+v", o)
	}
}

// A struct with no fields takes {} and refuses every member (it once
// panicked, walked as if it were a map).
func TestEmptyStruct(t *testing.T) {
	var e *Error
	if err := Decode([]byte(`{}`), &struct{}{}, nil); err != nil {
		t.Fatalf("{}: %v", err)
	}
	if err := Decode([]byte(`{"x":1}`), &struct{}{}, nil); !errors.As(err, &e) || e.Kind != KindUnknownField || e.Path != "x" {
		t.Fatalf(`{"x":1}: %v`, err)
	}
	var nested struct{ Opts struct{} }
	if err := Decode([]byte(`{"Opts":{"y":[1]}}`), &nested, nil); !errors.As(err, &e) || e.Kind != KindUnknownField || e.Path != "Opts.y" {
		t.Fatalf("nested: %v", err)
	}
}

func TestSizeLimit(t *testing.T) {
	in := []byte(`{"id":"` + strings.Repeat("x", 100) + `"}`)
	var o order
	var e *Error
	if err := Decode(in, &o, &Options{MaxBytes: 50}); !errors.As(err, &e) || e.Kind != KindTooLarge || !strings.Contains(e.Error(), "50 bytes") {
		t.Fatalf("over the limit: %v", err)
	}
	if err := Decode(in, &o, &Options{MaxBytes: int64(len(in))}); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	if err := DecodeReader(bytes.NewReader(in), &o, &Options{MaxBytes: 50}); !errors.As(err, &e) || e.Kind != KindTooLarge {
		t.Fatalf("reader over the limit: %v", err)
	}
	if err := DecodeReader(bytes.NewReader(in), &o, &Options{MaxBytes: 500}); err != nil || len(o.ID) != 100 {
		t.Fatalf("reader: %v", err)
	}
}

func TestDeepNesting(t *testing.T) {
	in := strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2)
	var v any
	var e *Error
	if err := Decode([]byte(in), &v, nil); !errors.As(err, &e) || e.Kind != KindSyntax {
		t.Fatalf("err %v", err)
	}
}

// Accepted documents are what encoding/json accepts strictly, decoded the
// same way; refused ones say why with a known kind.
func FuzzDecode(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var got order
		err := Decode(in, &got, &Options{MaxBytes: 4096})
		dec := json.NewDecoder(bytes.NewReader(in))
		dec.DisallowUnknownFields()
		var want order
		stdErr := dec.Decode(&want)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind < KindTooLarge || e.Kind > KindEncoding || e.Error() == "" {
				t.Fatalf("%q: error %v is not a strictjson.Error with a known kind", in, err)
			}
			switch e.Kind {
			case KindUnknownField, KindDuplicate:
				// (escaped keys and invalid UTF-8 are decoded in the path)
				if utf8.Valid(in) && !bytes.Contains(in, []byte(`\`)) && !bytes.Contains(in, []byte(lastKey(e.Path))) {
					t.Fatalf("%q: %v names a key not in the document", in, e)
				}
			}
			return
		}
		if len(in) > 4096 || !json.Valid(in) || !utf8.Valid(in) {
			t.Fatalf("accepted %q", in)
		}
		if stdErr != nil {
			t.Fatalf("accepted %q that encoding/json refuses strictly: %v", in, stdErr)
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if !bytes.Equal(a, b) {
			t.Fatalf("%q: decoded %s, encoding/json %s", in, a, b)
		}
	})
}

// lastKey is the last member name of a path ("a[1].b" → "b").
func lastKey(p string) string {
	if i := strings.LastIndexAny(p, ".]"); i >= 0 {
		p = p[i+1:]
	}
	return p
}

type address struct {
	Name string `json:"name" strictjson:"required"`
	Zip  string `json:"zip" strictjson:"required"`
	Note string `json:"note"`
}

type parcel struct {
	To   *address `json:"to" strictjson:"required"`
	From *address `json:"from"`
}

func TestRequired(t *testing.T) {
	tests := []struct {
		in, path string // "" path: accepted
	}{
		{`{"to":{"name":"A","zip":"1"}}`, ""},
		{`{"to":{"name":"","zip":""}}`, ""}, // present is enough; emptiness is the caller's rule
		{`{}`, "to"},
		{`{"to":null}`, "to"},
		{`{"to":{"name":"A"}}`, "to.zip"},
		{`{"to":{"name":"A","zip":null}}`, "to.zip"},
		{`{"to":{"name":"A","zip":"1"},"from":{"zip":"2"}}`, "from.name"},
		{`{"to":{"name":"A","zip":"1"},"from":null}`, ""},
	}
	for _, tt := range tests {
		var p parcel
		err := Decode([]byte(tt.in), &p, nil)
		if tt.path == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.in, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindMissing || e.Path != tt.path || e.Error() != tt.path+": required" {
			t.Errorf("%s: err %v, want %s: required", tt.in, err, tt.path)
		}
	}
}

func TestExactCase(t *testing.T) {
	var a address
	if err := Decode([]byte(`{"NAME":"A","zip":"1"}`), &a, nil); err != nil || a.Name != "A" {
		t.Fatalf("default: %v %+v", err, a)
	}
	var e *Error
	err := Decode([]byte(`{"NAME":"A","zip":"1"}`), &a, &Options{ExactCase: true})
	if !errors.As(err, &e) || e.Kind != KindUnknownField || e.Path != "NAME" {
		t.Fatalf("exact: %v", err)
	}
}

// LastWins lets the listed members repeat (any array index), the last
// value winning; every other member still refuses a duplicate.
func TestLastWins(t *testing.T) {
	type pkg struct {
		Amount *float64 `json:"amount"`
		Ref    string   `json:"ref"`
	}
	type doc struct {
		Packages []pkg  `json:"packages"`
		Amount   string `json:"amount"`
	}
	opts := &Options{LastWins: []string{"packages[].amount"}}
	var d doc
	if err := Decode([]byte(`{"packages":[{"amount":1,"ref":"a"},{"amount":99.0,"amount":null,"ref":"b"},{"amount":null,"amount":3}]}`), &d, opts); err != nil {
		t.Fatal(err)
	}
	if d.Packages[0].Amount == nil || *d.Packages[0].Amount != 1 || d.Packages[1].Amount != nil || *d.Packages[2].Amount != 3 {
		t.Fatalf("last value did not win: %+v", d.Packages)
	}
	var e *Error
	for _, in := range []string{
		`{"packages":[{"ref":"a","ref":"b"}]}`,
		`{"amount":"1","amount":"2"}`,
		`{"packages":[{"amount":"x","amount":1}]}`, // each value still type-checked
	} {
		err := Decode([]byte(in), &doc{}, opts)
		if !errors.As(err, &e) || (e.Kind != KindDuplicate && e.Kind != KindType) {
			t.Errorf("%s: err %v, want a refusal", in, err)
		}
	}
	if err := Decode([]byte(`{"packages":[{"amount":1,"amount":2}]}`), &doc{}, nil); !errors.As(err, &e) || e.Kind != KindDuplicate || e.Path != "packages[0].amount" {
		t.Errorf("without the option: %v", err)
	}
}
