package device

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/packbench/packbench/internal/backoff"
	"github.com/packbench/packbench/internal/clock"
)

// Scanner kinds.
const (
	ScannerEvdev  = "evdev"  // a Linux input device (keyboard mode), or a FIFO/pty carrying its events
	ScannerSerial = "serial" // USB CDC-ACM or RS-232: one line per scan
)

// Scanner defaults.
const (
	DefaultScanMax       = 256 // bytes; longer input is dropped, never cut into a wrong code
	DefaultScannerBaud   = 9600
	defaultReopenMin     = 200 * time.Millisecond
	defaultReopenMax     = 5 * time.Second
	scannerReadBuf       = 4096
	scannerChunkQueueLen = 4
)

// ScannerConfig is one [[scanners]] entry.
type ScannerConfig struct {
	// Name is the scan's Source in logs; default: the path's base name.
	Name string `toml:"name" json:"name,omitempty"`
	// Path is the device: /dev/input/by-id/...-event-kbd (evdev), or
	// /dev/ttyACM0, /dev/serial/by-id/... (serial). A FIFO or pty is read
	// the same way, without the exclusive grab.
	Path string `toml:"path" json:"path"`
	// Kind is evdev or serial; default: serial for tty paths (/dev/tty*,
	// /dev/serial/*, /dev/pts/*, /dev/rfcomm*), else evdev.
	Kind string `toml:"kind" json:"kind,omitempty"`
	// Layout is the keyboard layout the scanner is set to: us, uk, de, fr;
	// default us. Evdev only.
	Layout string `toml:"layout" json:"layout,omitempty"`
	// Suffix is the key or character that ends a scan besides Enter (and
	// Tab; CR and LF on a serial line): "enter" (the default), "tab", or
	// one character such as "#".
	Suffix string `toml:"suffix" json:"suffix,omitempty"`
	// IdleGap ends a scan after this long without a key, for scanners set
	// to send no suffix; 0 (the default) waits for the suffix.
	IdleGap Duration `toml:"idle_gap" json:"idle_gap,omitempty"`
	// Baud is the serial line speed (8N1, no flow control); default 9600.
	Baud int `toml:"baud" json:"baud,omitempty"`
	// MaxLength bounds one scan in bytes; default 256. Longer input is
	// dropped whole and reported.
	MaxLength int `toml:"max_length" json:"max_length,omitempty"`
}

// withDefaults fills the zero fields.
func (c ScannerConfig) withDefaults() ScannerConfig {
	if c.Name == "" {
		c.Name = filepath.Base(c.Path)
	}
	c.Kind = strings.ToLower(c.Kind)
	if c.Kind == "" {
		c.Kind = ScannerEvdev
		for _, p := range []string{"/dev/tty", "/dev/serial/", "/dev/pts/", "/dev/rfcomm", "/dev/cu."} {
			if strings.HasPrefix(c.Path, p) {
				c.Kind = ScannerSerial
			}
		}
	}
	if c.Layout == "" {
		c.Layout = "us"
	}
	if c.Suffix == "" {
		c.Suffix = "enter"
	}
	if c.Baud == 0 {
		c.Baud = DefaultScannerBaud
	}
	if c.MaxLength == 0 {
		c.MaxLength = DefaultScanMax
	}
	return c
}

// WithDefaults returns c with its defaults filled in, as the scanner runs it.
func (c ScannerConfig) WithDefaults() ScannerConfig { return c.withDefaults() }

// Validate reports the first setting that breaks a rule, naming the field.
func (c ScannerConfig) Validate() error {
	c = c.withDefaults()
	bad := func(field, rule string, v any) error {
		return fmt.Errorf("%w: scanner %q: %s %v: %s", ErrConfig, c.Name, field, v, rule)
	}
	if c.Path == "" {
		return fmt.Errorf("%w: scanner path: required (/dev/input/by-id/...-event-kbd or /dev/ttyACM0)", ErrConfig)
	}
	switch c.Kind {
	case ScannerEvdev:
		if _, err := NewKeymap(c.Layout); err != nil {
			return bad("layout", "must be one of "+KeyboardLayouts, fmt.Sprintf("%q", c.Layout))
		}
	case ScannerSerial:
		if c.Baud < 50 || c.Baud > 4000000 {
			return bad("baud", "must be between 50 and 4000000", c.Baud)
		}
	default:
		return bad("kind", "must be evdev or serial", fmt.Sprintf("%q", c.Kind))
	}
	if _, err := c.suffixRune(); err != nil {
		return bad("suffix", err.Error(), fmt.Sprintf("%q", c.Suffix))
	}
	if c.IdleGap < 0 {
		return bad("idle_gap", "must not be negative", c.IdleGap)
	}
	if c.MaxLength < 1 || c.MaxLength > 4096 {
		return bad("max_length", "must be between 1 and 4096", c.MaxLength)
	}
	return nil
}

