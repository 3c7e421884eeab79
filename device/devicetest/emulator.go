package devicetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/packbench/packbench/device"
)

// Options configure an Emulator; nil means defaults.
type Options struct {
	DPI     int     // dots per inch for print time; default 203
	Speed   float64 // inches per second; 0 prints instantly
	SaveDir string  // when set, every label is also written there as label-NNNNNN.zpl
	Logger  *slog.Logger
	// OnLabel is called synchronously for every label received, before the
	// emulator reads further bytes from that connection (n counts from 1).
	// Tests use it to change the printer's state at an exact point.
	OnLabel func(n int, label []byte)
}

// State is the emulator's printer state and counters.
type State struct {
	PaperOut        bool    `json:"paper_out"`
	HeadOpen        bool    `json:"head_open"`
	RibbonOut       bool    `json:"ribbon_out"`
	Paused          bool    `json:"paused"`
	Speed           float64 `json:"speed"`
	DPI             int     `json:"dpi"`
	Received        int     `json:"received"`
	Printed         int     `json:"printed"`
	FormatsInBuffer int     `json:"formats_in_buffer"`
	LabelsRemaining int     `json:"labels_remaining"`
	StatusRequests  int     `json:"status_requests"`
	// NotReading: the printer stopped taking bytes (paused with a full
	// buffer, flow control holding the line): the emulator reads nothing
	// more, so the socket's or pty's kernel buffer fills and the sender's
	// writes block.
	NotReading bool `json:"not_reading"`
}

// Emulator is a ZPL label printer on loopback TCP (and a pty). It records
// every label, prints them in order at the configured speed, and answers ~HS
// truthfully — staying silent in paper out, head open and ribbon out, as a
// Zebra does.
type Emulator struct {
	opts Options
	log  *slog.Logger

	recvMu   sync.Mutex // serialises receive
	mu       sync.Mutex
	st       State
	ll       int // last ^LL, persists like on a printer
	labels   [][]byte
	files    []string
	pending  []format // received, not yet printed
	changed  chan struct{}
	addr     string
	ln       net.Listener
	conns    map[io.Closer]struct{}
	closed   bool
	wg       sync.WaitGroup
	printerQ chan struct{} // wakes the print loop
	stop     chan struct{}
	ptys     []*ptyPair
}

type format struct {
	dots   int // label length in dots
	copies int
}

// NewEmulator returns an emulator with its print engine running; call
// ListenTCP and/or OpenPTY to reach it, and Close to stop it.
func NewEmulator(opts *Options) *Emulator {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.DPI == 0 {
		o.DPI = 203
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Emulator{opts: o, log: o.Logger, changed: make(chan struct{}),
		conns: map[io.Closer]struct{}{}, printerQ: make(chan struct{}, 1), stop: make(chan struct{}),
		ll: 1218}
	e.st.Speed, e.st.DPI = o.Speed, o.DPI
	e.wg.Add(1)
	go e.printLoop()
	return e
}

// ListenTCP listens on addr ("127.0.0.1:0" for any free port) and serves
// every connection. It returns the address actually bound.
func (e *Emulator) ListenTCP(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("emulator listen %s: %w", addr, err)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		ln.Close()
		return "", device.ErrClosed
	}
	e.ln, e.addr = ln, ln.Addr().String()
	e.mu.Unlock()
	e.wg.Add(1)
	go e.accept(ln)
	return ln.Addr().String(), nil
}

// Addr is the TCP address last bound.
func (e *Emulator) Addr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.addr
}

// PowerOff closes the TCP listener and every open connection, like pulling
// the printer's plug; labels, counters and state are kept. PowerOn listens
// again on the same address.
func (e *Emulator) PowerOff() {
	e.mu.Lock()
	ln := e.ln
	e.ln = nil
	conns := make([]io.Closer, 0, len(e.conns))
	for c := range e.conns {
		conns = append(conns, c)
	}
	e.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range conns {
		c.Close()
	}
}

