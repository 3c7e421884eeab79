package scale

import (
	"bytes"
	"fmt"
	"strings"
)

// The parsers below are pure: bytes in, a Reading (without Time and Source)
// out. They never panic on any input (each has a fuzz target).

// maxFrame bounds every serial frame: real replies are under 40 bytes.
const maxFrame = 96

// strip7 clears bit 7 of every byte into dst: a 7E1 scale read by an 8N1
// port shows its parity bit as bit 7, and every serial protocol here is
// 7-bit ASCII, so stripping is always safe.
func strip7(dst *[maxFrame]byte, b []byte) ([]byte, error) {
	if len(b) > maxFrame {
		return nil, fmt.Errorf("%w: %d-byte frame (max %d)", ErrMalformed, len(b), maxFrame)
	}
	for i, c := range b {
		dst[i] = c & 0x7f
	}
	return dst[:len(b)], nil
}

// settle normalises the status of a weighed reading: a stable zero is Zero.
func settle(r Reading) (Reading, error) {
	if !r.HasWeight() {
		return r, nil
	}
	mg, err := ToMilligrams(r.Value, r.Exp, r.Unit)
	if err != nil {
		return Reading{}, err
	}
	r.Milligrams = mg
	if r.Status == StatusStable && mg == 0 {
		r.Status = StatusZero
	}
	return r, nil
}

// hidUnits maps HID POS unit codes to units. 5 (tael) is left out: its size
// differs by region, so no exact conversion exists.
var hidUnits = [...]Unit{1: UnitMilligram, 2: UnitGram, 3: UnitKilogram, 4: UnitCarat,
	6: UnitGrain, 7: UnitPennyweight, 8: UnitMetricTon, 9: UnitShortTon,
	10: UnitTroyOunce, 11: UnitOunce, 12: UnitPound}

var hidStatuses = [...]Status{1: StatusFault, 2: StatusZero, 3: StatusMotion, 4: StatusStable,
	5: StatusUnder, 6: StatusOver, 7: StatusNeedsCalibration, 8: StatusNeedsZero}

// ParseHIDReport reads one USB HID POS scale input report: report id 3 (or
// 4 on some Mettler Toledo), status, unit, signed exponent, uint16 LE raw.
// Other report ids give ErrNotWeight; unknown units give ErrUnknownUnit.
func ParseHIDReport(b []byte) (Reading, error) {
	if len(b) < 6 {
		return Reading{}, fmt.Errorf("%w: HID report of %d bytes, want at least 6", ErrMalformed, len(b))
	}
	if b[0] != 3 && b[0] != 4 {
		return Reading{}, fmt.Errorf("%w: HID report id %d", ErrNotWeight, b[0])
	}
	var st Status
	if int(b[1]) < len(hidStatuses) {
		st = hidStatuses[b[1]]
	}
	if st == StatusUnknown {
		return Reading{}, fmt.Errorf("%w: HID status byte %d", ErrMalformed, b[1])
	}
	r := Reading{Status: st, Exp: int(int8(b[3]))}
	if int(b[2]) < len(hidUnits) {
		r.Unit = hidUnits[b[2]]
	}
	raw := uint16(b[4]) | uint16(b[5])<<8
	switch {
	case st == StatusUnder:
		// Some Stamps.com scales send two's complement, others the magnitude.
		if int16(raw) < 0 {
			r.Value = int64(int16(raw))
		} else {
			r.Value = -int64(raw)
		}
	case st.HasWeight():
		r.Value = int64(raw)
	}
	if !r.Unit.Valid() {
		if st == StatusZero && raw == 0 {
			return Reading{Status: StatusZero}, nil // zero in any unit is 0 mg
		}
		if st.HasWeight() {
			return Reading{}, fmt.Errorf("%w: HID unit code %d", ErrUnknownUnit, b[2])
		}
		r.Unit, r.Value, r.Exp = UnitNone, 0, 0
	}
	if st == StatusUnder && r.Unit.Valid() {
		mg, err := ToMilligrams(r.Value, r.Exp, r.Unit)
		if err != nil {
			return Reading{}, err
		}
		r.Milligrams = mg
	}
	return settle(r)
}

