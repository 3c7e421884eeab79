package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/packbench/packbench/station"
)

// decodeCases are the strict decoder's table, also the fuzz seeds.
var decodeCases = []struct {
	body        string
	status      int // 0: accepted
	code, field string
}{
	{`{"id":"SO1","ship_to":{"zip":"N1"}}`, 0, "", ""},
	{`  {"id":"SO1"}  ` + "\n", 0, "", ""},
	{`{"id":`, 400, CodeInvalidJSON, ""},
	{`{"id" 1}`, 400, CodeInvalidJSON, ""},
	{`[]`, 400, CodeInvalidJSON, ""},
	{`"text"`, 400, CodeInvalidJSON, ""},
	{`null`, 0, "", ""},
	{`{"id":"a"}{"id":"b"}`, 400, CodeInvalidJSON, ""},
	{`{"id":"a"} x`, 400, CodeInvalidJSON, ""},
	{`{"nope":1}`, 400, CodeInvalidField, "nope"},
	{`{"ship_to":{"nope":1}}`, 400, CodeInvalidField, "ship_to.nope"},
	{`{"lines":[{"sku":"a"},{"sku":"b","colour":"red"}]}`, 400, CodeInvalidField, "lines[1].colour"},
	{`{"SHIP_TO":{"ZIP":"x","Nope":1}}`, 400, CodeInvalidField, "SHIP_TO.Nope"},
	{`{"seed":{"anything":[1,{"goes":true}]},"nope":1}`, 400, CodeInvalidField, "nope"},
	{`{"created_at":"2026-01-01T00:00:00Z","bad":1}`, 400, CodeInvalidField, "bad"},
	{`{"ship_to":{"zip":5}}`, 400, CodeInvalidField, "ship_to.zip"},
	{`{"packages":"3"}`, 400, CodeInvalidField, "packages"},
	{`{"packages":1.5}`, 400, CodeInvalidField, "packages"},
	{`{"lines":[{"quantity":1},{"quantity":"x"}]}`, 400, CodeInvalidField, "lines[1].quantity"},
	{`{"ship_from":{"zip":{}}}`, 400, CodeInvalidField, "ship_from.zip"},
	{`{"associated_identifiers":"LPN"}`, 400, CodeInvalidField, "associated_identifiers"},
	{`{"id":"` + strings.Repeat("x", 300) + `"}`, 413, CodeBodyTooLarge, ""},
	{``, 400, CodeInvalidJSON, ""},
	{`{"id":"a","id":"b"}`, 400, CodeInvalidField, "id"},
	{`{"ship_to":{"zip":"1","ZIP":"2"}}`, 400, CodeInvalidField, "ship_to.ZIP"},
	{`{"lines":[{"sku":"a"},{"sku":"b","qty":{"nested":1}}]}`, 400, CodeInvalidField, "lines[1].qty"},
	{"{\"id\":\"a\xffb\"}", 400, CodeInvalidField, "id"},
	{`{"ship_to":{"name":"a\udc00"}}`, 400, CodeInvalidField, "ship_to.name"},
	{"{\"ship_to\":{\"na\xc3\":1}}", 400, CodeInvalidField, "ship_to.na\ufffd"},
}

// decodeBody runs the strict decoder on body as a POST with a JSON type
// and a 256-byte limit.
func decodeBody(body string) (station.Order, error) {
	s := &Server{opt: Options{MaxBody: 256}}
	r := httptest.NewRequest("POST", "/api/v1/orders", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	var o station.Order
	return o, s.decodeJSON(httptest.NewRecorder(), r, &o, false)
}

func TestDecodeJSON(t *testing.T) {
	for _, c := range decodeCases {
		_, err := decodeBody(c.body)
		if c.status == 0 {
			if err != nil {
				t.Errorf("%.40q: %v", c.body, err)
			}
			continue
		}
		ae := toAPIError(err)
		if err == nil || ae.Status != c.status || ae.Code != c.code || ae.Field != c.field {
			t.Errorf("%.40q: got %v (%+v), want %d %s field %q", c.body, err, ae, c.status, c.code, c.field)
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, c := range decodeCases {
		f.Add(c.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		o, err := decodeBody(body)
		if err == nil {
			// Accepted means: one valid JSON value, within the limit, whose
			// members all exist (re-encoding loses nothing the client sent
			// except what the type ignores by design).
			if !json.Valid([]byte(body)) || len(body) > 256 {
				t.Fatalf("accepted %q", body)
			}
			if _, err := json.Marshal(o); err != nil {
				t.Fatal(err)
			}
			return
		}
		ae := toAPIError(err)
		switch ae.Status {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("%q: status %d (%v)", body, ae.Status, err)
		}
		if ae.Code == "" || ae.Message == "" {
			t.Fatalf("%q: empty code or message: %+v", body, ae)
		}
		if ae.Code == CodeInternal {
			t.Fatalf("%q: internal error %v", body, err)
		}
	})
}
