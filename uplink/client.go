package uplink

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/internal/clock"
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
	if job.ID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		job.ID = "cli-" + hex.EncodeToString(b[:])
	}
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
