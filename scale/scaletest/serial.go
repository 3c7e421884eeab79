package scaletest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"sync"
	"time"

	"github.com/packbench/packbench/scale"
)

// Protocol names a serial protocol the emulator speaks.
type Protocol string

// Protocols.
const (
	MTSICS     Protocol = "mt-sics"
	NCI        Protocol = "nci"
	NCI3825    Protocol = "nci-3825" // three status bytes (byte 2 bit 6 set)
	Toledo     Protocol = "toledo"
	ToledoCont Protocol = "toledo-cont"
)

// State is what the emulated scale shows: Value × 10^Exp Unit, Status.
type State struct {
	Value  int64
	Exp    int
	Unit   scale.Unit
	Status scale.Status
}

// weight formats the value zero-padded to width, as indicators print it.
func (s State) weight(width int) string {
	w := scale.FormatDecimal(s.Value, s.Exp)
	if len(w) < width {
		w = strings.Repeat("0", width-len(w)) + w
	}
	return w
}

// MTSICSReply is the scale's reply to one MT-SICS command line (without CR LF).
func MTSICSReply(cmd string, s State) string {
	switch cmd {
	case "S", "SI":
		switch s.Status {
		case scale.StatusOver:
			return "S +\r\n"
		case scale.StatusUnder:
			return "S -\r\n"
		case scale.StatusFault, scale.StatusNeedsZero, scale.StatusNeedsCalibration:
			return "S I\r\n"
		}
		if cmd == "S" && s.Status == scale.StatusMotion {
			return "S I\r\n" // S waits for stability; the emulator refuses instead
		}
		flag := "S"
		if s.Status == scale.StatusMotion {
			flag = "D"
		}
		return fmt.Sprintf("S %s %10s %s\r\n", flag, scale.FormatDecimal(s.Value, s.Exp), s.Unit)
	case "Z":
		switch s.Status {
		case scale.StatusOver:
			return "Z +\r\n"
		case scale.StatusMotion:
			return "Z I\r\n"
		}
		return "Z A\r\n"
	case "T":
		if s.Status == scale.StatusMotion {
			return "T I\r\n"
		}
		return fmt.Sprintf("T S %10s %s\r\n", scale.FormatDecimal(s.Value, s.Exp), s.Unit)
	}
	return "ES\r\n"
}

// NCIStatus returns the status bytes for s (three with variant3825).
func NCIStatus(s State, variant3825 bool) []byte {
	b1, b2 := byte(0x30), byte(0x30)
	switch s.Status {
	case scale.StatusMotion:
		b1 |= 0x01
	case scale.StatusZero:
		b1 |= 0x02
	case scale.StatusUnder:
		b2 |= 0x01
	case scale.StatusOver:
		b2 |= 0x02
	case scale.StatusFault:
		b1 |= 0x04 // RAM error
	}
	if !variant3825 {
		return []byte{b1, b2}
	}
	return []byte{b1, b2 | 0x40, 0x30}
}

// NCIReply is the scale's whole reply to an NCI command (without its CR).
func NCIReply(cmd string, s State, variant3825 bool) []byte {
	st := NCIStatus(s, variant3825)
	switch cmd {
	case "W":
		if s.Status == scale.StatusOver || s.Status == scale.StatusUnder || s.Status == scale.StatusFault {
			return append(append([]byte("\n"), st...), '\r', 0x03)
		}
		w := s.weight(7) + s.Unit.String()
		if s.Unit == scale.UnitGram {
			w = fmt.Sprintf(" %5s%s ", scale.FormatDecimal(s.Value, s.Exp), s.Unit)
		}
		return append(append([]byte("\n"+w+"\r\n"), st...), '\r', 0x03)
	case "S", "Z":
		return append(append([]byte("\n"), st...), '\r', 0x03)
	}
	return []byte("\n?\r\x03")
}

// ToledoReply is a Toledo 8213 reply to W: the weight while stable, else a
// status byte (bit 0 motion, bit 1 over, bit 2 under zero).
func ToledoReply(s State) []byte {
	switch s.Status {
	case scale.StatusMotion, scale.StatusOver, scale.StatusFault, scale.StatusUnder:
		return ToledoStatus(s)
	}
	return []byte("\x02" + s.weight(6) + "\r")
}

// ToledoStatus is the 8213's status reply "<STX>?s<CR>" (bit 0 motion,
// bit 1 out of range, bit 2 under zero, bit 4 centre of zero).
func ToledoStatus(s State) []byte {
	var st byte
	switch s.Status {
	case scale.StatusMotion:
		st = 0x01
	case scale.StatusOver, scale.StatusFault:
		st = 0x02
	case scale.StatusUnder:
		st = 0x04
	case scale.StatusZero:
		st = 0x10
	}
	return []byte{0x02, '?', 0x40 | st, '\r'}
}

// ToledoFrame is one continuous-output frame for s (pounds unless s.Unit is
// kg), with its checksum byte when checksum is true.
func ToledoFrame(s State, checksum bool) []byte {
	swa := byte(0x20 | 0x08) // bit 5 always set; increment ×1
	dp := 2
	if s.Exp < 0 {
		dp = 2 - s.Exp
	}
	swa |= byte(dp & 0x07)
	swb := byte(0x20)
	if s.Unit == scale.UnitKilogram {
		swb |= 0x10
	}
	v := s.Value
	switch s.Status {
	case scale.StatusMotion:
		swb |= 0x08
	case scale.StatusOver:
		swb |= 0x04
	case scale.StatusUnder:
		swb |= 0x02
	}
	if v < 0 {
		v, swb = -v, swb|0x02
	}
	f := fmt.Appendf(nil, "\x02%c%c%c%06d000000\r", swa, swb, 0x20, v%1_000_000)
	if checksum {
		var sum byte
		for _, c := range f {
			sum += c
		}
		f = append(f, (-sum)&0x7f)
	}
	return f
}