// PowerOn listens again on the address of the last ListenTCP.
func (e *Emulator) PowerOn() error {
	addr := e.Addr()
	if addr == "" {
		return errors.New("emulator: PowerOn before ListenTCP")
	}
	_, err := e.ListenTCP(addr)
	return err
}

// Close stops everything and waits for the goroutines.
func (e *Emulator) Close() error {
	e.PowerOff()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	ptys := e.ptys
	e.ptys = nil
	close(e.stop)
	e.mu.Unlock()
	for _, p := range ptys {
		p.close()
	}
	e.wg.Wait()
	return nil
}

func (e *Emulator) accept(ln net.Listener) {
	defer e.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if !e.track(c) {
			c.Close()
			return
		}
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.serve(c, c)
			e.untrack(c)
			c.Close()
		}()
	}
}

func (e *Emulator) track(c io.Closer) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.conns[c] = struct{}{}
	return true
}

func (e *Emulator) untrack(c io.Closer) {
	e.mu.Lock()
	delete(e.conns, c)
	e.mu.Unlock()
}

// serve reads one byte stream: labels between ^XA and ^XZ, and the ~HS and
// ~HQES status requests, which are answered on w. While NotReading it
// neither reads nor handles what it already read.
func (e *Emulator) serve(r io.Reader, w io.Writer) {
	buf := make([]byte, 64<<10)
	var pending []byte
	for {
		if !e.waitReading() {
			return
		}
		if len(pending) > 0 {
			var stalled bool
			if pending, stalled = e.process(pending, w); stalled {
				continue
			}
		}
		n, err := r.Read(buf)
		if n > 0 {
			pending = append(pending, buf[:n]...)
			pending, _ = e.process(pending, w)
		}
		if err != nil {
			return
		}
	}
}

// waitReading blocks while the emulator is not reading; false once it is
// closed.
func (e *Emulator) waitReading() bool {
	for {
		e.mu.Lock()
		stopped, ch := e.st.NotReading, e.changed
		e.mu.Unlock()
		if !stopped {
			return true
		}
		select {
		case <-ch:
		case <-e.stop:
			return false
		}
	}
}

func (e *Emulator) notReading() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.st.NotReading
}

var (
	tokXA   = []byte("^XA")
	tokXZ   = []byte("^XZ")
	tokHS   = []byte("~HS")
	tokHQES = []byte("~HQES")
)

// process consumes complete commands from b and returns what is left;
// stalled when it stopped because the emulator stopped reading.
func (e *Emulator) process(b []byte, w io.Writer) (rest []byte, stalled bool) {
	for {
		if e.notReading() {
			return b, true
		}
		xa := bytes.Index(b, tokXA)
		hs := bytes.Index(b, tokHS)
		hq := bytes.Index(b, tokHQES)
		first := -1
		for _, i := range []int{xa, hs, hq} {
			if i >= 0 && (first < 0 || i < first) {
				first = i
			}
		}
		if first < 0 {
			// Keep a tail that may be the start of a split command.
			if len(b) > 4 {
				b = append(b[:0], b[len(b)-4:]...)
			}
			return b, false
		}
		switch first {
		case hq:
			e.answerHQES(w)
			b = b[hq+len(tokHQES):]
		case hs:
			e.answerHS(w)
			b = b[hs+len(tokHS):]
		case xa:
			end := bytes.Index(b[xa:], tokXZ)
			if end < 0 {
				if xa > 0 {
					b = append(b[:0], b[xa:]...)
				}
				return b, false
			}
			label := append([]byte(nil), b[xa:xa+end+len(tokXZ)]...)
			e.receive(label)
			b = b[xa+end+len(tokXZ):]
		}
	}
}

var (
	reLL = regexp.MustCompile(`\^LL(\d+)`)
	rePQ = regexp.MustCompile(`\^PQ(\d+)`)
)

