package labelrender

import (
	"strconv"
	"strings"
)

// RenderZPL renders the label as native ZPL: printer fonts (^A0) and printer
// barcodes (^BC, ^BQ, ^BX, ^B7, ^BD), UTF-8 (^CI28), sized with ^PW/^LL.
// Every field that carries user text goes through ^FH with hex escaping of
// every byte outside [A-Za-z0-9 .,-], so no user byte can become a command.
func RenderZPL(l Label, opts *Options) ([]byte, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	r, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	elems, err := layout(&l, r, false)
	if err != nil {
		return nil, err
	}
	return elementsZPL(elems, r, &l), nil
}

// elementsZPL writes laid-out elements as one ZPL label of r's size; l is
// the label they were laid out from (MaxiCode's primary message).
func elementsZPL(elems []element, r resolved, l *Label) []byte {
	b := make([]byte, 0, 2048)
	b = append(b, "^XA\n^CI28\n^PW"...)
	b = strconv.AppendInt(b, int64(r.w), 10)
	b = append(b, "\n^LL"...)
	b = strconv.AppendInt(b, int64(r.h), 10)
	b = append(b, "\n^LH0,0\n"...)
	for i := range elems {
		b = appendElementZPL(b, &elems[i], l)
	}
	return append(b, "^XZ\n"...)
}

func appendFO(b []byte, x, y int) []byte {
	b = append(b, "^FO"...)
	b = strconv.AppendInt(b, int64(x), 10)
	b = append(b, ',')
	return strconv.AppendInt(b, int64(y), 10)
}

func appendInts(b []byte, sep byte, vs ...int) []byte {
	for i, v := range vs {
		if i > 0 {
			b = append(b, sep)
		}
		b = strconv.AppendInt(b, int64(v), 10)
	}
	return b
}

func appendElementZPL(b []byte, e *element, l *Label) []byte {
	switch e.kind {
	case boxElem:
		b = appendFO(b, e.x, e.y)
		b = append(b, "^GB"...)
		b = appendInts(b, ',', e.w, e.h, min(e.w, e.h))
		b = append(b, "^FS\n"...)
	case frameElem:
		b = appendFO(b, e.x, e.y)
		b = append(b, "^GB"...)
		b = appendInts(b, ',', e.w, e.h, e.t)
		b = append(b, "^FS\n"...)
	case textElem:
		b = appendFO(b, e.x, e.y)
		b = append(b, "^A0N,"...)
		b = appendInts(b, ',', e.size, e.size)
		b = append(b, "^FH^FD"...)
		b = AppendFieldData(b, e.text)
		b = append(b, "^FS\n"...)
	case linearElem:
		b = appendFO(b, e.x, e.y)
		b = append(b, "^BY"...)
		b = appendInts(b, ',', e.module, 3, e.h)
		// Mode A lets the printer pick Code 128 subsets; mode D is GS1-128
		// (FNC1 and application identifiers from the parentheses). The
		// interpretation line is ours, so the printer's is off.
		b = append(b, "^BCN,"...)
		b = strconv.AppendInt(b, int64(e.h), 10)
		if e.barType != GS1128 {
			b = append(b, ",N,N,N,A^FH^FD"...)
			b = AppendFieldData(b, e.data)
			b = append(b, "^FS\n"...)
			break
		}
		b = append(b, ",N,N,N,D^FH^FD"...)
		parts, _ := gs1Parts(e.data) // validated before layout
		for i, p := range parts {
			b = AppendFieldData(b, "("+p.ai+")"+p.value)
			// The printer does not end a variable-length element by itself:
			// ">8" is FNC1, written by us, never taken from user text.
			if _, fixed := gs1Fixed[p.ai]; !fixed && i < len(parts)-1 {
				b = append(b, ">8"...)
			}
		}
		b = append(b, "^FS\n"...)
	case matrixElem:
		b = appendFO(b, e.x, e.y)
		switch e.codeType {
		case QR:
			// Model 2; "MA," = error correction M, automatic input mode.
			b = append(b, "^BQN,2,"...)
			b = strconv.AppendInt(b, int64(e.module), 10)
			b = append(b, "^FH^FDMA,"...)
		case DataMatrix:
			// Quality 200 (ECC 200) always: the default 0 is obsolete ECC 000.
			b = append(b, "^BXN,"...)
			b = appendInts(b, ',', e.module, 200, e.cols, e.rows)
			b = append(b, "^FH^FD"...)
		case PDF417:
			b = append(b, "^BY"...)
			b = strconv.AppendInt(b, int64(e.module), 10)
			b = append(b, "^B7N,"...)
			b = appendInts(b, ',', e.module*pdf417RowModules, pdf417Security, e.cols)
			b = append(b, "^FH^FD"...)
		case MaxiCode:
			// Modes 2/3 carry a primary message: class of service, country,
			// postal code; the user's data is the secondary message.
			_, postal, country, _ := maxiPostal(&l.To)
			b = append(b, "^BD"...)
			b = strconv.AppendInt(b, int64(e.maxiMode), 10)
			b = append(b, ",1,1^FH^FD"...)
			b = AppendFieldData(b, l.Code2D.serviceClass()+country+postal)
		}
		b = AppendFieldData(b, maxiSecondary(e))
		b = append(b, "^FS\n"...)
	}
	return b
}

// maxiEnvelope opens a MaxiCode secondary message (ANSI MH10.8.3).
const maxiEnvelope = "[)>\x1e01\x1d"

// maxiSecondary is a 2-D element's field data. Zebra's ^BD wants MaxiCode's
// secondary message in the ANSI MH10.8.3 envelope "[)>RS01GSyy … RS EOT":
// the printer splices the primary message in after its header. Data
// without the envelope gets one (format year 96, as UPS uses).
func maxiSecondary(e *element) string {
	if e.codeType != MaxiCode || strings.HasPrefix(e.data, maxiEnvelope) {
		return e.data
	}
	return maxiEnvelope + "96" + e.data + "\x1e\x04"
}

const hexDigits = "0123456789ABCDEF"

// fieldSafe reports whether a byte may appear literally in ^FH field data.
// The whitelist is deliberately small: everything else, including the
// command prefixes ^ and ~, the ^FH indicator _, the backslash ^FB reads,
// CR/LF, NUL and every byte of a multi-byte UTF-8 sequence, is escaped.
func fieldSafe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == ' ' || c == '.' || c == ',' || c == '-'
}

// AppendFieldData appends s to b as ^FH field data: bytes outside
// [A-Za-z0-9 .,-] are written as _HH (uppercase hex). The field must be
// preceded by ^FH (default indicator _). With ^CI28 the escaped UTF-8 bytes
// print as the original characters.
func AppendFieldData(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if fieldSafe(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '_', hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

// EscapeFieldData is AppendFieldData for a string.
func EscapeFieldData(s string) string {
	return string(AppendFieldData(make([]byte, 0, len(s)+len(s)/2), s))
}
