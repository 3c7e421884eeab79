package device

import (
	"encoding/binary"
	"strconv"
	"time"
)

// Linux input event types and codes the scanner reader uses
// (linux/input-event-codes.h).
const (
	EvSyn = 0x00 // EV_SYN: ends a packet of events
	EvKey = 0x01 // EV_KEY: a key; value 0 release, 1 press, 2 autorepeat
	EvMsc = 0x04 // EV_MSC: MSC_SCAN carries the HID usage before each key

	SynReport  = 0 // SYN_REPORT
	SynDropped = 3 // SYN_DROPPED: the kernel's buffer overran, events were lost

	KeyRelease = 0
	KeyPress   = 1
	KeyRepeat  = 2
)

// InputEvent is one decoded struct input_event.
type InputEvent struct {
	Time  time.Time // the kernel's timestamp (zero from a FIFO that sent zeros)
	Type  uint16
	Code  uint16
	Value int32
}

// EventLayout is the size of struct input_event on one platform: struct
// timeval is two C longs (4 bytes each on 32-bit ARM, 8 on 64-bit
// targets), then __u16 type, __u16 code, __s32 value. A 32-bit userland
// built with a 64-bit time_t still gets the kernel's __kernel_ulong_t
// seconds, so the size follows the word size, not time_t; and a 32-bit
// binary on a 64-bit kernel (Raspberry Pi OS's armhf userland on its arm64
// kernel) is served the kernel's compat layout, 16 bytes too. Every target
// packbench builds for (amd64, arm64, arm) is little-endian.
type EventLayout int

// The layouts a bench meets.
const (
	// EventLayout64 is linux/amd64 and linux/arm64: 24-byte events.
	EventLayout64 EventLayout = 24
	// EventLayout32 is linux/arm (GOARM=6/7): 16-byte events.
	EventLayout32 EventLayout = 16
	// NativeEventLayout is the platform the binary was built for: a C
	// long on Linux is the Go int's size.
	NativeEventLayout EventLayout = 8 + 2*strconv.IntSize/8
)

// Size is the length of one event in bytes (16 or 24).
func (l EventLayout) Size() int { return int(l) }

// word is the size of each timeval field.
func (l EventLayout) word() int { return (int(l) - 8) / 2 }

// String names the layout for logs and test names.
func (l EventLayout) String() string { return strconv.Itoa(int(l)) + "-byte input_event" }

// EventDecoder turns a byte stream into input events. Reads from an
// evdev node always hold whole events, but a FIFO or pty can split one
// across reads: the decoder keeps the tail until the rest arrives.
type EventDecoder struct {
	layout EventLayout
	buf    []byte // an incomplete event carried to the next Feed
}

// NewEventDecoder returns a decoder for layout.
func NewEventDecoder(layout EventLayout) *EventDecoder {
	return &EventDecoder{layout: layout}
}

// Feed decodes every whole event in the carried tail plus p, appending
// them to out, and keeps what is left of an incomplete event.
func (d *EventDecoder) Feed(out []InputEvent, p []byte) []InputEvent {
	size := d.layout.Size()
	if len(d.buf) > 0 {
		need := size - len(d.buf)
		if len(p) < need {
			d.buf = append(d.buf, p...)
			return out
		}
		d.buf = append(d.buf, p[:need]...)
		out = append(out, d.decode(d.buf))
		d.buf = d.buf[:0]
		p = p[need:]
	}
	for len(p) >= size {
		out = append(out, d.decode(p[:size]))
		p = p[size:]
	}
	d.buf = append(d.buf, p...)
	return out
}

// Reset drops a carried partial event (the device was reopened).
func (d *EventDecoder) Reset() { d.buf = d.buf[:0] }

// Pending is how many bytes of an incomplete event are carried.
func (d *EventDecoder) Pending() int { return len(d.buf) }

func (d *EventDecoder) decode(b []byte) InputEvent {
	o, w := binary.LittleEndian, d.layout.word()
	var sec, usec int64
	if w == 8 {
		sec, usec = int64(o.Uint64(b[0:8])), int64(o.Uint64(b[8:16]))
	} else {
		// A 32-bit kernel long is unsigned seconds (y2038-safe until 2106).
		sec, usec = int64(o.Uint32(b[0:4])), int64(o.Uint32(b[4:8]))
	}
	e := InputEvent{
		Type:  o.Uint16(b[2*w:]),
		Code:  o.Uint16(b[2*w+2:]),
		Value: int32(o.Uint32(b[2*w+4:])),
	}
	if sec != 0 || usec != 0 {
		e.Time = time.Unix(sec, usec*1000)
	}
	return e
}

// AppendEvent appends e encoded in layout to b: what the kernel would
// write (the emulator uses it to speak real bytes).
func (l EventLayout) AppendEvent(b []byte, e InputEvent) []byte {
	var sec, usec int64
	if !e.Time.IsZero() {
		sec, usec = e.Time.Unix(), int64(e.Time.Nanosecond()/1000)
	}
	o := binary.LittleEndian
	if l.word() == 8 {
		b = o.AppendUint64(b, uint64(sec))
		b = o.AppendUint64(b, uint64(usec))
	} else {
		b = o.AppendUint32(b, uint32(sec))
		b = o.AppendUint32(b, uint32(usec))
	}
	b = o.AppendUint16(b, e.Type)
	b = o.AppendUint16(b, e.Code)
	return o.AppendUint32(b, uint32(e.Value))
}
