package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/internal/backoff"
	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// The raw 9100 front door: the bench listens like a network Zebra printer.
// A sender connects, writes ZPL and closes (nc, socat, CUPS socket://,
// Windows "Standard TCP/IP port" in raw mode, a WMS holding a socket open).
// The stream is cut as the printer reads it (labelrender.ZPLSplitter) and
// every ^XA…^XZ format is checked by the bench's passthrough policy
// (station.CheckZPL, as MQTT pushes and carrier ZPL are) and becomes its
// own durable job, committed before the next byte is read (the formats one
// read brought share a commit). 9100 has no answer channel, so a refusal
// closes the connection:
//
//   - per format, as a printer prints: the formats committed before the
//     refusal stay queued, the refused one and everything after it are
//     not. A stream that starts with garbage, or with a format over
//     MaxFormat, queues nothing; a connection cut inside a format queues
//     nothing of that format.
//   - between formats only whitespace, ~HS and ~HQES may stand: the two
//     queries are answered from the printer's last known status, anything
//     else (text, binary bytes, ~JR, ^JUS …) is refused.
//
// The log names the sender, the job ids and why a connection was refused,
// never the label content.

// Raw9100Options tune the raw 9100 listener; zero values mean the defaults.
type Raw9100Options struct {
	// Printer receives the jobs; "" means the station's printer.
	Printer string
	// MaxConnections caps open connections (default 16). At the cap a
	// newcomer takes the place of the connection idle longest between
	// formats, else it waits up to AdmitWait and is closed unread.
	MaxConnections int
	AdmitWait      time.Duration // default 10 s
	// MaxFormat caps one format in bytes (default and most: the queue's
	// payload limit, 4 MiB); MaxBytes caps a connection (default 64 MiB).
	MaxFormat int
	MaxBytes  int64
	// IdleTimeout closes a connection that sends nothing for this long
	// (default 30 s); a format it left unfinished is not queued.
	IdleTimeout time.Duration
	Logger      *slog.Logger // nil: discard
}

// Defaults of Raw9100Options.
const (
	DefaultRaw9100Conns     = 16
	DefaultRaw9100Admit     = 10 * time.Second
	DefaultRaw9100MaxFormat = queue.DefaultMaxPayload
	DefaultRaw9100MaxBytes  = 64 << 20
	DefaultRaw9100Idle      = 30 * time.Second
	raw9100WriteTimeout     = 5 * time.Second // a status answer
)

// PrinterStatusSource gives a printer's last known status, as its worker
// keeps it; ok is false before the first reading.
type PrinterStatusSource interface {
	PrinterStatus(name string) (st device.Status, ok bool)
}

// Raw9100 serves the raw 9100 port. Make it with NewRaw9100, run Serve.
type Raw9100 struct {
	db      *queue.DB
	st      *station.Station
	status  PrinterStatusSource
	printer string
	opt     Raw9100Options
	log     *slog.Logger
}

