package api_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/packbench/packbench/api"
)

// TestPathIDHygiene: an id in a path that no store could hold (bidi
// characters, marks, "..", "/", "#", "?", invalid UTF-8) is a 400 naming
// the path parameter and the rule, on every route that takes one.
func TestPathIDHygiene(t *testing.T) {
	b := newBench(t, nil)
	for _, tt := range []struct {
		name, id, rule string
	}{
		{"bidi override", "SO1\u202e", "U+202E"},
		{"bidi isolate", "\u2066SO1", "U+2066"},
		{"RLM", "SO1\u200f", "U+200F"},
		{"C1", "SO\u00851", "control"},
		{"dot dot", "a..b", `".."`}, // a bare ".." never reaches a handler: the mux cleans the path
		{"slash", "a/b", `"/"`},
		{"hash", "a#b", `"#"`},
		{"question mark", "a?b", `"?"`},
		{"invalid UTF-8", "SO\xff", "UTF-8"},
	} {
		esc := url.PathEscape(tt.id)
		for _, r := range []struct{ method, path, field string }{
			{"GET", "/api/v1/orders/" + esc, "id"},
			{"POST", "/api/v1/orders/" + esc + "/void", "id"},
			{"GET", "/api/v1/shipments/" + esc, "id"},
			{"GET", "/api/v1/packages/" + esc, "id"},
			{"POST", "/api/v1/packages/" + esc + "/void", "id"},
			{"GET", "/api/v1/labels/" + esc + ".png", "id"},
			{"POST", "/api/v1/printers/" + esc + "/test", "name"},
		} {
			a := b.do(r.method, r.path, nil)
			if a.status == 404 && strings.Contains(string(a.body), "no such endpoint") {
				t.Fatalf("%s %s: route not found: %s", r.method, r.path, a.body)
			}
			msg := a.wantError(t, 400, api.CodeInvalidField, r.field)
			if !strings.Contains(msg, tt.rule) {
				t.Errorf("%s %s (%s): %q does not say %s", r.method, r.path, tt.name, msg, tt.rule)
			}
		}
	}
}
