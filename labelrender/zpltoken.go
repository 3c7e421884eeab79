package labelrender

import "strings"

// A ZPL stream as a printer reads it. Sources (Zebra ZPL II Programming
// Guide and Software Integrator Guides, "The ZPL Command" and the ^CC ~CC,
// ^CT ~CT, ^CD ~CD pages; Zebra knowledge article 06205819 "Format Prefix
// with ZPL enabled Zebra Mobile Printers"; ZPL Mirror "Character
// Substitution", where the printer itself stores formats with ^ as 0x1E,
// , as 0x1F and ~ as 0x10):
//
//   - format commands start with the format prefix, ^ by default; RS (0x1E)
//     may stand for it. Control commands start with the control prefix, ~
//     by default; DLE (0x10) may stand for it. The parameter delimiter is ,
//     by default; US (0x1F) may stand for it.
//   - ^CCx/~CCx make x the format prefix, ^CTx/~CTx the control prefix and
//     ^CDx/~CDx the delimiter, for everything after them. Without x "the
//     next character received" is taken, whatever it is.
//   - a command is its prefix and two characters; command letters are read
//     case-insensitively; CR and LF in the stream are ignored.
//   - ^FD (and ^FV, ^SN, ^FX) data runs until the next command. The ^FD
//     page: field data "can be any printable character except those used as
//     command prefixes (^ and ~)", ^ and ~ print only after ^CC/^CT changed
//     the prefixes, and "the new prefix characters cannot be printed": a
//     prefix inside field data starts a command (that is how
//     "^FDBob^FS^FO…" injects). ^FH (which applies to ^FD, ^FV and ^SN) only
//     decodes _HH escapes; its indicator may not be a prefix, so it hides
//     no raw prefix. The independent renderer agrees for ^ and ~
//     (checkrender_test.go).
//
// The tokenizer is deliberately stricter than any one printer where guides
// disagree: RS and DLE are read as prefixes even after ^CC/^CT changed the
// prefix, and a raw prefix anywhere (field data included) starts a command.
// Reading more commands than a printer would only refuses more.

const (
	altFormatPrefix  = 0x1E // RS: stands for the format prefix (^)
	altControlPrefix = 0x10 // DLE: stands for the control prefix (~)
	altDelimiter     = 0x1F // US: stands for the delimiter (,)
)

// zplToken is one command of a stream.
type zplToken struct {
	// name is "^" or "~" (whatever character the stream used as prefix)
	// followed by the two command characters, upper-cased: "^FO", "~JR".
	name string
	// offset is the byte offset of the prefix; end is the offset just past
	// the command's argument (the next prefix or the end of the stream).
	offset, end int
	// arg is the command's argument with CR and LF removed.
	arg string
	// delim is the parameter delimiter in force for this command.
	delim byte
}

// params splits the argument at the delimiter in force (or its US alternate).
func (t zplToken) params() []string {
	var out []string
	start := 0
	for i := 0; i < len(t.arg); i++ {
		if c := t.arg[i]; c == t.delim || c == altDelimiter {
			out = append(out, t.arg[start:i])
			start = i + 1
		}
	}
	return append(out, t.arg[start:])
}

// prefixChangeCommands change how the rest of the stream is read.
var prefixChangeCommands = map[string]bool{"^CC": true, "~CC": true, "^CT": true, "~CT": true, "^CD": true, "~CD": true}

// tokenizeZPL splits doc into commands, following prefix and delimiter
// changes and the RS/DLE/US alternates. Bytes before the first command are
// not part of any token (the caller decides whether they are allowed).
func tokenizeZPL(doc []byte) []zplToken {
	var (
		toks   []zplToken
		format byte = '^'
		ctrl   byte = '~'
		delim  byte = ','
	)
	isPrefix := func(c byte) (byte, bool) {
		switch c {
		case format, altFormatPrefix:
			return '^', true
		case ctrl, altControlPrefix:
			return '~', true
		}
		return 0, false
	}
	i := 0
	for i < len(doc) {
		kind, ok := isPrefix(doc[i])
		if !ok {
			i++
			continue
		}
		t := zplToken{offset: i, delim: delim}
		name := []byte{kind}
		j := i + 1
		for j < len(doc) && len(name) < 3 {
			if c := doc[j]; c != '\r' && c != '\n' {
				name = append(name, c)
			}
			j++
		}
		for n, c := range name {
			if 'a' <= c && c <= 'z' {
				name[n] = c - ('a' - 'A') // ASCII only: other bytes stay as they are
			}
		}
		t.name = string(name)
		if prefixChangeCommands[t.name] {
			// The very next character is the new one, even a prefix or
			// a control character.
			for j < len(doc) && (doc[j] == '\r' || doc[j] == '\n') {
				j++
			}
			if j < len(doc) {
				switch t.name[1:] {
				case "CC":
					format = doc[j]
				case "CT":
					ctrl = doc[j]
				case "CD":
					delim = doc[j]
				}
				t.arg = string(doc[j : j+1])
				j++
			}
		}
		k := j
		var arg strings.Builder
		arg.WriteString(t.arg)
		for k < len(doc) {
			if _, ok := isPrefix(doc[k]); ok {
				break
			}
			if c := doc[k]; c != '\r' && c != '\n' {
				arg.WriteByte(c)
			}
			k++
		}
		t.arg, t.end = arg.String(), k
		toks = append(toks, t)
		i = k
	}
	return toks
}
