package device

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Control bytes that frame every ZPL host status reply.
const (
	stx = 0x02
	etx = 0x03
)

// State is the one-word condition of a printer, for the worker, the web page
// and the LED.
type State string

// Printer states. Blocking states (paper out, head open, ribbon out, paused,
// no reply, over/under temperature) hold the queue until a person fixes them.
const (
	StateReady     State = "ready"     // idle and able to print
	StatePrinting  State = "printing"  // formats in buffer or labels remaining
	StatePaperOut  State = "paper_out" // media out
	StateHeadOpen  State = "head_open"
	StateRibbonOut State = "ribbon_out"
	StatePaused    State = "paused"
	StateBusy      State = "buffer_full" // receive buffer full: wait, then send
	StateOverTemp  State = "over_temp"   // head over temperature
	StateUnderTemp State = "under_temp"  // head under temperature
	StateNoReply   State = "no_reply"    // silent on ~HS: an error state on Zebra printers
	StateOffline   State = "offline"     // cannot connect / device absent
	StateUnknown   State = "unknown"     // the printer cannot report (spool, status off)
	StateError     State = "error"       // corrupt RAM, diagnostic mode and other faults
)

// Blocking reports whether the state needs the queue held: sending now would
// either be lost or pile up in a printer a person has to attend to.
func (s State) Blocking() bool {
	switch s {
	case StateReady, StatePrinting, StateUnknown:
		return false
	}
	return true
}

// Status is a printer's host status, parsed from ~HS (and ~HQES when asked).
// Zero values mean "not set"; Known is false when the printer cannot report.
type Status struct {
	State  State     // summary of the flags below
	Known  bool      // false: no status channel (see StateUnknown)
	Time   time.Time // when it was read (set by the caller that polled)
	Reason string    // human-readable cause for a non-ready state

	// ~HS line 1.
	CommSettings    int  // aaa: baud/handshake bits, as a number
	PaperOut        bool // b
	Paused          bool // c
	LabelLength     int  // dddd: label length in dots
	FormatsInBuffer int  // eee: formats in the receive buffer
	BufferFull      bool // f
	DiagnosticMode  bool // g
	PartialFormat   bool // h
	CorruptRAM      bool // j
	UnderTemp       bool // k
	OverTemp        bool // l

	// ~HS line 2.
	FunctionSettings int  // mmm
	HeadOpen         bool // o
	RibbonOut        bool // p
	ThermalTransfer  bool // q
	PrintMode        int  // r: 0 rewind, 1 peel-off, 2 tear-off, 3 cutter, 4 applicator, ...
	WidthMode        int  // s
	LabelWaiting     bool // t: label waiting to be taken (peel-off)
	LabelsRemaining  int  // uuuuuuuu: labels remaining in batch
	FormatWhilePrint int  // v: always 1
	GraphicsStored   int  // www

	// ~HS line 3.
	Password  string // xxxx
	StaticRAM bool   // y

	// ~HQES detail, when fetched (zero when not).
	Errors   uint64 // error flags (ErrFlag*)
	Warnings uint64 // warning flags (WarnFlag*)
}

// Idle reports whether everything sent has been printed: no format in the
// buffer, no label left in the batch, nothing half-received.
func (s Status) Idle() bool {
	return s.Known && s.FormatsInBuffer == 0 && s.LabelsRemaining == 0 && !s.PartialFormat
}

// UnknownStatus is the status of a printer that cannot report.
func UnknownStatus(reason string) Status {
	return Status{State: StateUnknown, Reason: reason}
}

// derive sets State and Reason from the flags. The order is what a person
// must fix first.
func (s *Status) derive() {
	s.Known = true
	var reasons []string
	add := func(cond bool, st State, why string) {
		if cond {
			if s.State == "" {
				s.State = st
			}
			reasons = append(reasons, why)
		}
	}
	s.State = ""
	add(s.HeadOpen || s.Errors&ErrFlagHeadOpen != 0, StateHeadOpen, "head open")
	add(s.PaperOut || s.Errors&ErrFlagMediaOut != 0, StatePaperOut, "paper out")
	add(s.RibbonOut || s.Errors&ErrFlagRibbonOut != 0, StateRibbonOut, "ribbon out")
	add(s.OverTemp || s.Errors&ErrFlagHeadOverTemp != 0, StateOverTemp, "head over temperature")
	add(s.UnderTemp, StateUnderTemp, "head under temperature")
	add(s.CorruptRAM, StateError, "corrupt RAM")
	add(s.DiagnosticMode, StateError, "diagnostic mode")
	add(s.Errors&^(ErrFlagHeadOpen|ErrFlagMediaOut|ErrFlagRibbonOut|ErrFlagHeadOverTemp) != 0, StateError,
		fmt.Sprintf("printer error flags %08x", s.Errors))
	add(s.Paused, StatePaused, "paused")
	add(s.BufferFull, StateBusy, "receive buffer full")
	if s.State == "" {
		if s.FormatsInBuffer > 0 || s.LabelsRemaining > 0 || s.PartialFormat {
			s.State = StatePrinting
		} else {
			s.State = StateReady
		}
	}
	s.Reason = strings.Join(reasons, ", ")
}

