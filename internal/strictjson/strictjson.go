// Package strictjson is the one strict JSON decoder of the daemon's inputs
// (API bodies, pushed jobs and orders, MQTT commands). A document is
// accepted only if it is one JSON value, within the size limit, whose
// every member is a field of the destination, once, with a value of the
// right JSON type. Refusals are *Error values naming the member by its
// full path as the client wrote it: dots for objects, [i] for arrays
// ("orderItemQuantities[0].hazmatInfo.hazmatId").
//
// The document is walked token by token against the destination's type
// before encoding/json fills it, so the path comes from the walk, never
// from encoding/json's error text (which names an unknown member by its key
// alone and a mistyped one without array indexes).
package strictjson

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is the rule a document broke.
type Kind int

// The rules, in the order a document is checked.
const (
	KindTooLarge     Kind = iota + 1 // longer than Options.MaxBytes
	KindEmpty                        // nothing but white space
	KindSyntax                       // not JSON (Err says why; Offset where)
	KindTrailing                     // something after the value
	KindUnknownField                 // a member the destination has no field for
	KindDuplicate                    // a member given twice (also "zip" and "ZIP")
	KindType                         // a value of the wrong JSON type, or a number out of range
	KindValue                        // the type's own decoder refused the value (Err says why)
	KindMissing                      // a member tagged `strictjson:"required"` absent or null
	KindEncoding                     // a string or key that is not valid UTF-8 (raw bytes or a lone \uD800-style surrogate)
)

var kindNames = map[Kind]string{
	KindTooLarge: "too large", KindEmpty: "empty", KindSyntax: "not valid JSON", KindTrailing: "trailing data",
	KindUnknownField: "unknown field", KindDuplicate: "duplicate field", KindType: "wrong type", KindValue: "invalid value",
	KindMissing: "required", KindEncoding: "not valid UTF-8",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is a refused document.
type Error struct {
	Kind Kind
	// Path names the member ("lines[1].quantity"); "" is the whole document.
	Path string
	// Type is the Go type the member decodes into (KindType, KindValue).
	Type reflect.Type
	// Got is what the document has there (KindType): "string", "number",
	// "number 1.5", "bool", "array" or "object", as encoding/json says it.
	Got string
	// Offset is the byte offset at which the problem was seen.
	Offset int64
	// Err is the cause (KindSyntax, KindValue, KindTooLarge).
	Err error
	// Limit is the size limit (KindTooLarge).
	Limit int64
}

// Error reads "lines[1].quantity: want an integer, got string": the path
// (when the refusal concerns a member) and the Rule.
func (e *Error) Error() string {
	if e.Path == "" {
		return "json: " + e.Rule()
	}
	return e.Path + ": " + e.Rule()
}

// Rule says in a client's words which rule was broken, without the path:
// "unknown field", "want a string, got number", "not valid JSON at byte 7:
// …". Every intake shows it this way, next to its own name for the field.
func (e *Error) Rule() string {
	switch e.Kind {
	case KindTooLarge:
		return fmt.Sprintf("larger than %d bytes", e.Limit)
	case KindEmpty:
		return "empty: want a JSON value"
	case KindSyntax:
		if errors.Is(e.Err, io.ErrUnexpectedEOF) {
			return "not valid JSON: unexpected end of input"
		}
		return fmt.Sprintf("not valid JSON at byte %d: %v", e.Offset, e.Err)
	case KindTrailing:
		return fmt.Sprintf("unexpected data after the JSON value at byte %d", e.Offset)
	case KindType:
		return fmt.Sprintf("want %s, got %s", e.Want(), e.Got)
	case KindValue:
		var be base64.CorruptInputError
		if errors.As(e.Err, &be) {
			return "invalid value: want standard base64"
		}
		return fmt.Sprintf("invalid value: %v", e.Err)
	case KindEncoding:
		return "must be valid UTF-8"
	}
	return e.Kind.String() // unknown field, duplicate field, required
}

// Field names the member for a person: the path, `""` for a member whose
// key is empty, or whole when the refusal concerns the whole document (its
// size or syntax, even where the syntax broke inside a member).
func (e *Error) Field(whole string) string {
	switch {
	case e.Kind == KindTooLarge || e.Kind == KindEmpty || e.Kind == KindSyntax || e.Kind == KindTrailing:
		return whole
	case e.Path != "":
		return e.Path
	case e.Kind == KindUnknownField || e.Kind == KindDuplicate:
		return `""` // an empty key still needs a visible name
	}
	return whole
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Want names Type the way a JSON client thinks of it: "an integer", "a
// number", "a string", "true or false", "an array", "an object".
func (e *Error) Want() string { return Want(e.Type) }

// Want names the JSON a value of type t is written as.
func Want(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == nil:
		return "a JSON value"
	case t == numberType:
		return "a number"
	case implements(t, textUnmarshalerType) && !implements(t, jsonUnmarshalerType):
		return "a string"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.String()
}

// Options tune Decode; nil means no size limit beyond the data given and
// keys matched as encoding/json does.
type Options struct {
	// MaxBytes refuses longer documents (KindTooLarge); 0 means no limit.
	MaxBytes int64
	// ExactCase refuses a key that matches a field only when case is
	// ignored ("ZIP" for "zip"), which encoding/json accepts.
	ExactCase bool
	// LastWins lists members that may be given more than once, the last
	// value winning as in encoding/json: a deliberate exception for a
	// contract whose own example repeats a key (Fulfil's packages[].amount).
	// Paths are written with [] for any array index: "packages[].amount".
	LastWins []string
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	numberType          = reflect.TypeFor[json.Number]()
)

// Decode checks data strictly against dst's type and, if it passes, fills
// dst (a non-nil pointer) as encoding/json does. Any refusal is an *Error.
func Decode(data []byte, dst any, opts *Options) error {
	if opts != nil && opts.MaxBytes > 0 && int64(len(data)) > opts.MaxBytes {
		return &Error{Kind: KindTooLarge, Limit: opts.MaxBytes, Offset: opts.MaxBytes}
	}
	if err := check(data, reflect.TypeOf(dst), opts); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	// The walk above already refused unknown members; this is a guard in
	// case encoding/json resolves a key differently.
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fromStdlib(err, reflect.TypeOf(dst))
	}
	return nil
}

// DecodeReader reads at most opts.MaxBytes (+1, to tell) from r and decodes
// it as Decode does.
func DecodeReader(r io.Reader, dst any, opts *Options) error {
	if opts != nil && opts.MaxBytes > 0 {
		r = io.LimitReader(r, opts.MaxBytes+1)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("strictjson: read: %w", err)
	}
	return Decode(data, dst, opts)
}

// Check walks data against t (nil: any JSON) without decoding it.
func Check(data []byte, t reflect.Type, opts *Options) error {
	if opts != nil && opts.MaxBytes > 0 && int64(len(data)) > opts.MaxBytes {
		return &Error{Kind: KindTooLarge, Limit: opts.MaxBytes, Offset: opts.MaxBytes}
	}
	return check(data, t, opts)
}

func check(data []byte, t reflect.Type, opts *Options) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := &walker{data: data, dec: dec, checkText: !utf8.Valid(data) || bytes.Contains(data, []byte(`\u`))}
	if opts != nil {
		w.exactCase, w.lastWins = opts.ExactCase, opts.LastWins
	}
	if err := w.value(t, "", 0); err != nil {
		if e, ok := err.(*Error); ok && e.Kind == KindSyntax && errors.Is(e.Err, io.EOF) && len(bytes.TrimSpace(data)) == 0 {
			return &Error{Kind: KindEmpty}
		}
		return err
	}
	off := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return &Error{Kind: KindTrailing, Offset: off}
	}
	return nil
}

