package station

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/packbench/packbench/internal/clock"
	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

// Consumer is the outbox consumer name Run registers to follow job states.
const Consumer = "station"

// Options are the station's dependencies; nil or zero fields mean defaults.
type Options struct {
	// Config is the [label], [carrier], [flow] and [ship_from] config;
	// empty fields get their defaults (see Config.WithDefaults).
	Config Config
	// Logger receives the station's log; nil discards it.
	Logger *slog.Logger
	// Clock dates labels and records and times the http carrier's retry
	// waits; nil means clock.Real{}. Tests inject internal/clocktest.
	Clock clock.Clock
	// HTTPClient talks to an http carrier; nil means a client without
	// its own timeout (each attempt has carrier.http.timeout).
	HTTPClient *http.Client
	// Printers are the configured printer names; flow labels go to
	// Config.Flow.Printer or else the first of them.
	Printers []string
	// Carrier replaces the configured carrier (tests, other integrations).
	Carrier Carrier
	// Scale tares and zeroes the scale for the tare and zero command
	// barcodes; nil: those commands answer with a problem.
	Scale ScaleControl
	// About is printed on a test label a command barcode asks for (the
	// bench's name and version).
	About string
}

// Station is the bench's business logic: orders, shipments, the carrier
// and the hands-free flow. It is safe for concurrent use.
type Station struct {
	db       *queue.DB
	cfg      Config
	log      *slog.Logger
	clock    clock.Clock
	carrier  Carrier
	printer  string
	printers []string            // configured printer names (may be empty)
	label    labelrender.Options // DPI and size; Date set per label

	// shipLocks serialise labelling, voiding and cancelling per order, so
	// two callers cannot take the same package of an order; other orders
	// go on meanwhile.
	shipLocks orderLocks
	// stranded are the queued jobs whose printer is not configured.
	stranded unprintable
	// orders keeps decoded orders for the read paths (see orderCache).
	orders *orderCache
	// feedMu serialises scale events: a Placed is fully handled before the
	// Removed that follows it.
	feedMu sync.Mutex
	scale  ScaleControl // nil: no tare/zero commands
	about  string
	// pairing are the pending kiosk pairing codes (kiosk.go).
	pairing pairingBook
	// events is how far Run has handled and acknowledged the outbox; only
	// Run's goroutine (drainEvents) touches it.
	events eventCursor

	mu     sync.Mutex // guards the fields below
	flow   FlowState
	armed  string // armed order id; "" when none
	subs   map[int]chan FlowState
	nextID int
	// printerAttn is each printer's attention code (absent: fine).
	printerAttn map[string]string
	signalSeq   uint64
	signalled   *Problem // the problem last sounded
	// waiting is the parcel on the scale that was placed with no order
	// armed (nil: none): the button's "print now" labels it.
	waiting *scale.Reading
}

// New checks the config, builds the carrier and returns the station. It
// registers the outbox consumer "station" (see Run).
func New(db *queue.DB, opts *Options) (*Station, error) {
	if db == nil {
		return nil, errors.New("station: new: nil queue")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	cfg := o.Config.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("station: new: %w", err)
	}
	s := &Station{db: db, cfg: cfg, log: o.Logger, clock: o.Clock, subs: map[int]chan FlowState{}, orders: newOrderCache(orderCacheBytes),
		printerAttn: map[string]string{}, scale: o.Scale, about: o.About}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	s.printers = slices.Clone(o.Printers)
	s.printer = cfg.Flow.Printer
	if s.printer == "" && len(o.Printers) > 0 {
		s.printer = o.Printers[0]
	}
	if s.printer == "" {
		return nil, fmt.Errorf("station: new: %w: flow.printer: no printer configured", ErrConfig)
	}
	if cfg.Flow.Printer != "" && len(o.Printers) > 0 && !slices.Contains(o.Printers, cfg.Flow.Printer) {
		return nil, fmt.Errorf("station: new: %w: flow.printer: %q is not one of the configured printers %v", ErrConfig, cfg.Flow.Printer, o.Printers)
	}
	w, h, _ := labelrender.ParseSize(cfg.Label.Size, cfg.Label.DPI) // checked by Validate
	s.label = labelrender.Options{DPI: cfg.Label.DPI, WidthDots: w, HeightDots: h}

	switch {
	case o.Carrier != nil:
		s.carrier = o.Carrier
	case cfg.Carrier.Kind == CarrierHTTP:
		c, err := NewHTTPCarrier(cfg.Carrier, &HTTPCarrierOptions{Client: o.HTTPClient, Logger: s.log, Clock: s.clock})
		if err != nil {
			return nil, fmt.Errorf("station: new: %w", err)
		}
		s.carrier = c
	default:
		c, err := NewLocalCarrier(db, cfg.Carrier)
		if err != nil {
			return nil, fmt.Errorf("station: new: %w", err)
		}
		s.carrier = c
	}
	if err := db.AddConsumer(context.Background(), Consumer); err != nil {
		return nil, fmt.Errorf("station: new: %w", err)
	}
	// What Run keeps in memory is read from the file below (the stranded
	// jobs, the last label's job state, an uncertain job): events up to
	// now are in it already, and handling them again would replay old
	// job states over the ones read (issue 20: Run acknowledges lazily).
	// Taken first, so an event committed during the reads is still handled.
	last, err := db.LastEventID(context.Background())
	if err != nil {
		return nil, fmt.Errorf("station: new: %w", err)
	}
	cons, err := db.Consumers(context.Background())
	if err != nil {
		return nil, fmt.Errorf("station: new: %w", err)
	}
	s.events = eventCursor{handled: max(last, cons[Consumer]), acked: cons[Consumer]}
	if err := s.scanUnprintable(context.Background()); err != nil {
		return nil, fmt.Errorf("station: new: queued jobs: %w", err)
	}
	s.flow = FlowState{State: FlowIdle, Updated: s.clock.Now()}
	if err := s.restoreLastLabel(context.Background()); err != nil {
		return nil, fmt.Errorf("station: new: %w", err)
	}
	s.feedbackLocked()
	// A job left uncertain by a stop waits for the packer's decision on
	// the page ("Printed? Yes / Print again").
	if err := s.showUncertain(context.Background()); err != nil {
		return nil, fmt.Errorf("station: new: uncertain jobs: %w", err)
	}
	return s, nil
}

