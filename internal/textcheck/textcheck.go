// Package textcheck holds the one set of rules for ids and free text that
// arrive from outside (HTTP, MQTT, carriers): queue, station, api and
// uplink all apply it, each naming its own field around the *Error.
//
//   - Text (names, addresses, descriptions, reasons) must be valid UTF-8
//     without control characters (C0, DEL, C1 U+0080–U+009F) and without
//     bidi embeddings, overrides or isolates (U+202A–U+202E,
//     U+2066–U+2069), which make text display in a different order than it
//     is stored ("Trojan Source"). The marks LRM, RLM and ALM stay allowed
//     in text: Hebrew and Arabic addresses need them and they reorder
//     nothing by themselves.
//   - Ids (order ids, package references, printer names, push ids) follow
//     the text rules, refuse the marks too (two ids that look the same must
//     be the same), may not start or end with a space, and may not contain
//     / \ ? # or "..": ids end up in URL paths, Location headers and file
//     names.
//
// Label text is not refused but cleaned: labelrender replaces controls with
// spaces and drops the bidi characters and marks (IsBidi, IsMark), because
// a printer font has no glyph for them and the label must still print.
package textcheck

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a refused value. It does not name the field: the caller does.
type Error struct {
	Rule   string // "must be valid UTF-8", "must not contain U+202E (a bidi override)", …
	Offset int    // byte offset of the offending character, -1 when none
}

func (e *Error) Error() string { return e.Rule }

// IsControl reports whether r is a C0 control, DEL or a C1 control.
func IsControl(r rune) bool {
	return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f
}

// IsBidi reports whether r is a bidi embedding, override or isolate
// (U+202A–U+202E, U+2066–U+2069): characters that reorder the text around
// them when displayed.
func IsBidi(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// IsMark reports whether r is an invisible direction mark (LRM U+200E, RLM
// U+200F, ALM U+061C): harmless in text, refused in ids.
func IsMark(r rune) bool {
	return r == 0x200e || r == 0x200f || r == 0x061c
}

// Text checks free text of at most max bytes (0: no limit).
func Text(s string, max int) error {
	if max > 0 && len(s) > max {
		return &Error{Rule: fmt.Sprintf("%d bytes, at most %d", len(s), max), Offset: max}
	}
	for i, r := range s {
		if err := checkRune(s, i, r); err != nil {
			return err
		}
	}
	return nil
}

// ID checks an identifier of 1 to max bytes (max 0: no limit).
func ID(s string, max int) error {
	if s == "" {
		return &Error{Rule: "must not be empty", Offset: -1}
	}
	if err := Text(s, max); err != nil {
		return err
	}
	if strings.TrimSpace(s) != s {
		return &Error{Rule: "must not start or end with spaces", Offset: -1}
	}
	for i, r := range s {
		switch {
		case IsMark(r):
			return &Error{Rule: fmt.Sprintf("must not contain %U (an invisible direction mark)", r), Offset: i}
		case r == '/' || r == '\\' || r == '?' || r == '#':
			return &Error{Rule: fmt.Sprintf("must not contain %q (ids are used in paths and URLs)", string(r)), Offset: i}
		}
	}
	if i := strings.Index(s, ".."); i >= 0 {
		return &Error{Rule: `must not contain ".." (ids are used in paths and URLs)`, Offset: i}
	}
	return nil
}

func checkRune(s string, i int, r rune) error {
	switch {
	case r == utf8.RuneError:
		if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
			return &Error{Rule: fmt.Sprintf("must be valid UTF-8 (byte 0x%02x at %d)", s[i], i), Offset: i}
		}
	case IsControl(r):
		return &Error{Rule: fmt.Sprintf("must not contain control characters (%U at byte %d)", r, i), Offset: i}
	case IsBidi(r):
		return &Error{Rule: fmt.Sprintf("must not contain %U (a bidi override or isolate) at byte %d", r, i), Offset: i}
	}
	return nil
}