// ParseMTSICS reads one MT-SICS weight reply line (to S, SI or SIR),
// without its CR LF: "S S     100.00 g" stable, "S D ..." dynamic,
// "S +" overload, "S -" underload. "S I" gives ErrRefused, "ES", "ET" and
// "EL" give ErrMalformed or ErrRefused naming the error.
func ParseMTSICS(line []byte) (Reading, error) {
	var tmp [maxFrame]byte
	b, err := strip7(&tmp, line)
	if err != nil {
		return Reading{}, err
	}
	s := strings.TrimRight(string(b), "\r\n")
	if err := mtsicsError(s); err != nil {
		return Reading{}, err
	}
	f := strings.Fields(s)
	if len(f) < 2 || (f[0] != "S" && f[0] != "SI" && f[0] != "SIR") {
		return Reading{}, fmt.Errorf("%w: MT-SICS reply %q is not a weight", ErrMalformed, s)
	}
	switch f[1] {
	case "I":
		return Reading{}, fmt.Errorf("%w: MT-SICS %q (not executable now)", ErrRefused, s)
	case "+":
		return Reading{Status: StatusOver, NoValue: true}, nil
	case "-":
		return Reading{Status: StatusUnder, NoValue: true}, nil
	case "S", "D":
	default:
		return Reading{}, fmt.Errorf("%w: MT-SICS status %q in %q", ErrMalformed, f[1], s)
	}
	if len(f) != 4 {
		return Reading{}, fmt.Errorf("%w: MT-SICS reply %q: want status, value and unit", ErrMalformed, s)
	}
	r := Reading{Status: StatusStable}
	if f[1] == "D" {
		r.Status = StatusMotion
	}
	if r.Value, r.Exp, err = ParseDecimal(f[2]); err != nil {
		return Reading{}, fmt.Errorf("MT-SICS value: %w", err)
	}
	if r.Unit, err = ParseUnit(f[3]); err != nil {
		return Reading{}, fmt.Errorf("MT-SICS unit: %w", err)
	}
	return settle(r)
}

func mtsicsError(s string) error {
	switch strings.TrimSpace(s) {
	case "ES":
		return fmt.Errorf("%w: MT-SICS ES (syntax error: command not known)", ErrMalformed)
	case "ET":
		return fmt.Errorf("%w: MT-SICS ET (transmission error)", ErrMalformed)
	case "EL":
		return fmt.Errorf("%w: MT-SICS EL (logical error: cannot run the command)", ErrRefused)
	}
	return nil
}

// parseMTSICSAck checks the reply to Z, T or TAC: "Z A" done; "I" busy;
// "+"/"-" out of the zero or tare range.
func parseMTSICSAck(cmd string, line []byte) error {
	var tmp [maxFrame]byte
	b, err := strip7(&tmp, line)
	if err != nil {
		return err
	}
	s := strings.TrimRight(string(b), "\r\n")
	if err := mtsicsError(s); err != nil {
		return err
	}
	f := strings.Fields(s)
	if len(f) < 2 || f[0] != cmd {
		return fmt.Errorf("%w: MT-SICS reply %q to %s", ErrMalformed, s, cmd)
	}
	switch f[1] {
	case "A", "S":
		return nil
	case "I":
		return fmt.Errorf("%w: MT-SICS %q (not executable now)", ErrRefused, s)
	case "+", "-":
		return fmt.Errorf("%w: MT-SICS %q (out of range)", ErrRefused, s)
	}
	return fmt.Errorf("%w: MT-SICS reply %q to %s", ErrMalformed, s, cmd)
}

// nciStatus holds the decoded NCI status bytes.
type nciStatus struct {
	motion, zero, under, over, fault bool
}

