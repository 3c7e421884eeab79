package station

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/packbench/packbench/internal/textcheck"
)

// A 1×1 PNG, base64.
const tinyPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="

// upstreamCases are answers of a /label upstream and what decode makes of
// them; also the fuzz seeds.
var upstreamCases = []struct {
	name, labelType, body string
	tracking, amount, err string
}{
	{"minimal PNG", "PNG", `{"tracking_number":"12345","amount":"120.00","packages":[{"label":"` + tinyPNG + `"}]}`, "12345", "120.00", ""},
	{"amount as number", "PNG", `{"tracking_number":"12345","amount":99.5,"packages":[{"label":"` + tinyPNG + `"}]}`, "12345", "99.5", ""},
	{"package tracking wins", "PNG", `{"tracking_number":"A","packages":[{"tracking_number":"B","label":"` + tinyPNG + `"}]}`, "B", "", ""},
	{"unpadded base64", "PNG", `{"tracking_number":"1","packages":[{"label":"` + strings.TrimRight(tinyPNG, "=") + `"}]}`, "1", "", ""},
	{"raw ZPL", "ZPL", `{"tracking_number":"Z1","packages":[{"label":"^XA^FDx^FS^XZ"}]}`, "Z1", "", ""},
	{"no packages", "PNG", `{"tracking_number":"1","packages":[]}`, "", "", "packages[0].label: missing"},
	{"no tracking", "PNG", `{"packages":[{"label":"` + tinyPNG + `"}]}`, "", "", "tracking_number: missing"},
	{"control in tracking", "PNG", `{"tracking_number":"1\n2","packages":[{"label":"` + tinyPNG + `"}]}`, "", "", "tracking_number"},
	{"not base64", "PNG", `{"tracking_number":"1","packages":[{"label":"%%%"}]}`, "", "", "not base64"},
	{"not a PNG", "PNG", `{"tracking_number":"1","packages":[{"label":"aGVsbG8="}]}`, "", "", "not a PNG"},
	{"bad amount", "PNG", `{"tracking_number":"1","amount":"ten","packages":[{"label":"` + tinyPNG + `"}]}`, "", "", "amount"},
	{"not JSON", "PNG", `<html>`, "", "", "not the expected JSON"},
	{"slash in tracking", "PNG", `{"tracking_number":"../1Z","packages":[{"label":"` + tinyPNG + `"}]}`, "", "", "tracking_number"},
	{"bidi override in tracking", "PNG", `{"tracking_number":"1Z\u202e9","packages":[{"label":"` + tinyPNG + `"}]}`, "", "", "tracking_number"},
	{"tracking given twice", "PNG", `{"tracking_number":"A","tracking_number":"B","packages":[{"label":"` + tinyPNG + `"}]}`, "", "", "duplicate field"},
	{"invalid UTF-8 in tracking", "PNG", "{\"tracking_number\":\"1\xff\",\"packages\":[{\"label\":\"" + tinyPNG + "\"}]}", "", "", "valid UTF-8"},
}

func TestDecodeUpstream(t *testing.T) {
	for _, tt := range upstreamCases {
		c, err := NewHTTPCarrier(CarrierConfig{HTTP: HTTPCarrierConfig{URL: "http://127.0.0.1/label", LabelType: tt.labelType}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.decode([]byte(tt.body))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || res.TrackingNumber != tt.tracking || res.Amount != tt.amount {
			t.Errorf("%s: %+v, %v", tt.name, res, err)
		}
		if tt.labelType == "PNG" && !bytes.HasPrefix(res.PNG, []byte("\x89PNG")) || tt.labelType == "ZPL" && len(res.ZPL) == 0 {
			t.Errorf("%s: no label in %+v", tt.name, res)
		}
	}
}

var messageCases = []struct{ body, want string }{
	{`{"error":"Invalid zip"}`, "Invalid zip"},
	{`{"error":{"message":"Account suspended","code":7}}`, "Account suspended"},
	{`{"message":"Service unavailable"}`, "Service unavailable"},
	{`{"error":"Invalid\u202e zip"}`, "Invalid zip"},
	{`{"error":"Invalid\u0085zip"}`, "Invalid zip"},
	{`{"detail":"Not allowed"}`, "Not allowed"},
	{`{"errors":["street1 required",{"message":"zip invalid"}]}`, "street1 required; zip invalid"},
	{"plain\ttext\r\n", "plain text"},
	{``, "Unprocessable Entity"},
}

func TestUpstreamMessage(t *testing.T) {
	for _, tt := range messageCases {
		if got := upstreamMessage(422, []byte(tt.body)); got != tt.want {
			t.Errorf("upstreamMessage(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
	long := upstreamMessage(500, []byte(strings.Repeat("é", 400)))
	if len(long) > maxUpstreamMessage+len("…") || !utf8.ValidString(long) {
		t.Errorf("long message: %d bytes, valid %v", len(long), utf8.ValidString(long))
	}
}

// FuzzUpstream: whatever an upstream answers, decode gives a usable
// result or an error, and the message passed to the packer is bounded,
// valid UTF-8 without control characters.
func FuzzUpstream(f *testing.F) {
	for _, tt := range upstreamCases {
		f.Add([]byte(tt.body), tt.labelType == "ZPL")
	}
	for _, tt := range messageCases {
		f.Add([]byte(tt.body), false)
	}
	png, _ := NewHTTPCarrier(CarrierConfig{HTTP: HTTPCarrierConfig{URL: "http://127.0.0.1/label"}}, nil)
	zpl, _ := NewHTTPCarrier(CarrierConfig{HTTP: HTTPCarrierConfig{URL: "http://127.0.0.1/label", LabelType: "ZPL"}}, nil)
	f.Fuzz(func(t *testing.T, body []byte, isZPL bool) {
		c := png
		if isZPL {
			c = zpl
		}
		if res, err := c.decode(body); err == nil {
			if textcheck.ID(res.TrackingNumber, 64) != nil {
				t.Fatalf("tracking %q accepted", res.TrackingNumber)
			}
			if !isZPL && !bytes.HasPrefix(res.PNG, []byte("\x89PNG")) || isZPL && len(res.ZPL) == 0 {
				t.Fatalf("label missing: %+v", res)
			}
		}
		msg := upstreamMessage(500, body)
		if msg == "" || len(msg) > maxUpstreamMessage+len("…") || textcheck.Text(msg, 0) != nil {
			t.Fatalf("message %q", msg)
		}
	})
}
