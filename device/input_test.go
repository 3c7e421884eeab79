package device_test

import (
	"encoding/binary"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
)

// rec is one recorded event as a USB HID keyboard delivers it.
type rec struct {
	typ, code uint16
	value     int32
}

// recorded encodes events by hand, field by field as struct input_event
// lies in memory (independent of the package's encoder): timeval as two
// 8-byte (64-bit) or 4-byte (32-bit ARM) little-endian longs, then type,
// code, value.
func recorded(word int, sec, usec uint64, evs []rec) []byte {
	var b []byte
	le := binary.LittleEndian
	for _, e := range evs {
		if word == 8 {
			b = le.AppendUint64(b, sec)
			b = le.AppendUint64(b, usec)
		} else {
			b = le.AppendUint32(b, uint32(sec))
			b = le.AppendUint32(b, uint32(usec))
		}
		b = le.AppendUint16(b, e.typ)
		b = le.AppendUint16(b, e.code)
		b = le.AppendUint32(b, uint32(e.value))
	}
	return b
}

// hidKey is what the kernel's usbhid sends for one key change: MSC_SCAN
// with the HID usage, the key, SYN_REPORT.
func hidKey(usage uint32, code uint16, value int32) []rec {
	return []rec{{device.EvMsc, 4, int32(0x70000 | usage)}, {device.EvKey, code, value}, {device.EvSyn, device.SynReport, 0}}
}

// shiftedZ is a scanner set to us typing "Z" then Enter: left shift down,
// KEY_Z down/up, shift up, Enter down/up.
var shiftedZ = slices.Concat(
	hidKey(0xe1, 42, 1), hidKey(0x1d, 44, 1), hidKey(0x1d, 44, 0), hidKey(0xe1, 42, 0),
	hidKey(0x28, 28, 1), hidKey(0x28, 28, 0),
)

// TestEventDecoderLayouts: both struct layouts decode to the same events,
// whatever the split of the stream across reads.
func TestEventDecoderLayouts(t *testing.T) {
	for _, tc := range []struct {
		layout device.EventLayout
		word   int
	}{{device.EventLayout64, 8}, {device.EventLayout32, 4}} {
		t.Run(tc.layout.String(), func(t *testing.T) {
			stream := recorded(tc.word, 1_790_000_123, 456_789, shiftedZ)
			if len(stream) != len(shiftedZ)*tc.layout.Size() || tc.layout.Size() != 2*tc.word+8 {
				t.Fatalf("stream %d bytes for %d events, layout size %d", len(stream), len(shiftedZ), tc.layout.Size())
			}
			whole := device.NewEventDecoder(tc.layout).Feed(nil, stream)
			if len(whole) != len(shiftedZ) {
				t.Fatalf("decoded %d events, want %d", len(whole), len(shiftedZ))
			}
			for i, e := range whole {
				w := shiftedZ[i]
				if e.Type != w.typ || e.Code != w.code || e.Value != w.value {
					t.Fatalf("event %d: %+v, want %+v", i, e, w)
				}
				if !e.Time.Equal(time.Unix(1_790_000_123, 456_789_000)) {
					t.Fatalf("event %d time %v", i, e.Time)
				}
			}
			// Every split point, and one byte at a time.
			for cut := 1; cut < len(stream); cut++ {
				d := device.NewEventDecoder(tc.layout)
				got := d.Feed(nil, stream[:cut])
				if d.Pending() != cut%tc.layout.Size() {
					t.Fatalf("cut %d: %d bytes pending, want %d", cut, d.Pending(), cut%tc.layout.Size())
				}
				got = d.Feed(got, stream[cut:])
				if !slices.Equal(got, whole) || d.Pending() != 0 {
					t.Fatalf("cut %d: %d events (pending %d), want the whole stream's %d", cut, len(got), d.Pending(), len(whole))
				}
			}
			d := device.NewEventDecoder(tc.layout)
			var got []device.InputEvent
			for i := range stream {
				got = d.Feed(got, stream[i:i+1])
			}
			if !slices.Equal(got, whole) {
				t.Fatal("byte-at-a-time decoding differs")
			}
			// The encoder the emulator uses writes the same bytes.
			var enc []byte
			for _, e := range whole {
				enc = tc.layout.AppendEvent(enc, e)
			}
			if string(enc) != string(stream) {
				t.Fatal("AppendEvent does not reproduce the recorded bytes")
			}
		})
	}
}

