package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// encoding/json names an unknown member by its key alone and a mistyped
// one without array indexes ("lines.quantity"). These walk the body again
// to name them by their whole path ("ship_to.zipcode", "lines[1].quantity"),
// which is what a client needs to find the mistake.

var (
	jsonUnmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	textUnmarshalerType = reflect.TypeOf((*encoding.TextUnmarshaler)(nil)).Elem()
)

// unknownFieldPath returns the path of the first member of data that t
// has no field for, or "" if there is none (or data is not JSON).
func unknownFieldPath(data []byte, t reflect.Type) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	p, _ := walkUnknown(dec, t, "")
	return p
}

// walkUnknown consumes one value of type t (nil: anything is allowed).
func walkUnknown(dec *json.Decoder, t reflect.Type, path string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	t = concrete(t)
	d, ok := tok.(json.Delim)
	if !ok {
		return "", nil
	}
	switch d {
	case '{':
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", err
			}
			key, _ := kt.(string)
			var ft reflect.Type
			switch {
			case t == nil:
			case t.Kind() == reflect.Struct:
				f, found := structField(t, key)
				if !found {
					return joinPath(path, key), nil
				}
				ft = f
			case t.Kind() == reflect.Map:
				ft = t.Elem()
			}
			if p, err := walkUnknown(dec, ft, joinPath(path, key)); p != "" || err != nil {
				return p, err
			}
		}
	case '[':
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if p, err := walkUnknown(dec, et, path+"["+strconv.Itoa(i)+"]"); p != "" || err != nil {
				return p, err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return "", err
}

// concrete strips pointers and returns nil for types that decode
// themselves or take anything (interfaces, json.RawMessage, time.Time).
func concrete(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface ||
		reflect.PointerTo(t).Implements(jsonUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return nil
	}
	return t
}

// structField finds the field encoding/json would fill for key: the exact
// name first, then a case-insensitive match, through embedded structs.
func structField(t reflect.Type, key string) (reflect.Type, bool) {
	var fold reflect.Type
	found := false
	var visit func(t reflect.Type) bool
	visit = func(t reflect.Type) bool {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				et := f.Type
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct {
					if visit(et) {
						return true
					}
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if name == key {
				fold, found = f.Type, true
				return true
			}
			if !found && strings.EqualFold(name, key) {
				fold, found = f.Type, true
			}
		}
		return false
	}
	visit(t)
	return fold, found
}

// pathAtOffset returns the path of the innermost value of data whose
// bytes contain offset (encoding/json's UnmarshalTypeError.Offset), or "".
func pathAtOffset(data []byte, offset int64) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	best := ""
	var walk func(path string) error
	walk = func(path string) error {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				for dec.More() {
					kt, err := dec.Token()
					if err != nil {
						return err
					}
					key, _ := kt.(string)
					if err := walk(joinPath(path, key)); err != nil {
						return err
					}
				}
			case '[':
				for i := 0; dec.More(); i++ {
					if err := walk(path + "[" + strconv.Itoa(i) + "]"); err != nil {
						return err
					}
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
		}
		// Children finish first, so the innermost match is the first.
		if best == "" && path != "" && start <= offset && offset <= dec.InputOffset() {
			best = path
		}
		return nil
	}
	walk("")
	return best
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
