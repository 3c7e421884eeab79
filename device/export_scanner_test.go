package device

// TypeEvents runs evs through a keyboard with keymap m and returns the
// text typed: the scanner's key handling, for the tests.
func TypeEvents(m *Keymap, evs []InputEvent) string {
	kb := keyboard{m: m}
	var out []rune
	for _, e := range evs {
		if e.Type == EvKey {
			out = append(out, kb.key(e.Code, e.Value)...)
		}
	}
	return string(out)
}