// suffixRune is the extra character that ends a scan (0: none beyond
// Enter and Tab).
func (c ScannerConfig) suffixRune() (rune, error) {
	switch strings.ToLower(c.Suffix) {
	case "enter", "tab":
		return 0, nil
	}
	r, n := utf8.DecodeRuneInString(c.Suffix)
	if n != len(c.Suffix) || r == utf8.RuneError || r < ' ' {
		return 0, errors.New(`want "enter", "tab" or one printable character`)
	}
	return r, nil
}

// Scan is one code read from a scanner.
type Scan struct {
	Code   string
	Source string    // the scanner's name
	At     time.Time // when its last character arrived (the injected clock)
}

// ScannerOptions are a scanner's dependencies; nil or zero means the default.
type ScannerOptions struct {
	Clock  clock.Clock  // default the wall clock
	Logger *slog.Logger // default discards
	// Reopen is the wait between attempts to reopen a vanished device;
	// zero means 200ms to 5s.
	Reopen backoff.Backoff
	// EventLayout is the input_event size to decode; zero means the
	// platform's (NativeEventLayout). Tests replay the other platform's.
	EventLayout EventLayout
	// OnDrop is told about input thrown away instead of becoming a scan
	// (ErrScanTooLong, ErrScanIncomplete); it is also logged.
	OnDrop func(source string, err error)
	// OnOpen is told each time the device is opened (grabbed: taken
	// exclusively with EVIOCGRAB).
	OnOpen func(source string, grabbed bool)
	// OnDown is told once per outage that the device is missing or went
	// away (a health view shows it until OnOpen).
	OnDown func(source string, err error)
}

// Scanner reads codes from one barcode scanner. Run it once.
type Scanner struct {
	cfg    ScannerConfig
	opts   ScannerOptions
	keymap *Keymap // evdev only
	suffix rune
}

// NewScanner checks cfg and returns a scanner ready to Run.
func NewScanner(cfg ScannerConfig, opts *ScannerOptions) (*Scanner, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Scanner{cfg: cfg.withDefaults()}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Clock == nil {
		s.opts.Clock = clock.Real{}
	}
	if s.opts.Logger == nil {
		s.opts.Logger = slog.New(slog.DiscardHandler)
	}
	if s.opts.Reopen.Min <= 0 {
		s.opts.Reopen = backoff.New(defaultReopenMin, defaultReopenMax)
	}
	if s.opts.EventLayout == 0 {
		s.opts.EventLayout = NativeEventLayout
	}
	if s.opts.EventLayout != EventLayout32 && s.opts.EventLayout != EventLayout64 {
		return nil, fmt.Errorf("%w: event layout %d: want 16 or 24", ErrConfig, s.opts.EventLayout)
	}
	s.suffix, _ = s.cfg.suffixRune()
	if s.cfg.Kind == ScannerEvdev {
		s.keymap, _ = NewKeymap(s.cfg.Layout)
	}
	return s, nil
}

// Config is the scanner's config with its defaults.
func (s *Scanner) Config() ScannerConfig { return s.cfg }

