package device

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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
// Read or Write (sockets and pollable device nodes do; see guardWrite for
// the rest).
type link interface {
	io.ReadWriteCloser
}

type dialFunc func(ctx context.Context) (link, error)

// streamPrinter speaks ZPL over a byte stream (TCP, usblp, serial). A reader
// goroutine splits what the printer sends back into STX…ETX frames, so a late
// reply never shifts into the next status request.
//
// A printer that stops reading (paused, flow control holding the line, its
// buffer full) must never hang the bench: every write has a deadline and is
// cut by the caller's context, a caller waiting for its turn gives up with
// its context, and Close cuts the connection without waiting for the turn.
type streamPrinter struct {
	cfg  PrinterConfig
	dial dialFunc

	// turn serialises Send and Status. It is a one-slot semaphore rather
	// than a mutex so a waiting caller gives up when its context ends or
	// the printer is closed.
	turn    chan struct{}
	closing chan struct{} // closed by Close
	once    sync.Once

	mu     sync.Mutex // guards conn and closed; never held across I/O
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
	shut     sync.Once
	// asked: Ask or SendAsk wrote a ~HS (at askedAt) whose reply is not
	// read yet; the next status query reads it instead of asking again,
	// if it is fresh (askFresh). Under the printer's turn.
	asked   bool
	askedAt time.Time
}

// drainFrames drops replies nobody waits for (late ones): frames read
// after a request are its reply. Called with the turn held.
func (c *streamConn) drainFrames() {
	for {
		select {
		case <-c.frames:
		default:
			return
		}
	}
}

func newStream(cfg PrinterConfig, dial dialFunc) *streamPrinter {
	return &streamPrinter{cfg: cfg, dial: dial, turn: make(chan struct{}, 1), closing: make(chan struct{})}
}

func (p *streamPrinter) Name() string { return p.cfg.Name }

// Close cuts the connection at once, also while a Send or Status is blocked
// on it (that call then returns an error); it does not wait for their turn.
func (p *streamPrinter) Close() error {
	p.once.Do(func() { close(p.closing) })
	p.mu.Lock()
	p.closed = true
	c := p.conn
	p.conn = nil
	p.mu.Unlock()
	if c != nil {
		c.close()
	}
	return nil
}

// acquire waits for the printer's turn, the caller's context or Close.
func (p *streamPrinter) acquire(ctx context.Context) error {
	select {
	case <-p.closing:
		return ErrClosed
	default:
	}
	select {
	case p.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("printer %q busy: %w", p.cfg.Name, ctx.Err())
	case <-p.closing:
		return ErrClosed
	}
}

func (p *streamPrinter) release() { <-p.turn }

// drop forgets c (when it is still the current connection) and closes it,
// so the next call dials again. Called with the turn held.
func (p *streamPrinter) drop(c *streamConn) {
	p.mu.Lock()
	if p.conn == c {
		p.conn = nil
	}
	p.mu.Unlock()
	c.close()
}

// close closes the link and waits for the reader. Close unblocks the reader
// on every pollable device (sockets, usblp, ttys); the timer only guards a
// driver that is not.
func (c *streamConn) close() {
	c.shut.Do(func() {
		c.l.Close()
		t := time.NewTimer(2 * time.Second)
		select {
		case <-c.dead:
		case <-t.C:
		}
		t.Stop()
	})
}

// connect returns a live connection, dialing when there is none or the
// last one died. Called with the turn held.
func (p *streamPrinter) connect(ctx context.Context) (*streamConn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	c := p.conn
	var gone *streamConn
	if c != nil {
		select {
		case <-c.dead:
			if !c.readless {
				p.conn, gone, c = nil, c, nil
			}
		default:
		}
	}
	p.mu.Unlock()
	if gone != nil {
		gone.close() // its reader has stopped: this does not wait
	}
	if c != nil {
		return c, nil
	}
	l, err := p.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect printer %q: %w: %w", p.cfg.Name, ErrOffline, err)
	}
	c = &streamConn{l: l, frames: make(chan []byte, 16), dead: make(chan struct{})}
	go c.read()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.mu.Unlock()
		c.close()
		p.mu.Lock()
		return nil, ErrClosed
	}
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

