package textcheck

import (
	"strings"
	"testing"
	"unicode/utf8"
)

type checkCase struct {
	name string
	in   string
	want string // "" accepted; else a substring of the rule
}

var textCases = []checkCase{
	{"plain", "Bob Smith", ""},
	{"accents", "Zoë Müller, Straße 5", ""},
	{"hebrew with RLM", "שלום\u200f 12", ""},
	{"arabic with ALM", "\u061c12 شارع", ""},
	{"replacement char itself", "a\ufffdb", ""},
	{"empty", "", ""},
	{"invalid UTF-8", "ab\xffc", "valid UTF-8"},
	{"truncated rune", "ab\xc3", "valid UTF-8"},
	{"surrogate bytes", "\xed\xa0\x80", "valid UTF-8"},
	{"NUL", "a\x00b", "control"},
	{"LF", "line\nbreak", "control"},
	{"TAB", "a\tb", "control"},
	{"DEL", "a\x7fb", "control"},
	{"C1 NEL", "a\u0085b", "control"},
	{"C1 CSI", "a\u009bb", "control"},
	{"C1 first", "\u0080", "control"},
	{"C1 last", "\u009f", "control"},
	{"just above C1", "\u00a0nbsp", ""},
	{"LRE", "a\u202ab", "bidi"},
	{"RLO", "abc\u202edcba", "bidi"},
	{"PDF", "\u202c", "bidi"},
	{"LRI", "\u2066x", "bidi"},
	{"PDI", "x\u2069", "bidi"},
	{"below bidi range", "\u2029", ""}, // paragraph separator: not a bidi control
	{"above isolate range", "\u206a", ""},
}

var idCases = []checkCase{
	{"plain", "SO000001", ""},
	{"dashes and dots", "PO-2024.15_a", ""},
	{"unicode", "Bestellung-Ä1", ""},
	{"inner space", "order 12", ""},
	{"empty", "", "empty"},
	{"leading space", " SO1", "spaces"},
	{"trailing space", "SO1 ", "spaces"},
	{"slash", "a/b", `"/"`},
	{"backslash", `a\b`, `"\\"`},
	{"question mark", "a?x=1", `"?"`},
	{"hash", "a#frag", `"#"`},
	{"dot dot", "..", `".."`},
	{"dot dot inside", "a..b", `".."`},
	{"single dot", "a.b", ""},
	{"LRM", "SO1\u200e", "direction mark"},
	{"RLM", "\u200fSO1", "direction mark"},
	{"ALM", "S\u061cO1", "direction mark"},
	{"RLO", "SO\u202e1", "bidi"},
	{"C1", "SO\u00851", "control"},
	{"invalid UTF-8", "SO\x801", "valid UTF-8"},
	{"NUL", "SO\x001", "control"},
}

func TestText(t *testing.T) {
	for _, c := range textCases {
		t.Run(c.name, func(t *testing.T) { expect(t, Text(c.in, 0), c.want) })
	}
}

func TestID(t *testing.T) {
	for _, c := range idCases {
		t.Run(c.name, func(t *testing.T) { expect(t, ID(c.in, 64), c.want) })
	}
	// Everything text refuses, an id refuses too.
	for _, c := range textCases {
		if c.want != "" {
			if err := ID("x"+c.in+"x", 0); err == nil {
				t.Errorf("ID(%q) accepted what Text refuses", c.in)
			}
		}
	}
}

func TestLength(t *testing.T) {
	expect(t, Text(strings.Repeat("a", 10), 10), "")
	expect(t, Text(strings.Repeat("a", 11), 10), "11 bytes, at most 10")
	expect(t, ID(strings.Repeat("a", 65), 64), "65 bytes, at most 64")
}

func TestOffset(t *testing.T) {
	err := Text("abc\u202edef", 0)
	e, ok := err.(*Error)
	if !ok || e.Offset != 3 {
		t.Fatalf("Text: %#v, want *Error at offset 3", err)
	}
}

func expect(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("refused: %v", err)
	case want != "" && err == nil:
		t.Errorf("accepted, want a refusal with %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("refused with %q, want it to say %q", err, want)
	}
}

// model is an independent statement of the rules, rune by rune over the
// bytes, used by the fuzz targets.
func model(s string, id bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	if id && (s == "" || s[0] == ' ' || s[len(s)-1] == ' ' || strings.ContainsAny(s, `/\?#`) || strings.Contains(s, "..")) {
		return false
	}
	for _, r := range s {
		switch {
		case r <= 0x1f, r >= 0x7f && r <= 0x9f:
			return false
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return false
		case id && (r == 0x200e || r == 0x200f || r == 0x061c):
			return false
		}
	}
	return true
}

func FuzzText(f *testing.F) {
	for _, c := range textCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Text(s, 0) == nil, model(s, false); got != want {
			t.Fatalf("Text(%q) accepted=%v, model says %v", s, got, want)
		}
	})
}

func FuzzID(f *testing.F) {
	for _, c := range idCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// The model's space rule is ASCII space only, as strings.TrimSpace
		// also trims other white space: compare where they agree.
		if strings.TrimSpace(s) != s && s != "" && s[0] != ' ' && s[len(s)-1] != ' ' {
			if ID(s, 0) == nil {
				t.Fatalf("ID(%q) accepted surrounding white space", s)
			}
			return
		}
		if got, want := ID(s, 0) == nil, model(s, true); got != want {
			t.Fatalf("ID(%q) accepted=%v, model says %v", s, got, want)
		}
	})
}