// TestNativeEventLayout: the layout chosen at build is the platform's:
// 16 bytes on 32-bit ARM (run under qemu-arm by scripts/test), 24 on
// 64-bit targets.
func TestNativeEventLayout(t *testing.T) {
	want := device.EventLayout64
	switch runtime.GOARCH {
	case "arm", "386":
		want = device.EventLayout32
	}
	if device.NativeEventLayout != want {
		t.Fatalf("GOARCH %s: native layout %v, want %v", runtime.GOARCH, device.NativeEventLayout, want)
	}
	if got := nativeTimevalSize(); got > 0 && got+8 != device.NativeEventLayout.Size() {
		t.Fatalf("timeval is %d bytes here: input_event is %d, layout says %d", got, got+8, device.NativeEventLayout.Size())
	}
}

// TestNativeDecodes: a stream recorded on this platform's layout, decoded
// with the native layout (on qemu-arm: the 32-bit one).
func TestNativeDecodes(t *testing.T) {
	word := (device.NativeEventLayout.Size() - 8) / 2
	stream := recorded(word, 1_790_000_000, 1, shiftedZ)
	evs := device.NewEventDecoder(device.NativeEventLayout).Feed(nil, stream)
	if got := typed(t, "us", evs); got != "Z\n" {
		t.Fatalf("typed %q, want %q", got, "Z\n")
	}
}

// typed runs events through a scanner keymap's keyboard, as the scanner
// does, and returns the text.
func typed(t *testing.T, layout string, evs []device.InputEvent) string {
	t.Helper()
	m, err := device.NewKeymap(layout)
	if err != nil {
		t.Fatal(err)
	}
	return device.TypeEvents(m, evs)
}

// keys builds events for taps of codes; a negative code is that key held
// (shift, AltGr) until the next positive one is tapped.
func keys(codes ...int) []device.InputEvent {
	var out []device.InputEvent
	var held []uint16
	for _, c := range codes {
		if c < 0 {
			held = append(held, uint16(-c))
			out = append(out, device.InputEvent{Type: device.EvKey, Code: uint16(-c), Value: 1})
			continue
		}
		out = append(out, device.InputEvent{Type: device.EvKey, Code: uint16(c), Value: 1},
			device.InputEvent{Type: device.EvKey, Code: uint16(c), Value: 0})
		for _, h := range held {
			out = append(out, device.InputEvent{Type: device.EvKey, Code: h, Value: 0})
		}
		held = nil
	}
	return out
}

