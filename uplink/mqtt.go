package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/internal/backoff"
	"github.com/packbench/packbench/internal/clock"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

// Commands runs cmd/<verb> requests other than ping (which the link
// answers itself). args is the request's "args" (may be nil). The result
// is sent back as JSON on res/<verb>. Unknown verbs return an error
// wrapping ErrUnknownVerb. Do runs on the link's command worker, one
// command at a time: it may block, but not for long.
type Commands interface {
	Do(ctx context.Context, verb string, args json.RawMessage) (any, error)
}

// Command verbs the daemon is expected to implement (cmd/<verb>).
const (
	VerbPing      = "ping" // answered by the link itself
	VerbReprint   = "reprint"
	VerbCancel    = "cancel"
	VerbRetry     = "retry"
	VerbTare      = "tare"
	VerbZero      = "zero"
	VerbTestPrint = "test-print"
	VerbConfigGet = "config-get"
	// VerbFirmwareUpdate starts a signed update from an https URL (args
	// url, signature); answered when it started, progress and outcome in
	// the state and as firmware.* events.
	VerbFirmwareUpdate = "firmware.update"
)

// CommandVerbs is a Commands that says which verbs it answers. Home
// Assistant discovery advertises a button only for a verb the bench's
// Commands list this way, so nothing it offers is answered "unknown
// command verb".
type CommandVerbs interface {
	Verbs() []string
}

// StateSource gives the bench's current state for the retained state
// topic. State must be cheap and safe to call from any goroutine.
type StateSource interface {
	State() BenchState
}

// BenchState is the daemon's part of the retained state message. The link
// adds the queue depth itself.
type BenchState struct {
	Printers []PrinterState `json:"printers"`
	Scale    *ScaleState    `json:"scale,omitempty"`
	Flow     string         `json:"flow,omitempty"` // the hands-free flow's state
	// Attention are the problem codes the bench's status LED blinks, most
	// urgent first (paper_out, printer_offline, no_order…), so a bench
	// without a screen is diagnosed from afar; LED is its mode and Blinks
	// the flashes (docs/headless.md).
	Attention []string      `json:"attention,omitempty"`
	LED       string        `json:"led,omitempty"`
	Blinks    int           `json:"blinks,omitempty"`
	Firmware  FirmwareState `json:"firmware"`
}

// PrinterState is one printer in the state message.
type PrinterState struct {
	Name   string `json:"name"`
	State  string `json:"state"` // device.State: ready, paper_out, offline…
	Reason string `json:"reason,omitempty"`
}

// ScaleState is the scale in the state message.
type ScaleState struct {
	Source string `json:"source"`
	Status string `json:"status"` // scale.Status text
}

// FirmwareState is the firmware in the state message. Latest is empty
// when no update is known.
type FirmwareState struct {
	Installed string `json:"installed"`
	Latest    string `json:"latest,omitempty"`
	// Pending is a version switched to that has not reported healthy yet.
	Pending string `json:"pending,omitempty"`
	// Update is a running update: its step and download progress.
	Update *FirmwareUpdate `json:"update,omitempty"`
	// Last is how the last update ended.
	Last *FirmwareOutcome `json:"last,omitempty"`
}

// FirmwareUpdate is an update in progress.
type FirmwareUpdate struct {
	Step  string `json:"step"` // downloading, verified, staged, switched
	Done  int64  `json:"done,omitempty"`
	Total int64  `json:"total,omitempty"`
}

// FirmwareOutcome is the end of an update: committed, rolled_back or
// refused, with the reason.
type FirmwareOutcome struct {
	Version string `json:"version,omitempty"`
	Result  string `json:"result"`
	Reason  string `json:"reason,omitempty"`
}

// statePayload is what goes on the state topic.
type statePayload struct {
	DeviceID string `json:"device_id"`
	BenchState
	Queue queueState `json:"queue"`
}

type queueState struct {
	Depth  int                 `json:"depth"` // queued + sending
	Counts map[queue.State]int `json:"counts"`
}

// Deps are what the link consumes. Queue and Intake are required.
type Deps struct {
	Queue    *queue.DB
	Intake   Intake
	Commands Commands             // nil: only ping is answered
	State    StateSource          // nil: state carries the queue only
	Weights  <-chan scale.Reading // nil: no weight topic
	Logger   *slog.Logger
}