// write writes all of b within ctx, which carries the deadline. A link with
// deadlines (sockets, pollable device nodes) gets a write deadline; every
// link is also closed by a watcher when ctx ends, the one way to cut a write
// on a descriptor without deadline support. A write cut by the deadline
// returns an error wrapping context.DeadlineExceeded; the caller drops the
// connection after any error.
func (c *streamConn) write(ctx context.Context, b []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	dl, hasDeadline := c.l.(interface{ SetWriteDeadline(time.Time) error })
	if hasDeadline {
		t, _ := ctx.Deadline()
		if dl.SetWriteDeadline(t) != nil {
			hasDeadline = false // a descriptor the poller cannot watch
		}
	}
	stop := context.AfterFunc(ctx, func() { c.l.Close() })
	n, err := writeAll(c.l, b)
	if stop() && err == nil {
		if hasDeadline {
			_ = dl.SetWriteDeadline(time.Time{})
		}
		return n, nil
	}
	cause := ctx.Err()
	if cause == nil && errors.Is(err, os.ErrDeadlineExceeded) {
		cause = context.DeadlineExceeded // the kernel's deadline beat the watcher
	}
	switch {
	case err == nil:
		err = cause
	case cause != nil:
		err = fmt.Errorf("%w (%v)", cause, err)
	}
	return n, err
}

// Send writes data; see Printer.Send. The write ends at SendTimeout or when
// ctx ends; a connection that fails mid-write is dropped so the next call
// reconnects.
func (p *streamPrinter) Send(ctx context.Context, data []byte) (int, error) {
	return p.send(ctx, data, false)
}

// SendAsk is Send followed by a ~HS request, whose reply the next Status
// reads instead of asking again: a status is read after every job (the
// next job's check or the confirmation), and this way its round trip runs
// while the worker records the outcome and takes the next job (issue 13).
// A printer processes ~HS on receipt, so the reply tells its state once
// it has the job, as a ~HS written a moment later would. If the request
// cannot be written the job is still out: the next Status asks anew.
func (p *streamPrinter) SendAsk(ctx context.Context, data []byte) (int, error) {
	return p.send(ctx, data, true)
}

// Ask writes a ~HS request now; the next Status reads its reply instead
// of asking again. The worker asks before a job's bytes when another job
// follows, so that the next job's check overlaps this job's write-ahead
// mark (issue 13); the reply then tells the state from before this job's
// bytes, which is why the worker never confirms a job with it.
func (p *streamPrinter) Ask(ctx context.Context) error {
	if p.cfg.NoStatus {
		return ErrNoStatus
	}
	if err := p.acquire(ctx); err != nil {
		return fmt.Errorf("status of printer %q: %w", p.cfg.Name, err)
	}
	defer p.release()
	c, err := p.connect(ctx)
	if err != nil {
		return err
	}
	if c.noBackChannel() {
		return ErrNoStatus
	}
	if c.asked && time.Since(c.askedAt) <= askFresh {
		return nil
	}
	qctx, cancel := context.WithTimeout(ctx, time.Duration(p.cfg.StatusTimeout))
	defer cancel()
	if err := p.dropAsked(qctx, ctx, c); err != nil {
		return err
	}
	if _, err := c.write(qctx, []byte("~HS")); err != nil {
		p.drop(c)
		return fmt.Errorf("status ~HS to printer %q: %w", p.cfg.Name, err)
	}
	c.asked, c.askedAt = true, time.Now()
	return nil
}