type walker struct {
	data      []byte
	dec       *json.Decoder
	exactCase bool
	// checkText is set when the document may hold a string encoding/json
	// would silently repair (invalid UTF-8 or an escaped lone surrogate,
	// both read as U+FFFD): only then is every string looked at again.
	checkText bool
	lastWins  []string
}

// repeatable says whether the member at path may be given again.
func (w *walker) repeatable(path string) bool {
	if len(w.lastWins) == 0 {
		return false
	}
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		b.WriteByte(path[i])
		if path[i] == '[' {
			if j := strings.IndexByte(path[i:], ']'); j > 0 {
				i += j - 1
			}
		}
	}
	generic := b.String()
	for _, p := range w.lastWins {
		if p == generic {
			return true
		}
	}
	return false
}

func (w *walker) syntax(path string, err error) *Error {
	if errors.Is(err, io.EOF) && w.dec.InputOffset() > 0 {
		err = io.ErrUnexpectedEOF
	}
	off := w.dec.InputOffset()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	return &Error{Kind: KindSyntax, Path: path, Offset: off, Err: err}
}

// value consumes one value that decodes into t.
func (w *walker) value(t reflect.Type, path string, depth int) error {
	if depth > maxDepth {
		return &Error{Kind: KindSyntax, Path: path, Offset: w.dec.InputOffset(), Err: errors.New("nested too deeply")}
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && t.Kind() == reflect.Interface {
		t = nil // anything goes
	}
	if t == numberType {
		return w.number(path)
	}
	if t != nil && (implements(t, jsonUnmarshalerType) || implements(t, textUnmarshalerType)) {
		return w.selfDecoding(t, path, depth)
	}
	start := w.dec.InputOffset()
	tok, err := w.dec.Token()
	if err != nil {
		return w.syntax(path, err)
	}
	typeErr := func(got string) *Error {
		return &Error{Kind: KindType, Path: path, Type: t, Got: got, Offset: start}
	}
	switch v := tok.(type) {
	case nil:
		return nil // null leaves the field as it is, whatever its type
	case bool:
		if t != nil && t.Kind() != reflect.Bool {
			return typeErr("bool")
		}
	case string:
		if err := w.text(path, start); err != nil {
			return err
		}
		if t == nil || t.Kind() == reflect.String {
			return nil
		}
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			if _, err := base64.StdEncoding.DecodeString(v); err != nil {
				return &Error{Kind: KindValue, Path: path, Type: t, Offset: start, Err: fmt.Errorf("want standard base64: %w", err)}
			}
			return nil
		}
		return typeErr("string")
	case json.Number:
		if t == nil {
			return nil
		}
		return checkNumber(t, string(v), typeErr)
	case json.Delim:
		switch v {
		case '{':
			return w.object(t, path, depth, typeErr)
		case '[':
			return w.array(t, path, depth, typeErr)
		}
	}
	return nil
}

