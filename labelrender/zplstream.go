package labelrender

// ZPLPiece is what ZPLSplitter cut last: a format, or a command outside
// any format.
type ZPLPiece struct {
	// Command is empty for a ^XA…^XZ format. Otherwise it is the command
	// found between formats, upper-cased with its kind as prefix ("~HS",
	// "~HQ", "^JU"), whatever prefix character the stream used.
	Command string
	// Query is ~HQ's two query letters, upper-cased ("ES"); empty otherwise.
	Query string
	// Offset is the stream offset of the piece's first byte.
	Offset int
}

// ZPLSplitter cuts a ZPL byte stream into what a printer acts on one at a
// time: ^XA…^XZ formats and the commands outside them (~HS, ~HQES …). It
// reads the stream as CheckZPL's tokenizer does (RS and DLE stand for ^
// and ~, CR and LF inside a command name are skipped, ^CC/~CC, ^CT/~CT and
// ^CD/~CD change the syntax for everything after them, a prefix inside
// field data starts a command), so a format ends exactly where a printer
// would end it; it checks nothing else (the caller runs CheckZPL on each
// format). Between pieces only whitespace may stand: anything else is a
// *ZPLError at once, without waiting for more input.
//
// Split is a bufio.SplitFunc: each token is one piece (Last describes it),
// whitespace between pieces is skipped. The input ending inside a piece
// is a *ZPLError, so a cut connection yields nothing of its last format.
// A splitter follows one stream; it is not safe for concurrent use.
type ZPLSplitter struct {
	sy       zplSyntax
	inFormat bool // a format is pending
	start    int  // where in data the pending format starts
	scan     int  // where in data scanning the pending format resumes
	consumed int  // stream offset of the data passed to Split
	last     ZPLPiece
}

// NewZPLSplitter returns a splitter for a stream starting with the default
// syntax.
func NewZPLSplitter() *ZPLSplitter { return &ZPLSplitter{sy: defaultSyntax} }

// Last describes the piece the last token was.
func (s *ZPLSplitter) Last() ZPLPiece { return s.last }

func isZPLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// Split implements bufio.SplitFunc. data must continue the stream where
// the last call's advance left it (bufio.Scanner guarantees that): the
// splitter remembers how far it read a pending format, so a large format
// arriving in small reads is scanned once. Whitespace before a piece is
// consumed with it: a Scanner at the end of its input stops at the first
// token-less advance.
func (s *ZPLSplitter) Split(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if !s.inFormat {
		i := 0
		for i < len(data) && isZPLSpace(data[i]) {
			i++
		}
		if i == len(data) {
			s.consumed += i
			return i, nil, nil
		}
		kind, ok := s.sy.prefix(data[i])
		if !ok {
			return 0, nil, &ZPLError{Offset: s.consumed + i, Reason: "text outside a ^XA…^XZ format"}
		}
		name, j, complete := readName(data, i, kind)
		if !complete {
			return s.more(data, i, atEOF, "a command")
		}
		if name != "^XA" {
			return s.command(data, i, name, j, atEOF)
		}
		s.inFormat, s.start, s.scan = true, i, j
	}
	i := s.scan
	for i < len(data) {
		kind, ok := s.sy.prefix(data[i])
		if !ok {
			i++
			continue
		}
		name, j, complete := readName(data, i, kind)
		if prefixChangeCommands[name] {
			if j = skipLineBreaks(data, j); j >= len(data) {
				complete = false
			} else {
				s.sy.change(name, data[j])
				j++
			}
		}
		if !complete {
			s.scan = i // read the command again with the rest
			return s.more(data, s.start, atEOF, "a format")
		}
		if name == "^XZ" {
			s.inFormat, s.scan = false, 0
			return s.emit(data, s.start, j, ZPLPiece{})
		}
		i = j
	}
	s.scan = i
	return s.more(data, s.start, atEOF, "a format")
}

// command cuts a command found between formats at data[i:j] (j is the
// offset after its name).
func (s *ZPLSplitter) command(data []byte, i int, name string, j int, atEOF bool) (int, []byte, error) {
	p := ZPLPiece{Command: name}
	switch {
	case prefixChangeCommands[name]:
		if j = skipLineBreaks(data, j); j >= len(data) {
			return s.more(data, i, atEOF, "a command")
		}
		s.sy.change(name, data[j])
		j++
	case name == "~HQ":
		// ~HQ is followed by its two query letters (~HQES); nothing ends
		// them, so they are part of the command.
		var q []byte
		for j < len(data) && len(q) < 2 {
			if c := data[j]; c != '\r' && c != '\n' {
				if 'a' <= c && c <= 'z' {
					c -= 'a' - 'A'
				}
				q = append(q, c)
			}
			j++
		}
		if len(q) < 2 {
			return s.more(data, i, atEOF, "a command")
		}
		p.Query = string(q)
	}
	return s.emit(data, i, j, p)
}

// emit returns data[start:end] as the piece p, consuming data[:end].
func (s *ZPLSplitter) emit(data []byte, start, end int, p ZPLPiece) (int, []byte, error) {
	p.Offset = s.consumed + start
	s.last = p
	s.consumed += end
	return end, data[start:end], nil
}

// more asks for more input, consuming the whitespace before the pending
// piece at data[start:]; at the end of the input the piece is incomplete.
func (s *ZPLSplitter) more(data []byte, start int, atEOF bool, what string) (int, []byte, error) {
	if atEOF {
		return 0, nil, &ZPLError{Offset: s.consumed + start, Reason: "the stream ended inside " + what}
	}
	if s.inFormat {
		s.scan -= start
		s.start = 0
	}
	s.consumed += start
	return start, nil, nil
}
