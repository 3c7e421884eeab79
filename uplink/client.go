package uplink

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/internal/clock"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// Client is an operator's or a script's connection to the broker: push
// jobs to a bench or a pool, follow a bench's events (packbench push and
// packbench watch).
type Client struct {
	c       paho.Client
	cfg     Config
	timeout time.Duration
	lost    chan struct{}
	marker  []byte // an oversize message's stand-in (wire.go)
}

// Dial connects with cfg's URL, credentials and TLS files. clientID ""
// means a random one and a clean session; a fixed id keeps a persistent
// session (a watcher that must not miss events while away).
func Dial(ctx context.Context, cfg Config, clientID string, timeout time.Duration) (*Client, error) {
	cfg = cfg.withDefaults()
	broker, _, err := cfg.broker()
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	clean := clientID == ""
	if clean {
		var b [6]byte
		_, _ = rand.Read(b[:])
		clientID = "packbench-cli-" + hex.EncodeToString(b[:])
	}
	cl := &Client{cfg: cfg, timeout: timeout, lost: make(chan struct{}), marker: newOversizeMarker()}
	o := paho.NewClientOptions().AddBroker(broker).SetClientID(clientID).
		SetCleanSession(clean).SetAutoReconnect(false).SetOrderMatters(true).
		SetConnectTimeout(timeout).SetWriteTimeout(timeout).
		SetKeepAlive(time.Duration(cfg.KeepAlive)).
		SetConnectionLostHandler(func(paho.Client, error) { close(cl.lost) }).
		// Like the bench's link: nothing over DefaultMaxMessage is read.
		SetCustomOpenConnectionFn(boundedDial(DefaultMaxMessage, cl.marker))
	if o, err = withAuth(o, cfg); err != nil {
		return nil, err
	}
	cl.c = paho.NewClient(o)
	if err := waitToken(ctx, clock.Real{}, cl.c.Connect(), timeout+time.Second, nil); err != nil {
		cl.c.Disconnect(0)
		return nil, connectError(cfg, broker, err)
	}
	return cl, nil
}

// Close disconnects.
func (cl *Client) Close() { cl.c.Disconnect(250) }

// Lost is closed when the connection drops.
func (cl *Client) Lost() <-chan struct{} { return cl.lost }

// Push publishes job at QoS 1 to a bench's jobs/push topic, or to the pool
// of site when site is set, and returns after the broker's PUBACK. The job
// is checked first (Validate); an empty ID gets a random one.
func (cl *Client) Push(ctx context.Context, bench, site string, job *PushJob) error {
	job.ensureID()
	if err := job.Validate(); err != nil {
		return err
	}
	payload, err := json.Marshal(job)
	if err != nil {
		return err
	}
	topic := BenchTopic(cl.cfg.TopicPrefix, bench, "jobs/push")
	if site != "" {
		topic = PoolTopic(cl.cfg.TopicPrefix, site)
	} else if err := validLevel("bench", bench); err != nil {
		return err
	}
	if err := waitToken(ctx, clock.Real{}, cl.c.Publish(topic, 1, false, payload), cl.timeout, cl.lost); err != nil {
		return fmt.Errorf("uplink: push to %s: %w", topic, err)
	}
	return nil
}

// Watch subscribes to a bench's events (QoS 1) and calls fn for each, in
// order, until ctx ends or the connection drops. raw is the payload as
// received; ev is decoded from it (zero when it does not decode). A
// message over DefaultMaxMessage is not read: raw says so and its size.
func (cl *Client) Watch(ctx context.Context, bench string, fn func(raw []byte, ev Event)) error {
	if err := validLevel("bench", bench); err != nil {
		return err
	}
	msgs := make(chan paho.Message, 1024)
	topic := BenchTopic(cl.cfg.TopicPrefix, bench, "events")
	handler := func(_ paho.Client, m paho.Message) {
		select {
		case msgs <- m:
		case <-cl.lost:
		case <-ctx.Done():
		}
	}
	if err := waitToken(ctx, clock.Real{}, cl.c.Subscribe(topic, 1, handler), cl.timeout, cl.lost); err != nil {
		return fmt.Errorf("uplink: subscribe %s: %w", topic, err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-cl.lost:
			return fmt.Errorf("uplink: watch %s: %w", topic, ErrNotConnected)
		case m := <-msgs:
			if size, ok := oversize(cl.marker, m.Payload()); ok {
				fn(fmt.Appendf(nil, "(a %d-byte message on %s, over the %d-byte limit: not read)", size, topic, DefaultMaxMessage), Event{})
				continue
			}
			var ev Event
			if json.Unmarshal(m.Payload(), &ev) != nil {
				ev = Event{}
			}
			fn(m.Payload(), ev)
		}
	}
}