// Options tune the link; nil or zero fields mean the defaults.
type Options struct {
	Clock          Clock
	Consumer       string        // outbox consumer name; default "mqtt"
	Window         int           // events in flight at once; default 256
	PushBuffer     int           // pushes waiting for the intake; default 65536 (QoS 1 packet ids bound a connection's)
	MinBackoff     time.Duration // default 500ms
	MaxBackoff     time.Duration // default 30s
	ConnectTimeout time.Duration // default 10s
	AckTimeout     time.Duration // wait for a PUBACK/SUBACK; default 10s
	StateInterval  time.Duration // state re-check; default 5s
	Version        string        // firmware version for Home Assistant
	// MaxMessage is the largest payload read from the broker; a larger
	// push is refused without being read into memory (DefaultMaxMessage).
	MaxMessage int

	// test hooks, set by this package's tests only
	beforeAck func(PushJob, PushResult)
	afterAck  func(PushJob, PushResult)
}

// DefaultConsumer is the outbox consumer the link registers.
const DefaultConsumer = "mqtt"

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Clock == nil {
		r.Clock = clock.Real{}
	}
	if r.Consumer == "" {
		r.Consumer = DefaultConsumer
	}
	if r.Window <= 0 {
		r.Window = 256
	}
	if r.PushBuffer <= 0 {
		r.PushBuffer = 1 << 16
	}
	if r.MinBackoff <= 0 {
		r.MinBackoff = 500 * time.Millisecond
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = 30 * time.Second
	}
	r.MaxBackoff = max(r.MaxBackoff, r.MinBackoff)
	if r.ConnectTimeout <= 0 {
		r.ConnectTimeout = 10 * time.Second
	}
	if r.AckTimeout <= 0 {
		r.AckTimeout = 10 * time.Second
	}
	if r.StateInterval <= 0 {
		r.StateInterval = 5 * time.Second
	}
	if r.MaxMessage <= 0 {
		r.MaxMessage = DefaultMaxMessage
	}
	return r
}

// MQTT is the bench's link to the cloud broker. Create it with New and run
// it with Run.
type MQTT struct {
	cfg    Config
	deps   Deps
	o      Options
	log    *slog.Logger
	broker string
	t      topics
	marker []byte // the stand-in payload's prefix for an oversize message (wire.go)

	gen atomic.Uint64 // connection generation: pushes of older ones are redelivered, so skipped
	// stalled is a generation one of whose pushes was left unacknowledged:
	// its later pushes are left too, so none overtakes it (the broker
	// redelivers them all, in order, on the next connection).
	stalled  atomic.Uint64
	pushes   *fifo
	commands chan paho.Message
	recycle  chan struct{} // ask runOnce to reconnect (a push could not be taken)
	stateNow chan struct{}
	connects chan struct{} // a new connection is up (the weight loop republishes)

	client    atomic.Pointer[paho.Client] // the live client, nil between connections
	connected atomic.Bool

	statusMu sync.Mutex
	status   LinkStatus
}

// LinkStatus is the link's state as a health report shows it.
type LinkStatus struct {
	Connected bool
	// Error is why the link is down (the last failed connect or the lost
	// connection); empty while connected and before the first attempt.
	Error string
	// Since is when Connected last changed (zero before the first attempt).
	Since time.Time
}

// Status reports whether the link is up and, when it is not, why.
func (m *MQTT) Status() LinkStatus {
	m.statusMu.Lock()
	defer m.statusMu.Unlock()
	return m.status
}

func (m *MQTT) setStatus(up bool, err error) {
	m.statusMu.Lock()
	defer m.statusMu.Unlock()
	if up != m.status.Connected || m.status.Since.IsZero() {
		m.status.Since = m.o.Clock.Now()
	}
	m.status.Connected = up
	m.status.Error = ""
	if err != nil {
		m.status.Error = err.Error()
	}
}