func (e *Emulator) receive(label []byte) {
	// One label at a time across connections, so numbering, files, the hook
	// and the recorded order agree.
	e.recvMu.Lock()
	defer e.recvMu.Unlock()
	e.mu.Lock()
	if m := reLL.FindSubmatch(label); m != nil {
		if v, err := strconv.Atoi(string(m[1])); err == nil && v > 0 {
			e.ll = v
		}
	}
	f := format{dots: e.ll, copies: 1}
	if m := rePQ.FindSubmatch(label); m != nil {
		if v, err := strconv.Atoi(string(m[1])); err == nil && v > 0 {
			f.copies = v
		}
	}
	n := len(e.labels) + 1
	e.mu.Unlock()
	var file string
	if e.opts.SaveDir != "" {
		file = filepath.Join(e.opts.SaveDir, fmt.Sprintf("label-%06d.zpl", n))
		if err := os.WriteFile(file, label, 0o644); err != nil {
			e.log.Error("emulator: save label", "file", file, "err", err)
		}
	}
	e.log.Debug("emulator: label received", "n", n, "bytes", len(label))
	// The hook runs before the label is counted, reaches the print engine or
	// is announced to waiters, so a state it sets applies to this label.
	if e.opts.OnLabel != nil {
		e.opts.OnLabel(n, label)
	}
	e.mu.Lock()
	e.labels = append(e.labels, label)
	e.files = append(e.files, file)
	e.st.Received = len(e.labels)
	e.pending = append(e.pending, f)
	e.st.FormatsInBuffer = len(e.pending)
	e.notifyLocked()
	e.mu.Unlock()
	select {
	case e.printerQ <- struct{}{}:
	default:
	}
}

func (e *Emulator) notifyLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// silentLocked: a Zebra does not answer ~HS in these states.
func (e *Emulator) silentLocked() bool {
	return e.st.PaperOut || e.st.HeadOpen || e.st.RibbonOut
}

func (e *Emulator) answerHS(w io.Writer) {
	e.mu.Lock()
	e.st.StatusRequests++
	e.notifyLocked()
	if e.silentLocked() {
		e.mu.Unlock()
		return
	}
	s := device.Status{
		PaperOut: e.st.PaperOut, Paused: e.st.Paused, LabelLength: e.ll,
		FormatsInBuffer: e.st.FormatsInBuffer, HeadOpen: e.st.HeadOpen, RibbonOut: e.st.RibbonOut,
		PrintMode: 2, LabelsRemaining: e.st.LabelsRemaining, FormatWhilePrint: 1, Password: "1234",
		CommSettings: 14, FunctionSettings: 1,
	}
	e.mu.Unlock()
	_, _ = w.Write(device.FormatHostStatus(s))
}

func (e *Emulator) answerHQES(w io.Writer) {
	e.mu.Lock()
	var ef uint64
	if e.st.PaperOut {
		ef |= device.ErrFlagMediaOut
	}
	if e.st.RibbonOut {
		ef |= device.ErrFlagRibbonOut
	}
	if e.st.HeadOpen {
		ef |= device.ErrFlagHeadOpen
	}
	e.mu.Unlock()
	_, _ = w.Write(device.FormatExtendedStatus(ef, 0))
}

// printLoop prints pending formats in order while the printer is able to:
// formats in buffer and labels remaining stay non-zero until each is out.
func (e *Emulator) printLoop() {
	defer e.wg.Done()
	for {
		e.mu.Lock()
		e.st.FormatsInBuffer = len(e.pending)
		blocked := e.silentLocked() || e.st.Paused
		if len(e.pending) == 0 || blocked {
			e.mu.Unlock()
			select {
			case <-e.printerQ:
				continue
			case <-e.stop:
				return
			}
		}
		f := &e.pending[0]
		e.st.LabelsRemaining = f.copies
		// The format being printed still counts as in the buffer.
		d := e.printTimeLocked(f.dots)
		e.mu.Unlock()
		if d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-e.stop:
				t.Stop()
				return
			}
		}
		e.mu.Lock()
		if e.silentLocked() || e.st.Paused {
			e.mu.Unlock() // stopped mid-label: print it again once fixed
			continue
		}
		f = &e.pending[0]
		f.copies--
		e.st.LabelsRemaining = f.copies
		if f.copies == 0 {
			e.pending = e.pending[1:]
			e.st.Printed++
			e.st.FormatsInBuffer = len(e.pending)
			e.notifyLocked()
		}
		e.mu.Unlock()
	}
}

