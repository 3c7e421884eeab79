package device

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Printer is one label printer. Implementations connect lazily and reconnect
// by themselves: after a failed call the next call dials again, so an unplug,
// a replug or a printer restart needs nothing from the caller. Safe for
// concurrent use; calls are serialised.
type Printer interface {
	// Name is the configured name.
	Name() string
	// Send writes one printer-ready document (ZPL). It returns how many bytes
	// the transport accepted: 0 with an error means nothing reached the
	// printer; 0 < n < len(data) with an error means the outcome is unknown.
	Send(ctx context.Context, data []byte) (n int, err error)
	// Status asks the printer for its host status. The returned Status always
	// has State set, also with an error: StateNoReply with ErrNoReply when ~HS
	// went unanswered, StateOffline when the printer cannot be reached,
	// StateUnknown with ErrNoStatus when the printer cannot report.
	Status(ctx context.Context) (Status, error)
	// Close releases the connection; later calls return ErrClosed.
	Close() error
}

// Open returns a printer for cfg after validating it. It does not connect:
// the first Send or Status does.
func Open(cfg PrinterConfig) (Printer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	switch cfg.Transport {
	case TransportSpool:
		return NewSpool(cfg.Name, cfg.Path)
	case TransportTCP:
		return newStream(cfg, dialTCP(cfg)), nil
	case TransportUSB:
		return newStream(cfg, dialUSB(cfg)), nil
	case TransportSerial:
		return newStream(cfg, dialSerial(cfg)), nil
	}
	return nil, fmt.Errorf("%w: transport %q", ErrConfig, cfg.Transport)
}

// link is one open connection to a printer. Close must unblock a pending
// Read or Write.
type link interface {
	io.ReadWriteCloser
}

type dialFunc func(ctx context.Context) (link, error)

// streamPrinter speaks ZPL over a byte stream (TCP, usblp, serial). A reader
// goroutine splits what the printer sends back into STX…ETX frames, so a late
// reply never shifts into the next status request.
type streamPrinter struct {
	cfg  PrinterConfig
	dial dialFunc

	mu     sync.Mutex // serialises Send and Status
	conn   *streamConn
	closed bool
}

type streamConn struct {
	l      link
	frames chan []byte
	dead   chan struct{} // closed when the reader stops
	err    error         // why the reader stopped; read after dead is closed
	// readless: the link has no back channel (a unidirectional USB printer):
	// writes work, status cannot be read.
	readless bool
}

func newStream(cfg PrinterConfig, dial dialFunc) *streamPrinter {
	return &streamPrinter{cfg: cfg, dial: dial}
}

func (p *streamPrinter) Name() string { return p.cfg.Name }

func (p *streamPrinter) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.dropLocked()
	return nil
}

func (p *streamPrinter) dropLocked() {
	if p.conn != nil {
		p.conn.l.Close()
		// Close unblocks the reader on every pollable device (sockets,
		// usblp, ttys); the timer only guards a driver that is not.
		t := time.NewTimer(2 * time.Second)
		select {
		case <-p.conn.dead:
		case <-t.C:
		}
		t.Stop()
		p.conn = nil
	}
}

// connLocked returns a live connection, dialing when there is none or the
// last one died.
func (p *streamPrinter) connLocked(ctx context.Context) (*streamConn, error) {
	if p.closed {
		return nil, ErrClosed
	}
	if p.conn != nil {
		select {
		case <-p.conn.dead:
			if !p.conn.readless {
				p.conn.l.Close()
				p.conn = nil
			}
		default:
		}
	}
	if p.conn != nil {
		return p.conn, nil
	}
	l, err := p.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect printer %q: %w: %w", p.cfg.Name, ErrOffline, err)
	}
	c := &streamConn{l: l, frames: make(chan []byte, 16), dead: make(chan struct{})}
	go c.read()
	p.conn = c
	return c, nil
}

// noBackChannel reports whether the reader stopped because the device
// cannot be read (readless is only safe to read once dead is closed).
func (c *streamConn) noBackChannel() bool {
	select {
	case <-c.dead:
		return c.readless
	default:
		return false
	}
}

