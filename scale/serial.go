package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"go.bug.st/serial"
)

// LineSettings are a serial line's settings. Scales let the operator change
// them, so every serial driver takes them from config.
type LineSettings struct {
	Baud     int    `toml:"baud" json:"baud"`           // e.g. 9600
	DataBits int    `toml:"data_bits" json:"data_bits"` // 7 or 8
	Parity   string `toml:"parity" json:"parity"`       // "none", "even", "odd"
	StopBits int    `toml:"stop_bits" json:"stop_bits"` // 1 or 2
}

// String writes the settings as "9600 7E1".
func (l LineSettings) String() string {
	p := "N"
	if l.Parity != "" {
		p = strings.ToUpper(l.Parity[:1])
	}
	return fmt.Sprintf("%d %d%s%d", l.Baud, l.DataBits, p, l.StopBits)
}

// withDefaults fills unset fields from def.
func (l LineSettings) withDefaults(def LineSettings) LineSettings {
	if l.Baud == 0 {
		l.Baud = def.Baud
	}
	if l.DataBits == 0 {
		l.DataBits = def.DataBits
	}
	if l.Parity == "" {
		l.Parity = def.Parity
	}
	if l.StopBits == 0 {
		l.StopBits = def.StopBits
	}
	return l
}

func (l LineSettings) validate() error {
	switch {
	case l.Baud < 50 || l.Baud > 4_000_000:
		return fmt.Errorf("%w: line.baud %d: want 50..4000000", ErrConfig, l.Baud)
	case l.DataBits != 7 && l.DataBits != 8:
		return fmt.Errorf("%w: line.data_bits %d: want 7 or 8", ErrConfig, l.DataBits)
	case l.StopBits != 1 && l.StopBits != 2:
		return fmt.Errorf("%w: line.stop_bits %d: want 1 or 2", ErrConfig, l.StopBits)
	}
	switch strings.ToLower(l.Parity) {
	case "none", "even", "odd":
	default:
		return fmt.Errorf("%w: line.parity %q: want none, even or odd", ErrConfig, l.Parity)
	}
	return nil
}

// SerialPort is what the serial drivers need of a port. Read returns
// (0, nil) when the read timeout passes with no data (as go.bug.st/serial does).
type SerialPort interface {
	io.ReadWriteCloser
	SetReadTimeout(time.Duration) error
}

// SerialOpener opens a serial port by path.
type SerialOpener func(path string, line LineSettings) (SerialPort, error)

// OpenSerialPort opens a real serial port (or a pty) with go.bug.st/serial.
func OpenSerialPort(path string, line LineSettings) (SerialPort, error) {
	if err := line.validate(); err != nil {
		return nil, err
	}
	mode := &serial.Mode{BaudRate: line.Baud, DataBits: line.DataBits, StopBits: serial.OneStopBit}
	if line.StopBits == 2 {
		mode.StopBits = serial.TwoStopBits
	}
	switch strings.ToLower(line.Parity) {
	case "even":
		mode.Parity = serial.EvenParity
	case "odd":
		mode.Parity = serial.OddParity
	}
	p, err := serial.Open(path, mode)
	if err != nil {
		return nil, fmt.Errorf("open serial %s (%s): %w", path, line, err)
	}
	return p, nil
}

// portReader reads frames from a serial port against a deadline.
type portReader struct {
	port  SerialPort
	clock Clock
	buf   []byte
	chunk [256]byte
}

// readChunk is the port read timeout: how often a blocked read looks at
// the deadline and the context.
const readChunk = 50 * time.Millisecond

// frame returns the next frame found by split, waiting until timeout.
// split returns the frame length (0: need more bytes) and how many leading
// bytes to discard as noise.
func (p *portReader) frame(ctx context.Context, timeout time.Duration, split func([]byte) (n, skip int)) ([]byte, error) {
	deadline := p.clock.Now().Add(timeout)
	for {
		if n, skip := split(p.buf); skip > 0 || n > 0 {
			if n > 0 {
				f := append([]byte(nil), p.buf[:n]...)
				p.buf = append(p.buf[:0], p.buf[n:]...)
				return f, nil
			}
			p.buf = append(p.buf[:0], p.buf[skip:]...)
			continue
		}
		if len(p.buf) > 4*maxFrame { // noise with no frame in it
			p.buf = p.buf[:0]
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !p.clock.Now().Before(deadline) {
			return nil, fmt.Errorf("%w after %v", ErrTimeout, timeout)
		}
		n, err := p.port.Read(p.chunk[:])
		p.buf = append(p.buf, p.chunk[:n]...)
		if err != nil {
			var pe *serial.PortError
			if errors.As(err, &pe) || errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%w: %v", ErrDisconnected, err)
			}
			return nil, fmt.Errorf("%w: read: %v", ErrDisconnected, err)
		}
	}
}