// TestKeymapLayouts pins characters to key codes per layout, written from
// the layouts themselves (linux/input-event-codes.h numbers): the same
// keys type different text on a German or French scanner.
func TestKeymapLayouts(t *testing.T) {
	const (
		shift = -42
		altgr = -100
	)
	for _, tc := range []struct {
		layout string
		codes  []int
		want   string
	}{
		// KEY_Z (44), shift+KEY_Y (21), KEY_2 (3), shift+KEY_2, KEY_MINUS (12)
		{"us", []int{44, shift, 21, 3, shift, 3, 12, 28}, "zY2@-\n"},
		{"de", []int{44, shift, 21, 3, shift, 3, 12, 28}, "yZ2\"ß\n"},
		{"uk", []int{44, shift, 21, 3, shift, 3, 43, shift, 40, 28}, "zY2\"#@\n"},
		// AZERTY: KEY_Q is a, KEY_A is q, KEY_W is z, the digit row needs shift.
		{"fr", []int{16, 30, 17, 3, shift, 3, shift, 11, 50, 28}, "aqzé20,\n"},
		// AltGr: de @ is AltGr+Q, fr @ is AltGr+à (KEY_0)
		{"de", []int{altgr, 16, altgr, 12, 28}, "@\\\n"},
		{"fr", []int{altgr, 11, altgr, 4, 28}, "@#\n"},
		// Keypad digits and Enter, the same everywhere.
		{"de", []int{79, 80, 81, 82, 96}, "1230\n"},
		// A dead key then space types the accent itself (de ^ is KEY_GRAVE).
		{"de", []int{41, 57, 2, 28}, "^1\n"},
	} {
		got := typed(t, tc.layout, keys(tc.codes...))
		if got != tc.want {
			t.Errorf("%s %v: typed %q, want %q", tc.layout, tc.codes, got, tc.want)
		}
	}
}

// TestKeymapCapsAndRepeat: caps lock inverts shift for letters only, an
// autorepeat types again, ctrl combinations type nothing.
func TestKeymapCapsAndRepeat(t *testing.T) {
	evs := []device.InputEvent{
		{Type: device.EvKey, Code: device.KeyCapsLock, Value: 1}, {Type: device.EvKey, Code: device.KeyCapsLock, Value: 0},
		{Type: device.EvKey, Code: 30, Value: 1}, {Type: device.EvKey, Code: 30, Value: 2}, {Type: device.EvKey, Code: 30, Value: 0}, // A A
		{Type: device.EvKey, Code: 2, Value: 1}, {Type: device.EvKey, Code: 2, Value: 0}, // 1, not !
		{Type: device.EvKey, Code: device.KeyLeftShift, Value: 1},
		{Type: device.EvKey, Code: 30, Value: 1}, {Type: device.EvKey, Code: 30, Value: 0}, // a
		{Type: device.EvKey, Code: device.KeyLeftShift, Value: 0},
		{Type: device.EvKey, Code: device.KeyLeftCtrl, Value: 1},
		{Type: device.EvKey, Code: 46, Value: 1}, {Type: device.EvKey, Code: 46, Value: 0}, // ctrl+c: nothing
		{Type: device.EvKey, Code: device.KeyLeftCtrl, Value: 0},
	}
	if got := typed(t, "us", evs); got != "AA1a" {
		t.Fatalf("typed %q, want %q", got, "AA1a")
	}
}

// TestKeymapRoundTrip: every printable ASCII character a layout has comes
// back from its strokes (the emulator's encoding and the reader agree),
// and the layouts differ where they must.
func TestKeymapRoundTrip(t *testing.T) {
	var ascii strings.Builder
	for r := rune(' '); r < 0x7f; r++ {
		ascii.WriteRune(r)
	}
	for _, layout := range strings.Split(device.KeyboardLayouts, ", ") {
		m, err := device.NewKeymap(layout)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range ascii.String() + "\n" {
			st, err := m.Strokes(string(r))
			if err != nil {
				continue
			}
			n++
			var evs []device.InputEvent
			for _, s := range st {
				var codes []int
				if s.Shift {
					codes = append(codes, -device.KeyLeftShift)
				}
				if s.AltGr {
					codes = append(codes, -device.KeyRightAlt)
				}
				codes = append(codes, int(s.Code))
				if s.Dead {
					codes = append(codes, device.KeySpace)
				}
				evs = append(evs, keys(codes...)...)
			}
			if got := device.TypeEvents(m, evs); got != string(r) {
				t.Errorf("%s: %q typed back as %q", layout, r, got)
			}
		}
		if n < 90 {
			t.Errorf("%s types only %d of the 96 ASCII characters", layout, n)
		}
	}
	if _, err := device.NewKeymap("dvorak"); err == nil {
		t.Fatal("an unknown layout must be refused")
	}
}