// Run reads scans until ctx ends, calling onScan for each (one at a time,
// in order). A device that is missing or disappears (unplugged, a USB
// reset) is reopened with backoff until it comes back: Run never gives up
// and returns nil once ctx ends.
func (s *Scanner) Run(ctx context.Context, onScan func(Scan)) error {
	log := s.opts.Logger.With("scanner", s.cfg.Name, "path", s.cfg.Path)
	bo := s.opts.Reopen
	down := false // an outage was logged; say when it ends
	for {
		src, grabbed, err := s.open()
		if err == nil {
			if s.opts.OnOpen != nil {
				s.opts.OnOpen(s.cfg.Name, grabbed)
			}
			var got bool
			got, err = s.read(ctx, src, onScan) // closes src
			if ctx.Err() != nil {
				return nil
			}
			if got {
				bo.Reset()
				if down {
					log.Info("scanner back")
					down = false
				}
			}
			if err == nil {
				err = io.EOF
			}
		}
		if !down {
			// Once per outage: a missing scanner retried every few
			// seconds must not fill the journal.
			log.Warn("scanner unavailable: retrying until it comes back", "err", err)
			down = true
			if s.opts.OnDown != nil {
				s.opts.OnDown(s.cfg.Name, err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.opts.Clock.After(bo.Next()):
		}
	}
}

// open opens the device: an input device grabbed exclusively, a serial
// line at its baud, or a FIFO/pty as it is.
func (s *Scanner) open() (io.ReadCloser, bool, error) {
	if s.cfg.Kind == ScannerSerial {
		l, err := openSerial(s.cfg.Path, SerialConfig{Baud: s.cfg.Baud, DataBits: 8, Parity: "none", StopBits: "1", FlowControl: "none"})
		return l, false, err
	}
	return openInput(s.cfg.Path)
}

// read decodes src until it fails or ctx ends, then closes it; got reports whether any
// byte arrived. A reader goroutine does the blocking reads so the idle
// gap (on the injected clock) and ctx are waited on here; closing src
// ends it.
func (s *Scanner) read(ctx context.Context, src io.ReadCloser, onScan func(Scan)) (got bool, err error) {
	chunks := make(chan []byte, scannerChunkQueueLen)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		for {
			buf := make([]byte, scannerReadBuf)
			n, err := src.Read(buf)
			if n > 0 {
				select {
				case chunks <- buf[:n]:
				case <-done:
					return
				}
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()
	stop := func() {
		close(done)
		src.Close() // unblocks the reader
	}

	a := &assembler{s: s, onScan: onScan}
	var feed func([]byte)
	if s.cfg.Kind == ScannerSerial {
		feed = a.serialBytes
	} else {
		a.kb = keyboard{m: s.keymap}
		dec := NewEventDecoder(s.opts.EventLayout)
		var evs []InputEvent
		feed = func(p []byte) {
			evs = dec.Feed(evs[:0], p)
			for _, e := range evs {
				a.event(e)
			}
		}
	}
	var idle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			stop()
			return got, nil
		case p := <-chunks:
			got = true
			feed(p)
			idle = nil
			if s.cfg.IdleGap > 0 && a.pending() {
				idle = s.opts.Clock.After(s.cfg.IdleGap.Std())
			}
		case <-idle:
			idle = nil
			a.end()
		case err := <-readErr:
			// Drain what was read before the error: the reader queued
			// every chunk before it sent the error.
		drain:
			for {
				select {
				case p := <-chunks:
					got = true
					feed(p)
				default:
					break drain
				}
			}
			stop()
			if a.pending() {
				a.drop(fmt.Errorf("%w: the device went away mid-scan", ErrScanIncomplete))
			}
			return got, fmt.Errorf("scanner %s: read %s: %w", s.cfg.Name, s.cfg.Path, err)
		}
	}
}

// assembler collects characters into codes.
type assembler struct {
	s       *Scanner
	onScan  func(Scan)
	kb      keyboard
	buf     []byte
	over    int  // bytes seen past MaxLength; the scan is dropped at its end
	broken  bool // events were lost (SYN_DROPPED) in this scan
	syncing bool // skipping to the next SYN_REPORT after SYN_DROPPED
}

func (a *assembler) pending() bool { return len(a.buf) > 0 || a.over > 0 || a.broken }

// event handles one input event.
func (a *assembler) event(e InputEvent) {
	if a.syncing {
		if e.Type == EvSyn && e.Code == SynReport {
			a.syncing = false
		}
		return
	}
	switch e.Type {
	case EvSyn:
		if e.Code == SynDropped {
			// The kernel lost events: this scan has holes, and which
			// modifiers are held is unknown.
			a.syncing, a.broken = true, true
			a.kb.reset()
		}
	case EvKey:
		for _, r := range a.kb.key(e.Code, e.Value) {
			a.char(r)
		}
	}
}

// serialBytes handles bytes from a serial scanner: CR, LF (so CRLF), Tab
// or the suffix end a line.
func (a *assembler) serialBytes(p []byte) {
	for _, b := range p {
		switch {
		case b == '\r' || b == '\n' || b == '\t' || (a.s.suffix != 0 && rune(b) == a.s.suffix):
			a.end()
		default:
			a.add([]byte{b})
		}
	}
}

// char handles one typed character.
func (a *assembler) char(r rune) {
	if r == '\n' || r == '\t' || (a.s.suffix != 0 && r == a.s.suffix) {
		a.end()
		return
	}
	a.add(utf8.AppendRune(nil, r))
}

func (a *assembler) add(b []byte) {
	if a.over > 0 || len(a.buf)+len(b) > a.s.cfg.MaxLength {
		a.over += len(b)
		return
	}
	a.buf = append(a.buf, b...)
}

// end finishes the scan in progress: a code, a drop, or nothing when
// empty (a CRLF's second half).
func (a *assembler) end() {
	switch {
	case a.over > 0:
		a.drop(fmt.Errorf("%w: %d bytes, at most %d", ErrScanTooLong, len(a.buf)+a.over, a.s.cfg.MaxLength))
	case a.broken:
		a.drop(fmt.Errorf("%w: the kernel dropped key events (SYN_DROPPED)", ErrScanIncomplete))
	case len(a.buf) == 0:
	case !utf8.Valid(a.buf):
		a.drop(fmt.Errorf("%w: not UTF-8: %q", ErrScanIncomplete, a.buf))
	default:
		code := string(a.buf)
		a.buf = a.buf[:0]
		a.onScan(Scan{Code: code, Source: a.s.cfg.Name, At: a.s.opts.Clock.Now()})
	}
}

// drop throws the scan in progress away and reports why.
func (a *assembler) drop(err error) {
	a.buf, a.over, a.broken = a.buf[:0], 0, false
	a.s.opts.Logger.Warn("scan dropped", "scanner", a.s.cfg.Name, "err", err)
	if a.s.opts.OnDrop != nil {
		a.s.opts.OnDrop(a.s.cfg.Name, err)
	}
}