// NewRaw9100 checks the options; db and st are required, status may be
// nil (then ~HS answers a printer without news: all clear).
func NewRaw9100(db *queue.DB, st *station.Station, status PrinterStatusSource, opts *Raw9100Options) (*Raw9100, error) {
	if db == nil || st == nil {
		return nil, fmt.Errorf("%w: raw9100: the queue and the station are required", ErrConfig)
	}
	var o Raw9100Options
	if opts != nil {
		o = *opts
	}
	if o.Printer == "" {
		o.Printer = st.Printer()
	} else if err := station.KnownPrinter(st.Printers(), st.Printer(), o.Printer); err != nil {
		return nil, fmt.Errorf("%w: raw9100.printer: %v", ErrConfig, err)
	}
	if o.MaxConnections < 0 || o.MaxFormat < 0 || o.MaxBytes < 0 || o.IdleTimeout < 0 || o.AdmitWait < 0 {
		return nil, fmt.Errorf("%w: raw9100: limits must be positive (0 means the default)", ErrConfig)
	}
	if o.MaxFormat > DefaultRaw9100MaxFormat {
		return nil, fmt.Errorf("%w: raw9100.max_format: at most %d bytes (a job's payload limit), got %d", ErrConfig, DefaultRaw9100MaxFormat, o.MaxFormat)
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = DefaultRaw9100Conns
	}
	if o.AdmitWait == 0 {
		o.AdmitWait = DefaultRaw9100Admit
	}
	if o.MaxFormat == 0 {
		o.MaxFormat = DefaultRaw9100MaxFormat
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultRaw9100MaxBytes
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultRaw9100Idle
	}
	if int64(o.MaxFormat) > o.MaxBytes {
		return nil, fmt.Errorf("%w: raw9100.max_format (%d) is larger than max_bytes (%d)", ErrConfig, o.MaxFormat, o.MaxBytes)
	}
	r := &Raw9100{db: db, st: st, status: status, printer: o.Printer, opt: o, log: o.Logger}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// Printer is the printer the listener's jobs go to.
func (r *Raw9100) Printer() string { return r.printer }

// Serve accepts connections on ln until ctx ends, then closes ln, stops
// reading every connection (a format not yet complete is not queued; one
// being committed is) and returns when all are closed: nil after ctx
// ended, else the accept error.
func (r *Raw9100) Serve(ctx context.Context, ln net.Listener) error {
	lim := NewConnLimit(ln, r.opt.MaxConnections, r.opt.AdmitWait)
	lim.refuse = func(c net.Conn) { c.Close() } // no HTTP answer on a printer port
	stop := context.AfterFunc(ctx, func() { lim.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	// Out of file descriptors and the like pass: wait and accept again,
	// as http.Server does, instead of stopping the bench.
	bo := backoff.New(5*time.Millisecond, time.Second)
	for {
		c, err := lim.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("raw9100: accept: %w", err)
			}
			r.log.Warn("raw 9100: accept failed; trying again", "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(bo.Next()):
			}
			continue
		}
		bo.Reset()
		wg.Go(func() { r.serveConn(ctx, lim, c) })
	}
}

// errConnTooLarge: the connection sent more than MaxBytes.
var errConnTooLarge = errors.New("connection sent more than max_bytes")

// raw9100Reader reads one connection for the scanner: each read waits at
// most the idle timeout, the connection at most MaxBytes, and the
// connection limit learns when it waits between formats.
type raw9100Reader struct {
	c       net.Conn
	idle    time.Duration
	left    int64
	between func() bool  // no format pending: the wait is idle
	flush   func() error // commits the formats read so far
	lim     *ConnLimit

	mu      sync.Mutex
	stopped bool // shutdown: no more reads
}

func (rd *raw9100Reader) Read(p []byte) (int, error) {
	// Every format read so far is durable before another byte is read.
	if err := rd.flush(); err != nil {
		return 0, err
	}
	rd.mu.Lock()
	if rd.stopped {
		rd.mu.Unlock()
		return 0, net.ErrClosed
	}
	rd.c.SetReadDeadline(time.Now().Add(rd.idle))
	rd.mu.Unlock()
	if rd.left < 0 {
		return 0, errConnTooLarge
	}
	if int64(len(p)) > rd.left+1 {
		p = p[:rd.left+1] // one byte more tells "over the cap" from "exactly at it"
	}
	if rd.between() {
		rd.lim.ConnState(rd.c, http.StateIdle)
	}
	n, err := rd.c.Read(p)
	if n > 0 {
		rd.lim.ConnState(rd.c, http.StateActive)
	}
	if int64(n) > rd.left {
		// A byte past the cap: hand on what fits, the next read fails.
		n, rd.left = int(rd.left), -1
		return n, nil
	}
	rd.left -= int64(n)
	return n, err
}

// stop ends reading: the pending read returns at once, later ones fail.
func (rd *raw9100Reader) stop() {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.stopped = true
	rd.c.SetReadDeadline(time.Unix(1, 0))
}

// serveConn reads one connection: formats become jobs, status queries are
// answered, anything else ends it.
func (r *Raw9100) serveConn(ctx context.Context, lim *ConnLimit, c net.Conn) {
	remote := c.RemoteAddr().String()
	sp := labelrender.NewZPLSplitter()
	pending := false // a piece is being received
	pieces := 0
	// Idle is between pieces, once the sender sent one: a connection
	// that has not sent anything yet is new, not idle (as for HTTP).
	rd := &raw9100Reader{c: c, idle: r.opt.IdleTimeout, left: r.opt.MaxBytes, lim: lim, between: func() bool { return !pending && pieces > 0 }}
	stop := context.AfterFunc(ctx, rd.stop)
	defer func() {
		stop()
		lim.ConnState(c, http.StateClosed)
		c.Close()
	}()
	split := func(data []byte, atEOF bool) (int, []byte, error) {
		n, tok, err := sp.Split(data, atEOF)
		pending = tok == nil && err == nil && len(data) > n
		return n, tok, err
	}
	// jobs are the first committed job ids, for the log; formats counts all.
	var jobs []string
	formats := 0
	// batch are the checked formats not yet committed: those the last
	// read brought. They are committed together (one fsync) before the
	// next read, before a status answer and before the connection ends.
	var batch []checkedFormat
	rd.flush = func() error {
		ids, err := r.commitAll(batch)
		batch = batch[:0]
		formats += len(ids)
		for _, id := range ids[:min(len(ids), max(0, maxLoggedJobs-len(jobs)))] {
			jobs = append(jobs, id.String())
		}
		return err
	}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, min(32<<10, r.opt.MaxFormat)), r.opt.MaxFormat)
	sc.Split(split)
	for sc.Scan() {
		pieces++
		p := sp.Last()
		var err error
		if p.Command != "" {
			if err = rd.flush(); err == nil {
				err = r.answer(c, p)
			}
		} else {
			var f checkedFormat
			if f, err = r.check(remote, sc.Bytes()); err == nil {
				batch = append(batch, f)
			}
		}
		if err != nil {
			// The formats before the refused piece are committed.
			if ferr := rd.flush(); ferr != nil {
				err = fmt.Errorf("%w (and committing the formats before it: %v)", err, ferr)
			}
			r.refused(remote, formats, jobs, fmt.Errorf("piece at byte %d of the stream: %w", p.Offset, err))
			return
		}
	}
	err := sc.Err()
	if ferr := rd.flush(); ferr != nil && err == nil {
		err = ferr
	}
	var ne net.Error
	switch {
	case err == nil:
		r.log.Info("raw 9100: connection done", "remote", remote, "formats", formats, "jobs", jobs)
	case errors.Is(err, bufio.ErrTooLong):
		r.refused(remote, formats, jobs, fmt.Errorf("a format is larger than max_format (%d bytes)", r.opt.MaxFormat))
	case ctx.Err() != nil:
		r.log.Info("raw 9100: connection closed at shutdown; an unfinished format was not queued", "remote", remote, "formats", formats, "jobs", jobs)
	case errors.Is(err, net.ErrClosed):
		r.log.Info("raw 9100: connection idle longest closed to make room for another sender; an unfinished format was not queued", "remote", remote, "formats", formats, "jobs", jobs)
	case errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded):
		r.log.Info("raw 9100: connection idle: closed; an unfinished format was not queued", "remote", remote, "idle_timeout", r.opt.IdleTimeout, "formats", formats, "jobs", jobs)
	default:
		r.refused(remote, formats, jobs, err)
	}
}