// ~HQES error flags (the last group of 8 hex digits on the ERRORS line).
const (
	ErrFlagMediaOut     uint64 = 0x01
	ErrFlagRibbonOut    uint64 = 0x02
	ErrFlagHeadOpen     uint64 = 0x04
	ErrFlagCutterFault  uint64 = 0x08
	ErrFlagHeadOverTemp uint64 = 0x10
	ErrFlagMotorOver    uint64 = 0x20
	ErrFlagBadHead      uint64 = 0x40
	ErrFlagHeadDetect   uint64 = 0x80
)

// ~HQES warning flags.
const (
	WarnFlagCalibrate    uint64 = 0x01
	WarnFlagCleanHead    uint64 = 0x02
	WarnFlagReplaceHead  uint64 = 0x04
	WarnFlagPaperNearEnd uint64 = 0x08
)

// hsFields names every ~HS field, per line, in order; used for errors.
var hsFields = [3][]string{
	{"communication settings", "paper out", "pause", "label length", "formats in buffer",
		"buffer full", "diagnostic mode", "partial format", "unused", "corrupt RAM",
		"under temperature", "over temperature"},
	{"function settings", "unused", "head open", "ribbon out", "thermal transfer",
		"print mode", "print width mode", "label waiting", "labels remaining",
		"format while printing", "graphics stored"},
	{"password", "static RAM"},
}

// SplitFrames returns the payloads between STX and ETX in b, in order, and
// the bytes after the last complete frame (an unfinished frame).
func SplitFrames(b []byte) (frames [][]byte, rest []byte) {
	for {
		i := bytes.IndexByte(b, stx)
		if i < 0 {
			return frames, nil
		}
		j := bytes.IndexByte(b[i+1:], etx)
		if j < 0 {
			return frames, b[i:]
		}
		frames = append(frames, b[i+1:i+1+j])
		b = b[i+1+j+1:]
	}
}

// ParseHostStatus parses a complete ~HS reply: three <STX>…<ETX><CR><LF>
// lines. Errors name the line and field that broke the format.
func ParseHostStatus(reply []byte) (Status, error) {
	frames, _ := SplitFrames(reply)
	if len(frames) != 3 {
		return Status{}, fmt.Errorf("%w: ~HS: want 3 STX/ETX lines, got %d", ErrMalformedStatus, len(frames))
	}
	return parseHostStatusFrames(frames)
}

func parseHostStatusFrames(frames [][]byte) (Status, error) {
	var s Status
	var fields [3][]string
	for i, f := range frames {
		fields[i] = strings.Split(strings.TrimSpace(string(f)), ",")
		if len(fields[i]) != len(hsFields[i]) {
			return Status{}, fmt.Errorf("%w: ~HS line %d: want %d fields, got %d",
				ErrMalformedStatus, i+1, len(hsFields[i]), len(fields[i]))
		}
	}
	var err error
	num := func(line, idx, width int) int {
		if err != nil {
			return 0
		}
		v := fields[line][idx]
		if v == "" || len(v) > width {
			err = fmt.Errorf("%w: ~HS line %d field %d (%s): %q is not 1 to %d digits",
				ErrMalformedStatus, line+1, idx+1, hsFields[line][idx], v, width)
			return 0
		}
		for _, c := range v {
			if c < '0' || c > '9' {
				err = fmt.Errorf("%w: ~HS line %d field %d (%s): %q is not a number",
					ErrMalformedStatus, line+1, idx+1, hsFields[line][idx], v)
				return 0
			}
		}
		n, _ := strconv.Atoi(v)
		return n
	}
	flag := func(line, idx int) bool {
		if err != nil {
			return false
		}
		switch v := fields[line][idx]; v {
		case "0":
			return false
		case "1":
			return true
		default:
			err = fmt.Errorf("%w: ~HS line %d field %d (%s): %q is not 0 or 1",
				ErrMalformedStatus, line+1, idx+1, hsFields[line][idx], v)
			return false
		}
	}
	s.CommSettings = num(0, 0, 3)
	s.PaperOut = flag(0, 1)
	s.Paused = flag(0, 2)
	s.LabelLength = num(0, 3, 5)
	s.FormatsInBuffer = num(0, 4, 3)
	s.BufferFull = flag(0, 5)
	s.DiagnosticMode = flag(0, 6)
	s.PartialFormat = flag(0, 7)
	_ = num(0, 8, 3)
	s.CorruptRAM = flag(0, 9)
	s.UnderTemp = flag(0, 10)
	s.OverTemp = flag(0, 11)

	s.FunctionSettings = num(1, 0, 3)
	_ = num(1, 1, 1)
	s.HeadOpen = flag(1, 2)
	s.RibbonOut = flag(1, 3)
	s.ThermalTransfer = flag(1, 4)
	s.PrintMode = num(1, 5, 1)
	s.WidthMode = num(1, 6, 1)
	s.LabelWaiting = flag(1, 7)
	s.LabelsRemaining = num(1, 8, 8)
	s.FormatWhilePrint = num(1, 9, 1)
	s.GraphicsStored = num(1, 10, 3)

	if err == nil {
		s.Password = fields[2][0]
		if len(s.Password) != 4 {
			err = fmt.Errorf("%w: ~HS line 3 field 1 (password): want 4 characters, got %d",
				ErrMalformedStatus, len(s.Password))
		}
	}
	s.StaticRAM = flag(2, 1)
	if err != nil {
		return Status{}, err
	}
	s.derive()
	return s, nil
}

