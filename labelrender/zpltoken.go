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

// zplSyntax is the prefixes and delimiter in force at a point of a stream.
type zplSyntax struct{ format, ctrl, delim byte }

// defaultSyntax is how every stream starts: ^, ~ and ,.
var defaultSyntax = zplSyntax{format: '^', ctrl: '~', delim: ','}

// prefix reports whether c starts a command, and which kind ('^' or '~').
func (sy zplSyntax) prefix(c byte) (byte, bool) {
	switch c {
	case sy.format, altFormatPrefix:
		return '^', true
	case sy.ctrl, altControlPrefix:
		return '~', true
	}
	return 0, false
}

// change applies a prefix change command (upper-cased name, e.g. "^CC")
// whose new character is c.
func (sy *zplSyntax) change(name string, c byte) {
	switch name[1:] {
	case "CC":
		sy.format = c
	case "CT":
		sy.ctrl = c
	case "CD":
		sy.delim = c
	}
}

// readName reads the two command characters after a prefix at doc[i]
// (CR and LF skipped) and returns the upper-cased name, with kind as its
// first byte, and the offset after it; complete is false when doc ends
// first.
func readName(doc []byte, i int, kind byte) (name string, next int, complete bool) {
	n := []byte{kind}
	j := i + 1
	for j < len(doc) && len(n) < 3 {
		if c := doc[j]; c != '\r' && c != '\n' {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A' // ASCII only: other bytes stay as they are
			}
			n = append(n, c)
		}
		j++
	}
	return string(n), j, len(n) == 3
}

// skipLineBreaks returns the offset of the first byte at or after j that
// is not CR or LF.
func skipLineBreaks(doc []byte, j int) int {
	for j < len(doc) && (doc[j] == '\r' || doc[j] == '\n') {
		j++
	}
	return j
}

// tokenizeZPL splits doc into commands, following prefix and delimiter
// changes and the RS/DLE/US alternates. Bytes before the first command are
// not part of any token (the caller decides whether they are allowed).
func tokenizeZPL(doc []byte) []zplToken {
	var toks []zplToken
	sy := defaultSyntax
	i := 0
	for i < len(doc) {
		kind, ok := sy.prefix(doc[i])
		if !ok {
			i++
			continue
		}
		t := zplToken{offset: i, delim: sy.delim}
		var j int
		t.name, j, _ = readName(doc, i, kind)
		if prefixChangeCommands[t.name] {
			// The very next character is the new one, even a prefix or
			// a control character.
			j = skipLineBreaks(doc, j)
			if j < len(doc) {
				sy.change(t.name, doc[j])
				t.arg = string(doc[j : j+1])
				j++
			}
		}
		k := j
		var arg strings.Builder
		arg.WriteString(t.arg)
		for k < len(doc) {
			if _, ok := sy.prefix(doc[k]); ok {
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