// splitAfter returns a split func for frames ending in end (after
// stripping bit 7) and starting at start (0: any byte).
func splitAfter(start byte, end []byte) func([]byte) (int, int) {
	return func(b []byte) (int, int) {
		if start != 0 {
			for i, c := range b {
				if c&0x7f == start {
					if i > 0 {
						return 0, i
					}
					break
				}
				if i == len(b)-1 {
					return 0, len(b)
				}
			}
		}
		for i := range b {
			if i+1 >= len(end) && match7(b[i+1-len(end):i+1], end) {
				return i + 1, 0
			}
		}
		return 0, 0
	}
}

func match7(b, want []byte) bool {
	for i := range want {
		if b[i]&0x7f != want[i] {
			return false
		}
	}
	return true
}

// polledConn is a request/response serial scale: Next waits the poll
// interval, sends the weight command and parses the reply.
type polledConn struct {
	source   string
	port     SerialPort
	rd       portReader
	clock    Clock
	poll     time.Duration
	timeout  time.Duration
	mu       sync.Mutex // one command at a time on the line
	polledAt time.Time

	weighCmd []byte
	split    func([]byte) (int, int)
	parse    func([]byte) (Reading, error)
	zero     func(ctx context.Context, c *polledConn) error
	tare     func(ctx context.Context, c *polledConn) error
}

// exchange sends cmd and returns the reply frame.
func (c *polledConn) exchange(ctx context.Context, cmd []byte, split func([]byte) (int, int)) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rd.buf = c.rd.buf[:0] // a late reply to an earlier command is stale
	if _, err := c.port.Write(cmd); err != nil {
		return nil, fmt.Errorf("%w: write %q to %s: %v", ErrDisconnected, cmd, c.source, err)
	}
	f, err := c.rd.frame(ctx, c.timeout, split)
	if err != nil {
		return nil, fmt.Errorf("%s: reply to %q: %w", c.source, strings.TrimSpace(string(cmd)), err)
	}
	return f, nil
}

func (c *polledConn) Next(ctx context.Context) (Reading, error) {
	for {
		if c.poll > 0 && !c.polledAt.IsZero() {
			if wait := c.poll - c.clock.Now().Sub(c.polledAt); wait > 0 {
				select {
				case <-ctx.Done():
					return Reading{}, ctx.Err()
				case <-c.clock.After(wait):
				}
			}
		}
		c.polledAt = c.clock.Now()
		f, err := c.exchange(ctx, c.weighCmd, c.split)
		if err != nil {
			return Reading{}, err
		}
		r, err := c.parse(f)
		switch {
		case errors.Is(err, ErrNotWeight):
			continue
		case err != nil:
			// The scale answered, so the line is fine: report the refusal
			// or garbage as a fault reading and keep the connection.
			r = Reading{Status: StatusFault, NoValue: true, Err: fmt.Errorf("%s: %w", c.source, err)}
		}
		r.Time, r.Source = c.clock.Now(), c.source
		return r, nil
	}
}

func (c *polledConn) Zero(ctx context.Context) error {
	if c.zero == nil {
		return fmt.Errorf("%s: zero: %w", c.source, ErrNotSupported)
	}
	return c.zero(ctx, c)
}

func (c *polledConn) Tare(ctx context.Context) error {
	if c.tare == nil {
		return fmt.Errorf("%s: tare: %w", c.source, ErrNotSupported)
	}
	return c.tare(ctx, c)
}

func (c *polledConn) Close() error { return c.port.Close() }

var crlf = []byte("\r\n")

func newMTSICS(c *polledConn) {
	c.weighCmd = []byte("SI\r\n") // immediate: reports dynamic weights too
	c.split = splitAfter(0, crlf)
	c.parse = ParseMTSICS
	ack := func(cmd string) func(ctx context.Context, c *polledConn) error {
		return func(ctx context.Context, c *polledConn) error {
			f, err := c.exchange(ctx, []byte(cmd+"\r\n"), c.split)
			if err != nil {
				return err
			}
			if err := parseMTSICSAck(cmd, f); err != nil {
				return fmt.Errorf("%s: %s: %w", c.source, cmd, err)
			}
			return nil
		}
	}
	c.zero, c.tare = ack("Z"), ack("T")
}