// text refuses the string token just read (its JSON text starts at or
// after start) if encoding/json repaired it: raw bytes that are not UTF-8,
// or a \uD800-\uDFFF escape that is not half of a surrogate pair.
func (w *walker) text(path string, start int64) error {
	if !w.checkText {
		return nil
	}
	raw := w.data[start:w.dec.InputOffset()]
	if i := bytes.IndexByte(raw, '"'); i >= 0 {
		raw = raw[i:]
	}
	if !utf8.Valid(raw) || loneSurrogate(raw) {
		return &Error{Kind: KindEncoding, Path: path, Offset: start}
	}
	return nil
}

// loneSurrogate reports whether the JSON string text s has a \u escape of
// a surrogate that is not a high one followed by an escaped low one.
func loneSurrogate(s []byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			continue
		}
		if s[i+1] != 'u' {
			i++ // \" \\ \n …: skip the escaped character
			continue
		}
		r, ok := hex4(s[i+2:])
		switch {
		case !ok || r < 0xd800 || r > 0xdfff:
		case r >= 0xdc00:
			return true // a low surrogate first
		default:
			lo, ok := rune(0), false
			if i+7 < len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
				lo, ok = hex4(s[i+8:])
			}
			if !ok || lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 6
		}
		i += 5
	}
	return false
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s[:4]), 16, 16)
	return rune(v), err == nil
}

// number checks a json.Number member: a JSON number or null. A quoted
// number, which encoding/json would take, is a string here.
func (w *walker) number(path string) error {
	start := w.dec.InputOffset()
	tok, err := w.dec.Token()
	if err != nil {
		return w.syntax(path, err)
	}
	switch tok.(type) {
	case nil, json.Number:
		return nil
	}
	return &Error{Kind: KindType, Path: path, Type: numberType, Got: tokenKind(tok), Offset: start}
}

// tokenKind names a token's JSON type as encoding/json does.
func tokenKind(tok json.Token) string {
	switch v := tok.(type) {
	case bool:
		return "bool"
	case string:
		return "string"
	case json.Number:
		return "number"
	case json.Delim:
		if v == '[' {
			return "array"
		}
		return "object"
	}
	return "null"
}

func checkNumber(t reflect.Type, s string, typeErr func(string) *Error) error {
	var err error
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		_, err = strconv.ParseInt(s, 10, t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		_, err = strconv.ParseUint(s, 10, t.Bits())
	case reflect.Float32, reflect.Float64:
		_, err = strconv.ParseFloat(s, t.Bits())
	default:
		return typeErr("number")
	}
	if err != nil {
		return typeErr("number " + s)
	}
	return nil
}