// refused logs why a connection ended early: never the label itself.
func (r *Raw9100) refused(remote string, formats int, jobs []string, err error) {
	r.log.Warn("raw 9100: input refused, connection closed; nothing of the refused format or after it was queued",
		"remote", remote, "formats_queued", formats, "jobs", jobs, "err", err)
}

// maxLoggedJobs caps the job ids a connection's log line names (a sender
// holding its socket open for a day sends thousands).
const maxLoggedJobs = 10

// checkedFormat is a format that passed the policy, as the job it becomes.
type checkedFormat struct {
	nj      queue.NewJob
	allowed []string // setting commands [zpl] allow let through
}

// check checks one format and makes its job, with its own copy of the
// bytes (the scanner reuses its buffer) and a random idempotency key.
func (r *Raw9100) check(remote string, format []byte) (checkedFormat, error) {
	if i := binaryByte(format); i >= 0 {
		return checkedFormat{}, &labelrender.ZPLError{Offset: i, Reason: fmt.Sprintf("binary byte 0x%02x in a format", format[i])}
	}
	rep, err := r.st.CheckZPL(format, 1)
	if err != nil {
		return checkedFormat{}, err
	}
	var id [16]byte
	rand.Read(id[:])
	return checkedFormat{nj: queue.NewJob{
		Key: "raw9100:" + hex.EncodeToString(id[:]), Source: queue.SourceRaw9100, Printer: r.printer,
		ContentType: queue.ContentZPL, Payload: bytes.Clone(format), Copies: 1, Origin: remote,
	}, allowed: rep.Allowed}, nil
}

