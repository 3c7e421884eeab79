package device

import (
	"fmt"
	"slices"
	"unicode"
)

// Key codes the reader treats specially (linux/input-event-codes.h).
const (
	KeyEnter      = 28
	KeyTab        = 15
	KeySpace      = 57
	KeyLeftShift  = 42
	KeyRightShift = 54
	KeyLeftCtrl   = 29
	KeyRightCtrl  = 97
	KeyLeftAlt    = 56
	KeyRightAlt   = 100 // AltGr on the European layouts
	KeyCapsLock   = 58
	KeyKPEnter    = 96
)

// KeyboardLayouts are the layouts a scanner in keyboard mode can be set to
// ([[scanners]] layout). The scanner sends the key that produces the
// character on a keyboard of that layout, so a German scanner's "Z"
// arrives as KEY_Y.
const KeyboardLayouts = "us, uk, de, fr"

// keyChars is what one key gives: plain, with shift, with AltGr. dead
// marks plain/shift characters that are dead keys on that layout: they
// wait for the next key (space gives the character itself).
type keyChars struct {
	plain, shift, altgr  rune
	deadPlain, deadShift bool
	letter               bool // caps lock applies
}

// Keymap maps key codes to characters for one layout.
type Keymap struct {
	name string
	keys [128]keyChars
}

// NewKeymap returns the keymap of layout us, uk (or gb), de or fr; empty
// is us.
func NewKeymap(layout string) (*Keymap, error) {
	m := &Keymap{name: layout}
	row := func(first uint16, plain, shift string) {
		p, s := []rune(plain), []rune(shift)
		for i := range p {
			k := &m.keys[first+uint16(i)]
			k.plain = p[i]
			if i < len(s) {
				k.shift = s[i]
			}
			k.letter = unicode.IsLetter(k.plain) && unicode.ToUpper(k.plain) == k.shift
		}
	}
	altgr := func(pairs ...any) {
		for i := 0; i < len(pairs); i += 2 {
			m.keys[pairs[i].(int)].altgr = pairs[i+1].(rune)
		}
	}
	// The keypad (num lock on) and space are the same everywhere.
	row(71, "789-456+1230.", "")
	row(55, "*", "")
	row(98, "/", "")
	row(KeySpace, " ", " ")
	switch layout {
	case "", "us":
		m.name = "us"
		row(2, "1234567890-=", "!@#$%^&*()_+")
		row(16, "qwertyuiop[]", "QWERTYUIOP{}")
		row(30, "asdfghjkl;'`", "ASDFGHJKL:\"~")
		row(43, "\\zxcvbnm,./", "|ZXCVBNM<>?")
		row(86, "<", ">")
	case "uk", "gb":
		m.name = "uk"
		row(2, "1234567890-=", "!\"£$%^&*()_+")
		row(16, "qwertyuiop[]", "QWERTYUIOP{}")
		row(30, "asdfghjkl;'`", "ASDFGHJKL:@¬")
		row(43, "#zxcvbnm,./", "~ZXCVBNM<>?")
		row(86, "\\", "|")
		altgr(5, '€')
	case "de":
		row(2, "1234567890ß´", "!\"§$%&/()=?`")
		row(16, "qwertzuiopü+", "QWERTZUIOPÜ*")
		row(30, "asdfghjklöä^", "ASDFGHJKLÖÄ°")
		row(43, "#yxcvbnm,.-", "'YXCVBNM;:_")
		row(86, "<", ">")
		m.keys[13].deadPlain, m.keys[13].deadShift = true, true // ´ `
		m.keys[41].deadPlain = true                             // ^
		altgr(3, '²', 4, '³', 8, '{', 9, '[', 10, ']', 11, '}', 12, '\\', 16, '@', 18, '€', 27, '~', 50, 'µ', 86, '|')
	case "fr":
		row(2, "&é\"'(-è_çà)=", "1234567890°+")
		row(16, "azertyuiop^$", "AZERTYUIOP¨£")
		row(30, "qsdfghjklmù²", "QSDFGHJKLM%")
		row(43, "*wxcvbn,;:!", "µWXCVBN?./§")
		row(86, "<", ">")
		m.keys[26].deadPlain, m.keys[26].deadShift = true, true // ^ ¨
		altgr(3, '~', 4, '#', 5, '{', 6, '[', 7, '|', 8, '`', 9, '\\', 10, '^', 11, '@', 12, ']', 13, '}', 18, '€', 27, '¤')
	default:
		return nil, fmt.Errorf("layout %q: want one of %s: %w", layout, KeyboardLayouts, ErrConfig)
	}
	return m, nil
}