func (e *Emulator) printTimeLocked(dots int) time.Duration {
	if e.st.Speed <= 0 {
		return 0
	}
	inches := float64(dots) / float64(e.opts.DPI)
	return time.Duration(inches / e.st.Speed * float64(time.Second))
}

func (e *Emulator) set(f func(*State)) {
	e.mu.Lock()
	f(&e.st)
	e.notifyLocked()
	e.mu.Unlock()
	select {
	case e.printerQ <- struct{}{}:
	default:
	}
}

// SetPaperOut puts the printer in or out of media out.
func (e *Emulator) SetPaperOut(v bool) { e.set(func(s *State) { s.PaperOut = v }) }

// SetHeadOpen opens or closes the print head.
func (e *Emulator) SetHeadOpen(v bool) { e.set(func(s *State) { s.HeadOpen = v }) }

// SetRibbonOut puts the printer in or out of ribbon out.
func (e *Emulator) SetRibbonOut(v bool) { e.set(func(s *State) { s.RibbonOut = v }) }

// SetPaused pauses or resumes printing (~HS keeps answering, with the pause flag).
func (e *Emulator) SetPaused(v bool) { e.set(func(s *State) { s.Paused = v }) }

// SetNotReading makes the printer stop taking bytes, or take them again
// (see State.NotReading).
func (e *Emulator) SetNotReading(v bool) { e.set(func(s *State) { s.NotReading = v }) }

// SetSpeed sets the print speed in inches per second (0: instant).
func (e *Emulator) SetSpeed(ips float64) { e.set(func(s *State) { s.Speed = ips }) }

// Snapshot returns the current state and counters.
func (e *Emulator) Snapshot() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.st
	s.FormatsInBuffer = len(e.pending)
	return s
}

// Labels returns a copy of every label received, in order.
func (e *Emulator) Labels() [][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([][]byte, len(e.labels))
	for i, l := range e.labels {
		out[i] = append([]byte(nil), l...)
	}
	return out
}

// LabelFiles returns the saved file of each label ("" when not saving).
func (e *Emulator) LabelFiles() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.files...)
}

// WaitLabels blocks until at least n labels were received or ctx ends.
func (e *Emulator) WaitLabels(ctx context.Context, n int) error {
	return e.waitFor(ctx, func(s State) bool { return s.Received >= n },
		func(s State) string { return fmt.Sprintf("%d of %d labels received", s.Received, n) })
}

// WaitPrinted blocks until at least n labels were printed or ctx ends.
func (e *Emulator) WaitPrinted(ctx context.Context, n int) error {
	return e.waitFor(ctx, func(s State) bool { return s.Printed >= n },
		func(s State) string { return fmt.Sprintf("%d of %d labels printed", s.Printed, n) })
}

// Wait blocks until ok holds for the emulator's state or ctx ends; what
// names the condition in the error.
func (e *Emulator) Wait(ctx context.Context, what string, ok func(State) bool) error {
	return e.waitFor(ctx, ok, func(State) string { return what })
}

func (e *Emulator) waitFor(ctx context.Context, ok func(State) bool, msg func(State) string) error {
	for {
		e.mu.Lock()
		s, ch := e.st, e.changed
		e.mu.Unlock()
		if ok(s) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("emulator: %s: %w", msg(s), ctx.Err())
		}
	}
}