// ParseExtendedStatus parses a ~HQES reply (one STX/ETX frame holding the
// PRINTER STATUS block) and returns the error and warning flag words.
func ParseExtendedStatus(reply []byte) (errFlags, warnFlags uint64, err error) {
	frames, _ := SplitFrames(reply)
	if len(frames) == 0 {
		frames = [][]byte{reply}
	}
	var sawErr, sawWarn bool
	for _, line := range strings.Split(string(bytes.Join(frames, []byte("\n"))), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var dst *uint64
		switch strings.ToUpper(f[0]) {
		case "ERRORS:":
			dst, sawErr = &errFlags, true
		case "WARNINGS:":
			dst, sawWarn = &warnFlags, true
		default:
			continue
		}
		if len(f) != 4 {
			return 0, 0, fmt.Errorf("%w: ~HQES %s want 3 groups, got %d", ErrMalformedStatus, f[0], len(f)-1)
		}
		v, perr := strconv.ParseUint(f[3], 16, 64)
		if perr != nil || len(f[3]) != 8 {
			return 0, 0, fmt.Errorf("%w: ~HQES %s flags %q are not 8 hex digits", ErrMalformedStatus, f[0], f[3])
		}
		*dst = v
	}
	if !sawErr || !sawWarn {
		return 0, 0, fmt.Errorf("%w: ~HQES: missing ERRORS or WARNINGS line", ErrMalformedStatus)
	}
	return errFlags, warnFlags, nil
}

// WithExtended returns s with ~HQES flags merged in and State re-derived.
func (s Status) WithExtended(errFlags, warnFlags uint64) Status {
	s.Errors, s.Warnings = errFlags, warnFlags
	s.derive()
	return s
}

// FormatHostStatus writes s as a ~HS reply, the bytes a Zebra printer sends.
// The emulator uses it; tests round-trip it through ParseHostStatus.
func FormatHostStatus(s Status) []byte {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	pw := s.Password
	if len(pw) != 4 {
		pw = "1234"
	}
	return fmt.Appendf(nil,
		"\x02%03d,%d,%d,%04d,%03d,%d,%d,%d,000,%d,%d,%d\x03\r\n"+
			"\x02%03d,0,%d,%d,%d,%d,%d,%d,%08d,%d,%03d\x03\r\n"+
			"\x02%s,%d\x03\r\n",
		s.CommSettings, b(s.PaperOut), b(s.Paused), s.LabelLength, s.FormatsInBuffer,
		b(s.BufferFull), b(s.DiagnosticMode), b(s.PartialFormat), b(s.CorruptRAM),
		b(s.UnderTemp), b(s.OverTemp),
		s.FunctionSettings, b(s.HeadOpen), b(s.RibbonOut), b(s.ThermalTransfer), s.PrintMode,
		s.WidthMode, b(s.LabelWaiting), s.LabelsRemaining, s.FormatWhilePrint, s.GraphicsStored,
		pw, b(s.StaticRAM))
}

// FormatExtendedStatus writes a ~HQES reply with the given flags.
func FormatExtendedStatus(errFlags, warnFlags uint64) []byte {
	b := func(v uint64) int {
		if v != 0 {
			return 1
		}
		return 0
	}
	return fmt.Appendf(nil, "\x02\r\n  PRINTER STATUS\r\n   ERRORS:         %d 00000000 %08X\r\n   WARNINGS:       %d 00000000 %08X\r\n\x03\r\n",
		b(errFlags), errFlags, b(warnFlags), warnFlags)
}