// Command sends cmd/<verb> to a bench and waits for its res/<verb> with
// the same id (a random one is made). A response with ok false comes back
// as an error carrying the bench's message.
func (cl *Client) Command(ctx context.Context, bench, verb string, args any) (json.RawMessage, error) {
	if err := validLevel("bench", bench); err != nil {
		return nil, err
	}
	if err := validLevel("verb", verb); err != nil {
		return nil, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	req := struct {
		ID   string `json:"id"`
		Args any    `json:"args,omitempty"`
	}{"cli-" + hex.EncodeToString(b[:]), args}
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	type answer struct {
		ID     string          `json:"id"`
		OK     bool            `json:"ok"`
		Result json.RawMessage `json:"result"`
		Error  string          `json:"error"`
	}
	got := make(chan answer, 1)
	resTopic := BenchTopic(cl.cfg.TopicPrefix, bench, "res/"+verb)
	handler := func(_ paho.Client, m paho.Message) {
		var a answer
		if json.Unmarshal(m.Payload(), &a) == nil && a.ID == req.ID {
			select {
			case got <- a:
			default:
			}
		}
	}
	if err := waitToken(ctx, clock.Real{}, cl.c.Subscribe(resTopic, 1, handler), cl.timeout, cl.lost); err != nil {
		return nil, fmt.Errorf("uplink: subscribe %s: %w", resTopic, err)
	}
	defer cl.c.Unsubscribe(resTopic)
	cmdTopic := BenchTopic(cl.cfg.TopicPrefix, bench, "cmd/"+verb)
	if err := waitToken(ctx, clock.Real{}, cl.c.Publish(cmdTopic, 1, false, payload), cl.timeout, cl.lost); err != nil {
		return nil, fmt.Errorf("uplink: command %s: %w", cmdTopic, err)
	}
	select {
	case a := <-got:
		if !a.OK {
			return nil, fmt.Errorf("uplink: %s on %s: %s", verb, bench, a.Error)
		}
		return a.Result, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-cl.lost:
		return nil, fmt.Errorf("uplink: command %s: %w", cmdTopic, ErrNotConnected)
	case <-time.After(cl.timeout):
		return nil, fmt.Errorf("uplink: %s on %s: %w (is the bench online?)", verb, bench, ErrTimeout)
	}
}

// ensureID gives a push without an id a random one.
func (j *PushJob) ensureID() {
	if j.ID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		j.ID = "cli-" + hex.EncodeToString(b[:])
	}
}

// PushAnswer is a bench's answer to a push, read from its events topic.
type PushAnswer struct {
	// Bench is the device id of the bench that answered (for a pool, the
	// one that took the job).
	Bench string
	// Event is the answer: job.queued (order.created for an order) or
	// push.rejected.
	Event Event
	// Rejected is the rejection's field and rule; nil when queued.
	Rejected *RejectedData
}

// PushAndWait is Push that then waits up to wait for the bench's answer:
// the job.queued event of the push's job (order.created for an order), or
// its push.rejected event. For a pool (site set) any bench under the
// topic prefix may answer. The subscription is made before the push, so
// no answer is missed. A push whose id the bench already had queues
// nothing new and so gets no answer: that, and a bench that is offline,
// end in ErrTimeout once the push is with the broker.
func (cl *Client) PushAndWait(ctx context.Context, bench, site string, job *PushJob, wait time.Duration) (PushAnswer, error) {
	job.ensureID()
	if err := job.Validate(); err != nil {
		return PushAnswer{}, err
	}
	topic := BenchTopic(cl.cfg.TopicPrefix, "+", "events")
	if site == "" {
		if err := validLevel("bench", bench); err != nil {
			return PushAnswer{}, err
		}
		topic = BenchTopic(cl.cfg.TopicPrefix, bench, "events")
	}
	queuedType, queuedKey := queue.EventJobQueued, job.Key()
	if job.Type == PushOrder {
		queuedType, queuedKey = station.EventOrderCreated, pushedOrderID(*job)
	}
	got := make(chan PushAnswer, 1)
	handler := func(_ paho.Client, m paho.Message) {
		var ev Event
		if json.Unmarshal(m.Payload(), &ev) != nil {
			return
		}
		a := PushAnswer{Event: ev, Bench: benchOfTopic(cl.cfg.TopicPrefix, m.Topic())}
		switch ev.Type {
		case queuedType:
			if ev.Key != queuedKey {
				return
			}
		case EventPushRejected:
			var d RejectedData
			if json.Unmarshal(ev.Data, &d) != nil || (d.PushID != job.ID && ev.Key != job.Key()) {
				return
			}
			a.Rejected = &d
		default:
			return
		}
		select {
		case got <- a:
		default:
		}
	}
	if err := waitToken(ctx, clock.Real{}, cl.c.Subscribe(topic, 1, handler), cl.timeout, cl.lost); err != nil {
		return PushAnswer{}, fmt.Errorf("subscribe %s: %w", topic, err)
	}
	defer cl.c.Unsubscribe(topic)
	if err := cl.Push(ctx, bench, site, job); err != nil {
		return PushAnswer{}, err
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case a := <-got:
		return a, nil
	case <-ctx.Done():
		return PushAnswer{}, ctx.Err()
	case <-cl.lost:
		return PushAnswer{}, fmt.Errorf("waiting for the answer on %s: %w", topic, ErrNotConnected)
	case <-timer.C:
		return PushAnswer{}, fmt.Errorf("no answer on %s within %s: %w", topic, wait, ErrTimeout)
	}
}

// pushedOrderID is the id the order of an order push gets: its own "id",
// else the push id (StationIntake.pushOrder).
func pushedOrderID(j PushJob) string {
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(j.Order, &o) == nil && o.ID != "" {
		return o.ID
	}
	return j.ID
}

// benchOfTopic is the device id level of a bench topic.
func benchOfTopic(prefix, topic string) string {
	if prefix == "" {
		prefix = DefaultTopicPrefix
	}
	rest, _ := strings.CutPrefix(topic, prefix+"/")
	id, _, _ := strings.Cut(rest, "/")
	return id
}