// parseNCIStatus decodes "hh" (or "hhh" on the 3825 family): each byte has
// bits 4-5 set; byte 2 bit 6 says a third byte follows.
func parseNCIStatus(b []byte) (nciStatus, error) {
	var st nciStatus
	if len(b) < 2 {
		return st, fmt.Errorf("%w: NCI status %q: want at least 2 bytes", ErrMalformed, b)
	}
	want := 2
	if b[1]&0x40 != 0 {
		want = 3
	}
	if len(b) != want {
		return st, fmt.Errorf("%w: NCI status %q: want %d bytes", ErrMalformed, b, want)
	}
	for i, c := range b {
		mask := byte(0xf0)
		if i == 1 {
			mask = 0xb0 // bit 6: a third byte follows
		}
		if c&mask != 0x30 {
			return st, fmt.Errorf("%w: NCI status byte %d is %#02x", ErrMalformed, i+1, c)
		}
	}
	st.motion = b[0]&0x01 != 0
	st.zero = b[0]&0x02 != 0
	st.fault = b[0]&0x0c != 0 || b[1]&0x0c != 0 // RAM/EEPROM, ROM/calibration errors
	st.under = b[1]&0x01 != 0
	st.over = b[1]&0x02 != 0
	return st, nil
}

// ParseNCI reads a whole NCI / SCP-01 reply up to and including ETX:
// "<LF>0001.25lb<CR><LF>hh<CR><ETX>" (weight and status) or
// "<LF>hh<CR><ETX>" (status only, sent while in motion or out of range).
// "<LF>?<CR><ETX>" (command not understood) gives ErrRefused.
func ParseNCI(reply []byte) (Reading, error) {
	var tmp [maxFrame]byte
	b, err := strip7(&tmp, reply)
	if err != nil {
		return Reading{}, err
	}
	if len(b) < 4 || b[len(b)-1] != 0x03 || b[len(b)-2] != '\r' || b[0] != '\n' {
		return Reading{}, fmt.Errorf("%w: NCI reply %q: want <LF>...<CR><ETX>", ErrMalformed, b)
	}
	body := b[1 : len(b)-2]
	if len(body) == 1 && body[0] == '?' {
		return Reading{}, fmt.Errorf("%w: NCI replied \"?\" (command not understood)", ErrRefused)
	}
	var weight []byte
	status := body
	if i := bytes.Index(body, []byte("\r\n")); i >= 0 {
		weight, status = body[:i], body[i+2:]
	}
	st, err := parseNCIStatus(status)
	if err != nil {
		return Reading{}, err
	}
	r := Reading{Status: StatusStable}
	switch {
	case st.fault:
		return Reading{Status: StatusFault, NoValue: true}, nil
	case st.over:
		return Reading{Status: StatusOver, NoValue: true}, nil
	case st.under:
		r.Status = StatusUnder
	case st.motion:
		r.Status = StatusMotion
	case st.zero:
		r.Status = StatusZero
	}
	if weight == nil {
		if r.Status == StatusStable || r.Status == StatusZero {
			return Reading{}, fmt.Errorf("%w: NCI status-only reply while stable", ErrNotWeight)
		}
		r.NoValue = true
		return r, nil
	}
	w := strings.TrimSpace(string(weight))
	i := strings.IndexFunc(w, func(c rune) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' })
	if i <= 0 {
		return Reading{}, fmt.Errorf("%w: NCI weight %q: want number and unit", ErrMalformed, w)
	}
	if r.Value, r.Exp, err = ParseDecimal(w[:i]); err != nil {
		return Reading{}, fmt.Errorf("NCI weight: %w", err)
	}
	if r.Unit, err = ParseUnit(w[i:]); err != nil {
		return Reading{}, fmt.Errorf("NCI weight: %w", err)
	}
	if r.Status == StatusUnder {
		mg, err := ToMilligrams(r.Value, r.Exp, r.Unit)
		if err != nil {
			return Reading{}, err
		}
		r.Milligrams = mg
		return r, nil
	}
	return settle(r)
}

// ParseToledo reads a Toledo 8213/8217 reply to W: "<STX>001.25<CR>"
// (weight, optionally followed by N for net) or "<STX>?s<CR>" (status: bit 0
// motion, bit 1 out of range, bit 2 under zero, bit 4 centre of zero). The
// protocol carries no unit: the caller gives it from config.
func ParseToledo(reply []byte, unit Unit) (Reading, error) {
	var tmp [maxFrame]byte
	b, err := strip7(&tmp, reply)
	if err != nil {
		return Reading{}, err
	}
	if len(b) < 3 || b[0] != 0x02 || b[len(b)-1] != '\r' {
		return Reading{}, fmt.Errorf("%w: Toledo reply %q: want <STX>...<CR>", ErrMalformed, b)
	}
	body := b[1 : len(b)-1]
	if body[0] == '?' {
		if len(body) != 2 {
			return Reading{}, fmt.Errorf("%w: Toledo status reply %q: want one status byte", ErrMalformed, body)
		}
		s := body[1]
		switch {
		case s&0x02 != 0:
			return Reading{Status: StatusOver, NoValue: true}, nil
		case s&0x04 != 0:
			return Reading{Status: StatusUnder, NoValue: true}, nil
		case s&0x01 != 0:
			return Reading{Status: StatusMotion, NoValue: true}, nil
		}
		return Reading{}, fmt.Errorf("%w: Toledo status %#02x without motion or range flags", ErrNotWeight, s)
	}
	if !unit.Valid() {
		return Reading{}, fmt.Errorf("%w: Toledo sends no unit; configure one (lb, kg, oz, g)", ErrUnknownUnit)
	}
	w := strings.TrimSuffix(string(body), "N")
	r := Reading{Status: StatusStable, Unit: unit}
	if r.Value, r.Exp, err = ParseDecimal(w); err != nil {
		return Reading{}, fmt.Errorf("Toledo weight: %w", err)
	}
	return settle(r)
}

// ToledoFrameLen is the length of a continuous-output frame without (17) and
// with (18) its checksum byte.
const ToledoFrameLen = 17

// ParseToledoContinuous reads one Toledo continuous-output frame:
// STX SWA SWB SWC, 6 weight digits, 6 tare digits, CR, and the checksum byte
// when checksum is true (two's complement of the 7-bit sum of STX..CR).
// SWA bits 0-2 give the decimal point; SWB bit 1 negative, bit 2 out of
// range, bit 3 motion, bit 4 kg (else lb).
func ParseToledoContinuous(frame []byte, checksum bool) (Reading, error) {
	var tmp [maxFrame]byte
	b, err := strip7(&tmp, frame)
	if err != nil {
		return Reading{}, err
	}
	want := ToledoFrameLen
	if checksum {
		want++
	}
	if len(b) != want || b[0] != 0x02 || b[16] != '\r' {
		return Reading{}, fmt.Errorf("%w: Toledo continuous frame %q: want %d bytes STX..CR", ErrMalformed, b, want)
	}
	if checksum {
		var sum byte
		for _, c := range b {
			sum += c
		}
		if sum&0x7f != 0 {
			return Reading{}, fmt.Errorf("%w: Toledo continuous frame %q", ErrChecksum, b)
		}
	}
	swa, swb := b[1], b[2]
	var v int64
	for _, c := range b[4:10] {
		switch {
		case c >= '0' && c <= '9':
			v = v*10 + int64(c-'0')
		case c == ' ':
			v *= 10
		default:
			return Reading{}, fmt.Errorf("%w: Toledo continuous weight %q", ErrMalformed, b[4:10])
		}
	}
	for _, c := range b[10:16] {
		if (c < '0' || c > '9') && c != ' ' {
			return Reading{}, fmt.Errorf("%w: Toledo continuous tare %q", ErrMalformed, b[10:16])
		}
	}
	r := Reading{Status: StatusStable, Unit: UnitPound, Value: v}
	// Codes 0-2 (XXXX00, XXXXX0, XXXXXX) send the displayed digits as is.
	if dp := int(swa & 0x07); dp > 2 {
		r.Exp = -(dp - 2)
	}
	if swb&0x10 != 0 {
		r.Unit = UnitKilogram
	}
	if swb&0x02 != 0 {
		r.Value = -r.Value
	}
	switch {
	case swb&0x04 != 0:
		return Reading{Status: StatusOver, NoValue: true, Unit: r.Unit}, nil
	case swb&0x02 != 0 && v != 0:
		r.Status = StatusUnder
		mg, err := ToMilligrams(r.Value, r.Exp, r.Unit)
		if err != nil {
			return Reading{}, err
		}
		r.Milligrams = mg
		return r, nil
	case swb&0x08 != 0:
		r.Status = StatusMotion
	}
	return settle(r)
}