// New checks cfg and deps; it does no I/O.
func New(cfg Config, deps Deps, opts *Options) (*MQTT, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Queue == nil {
		return nil, errors.New("uplink: new: Deps.Queue is required")
	}
	if deps.Intake == nil {
		return nil, errors.New("uplink: new: Deps.Intake is required")
	}
	cfg = cfg.withDefaults()
	broker, _, err := cfg.broker()
	if err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &MQTT{
		cfg: cfg, deps: deps, o: o, broker: broker, t: newTopics(cfg), marker: newOversizeMarker(),
		log:      log.With("link", "mqtt", "broker", broker, "device", cfg.DeviceID),
		pushes:   newFIFO(o.PushBuffer),
		commands: make(chan paho.Message, 64),
		recycle:  make(chan struct{}, 1),
		stateNow: make(chan struct{}, 1),
		connects: make(chan struct{}, 1),
	}, nil
}

// Connected reports whether the broker connection is up.
func (m *MQTT) Connected() bool { return m.connected.Load() }

// StateChanged asks for the state to be published now (it never blocks).
func (m *MQTT) StateChanged() { kick(m.stateNow) }

func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run keeps the link up until ctx ends: one connection at a time
// (runOnce), reconnecting with jittered backoff. It returns ctx's error,
// or an error from the start that retrying cannot fix.
//
// Reconnects are ours, not paho's auto-reconnect: every connection gets a
// fresh client whose outbox window restarts at the durable cursor, so a
// publish token that paho completes across a reconnect can never move the
// cursor.
func (m *MQTT) Run(ctx context.Context) error {
	if err := m.deps.Queue.AddConsumer(ctx, m.o.Consumer); err != nil {
		return fmt.Errorf("uplink: run: %w", err)
	}
	if _, err := tlsConfig(m.cfg); err != nil {
		return fmt.Errorf("uplink: run: %w", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { m.pushWorker(ctx) })
	wg.Go(func() { m.commandWorker(ctx) })
	if m.deps.Weights != nil {
		wg.Go(func() { m.weightLoop(ctx) })
	}
	defer wg.Wait()

	bo := backoff.New(m.o.MinBackoff, m.o.MaxBackoff)
	for {
		start := m.o.Clock.Now()
		up, err := m.runOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if up && m.o.Clock.Now().Sub(start) > time.Minute {
			bo.Reset()
		}
		d := bo.Next()
		if errors.Is(err, errRecycle) {
			m.setStatus(false, nil)
			m.log.Info("mqtt: reconnecting so the broker redelivers", "in", d)
		} else {
			m.setStatus(false, err)
			m.log.Warn("mqtt: link down", "err", err, "retry_in", d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-m.o.Clock.After(d):
		}
	}
}

var errRecycle = errors.New("reconnect requested")

// runOnce connects, subscribes, announces online and serves until the
// connection is lost or ctx ends. up says whether it got connected.
func (m *MQTT) runOnce(ctx context.Context) (up bool, err error) {
	lost := make(chan struct{})
	var lostErr error
	var lostOnce sync.Once
	opts, err := m.clientOptions()
	if err != nil {
		return false, err
	}
	opts.SetConnectionLostHandler(func(_ paho.Client, err error) {
		lostOnce.Do(func() { lostErr = err; close(lost) })
	})
	gen := m.gen.Add(1)
	opts.SetDefaultPublishHandler(func(_ paho.Client, msg paho.Message) { m.route(gen, msg) })
	c := paho.NewClient(opts)
	if err := waitToken(ctx, m.o.Clock, c.Connect(), m.o.ConnectTimeout+time.Second, nil); err != nil {
		c.Disconnect(0)
		return false, connectError(m.cfg, m.broker, err)
	}
	m.log.Info("mqtt: connected")
	// Stored before subscribing: a command redelivered right after the
	// CONNACK can then be answered on this connection.
	m.client.Store(&c)
	connCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		m.connected.Store(false)
		m.client.Store(nil)
		cancel()
		if ctx.Err() != nil && c.IsConnectionOpen() {
			// A clean disconnect does not fire the will: say it ourselves.
			_ = waitToken(context.Background(), m.o.Clock, c.Publish(m.t.status, 1, true, "offline"), time.Second, lost)
		}
		c.Disconnect(250) // completes any pending token with an error
		wg.Wait()
	}()

	subs := map[string]byte{m.t.push: 1, m.t.cmd + "+": 1}
	if m.t.poolShared != "" {
		subs[m.t.poolShared] = 1
	}
	tok := c.SubscribeMultiple(subs, nil) // nil: the default handler routes
	if err := waitToken(ctx, m.o.Clock, tok, m.o.AckTimeout, lost); err != nil {
		return true, fmt.Errorf("uplink: subscribe: %w", err)
	}
	for topic, qos := range tok.(*paho.SubscribeToken).Result() {
		if qos > 2 {
			return true, fmt.Errorf("uplink: subscribe %s: the broker refused it (check its ACL)", topic)
		}
	}
	if err := waitToken(ctx, m.o.Clock, c.Publish(m.t.status, 1, true, "online"), m.o.AckTimeout, lost); err != nil {
		return true, fmt.Errorf("uplink: publish online: %w", err)
	}
	if m.cfg.HADiscovery {
		payload, err := m.discovery()
		if err != nil {
			return true, err
		}
		if err := waitToken(ctx, m.o.Clock, c.Publish(m.t.discovery, 1, true, payload), m.o.AckTimeout, lost); err != nil {
			return true, fmt.Errorf("uplink: publish discovery: %w", err)
		}
	}
	m.connected.Store(true)
	m.setStatus(true, nil)
	kick(m.connects)

	errc := make(chan error, 2)
	wg.Go(func() { errc <- m.drain(connCtx, c, lost) })
	wg.Go(func() { errc <- m.stateLoop(connCtx, c, lost) })
	select {
	case <-ctx.Done():
		return true, ctx.Err()
	case <-lost:
		return true, fmt.Errorf("uplink: connection lost: %w", lostErr)
	case err := <-errc:
		return true, err
	case <-m.recycle:
		return true, errRecycle
	}
}

func (m *MQTT) clientOptions() (*paho.ClientOptions, error) {
	o := paho.NewClientOptions().
		AddBroker(m.broker).
		SetClientID(m.cfg.DeviceID).
		SetCleanSession(false). // the broker keeps our subscriptions and unacked pushes
		SetAutoReconnect(false).
		SetConnectRetry(false).
		// Order matters: paho calls route on its one incoming goroutine,
		// in the order the broker delivered, so pushes reach the fifo (and
		// the queue, and the events topic) in publish order. route never
		// blocks, so this cannot stall paho's incoming path.
		SetOrderMatters(true).
		SetAutoAckDisabled(true).
		SetKeepAlive(time.Duration(m.cfg.KeepAlive)).
		SetPingTimeout(10*time.Second).
		SetConnectTimeout(m.o.ConnectTimeout).
		SetWriteTimeout(m.o.AckTimeout).
		SetWill(m.t.status, "offline", 1, true).
		// Our own dial: the connection never lets a payload over
		// MaxMessage into memory (boundedConn).
		SetCustomOpenConnectionFn(boundedDial(m.o.MaxMessage, m.marker))
	return withAuth(o, m.cfg)
}

func withAuth(o *paho.ClientOptions, cfg Config) (*paho.ClientOptions, error) {
	if cfg.Username != "" {
		o.SetUsername(cfg.Username)
		o.SetPassword(cfg.Password)
	}
	if _, secure, _ := cfg.broker(); secure {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		o.SetTLSConfig(tc)
	}
	return o, nil
}

// route is paho's handler for every message, called in delivery order on
// paho's incoming goroutine. It never blocks (that would stall every
// message and PUBACK of the connection): messages go to bounded workers in
// order, and one that does not fit stays unacknowledged.
func (m *MQTT) route(gen uint64, msg paho.Message) {
	topic := msg.Topic()
	switch {
	case topic == m.t.push || topic == m.t.pool:
		if gen == m.stalled.Load() {
			return // not acked: redelivered after the push that stalled this connection
		}
		if !m.pushes.put(pushItem{gen, msg}) {
			// Not acked: the broker redelivers it once we reconnect.
			m.log.Warn("mqtt: push buffer full: leaving the push unacknowledged and reconnecting", "topic", topic)
			m.stall(gen)
		}
	case strings.HasPrefix(topic, m.t.cmd):
		select {
		case m.commands <- msg:
		default:
			msg.Ack()
			m.log.Warn("mqtt: command buffer full: dropping the command", "topic", topic)
		}
	default:
		msg.Ack()
	}
}

// pushWorker takes pushes into the bench one at a time and acknowledges
// each after it is committed (or rejected for good).
func (m *MQTT) pushWorker(ctx context.Context) {
	for {
		it, ok := m.pushes.get(ctx)
		if !ok {
			return
		}
		if it.gen != m.gen.Load() || it.gen == m.stalled.Load() {
			continue // the broker redelivers it on the next connection, in order
		}
		m.handlePush(ctx, it.gen, it.msg)
	}
}

// stall leaves the rest of connection gen's pushes unacknowledged and asks
// for a reconnect, so the broker redelivers them in their order.
func (m *MQTT) stall(gen uint64) {
	m.stalled.Store(gen)
	kick(m.recycle)
}

func (m *MQTT) handlePush(ctx context.Context, gen uint64, msg paho.Message) {
	var job PushJob
	var err error
	if size, ok := oversize(m.marker, msg.Payload()); ok {
		// Its payload never reached memory: refused by its size alone.
		err = &PushError{Field: "$", Rule: fmt.Sprintf("push refused: %d bytes, limit %d", size, m.o.MaxMessage)}
	} else {
		job, err = DecodePush(msg.Payload())
	}
	job.Pool = msg.Topic() == m.t.pool
	var res PushResult
	if err == nil {
		res, err = m.deps.Intake.Push(ctx, job)
	}
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: the broker redelivers
		}
		if !rejection(err) {
			m.log.Warn("mqtt: push not taken: leaving it and the pushes after it unacknowledged", "id", short(job.ID), "err", err)
			m.stall(gen)
			return
		}
		if rerr := m.reject(ctx, job, msg.Topic(), err); rerr != nil {
			m.log.Error("mqtt: record push rejection", "id", short(job.ID), "err", rerr)
			m.stall(gen)
			return
		}
		m.log.Info("mqtt: push rejected", "id", short(job.ID), "topic", msg.Topic(), "err", logErr(err))
	}
	if m.o.beforeAck != nil {
		m.o.beforeAck(job, res)
	}
	msg.Ack()
	if m.o.afterAck != nil {
		m.o.afterAck(job, res)
	}
}