func (w *walker) object(t reflect.Type, path string, depth int, typeErr func(string) *Error) error {
	var fields []field
	var elem reflect.Type
	isStruct := t != nil && t.Kind() == reflect.Struct // may have no fields at all
	switch {
	case t == nil:
	case isStruct:
		fields = fieldsOf(t)
	case t.Kind() == reflect.Map:
		elem = t.Elem()
	default:
		return typeErr("object")
	}
	seen := map[string]bool{}
	present := map[string]bool{} // required members given a non-null value
	for w.dec.More() {
		keyStart := w.dec.InputOffset()
		tok, err := w.dec.Token()
		if err != nil {
			return w.syntax(path, err)
		}
		key, _ := tok.(string)
		sub := joinPath(path, key)
		if err := w.text(sub, keyStart); err != nil {
			return err
		}
		id, ft, required := key, elem, false
		if isStruct {
			f, ok := lookup(fields, key, w.exactCase)
			if !ok {
				return &Error{Kind: KindUnknownField, Path: sub, Offset: w.dec.InputOffset()}
			}
			id, ft, required = f.name, f.typ, f.required
		} else if t != nil {
			if err := checkMapKey(t.Key(), key, sub, w.dec.InputOffset()); err != nil {
				return err
			}
		}
		if seen[id] && !w.repeatable(sub) {
			return &Error{Kind: KindDuplicate, Path: sub, Offset: w.dec.InputOffset()}
		}
		seen[id] = true
		start := w.dec.InputOffset()
		if err := w.value(ft, sub, depth+1); err != nil {
			return err
		}
		if required && string(bytes.TrimLeft(w.data[start:w.dec.InputOffset()], " \t\r\n:,")) != "null" {
			present[id] = true
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return w.syntax(path, err)
	}
	for _, f := range fields {
		if f.required && !present[f.name] {
			return &Error{Kind: KindMissing, Path: joinPath(path, f.name), Offset: w.dec.InputOffset()}
		}
	}
	return nil
}

func (w *walker) array(t reflect.Type, path string, depth int, typeErr func(string) *Error) error {
	var elem reflect.Type
	if t != nil {
		if k := t.Kind(); k != reflect.Slice && k != reflect.Array {
			return typeErr("array")
		}
		elem = t.Elem()
	}
	for i := 0; w.dec.More(); i++ {
		if err := w.value(elem, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil {
		return w.syntax(path, err)
	}
	return nil
}

// selfDecoding checks a value whose type decodes itself (json.Unmarshaler,
// encoding.TextUnmarshaler, json.Number): its JSON is walked as anything
// (syntax, duplicate members), then handed to the type so its refusal
// names this path.
func (w *walker) selfDecoding(t reflect.Type, path string, depth int) error {
	start := w.dec.InputOffset()
	if err := w.value(nil, path, depth); err != nil {
		return err
	}
	raw := bytes.TrimLeft(w.data[start:w.dec.InputOffset()], " \t\r\n:,")
	if string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return &Error{Kind: KindType, Path: path, Type: t, Got: te.Value, Offset: start}
		}
		return &Error{Kind: KindValue, Path: path, Type: t, Offset: start, Err: err}
	}
	return nil
}

func checkMapKey(kt reflect.Type, key, path string, off int64) error {
	switch {
	case implements(kt, textUnmarshalerType):
		if err := reflect.New(kt).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(key)); err != nil {
			return &Error{Kind: KindValue, Path: path, Type: kt, Offset: off, Err: err}
		}
	case kt.Kind() == reflect.String:
	default:
		return checkNumber(kt, key, func(got string) *Error {
			return &Error{Kind: KindType, Path: path, Type: kt, Got: got, Offset: off}
		})
	}
	return nil
}

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

type field struct {
	name     string // the JSON name: duplicates are told by it
	typ      reflect.Type
	required bool // tagged `strictjson:"required"`: present and not null
}

// fieldsOf lists the members encoding/json fills in a struct, in field
// order, through embedded structs (the shallower field wins, as in
// encoding/json).
func fieldsOf(t reflect.Type) []field {
	var out []field
	index := map[string]int{}
	var visit func(t reflect.Type, depth int, seen map[reflect.Type]bool)
	depths := map[string]int{}
	visit = func(t reflect.Type, depth int, seen map[reflect.Type]bool) {
		if seen[t] {
			return
		}
		seen[t] = true
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
					visit(et, depth+1, seen)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if d, ok := depths[name]; ok {
				if d > depth {
					out[index[name]].typ = f.Type
					depths[name] = depth
				}
				continue
			}
			depths[name] = depth
			index[name] = len(out)
			out = append(out, field{name: name, typ: f.Type, required: f.Tag.Get("strictjson") == "required"})
		}
	}
	visit(t, 0, map[reflect.Type]bool{})
	return out
}

// lookup finds key as encoding/json does: the exact name, else (unless
// exact) the first case-insensitive match.
func lookup(fields []field, key string, exact bool) (field, bool) {
	for _, f := range fields {
		if f.name == key {
			return f, true
		}
	}
	if exact {
		return field{}, false
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return field{}, false
}

// fromStdlib wraps an error encoding/json raised after the walk passed
// (which it should not): a type error keeps its field, anything else is a
// value error of the document.
func fromStdlib(err error, t reflect.Type) *Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &Error{Kind: KindType, Path: te.Field, Type: te.Type, Got: te.Value, Offset: te.Offset}
	}
	return &Error{Kind: KindValue, Type: t, Err: err}
}