func (p *streamPrinter) send(ctx context.Context, data []byte, ask bool) (int, error) {
	if err := p.acquire(ctx); err != nil {
		return 0, fmt.Errorf("send to printer %q: %w", p.cfg.Name, err)
	}
	defer p.release()
	c, err := p.connect(ctx)
	if err != nil {
		return 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, time.Duration(p.cfg.SendTimeout))
	defer cancel()
	n, err := c.write(wctx, data)
	if err != nil {
		p.drop(c)
		return n, fmt.Errorf("send to printer %q: %w", p.cfg.Name, err)
	}
	if !ask || p.cfg.NoStatus || c.noBackChannel() {
		return n, nil
	}
	// A reply to an earlier request is not this one's.
	if err := p.dropAsked(wctx, ctx, c); err != nil {
		return n, nil
	}
	if _, err := c.write(wctx, []byte("~HS")); err != nil {
		p.drop(c)
		return n, nil
	}
	c.asked, c.askedAt = true, time.Now()
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
// reason (unless NoHQES). Each query (write and reply) ends at
// StatusTimeout or when ctx ends.
func (p *streamPrinter) Status(ctx context.Context) (Status, error) {
	if p.cfg.NoStatus {
		return UnknownStatus("status off in config"), ErrNoStatus
	}
	if err := p.acquire(ctx); err != nil {
		err = fmt.Errorf("status of printer %q: %w", p.cfg.Name, err)
		return Status{State: StateOffline, Reason: err.Error()}, err
	}
	defer p.release()
	c, err := p.connect(ctx)
	if err != nil {
		return Status{State: StateOffline, Reason: err.Error()}, err
	}
	if c.noBackChannel() {
		return UnknownStatus("printer has no back channel"), ErrNoStatus
	}
	frames, err := p.query(ctx, c, "~HS", 3)
	if err == nil {
		s, perr := parseHostStatusFrames(frames)
		if perr != nil {
			return Status{State: StateError, Known: true, Reason: perr.Error()}, perr
		}
		return s, nil
	}
	var nr *notReadingError
	if errors.As(err, &nr) {
		// Not even the request got through: the printer stopped reading.
		return Status{State: StateNoReply, Known: true, Reason: fmt.Sprintf(
			"printer not reading: ~HS not taken within %v (paused, flow control or buffer full?)", time.Duration(p.cfg.StatusTimeout))}, err
	}
	if !errors.Is(err, ErrNoReply) {
		return Status{State: StateOffline, Reason: err.Error()}, err
	}
	silent := Status{State: StateNoReply, Known: true,
		Reason: fmt.Sprintf("no reply to ~HS within %v (paper out, head open or ribbon out?)", time.Duration(p.cfg.StatusTimeout))}
	if p.cfg.NoHQES {
		return silent, err
	}
	hq, qerr := p.query(ctx, c, "~HQES", 1)
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

// notReadingError: a status request could not even be written within the
// status timeout. It wraps ErrNoReply and context.DeadlineExceeded.
type notReadingError struct{ err error }

func (e *notReadingError) Error() string { return e.err.Error() }
func (e *notReadingError) Unwrap() error { return e.err }

// query writes cmd and collects n frames, all within the status timeout.
// Frames left over from an earlier, late reply are discarded first. Called
// with the turn held.
func (p *streamPrinter) query(ctx context.Context, c *streamConn, cmd string, n int) ([][]byte, error) {
	qctx, cancel := context.WithTimeout(ctx, time.Duration(p.cfg.StatusTimeout))
	defer cancel()
	if cmd == "~HS" && c.asked && time.Since(c.askedAt) <= askFresh {
		c.asked = false // asked ahead (Ask, SendAsk): its reply is on its way
		return p.collect(qctx, ctx, c, cmd, n)
	}
	// A request asked too long ago to tell the state now (or another
	// command): its reply comes first, in order, so it is read and dropped.
	if err := p.dropAsked(qctx, ctx, c); err != nil {
		return nil, err
	}
	if _, err := c.write(qctx, []byte(cmd)); err != nil {
		p.drop(c)
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, &notReadingError{fmt.Errorf("status %s to printer %q: %w: request not taken: %w", cmd, p.cfg.Name, ErrNoReply, err)}
		}
		return nil, fmt.Errorf("status %s to printer %q: %w", cmd, p.cfg.Name, err)
	}
	return p.collect(qctx, ctx, c, cmd, n)
}

// dropAsked reads and drops the reply to a request asked ahead, if any
// (replies come in order: the next one is then the next request's), and
// drops replies nobody waits for. Called with the turn held.
func (p *streamPrinter) dropAsked(qctx, ctx context.Context, c *streamConn) error {
	if c.asked {
		c.asked = false
		if _, err := p.collect(qctx, ctx, c, "~HS", 3); err != nil {
			return err
		}
	}
	c.drainFrames()
	return nil
}

// askFresh is how old a status asked ahead may be and still be read as
// the state now.
const askFresh = 50 * time.Millisecond

// collect reads the n frames of cmd's reply, until qctx ends. Called with
// the turn held.
func (p *streamPrinter) collect(qctx, ctx context.Context, c *streamConn, cmd string, n int) ([][]byte, error) {
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
			p.drop(c)
			return nil, fmt.Errorf("status %s from printer %q: connection lost: %w", cmd, p.cfg.Name, err)
		case <-qctx.Done():
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("status %s from printer %q: %w", cmd, p.cfg.Name, ErrNoReply)
		}
	}
	return out, nil
}

var _ statusAsker = (*streamPrinter)(nil)
