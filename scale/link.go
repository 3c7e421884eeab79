package scale

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/packbench/packbench/internal/backoff"
	"github.com/packbench/packbench/internal/clock"
)

// Conn is one open connection to a scale. Drivers implement it; a Link
// owns it. Next blocks until the next reading: drivers skip reports that
// are not weights, and return an error (ErrTimeout, ErrDisconnected, ...)
// when the scale stops answering, after which the Conn is closed.
type Conn interface {
	Next(ctx context.Context) (Reading, error)
	// Zero and Tare return an error wrapping ErrNotSupported where the
	// protocol has no such command.
	Zero(ctx context.Context) error
	Tare(ctx context.Context) error
	Close() error
}

// Opener opens a fresh Conn; a Link calls it on every (re)connect, so HID
// scales are found again under a new hidraw number after a replug.
type Opener func(ctx context.Context) (Conn, error)

// LinkOptions tune a Link; nil means defaults.
type LinkOptions struct {
	Clock  Clock        // default the wall clock
	Logger *slog.Logger // default discards
	// Source names the scale in fault readings (default "scale").
	Source string
	// MinBackoff and MaxBackoff bound the jittered wait between reconnects
	// (defaults 250 ms and 10 s).
	MinBackoff, MaxBackoff time.Duration
}

// Link keeps a scale connected for the life of the daemon: Run opens it,
// publishes its readings, and on any error publishes a fault reading and
// reconnects with jittered backoff. It never exits on a scale fault.
type Link struct {
	open Opener
	opt  LinkOptions

	mu   sync.Mutex
	conn Conn
	last Reading
	subs map[*subscription]struct{}
}

type subscription struct{ ch chan Reading }

// NewLink returns a Link around open; call Run to start it.
func NewLink(open Opener, opts *LinkOptions) *Link {
	var o LinkOptions
	if opts != nil {
		o = *opts
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Source == "" {
		o.Source = "scale"
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 250 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(10*time.Second, o.MinBackoff)
	}
	return &Link{open: open, opt: o, subs: map[*subscription]struct{}{}}
}

// Run keeps the scale connected until ctx ends, and returns ctx.Err().
func (l *Link) Run(ctx context.Context) error {
	bo := backoff.New(l.opt.MinBackoff, l.opt.MaxBackoff)
	lastErr := ""
	for {
		got, err := l.runOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if got {
			bo.Reset()
			lastErr = ""
		}
		// Warn once per distinct failure: a scale left unplugged all day
		// must not fill the journal.
		level := slog.LevelWarn
		if msg := fmt.Sprint(err); msg == lastErr {
			level = slog.LevelDebug
		} else {
			lastErr = msg
		}
		wait := bo.Next()
		l.opt.Logger.Log(ctx, level, "scale link down", "source", l.opt.Source, "err", err, "retry_in", wait)
		l.publish(Reading{Status: StatusFault, NoValue: true, Time: l.opt.Clock.Now(), Source: l.opt.Source, Err: err})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.opt.Clock.After(wait):
		}
	}
}

// runOnce opens the scale and publishes readings until it fails; got says
// whether any reading came through (which resets the backoff).
func (l *Link) runOnce(ctx context.Context) (got bool, err error) {
	c, err := l.open(ctx)
	if err != nil {
		return false, err
	}
	l.mu.Lock()
	l.conn = c
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.conn = nil
		l.mu.Unlock()
		c.Close()
	}()
	for {
		r, err := c.Next(ctx)
		if err != nil {
			return got, err
		}
		got = true
		l.publish(r)
	}
}

func (l *Link) publish(r Reading) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = r
	for s := range l.subs {
		offerNewest(s.ch, r)
	}
}

// offerNewest sends r without blocking, dropping the oldest queued reading
// when the buffer is full: a slow subscriber sees the newest weight, never
// a frozen one.
func offerNewest(ch chan Reading, r Reading) {
	for {
		select {
		case ch <- r:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}

// Subscribe returns a channel of readings (buffered; the oldest is dropped
// when full) and a function that ends the subscription.
func (l *Link) Subscribe(buffer int) (<-chan Reading, func()) {
	s := &subscription{ch: make(chan Reading, max(buffer, 1))}
	l.mu.Lock()
	l.subs[s] = struct{}{}
	l.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.subs, s)
			l.mu.Unlock()
		})
	}
}

// Latest returns the most recent reading (a fault reading while the scale
// is away); ok is false before the first one.
func (l *Link) Latest() (r Reading, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last, !l.last.Time.IsZero()
}

func (l *Link) current() (Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil, fmt.Errorf("%s: %w", l.opt.Source, ErrNotConnected)
	}
	return l.conn, nil
}

// Zero asks the connected scale to zero itself.
func (l *Link) Zero(ctx context.Context) error {
	c, err := l.current()
	if err != nil {
		return err
	}
	return c.Zero(ctx)
}

// Tare asks the connected scale to tare.
func (l *Link) Tare(ctx context.Context) error {
	c, err := l.current()
	if err != nil {
		return err
	}
	return c.Tare(ctx)
}