func (c *streamConn) read() {
	defer close(c.dead)
	buf := make([]byte, 4096)
	var pending []byte
	for {
		n, err := c.l.Read(buf)
		if n > 0 {
			pending = append(pending, buf[:n]...)
			var frames [][]byte
			frames, pending = SplitFrames(pending)
			pending = append([]byte(nil), pending...)
			for _, f := range frames {
				f = append([]byte(nil), f...)
				select {
				case c.frames <- f:
				default: // nobody asked: drop the oldest, keep the newest
					select {
					case <-c.frames:
					default:
					}
					c.frames <- f
				}
			}
		}
		if err != nil {
			c.err = err
			c.readless = isReadless(err)
			return
		}
	}
}

// Send writes data; see Printer.Send. A connection that fails mid-write is
// dropped so the next call reconnects.
func (p *streamPrinter) Send(ctx context.Context, data []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.connLocked(ctx)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(p.cfg.SendTimeout))
	defer cancel()
	// Closing the link is the one way that unblocks a write on every
	// transport (TCP, usblp, serial).
	stop := context.AfterFunc(ctx, func() { c.l.Close() })
	n, err := writeAll(c.l, data)
	stopped := stop()
	if err != nil || !stopped {
		if err == nil {
			err = ctx.Err()
		} else if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		p.dropLocked()
		return n, fmt.Errorf("send to printer %q: %w", p.cfg.Name, err)
	}
	return n, nil
}

func writeAll(w io.Writer, b []byte) (int, error) {
	total := 0
	for total < len(b) {
		n, err := w.Write(b[total:])
		total += n
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}

// Status sends ~HS and parses the reply; on silence it asks ~HQES for the
// reason (unless NoHQES).
func (p *streamPrinter) Status(ctx context.Context) (Status, error) {
	if p.cfg.NoStatus {
		return UnknownStatus("status off in config"), ErrNoStatus
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.connLocked(ctx)
	if err != nil {
		return Status{State: StateOffline, Reason: err.Error()}, err
	}
	if c.noBackChannel() {
		return UnknownStatus("printer has no back channel"), ErrNoStatus
	}
	frames, err := p.queryLocked(ctx, c, "~HS", 3)
	if err == nil {
		s, perr := parseHostStatusFrames(frames)
		if perr != nil {
			return Status{State: StateError, Known: true, Reason: perr.Error()}, perr
		}
		return s, nil
	}
	if !errors.Is(err, ErrNoReply) {
		return Status{State: StateOffline, Reason: err.Error()}, err
	}
	silent := Status{State: StateNoReply, Known: true,
		Reason: fmt.Sprintf("no reply to ~HS within %v (paper out, head open or ribbon out?)", time.Duration(p.cfg.StatusTimeout))}
	if p.cfg.NoHQES {
		return silent, err
	}
	hq, qerr := p.queryLocked(ctx, c, "~HQES", 1)
	if qerr != nil {
		return silent, err
	}
	ef, wf, perr := ParseExtendedStatus(hq[0])
	if perr != nil || ef == 0 {
		// Unknown cause: the silence itself is the error state.
		return silent, err
	}
	s := Status{State: StateNoReply}.WithExtended(ef, wf)
	return s, nil
}

// queryLocked writes cmd and collects n frames within the status timeout.
// Frames left over from an earlier, late reply are discarded first.
func (p *streamPrinter) queryLocked(ctx context.Context, c *streamConn, cmd string, n int) ([][]byte, error) {
	for drained := false; !drained; {
		select {
		case <-c.frames:
		default:
			drained = true
		}
	}
	if _, err := writeAll(c.l, []byte(cmd)); err != nil {
		p.dropLocked()
		return nil, fmt.Errorf("status %s to printer %q: %w", cmd, p.cfg.Name, err)
	}
	timer := time.NewTimer(time.Duration(p.cfg.StatusTimeout))
	defer timer.Stop()
	out := make([][]byte, 0, n)
	for len(out) < n {
		select {
		case f := <-c.frames:
			out = append(out, f)
		case <-c.dead:
			if c.readless {
				return nil, ErrNoStatus
			}
			err := c.err
			p.dropLocked()
			return nil, fmt.Errorf("status %s from printer %q: connection lost: %w", cmd, p.cfg.Name, err)
		case <-timer.C:
			return nil, fmt.Errorf("status %s from printer %q: %w", cmd, p.cfg.Name, ErrNoReply)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}