func newNCI(c *polledConn) {
	c.weighCmd = []byte("W\r")
	c.split = splitAfter('\n', []byte("\r\x03"))
	c.parse = ParseNCI
	c.zero = func(ctx context.Context, c *polledConn) error {
		f, err := c.exchange(ctx, []byte("Z\r"), c.split)
		if err != nil {
			return err
		}
		r, err := ParseNCI(f)
		if err != nil && !errors.Is(err, ErrNotWeight) {
			return fmt.Errorf("%s: Z: %w", c.source, err)
		}
		if r.Status == StatusFault || r.Status == StatusOver {
			return fmt.Errorf("%s: Z: %w: scale reports %s", c.source, ErrRefused, r.Status)
		}
		return nil
	}
	// SCP-01 has no tare command.
}

func newToledo(c *polledConn, unit Unit) {
	c.weighCmd = []byte("W")
	c.split = splitAfter(0x02, []byte("\r"))
	c.parse = func(b []byte) (Reading, error) { return ParseToledo(b, unit) }
	// Z: the 8213 (Brecknell manual) answers with a status reply; some
	// 8217 firmwares answer nothing (Odoo sends and does not wait). So a
	// missing reply is success, and a reply saying out of range is refusal.
	c.zero = func(ctx context.Context, c *polledConn) error {
		f, err := c.exchange(ctx, []byte("Z"), c.split)
		if errors.Is(err, ErrTimeout) {
			return nil
		}
		if err != nil {
			return err
		}
		if r, err := ParseToledo(f, unit); err == nil && (r.Status == StatusOver || r.Status == StatusUnder) {
			return fmt.Errorf("%s: Z: %w: scale reports %s", c.source, ErrRefused, r.Status)
		}
		return nil
	}
	// T gets no reply: send and do not wait.
	c.tare = func(ctx context.Context, c *polledConn) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, err := c.port.Write([]byte("T")); err != nil {
			return fmt.Errorf("%w: write \"T\" to %s: %v", ErrDisconnected, c.source, err)
		}
		return nil
	}
}

// toledoContConn reads Toledo continuous output: frames arrive by
// themselves, several per second; no frame within the timeout is an error.
type toledoContConn struct {
	source   string
	port     SerialPort
	rd       portReader
	clock    Clock
	timeout  time.Duration
	checksum bool
}

func (c *toledoContConn) split(b []byte) (int, int) {
	for i, x := range b {
		if x&0x7f == 0x02 {
			if i > 0 {
				return 0, i
			}
			break
		}
		if i == len(b)-1 {
			return 0, len(b)
		}
	}
	n := ToledoFrameLen
	if c.checksum {
		n++
	}
	if len(b) < n {
		return 0, 0
	}
	if b[16]&0x7f != '\r' {
		return 0, 1 // an STX inside noise: resync on the next one
	}
	return n, 0
}

// maxBadFrames is how many bad frames in a row mean a misconfigured line
// (checksum setting, baud) rather than noise.
const maxBadFrames = 8

func (c *toledoContConn) Next(ctx context.Context) (Reading, error) {
	for bad := 0; ; bad++ {
		f, err := c.rd.frame(ctx, c.timeout, c.split)
		if err != nil {
			return Reading{}, fmt.Errorf("%s: %w", c.source, err)
		}
		r, err := ParseToledoContinuous(f, c.checksum)
		if (errors.Is(err, ErrChecksum) || errors.Is(err, ErrMalformed)) && bad < maxBadFrames {
			continue // line noise: the next frame is a fraction of a second away
		}
		if err != nil {
			return Reading{}, fmt.Errorf("%s: %w", c.source, err)
		}
		r.Time, r.Source = c.clock.Now(), c.source
		return r, nil
	}
}

func (c *toledoContConn) Zero(context.Context) error {
	return fmt.Errorf("%s: zero: %w (continuous output is one-way)", c.source, ErrNotSupported)
}

func (c *toledoContConn) Tare(context.Context) error {
	return fmt.Errorf("%s: tare: %w (continuous output is one-way)", c.source, ErrNotSupported)
}

func (c *toledoContConn) Close() error { return c.port.Close() }
