package main

import (
	"encoding"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// typeErrorWords turns go-toml's type error ("cannot decode TOML string
// into struct field device.PrinterConfig.DPI of type int") into the
// operator's words: the setting by its path, what it wants and what the
// file has, and the line: `printers[0].dpi: want a number like 203, got
// "203dpi" (line 12)`. ok is false when the key is not a setting of
// Config (the caller keeps go-toml's message).
func typeErrorWords(de *toml.DecodeError, data []byte) (msg string, ok bool) {
	row, col := de.Position()
	if len(de.Key()) == 0 {
		return "", false // a syntax error: go-toml's words and position
	}
	path, t, ok := settingPath(reflect.TypeOf(Config{}), de.Key(), data, row)
	if !ok {
		return "", false
	}
	got := valueAt(data, row, col)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()) {
		// Its own parser said what it wants (durations: "want a Go
		// duration like 500ms").
		return "", false
	}
	return fmt.Sprintf("%s: want %s, got %s (line %d)", path, wantWords(t, got), got, row), true
}

var leadingDigits = regexp.MustCompile(`^"?(-?[0-9]+)`)

// wantWords says what a setting of type t looks like in TOML.
func wantWords(t reflect.Type, got string) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		like := "10"
		if m := leadingDigits.FindStringSubmatch(got); m != nil {
			like = m[1] // "203dpi" → 203: the number the operator meant
		}
		return "a number like " + like
	case reflect.Float32, reflect.Float64:
		return "a number like 1.5"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		if got != "" && !strings.HasPrefix(got, `"`) && !strings.HasPrefix(got, "'") && !strings.HasPrefix(got, "[") && !strings.HasPrefix(got, "{") {
			return `text in quotes like "` + got + `"`
		}
		return `text in quotes like "zebra"`
	case reflect.Slice, reflect.Array:
		return "a list like [" + wantWords(t.Elem(), "") + ", ...]"
	case reflect.Map, reflect.Struct:
		return "a table of settings"
	}
	return "a " + t.Kind().String()
}

// settingPath walks key through t's toml tags; it returns the setting's
// path with the config view's (JSON) names and array indexes
// ("printers[0].dpi") and the Go type it decodes into.
func settingPath(t reflect.Type, key []string, data []byte, row int) (string, reflect.Type, bool) {
	var b strings.Builder
	for i, k := range key {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Map {
			b.WriteString("." + k)
			t = t.Elem()
			continue
		}
		if t.Kind() != reflect.Struct {
			return "", nil, false
		}
		f, ok := fieldByTOML(t, k)
		if !ok {
			return "", nil, false
		}
		name := k
		if j, _, _ := strings.Cut(f.Tag.Get("json"), ","); j != "" && j != "-" {
			name = j
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(name)
		t = f.Type
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct && i < len(key)-1 {
			// An array of tables: which [[...]] holds the line.
			fmt.Fprintf(&b, "[%d]", tableIndex(data, strings.Join(key[:i+1], "."), row))
			t = t.Elem()
		}
	}
	return b.String(), t, true
}

// fieldByTOML finds the field tagged toml:"name" (or so named), looking
// into embedded structs.
func fieldByTOML(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if tag == name || (tag == "" && strings.EqualFold(f.Name, name)) {
			return f, true
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if g, ok := fieldByTOML(f.Type, name); ok {
				return g, true
			}
		}
	}
	return reflect.StructField{}, false
}

// tableIndex counts the [[table]] headers up to row (1-based): the index
// of the array element the row is in.
func tableIndex(data []byte, table string, row int) int {
	n := -1
	for i, line := range strings.Split(string(data), "\n") {
		if i+1 > row {
			break
		}
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "[[") {
			h, _, _ := strings.Cut(strings.TrimPrefix(l, "[["), "]]")
			if strings.TrimSpace(h) == table {
				n++
			}
		}
	}
	return max(n, 0)
}

// valueAt is the TOML value written at row:col (1-based), without a
// trailing comment: what the operator typed.
func valueAt(data []byte, row, col int) string {
	lines := strings.Split(string(data), "\n")
	if row < 1 || row > len(lines) {
		return ""
	}
	line := strings.TrimRight(lines[row-1], "\r")
	if col < 1 || col > len(line) {
		return ""
	}
	v := line[col-1:]
	if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
		if end := strings.IndexByte(v[1:], v[0]); end >= 0 {
			return v[:end+2]
		}
		return v
	}
	if i := strings.IndexByte(v, '#'); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}