// Name is the layout's name.
func (m *Keymap) Name() string { return m.name }

// Stroke is one key press that types a character: the key and the
// modifiers held. Dead is set when the key is a dead key on the layout and
// must be followed by a space.
type Stroke struct {
	Code         uint16
	Shift, AltGr bool
	Dead         bool
}

// Strokes returns the key presses a scanner set to this layout sends for
// s: what the emulator types. '\n' is Enter, '\t' is Tab.
func (m *Keymap) Strokes(s string) ([]Stroke, error) {
	var out []Stroke
	for _, r := range s {
		st, ok := m.stroke(r)
		if !ok {
			return nil, fmt.Errorf("layout %s cannot type %q", m.name, r)
		}
		out = append(out, st)
	}
	return out, nil
}

func (m *Keymap) stroke(r rune) (Stroke, bool) {
	switch r {
	case '\n':
		return Stroke{Code: KeyEnter}, true
	case '\t':
		return Stroke{Code: KeyTab}, true
	}
	// The main block first (a keypad digit is a second way to type it).
	codes := slices.Concat(rangeCodes(1, 70), rangeCodes(86, 86), rangeCodes(71, 127))
	for _, c := range codes {
		k := m.keys[c]
		switch r {
		case k.plain:
			return Stroke{Code: c, Dead: k.deadPlain}, true
		case k.shift:
			return Stroke{Code: c, Shift: true, Dead: k.deadShift}, true
		}
	}
	for _, c := range codes {
		if m.keys[c].altgr == r {
			return Stroke{Code: c, AltGr: true}, true
		}
	}
	return Stroke{}, false
}

func rangeCodes(from, to uint16) []uint16 {
	out := make([]uint16, 0, to-from+1)
	for c := from; c <= to; c++ {
		out = append(out, c)
	}
	return out
}

// keyboard turns key events into characters: it tracks shift, AltGr,
// ctrl, caps lock and a pending dead key.
type keyboard struct {
	m                *Keymap
	lshift, rshift   bool
	ctrl, alt, altgr bool
	caps             bool
	dead             rune
}

// reset forgets every held key (the device was reopened).
func (k *keyboard) reset() { *k = keyboard{m: k.m} }

// key handles one EV_KEY event and returns the characters it types:
// none, one, or two (a dead key followed by a key it does not combine
// with). Enter gives '\n', Tab '\t'.
func (k *keyboard) key(code uint16, value int32) []rune {
	down := value != KeyRelease
	switch code {
	case KeyLeftShift:
		k.lshift = down
		return nil
	case KeyRightShift:
		k.rshift = down
		return nil
	case KeyLeftCtrl, KeyRightCtrl:
		k.ctrl = down
		return nil
	case KeyLeftAlt:
		k.alt = down
		return nil
	case KeyRightAlt:
		k.altgr = down
		return nil
	case KeyCapsLock:
		if value == KeyPress {
			k.caps = !k.caps
		}
		return nil
	}
	if !down || k.ctrl || k.alt {
		// Ctrl/Alt combinations are commands to a desktop, not text.
		return nil
	}
	switch code {
	case KeyEnter, KeyKPEnter:
		return k.flushDead('\n')
	case KeyTab:
		return k.flushDead('\t')
	}
	if int(code) >= len(k.m.keys) {
		return nil
	}
	c := k.m.keys[code]
	shift := k.lshift || k.rshift
	if c.letter && k.caps {
		shift = !shift
	}
	var r rune
	dead := false
	switch {
	case k.altgr:
		r = c.altgr
	case shift:
		r, dead = c.shift, c.deadShift
	default:
		r, dead = c.plain, c.deadPlain
	}
	if r == 0 {
		return nil
	}
	if dead {
		if k.dead != 0 { // the dead key twice types it
			d := k.dead
			k.dead = 0
			return []rune{d}
		}
		k.dead = r
		return nil
	}
	if k.dead != 0 {
		d := k.dead
		k.dead = 0
		if r == ' ' { // dead key then space: the character itself
			return []rune{d}
		}
		return []rune{d, r}
	}
	return []rune{r}
}

// flushDead returns a pending dead character before r.
func (k *keyboard) flushDead(r rune) []rune {
	if k.dead != 0 {
		d := k.dead
		k.dead = 0
		return []rune{d, r}
	}
	return []rune{r}
}