// Config returns the station's config with defaults applied and secrets
// redacted (for the API's config view).
func (s *Station) Config() Config { return s.cfg.Redacted() }

// Printer is the printer flow labels go to.
func (s *Station) Printer() string { return s.printer }

// The station's outbox cursor is acknowledged (a commit of its own) once
// ackEvery events are handled since the last ack, or once no event came
// for ackQuiet, and when Run ends: not after every batch, as each ack took
// the database's writer (two fsyncs) just when the printer worker wanted
// it for a label's claim and write-ahead mark (issue 20). What Run does
// with the events is kept in memory only (the flow's job states, the
// unprintable count), which New reads from the file: after a crash the
// cursor only holds back events that housekeeping would delete.
const (
	ackEvery = 200
	ackQuiet = time.Second
)

// eventCursor is Run's position in the outbox: the last event handled and
// the last one acknowledged.
type eventCursor struct{ handled, acked uint64 }

// Run follows job state changes through the outbox (consumer "station")
// and reflects them in packages and the flow state, until ctx is done.
// It returns ctx.Err(), or the error that stopped it (queue closed).
func (s *Station) Run(ctx context.Context) error {
	defer s.ackEvents(context.WithoutCancel(ctx))
	var quiet <-chan time.Time
	for {
		wait := s.db.WaitEvents()
		n, err := s.drainEvents(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, queue.ErrClosed) {
				return fmt.Errorf("station: run: %w", err)
			}
			s.log.Warn("station: following job states", "err", err)
		}
		if n > 0 {
			quiet = nil
			continue
		}
		if quiet == nil && s.events.handled > s.events.acked {
			quiet = s.clock.After(ackQuiet)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wait:
		case <-quiet:
			quiet = nil
			if err := s.ackEvents(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("station: acknowledging job states", "err", err)
			}
		}
	}
}

// drainEvents handles one batch of outbox events; it returns how many.
func (s *Station) drainEvents(ctx context.Context) (int, error) {
	evs, err := s.db.EventsAfter(ctx, s.events.handled, 200)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	for _, ev := range evs {
		s.trackEvent(ev)
		if ev.Type != queue.EventJobState || ev.JobID == 0 {
			continue
		}
		if err := s.jobChanged(ev); err != nil {
			return 0, err
		}
	}
	s.events.handled = evs[len(evs)-1].ID
	if s.events.handled-s.events.acked >= ackEvery {
		if err := s.ackEvents(ctx); err != nil {
			return 0, err
		}
	}
	return len(evs), nil
}

// ackEvents acknowledges the events handled so far, if any are not yet.
func (s *Station) ackEvents(ctx context.Context) error {
	if s.events.handled <= s.events.acked {
		return nil
	}
	if err := s.db.Ack(ctx, Consumer, s.events.handled); err != nil {
		return err
	}
	s.events.acked = s.events.handled
	return nil
}

// Subscribe returns a channel that receives the flow state after every
// change (the newest replaces one not yet read) and a cancel function that
// closes it. The current state is sent at once.
func (s *Station) Subscribe() (<-chan FlowState, func()) {
	ch := make(chan FlowState, 1)
	s.mu.Lock()
	id := s.nextID
	s.nextID++
	s.subs[id] = ch
	ch <- s.flow
	s.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.subs, id)
			s.mu.Unlock()
			close(ch)
		})
	}
}

// State returns the current flow state.
func (s *Station) State() FlowState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flow
}

// publishLocked stamps the state and hands it to subscribers; s.mu is held.
func (s *Station) publishLocked() {
	s.feedbackLocked()
	s.flow.Seq++
	s.flow.Updated = s.clock.Now()
	for _, ch := range s.subs {
		select {
		case ch <- s.flow:
		default:
			select { // drop the unread older state, keep the newest
			case <-ch:
			default:
			}
			ch <- s.flow
		}
	}
}