// commitAll commits checked formats, in order, in one transaction shared
// with other connections' (queue.DB.Batch). It runs to its end even at
// shutdown: the sender has sent every one of these formats whole.
func (r *Raw9100) commitAll(fs []checkedFormat) ([]queue.JobID, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	ids := make([]queue.JobID, len(fs))
	err := r.db.Batch(func(tx *queue.Tx) error {
		for i, f := range fs {
			j, _, err := tx.Enqueue(f.nj)
			if err != nil {
				return err
			}
			ids[i] = j.ID
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("commit %d formats: %w", len(fs), err)
	}
	for i, f := range fs {
		r.st.LogZPLSettings(ids[i], "raw9100", f.allowed)
	}
	return ids, nil
}

// binaryByte is the offset of the first control byte ZPL text has no use
// for (all but TAB, CR, LF and the RS, DLE and US stand-ins for ^, ~ and
// ,), or -1. A PDF, an image or random bytes sent to the port stop here
// even where the policy would find no command in them.
func binaryByte(b []byte) int {
	for i, c := range b {
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' && c != 0x1E && c != 0x10 && c != 0x1F || c == 0x7F {
			return i
		}
	}
	return -1
}

// answer replies to a command found between formats: ~HS and ~HQES get
// the printer's status; anything else is refused.
func (r *Raw9100) answer(c net.Conn, p labelrender.ZPLPiece) error {
	var reply []byte
	switch {
	case p.Command == "~HS":
		reply = device.FormatHostStatus(r.hostStatus())
	case p.Command == "~HQ" && p.Query == "ES":
		st := r.hostStatus()
		reply = device.FormatExtendedStatus(st.Errors, st.Warnings)
	default:
		return &labelrender.ZPLError{Offset: p.Offset, Command: p.Command + p.Query,
			Reason: "outside a format only ~HS and ~HQES are answered; commands that act on the printer are refused"}
	}
	c.SetWriteDeadline(time.Now().Add(raw9100WriteTimeout))
	if _, err := c.Write(reply); err != nil {
		return fmt.Errorf("answer %s%s: %w", p.Command, p.Query, err)
	}
	return nil
}

// hostStatus is the printer's last known status as a Zebra would report
// it: the flags of ~HS and ~HQES agree (a condition read from either
// shows in both), a printer that is offline, silent or failing shows as
// paused (the bench holds its queue as for a paused printer), and the
// formats in buffer count the jobs the bench still holds for it, so a
// sender waiting for "0 formats" waits for its labels.
func (r *Raw9100) hostStatus() device.Status {
	var st device.Status
	if r.status != nil {
		if s, ok := r.status.PrinterStatus(r.printer); ok {
			st = s
		}
	}
	out := st
	if !st.Known {
		out = device.Status{Errors: st.Errors, Warnings: st.Warnings}
	}
	flag := func(b *bool, state device.State, bit uint64) {
		*b = *b || st.State == state || out.Errors&bit != 0
		if *b {
			out.Errors |= bit
		}
	}
	flag(&out.PaperOut, device.StatePaperOut, device.ErrFlagMediaOut)
	flag(&out.HeadOpen, device.StateHeadOpen, device.ErrFlagHeadOpen)
	flag(&out.RibbonOut, device.StateRibbonOut, device.ErrFlagRibbonOut)
	flag(&out.OverTemp, device.StateOverTemp, device.ErrFlagHeadOverTemp)
	out.UnderTemp = out.UnderTemp || st.State == device.StateUnderTemp
	switch st.State {
	case device.StatePaused, device.StateOffline, device.StateNoReply, device.StateError:
		out.Paused = true
	}
	if out.FunctionSettings == 0 && out.FormatWhilePrint == 0 {
		out.FormatWhilePrint = 1
	}
	held := 0
	for _, s := range []queue.State{queue.StateQueued, queue.StateSending} {
		if js, err := r.db.List(context.Background(), queue.ListOptions{State: s, Printer: r.printer, Limit: 999}); err == nil {
			held += len(js)
		}
	}
	out.FormatsInBuffer = min(999, out.FormatsInBuffer+held)
	return out
}