// EvenParity sets bit 7 of each byte to its even parity bit: the bytes a
// 7E1 scale puts on the wire, as an 8N1 port reads them.
func EvenParity(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		c &= 0x7f
		if bits.OnesCount8(c)%2 == 1 {
			c |= 0x80
		}
		out[i] = c
	}
	return out
}

// SerialScale emulates one serial scale on the master side of a pty.
type SerialScale struct {
	proto Protocol
	// Interval is the continuous-output frame period (default 20 ms).
	Interval time.Duration

	mu       sync.Mutex
	state    State
	off      bool
	parity   bool
	checksum bool
	commands []string
	cmdSeen  chan struct{}
}

// NewSerialScale returns a scale speaking proto, showing a stable zero.
func NewSerialScale(proto Protocol) *SerialScale {
	return &SerialScale{proto: proto, Interval: 20 * time.Millisecond, checksum: true,
		state: State{Unit: scale.UnitPound, Status: scale.StatusZero}, cmdSeen: make(chan struct{}, 1)}
}

// Set changes what the scale shows.
func (e *SerialScale) Set(s State) {
	e.mu.Lock()
	e.state = s
	e.mu.Unlock()
}

// Power off makes the scale silent; on makes it answer again.
func (e *SerialScale) Power(on bool) {
	e.mu.Lock()
	e.off = !on
	e.mu.Unlock()
}

// Parity7E1 makes the scale send bytes with even parity in bit 7.
func (e *SerialScale) Parity7E1(on bool) {
	e.mu.Lock()
	e.parity = on
	e.mu.Unlock()
}

// Checksum turns the continuous-output checksum byte on or off.
func (e *SerialScale) Checksum(on bool) {
	e.mu.Lock()
	e.checksum = on
	e.mu.Unlock()
}

// Commands returns the commands received so far.
func (e *SerialScale) Commands() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.commands...)
}

// CommandSeen is signalled (without blocking) whenever a command arrives.
func (e *SerialScale) CommandSeen() <-chan struct{} { return e.cmdSeen }

// Serve speaks the protocol on rw until ctx ends or rw fails.
func (e *SerialScale) Serve(ctx context.Context, rw io.ReadWriter) error {
	if e.proto == ToledoCont {
		return e.serveContinuous(ctx, rw)
	}
	var pending []byte
	buf := make([]byte, 256)
	for ctx.Err() == nil {
		n, err := rw.Read(buf)
		if err != nil {
			return err
		}
		pending = append(pending, buf[:n]...)
		for {
			cmd, rest, ok := e.cut(pending)
			if !ok {
				break
			}
			pending = rest
			if reply := e.reply(cmd); reply != nil {
				if _, err := rw.Write(reply); err != nil {
					return err
				}
			}
		}
	}
	return ctx.Err()
}

// cut splits off one command: CR LF for MT-SICS, CR for NCI, one letter
// for Toledo.
func (e *SerialScale) cut(b []byte) (string, []byte, bool) {
	switch e.proto {
	case MTSICS:
		if i := bytes.Index(b, []byte("\r\n")); i >= 0 {
			return string(b[:i]), b[i+2:], true
		}
	case NCI, NCI3825:
		if i := bytes.IndexByte(b, '\r'); i >= 0 {
			return string(b[:i]), b[i+1:], true
		}
	case Toledo:
		if len(b) > 0 {
			return string(b[:1]), b[1:], true
		}
	}
	return "", b, false
}

func (e *SerialScale) reply(cmd string) []byte {
	e.mu.Lock()
	e.commands = append(e.commands, cmd)
	s, off, parity := e.state, e.off, e.parity
	var out []byte
	if !off {
		switch e.proto {
		case MTSICS:
			out = []byte(MTSICSReply(cmd, s))
		case NCI, NCI3825:
			out = NCIReply(cmd, s, e.proto == NCI3825)
		case Toledo:
			switch cmd {
			case "W":
				out = ToledoReply(s)
			case "Z": // status reply (Brecknell 8213 table)
				z := s
				if s.Status != scale.StatusMotion && s.Status != scale.StatusOver {
					z.Status = scale.StatusZero
				}
				out = ToledoStatus(z)
			}
		}
		if cmd == "Z" || cmd == "T" {
			if s.Status != scale.StatusMotion && s.Status != scale.StatusOver {
				e.state = State{Unit: s.Unit, Status: scale.StatusZero}
			}
		}
	}
	e.mu.Unlock()
	select {
	case e.cmdSeen <- struct{}{}:
	default:
	}
	if parity && out != nil {
		out = EvenParity(out)
	}
	return out
}

func (e *SerialScale) serveContinuous(ctx context.Context, w io.Writer) error {
	t := time.NewTicker(e.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		e.mu.Lock()
		s, off, parity, sum := e.state, e.off, e.parity, e.checksum
		e.mu.Unlock()
		if off {
			continue
		}
		f := ToledoFrame(s, sum)
		if parity {
			f = EvenParity(f)
		}
		if _, err := w.Write(f); err != nil {
			return err
		}
	}
}
