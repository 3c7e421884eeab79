package devicetest

import (
	"time"

	"github.com/packbench/packbench/device"
)

// ScanEvents returns the input_event records, in layout, that a USB
// barcode scanner in keyboard mode set to keymap sends for text: for each
// character the modifiers down, the key down and up, the modifiers up,
// each followed by SYN_REPORT as the kernel delivers them; a dead key is
// followed by a space. '\n' is Enter. Timestamps start at t, 1ms apart.
func ScanEvents(layout device.EventLayout, keymap *device.Keymap, text string, t time.Time) ([]byte, error) {
	strokes, err := keymap.Strokes(text)
	if err != nil {
		return nil, err
	}
	var b []byte
	ev := func(code uint16, value int32) {
		b = layout.AppendEvent(b, device.InputEvent{Time: t, Type: device.EvKey, Code: code, Value: value})
		b = layout.AppendEvent(b, device.InputEvent{Time: t, Type: device.EvSyn, Code: device.SynReport})
		t = t.Add(time.Millisecond)
	}
	tap := func(code uint16) { ev(code, device.KeyPress); ev(code, device.KeyRelease) }
	for _, s := range strokes {
		if s.Shift {
			ev(device.KeyLeftShift, device.KeyPress)
		}
		if s.AltGr {
			ev(device.KeyRightAlt, device.KeyPress)
		}
		tap(s.Code)
		if s.AltGr {
			ev(device.KeyRightAlt, device.KeyRelease)
		}
		if s.Shift {
			ev(device.KeyLeftShift, device.KeyRelease)
		}
		if s.Dead {
			tap(device.KeySpace)
		}
	}
	return b, nil
}