// reject records a push.rejected event in the outbox, so the answer is as
// durable as a job and goes out in order with the other events.
//
// Everything in it that came from the push is bounded: an id that broke
// its rule is kept only as a short prefix and not as the event's key (the
// event stores it once), and the field path and the rule (which may quote
// the push, e.g. an unknown member's name) are clipped.
func (m *MQTT) reject(ctx context.Context, job PushJob, topic string, cause error) error {
	d := RejectedData{PushID: short(job.ID), Rule: clip(cause.Error(), maxRuleLen), Topic: topic}
	var pe *PushError
	if errors.As(cause, &pe) {
		d.Field, d.Rule = clip(pe.Field, maxFieldLen), clip(pe.Rule, maxRuleLen)
	}
	valid := validID(job.ID) == nil
	if valid {
		d.PushID = job.ID
	}
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	ev := queue.Event{Type: EventPushRejected, Reason: clip(cause.Error(), maxRuleLen), Data: data}
	if valid {
		ev.Key = job.Key()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return m.deps.Queue.Update(func(tx *queue.Tx) error {
		_, err := tx.AppendEvent(ev)
		return err
	})
}

// logErr is a push's error as a log line shows it: a field path (which
// may be a member name from the push) cut to a short prefix, the rule to
// a few hundred bytes.
func logErr(err error) string {
	var pe *PushError
	if errors.As(err, &pe) {
		return "push: " + short(pe.Field) + ": " + clip(pe.Rule, 300)
	}
	return clip(err.Error(), 300)
}

// clip cuts s to at most n bytes (at a character boundary) and marks the
// cut with its full size.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…(%d bytes)", len(s))
}

// waitToken waits for a paho token without ever blocking for good: until
// it completes, ctx ends, lost closes or timeout passes.
func waitToken(ctx context.Context, clk Clock, tok paho.Token, timeout time.Duration, lost <-chan struct{}) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-lost:
		return ErrNotConnected
	case <-clk.After(timeout):
		return fmt.Errorf("%w (%v)", ErrTimeout, timeout)
	}
}
