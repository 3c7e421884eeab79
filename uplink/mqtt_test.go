package uplink

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/internal/clocktest"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
	"github.com/packbench/packbench/uplink/uplinktest"
)

// testClient connects a plain paho client for the test's side.
func testClient(t testing.TB, url, id string, clean bool) paho.Client {
	t.Helper()
	cfg := Config{URL: url}
	broker, _, err := cfg.broker()
	if err != nil {
		t.Fatal(err)
	}
	o := paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(50 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).SetOrderMatters(true)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("test client connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t testing.TB, c paho.Client, topic string, retained bool, payload any) {
	t.Helper()
	var b []byte
	switch p := payload.(type) {
	case []byte:
		b = p
	case string:
		b = []byte(p)
	default:
		var err error
		if b, err = json.Marshal(p); err != nil {
			t.Fatal(err)
		}
	}
	if tok := c.Publish(topic, 1, retained, b); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func decodeEvents(t testing.TB, msgs []paho.Message) []Event {
	t.Helper()
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		var ev Event
		if err := json.Unmarshal(m.Payload(), &ev); err != nil {
			t.Fatalf("event %q: %v", m.Payload(), err)
		}
		out = append(out, ev)
	}
	return out
}

type fakeState struct{}

func (fakeState) State() BenchState {
	return BenchState{Printers: []PrinterState{{Name: "p1", State: "ready"}}, Flow: "idle", Firmware: FirmwareState{Installed: "1.2.3"}}
}

type echoCommands struct{}

func (echoCommands) Verbs() []string { return []string{VerbTare} }

func (echoCommands) Do(_ context.Context, verb string, args json.RawMessage) (any, error) {
	if verb != VerbTare {
		return nil, ErrUnknownVerb
	}
	return map[string]any{"tared": true, "args": args}, nil
}

// TestLinkInProcess drives one bench through mochi-mqtt: status, state,
// duplicate and invalid pushes, commands and weights.
func TestLinkInProcess(t *testing.T) {
	url := startMochi(t)
	weights := make(chan scale.Reading)
	b := startBench(t, url, "bench-1", benchOptions{
		cfg: func(c *Config) { c.HADiscovery = true; c.WeightInterval = Duration(50 * time.Millisecond) },
		deps: func(d *Deps) {
			d.State, d.Commands, d.Weights = fakeState{}, echoCommands{}, weights
		},
	})
	c := testClient(t, url, "tester", true)
	events, res, status, state, weight, disc := uplinktest.NewRecorder(), uplinktest.NewRecorder(), uplinktest.NewRecorder(), uplinktest.NewRecorder(), uplinktest.NewRecorder(), uplinktest.NewRecorder()
	uplinktest.Subscribe(t, c, "packbench/bench-1/events", events)
	uplinktest.Subscribe(t, c, "packbench/bench-1/res/+", res)
	uplinktest.Subscribe(t, c, "packbench/bench-1/status", status)
	uplinktest.Subscribe(t, c, "packbench/bench-1/state", state)
	uplinktest.Subscribe(t, c, "packbench/bench-1/weight", weight)
	uplinktest.Subscribe(t, c, "homeassistant/device/bench-1/config", disc)

	status.Wait(t, 10*time.Second, "online", func(m []paho.Message) bool {
		return len(m) > 0 && string(m[len(m)-1].Payload()) == "online"
	})
	disc.Wait(t, 10*time.Second, "discovery", func(m []paho.Message) bool { return len(m) > 0 })
	var d map[string]any
	if err := json.Unmarshal(disc.Snapshot()[0].Payload(), &d); err != nil {
		t.Fatal(err)
	}
	cmps, _ := d["cmps"].(map[string]any)
	for _, k := range []string{"weight", "printer", "queue_depth", "tare"} {
		if _, ok := cmps[k]; !ok {
			t.Errorf("discovery lacks component %q", k)
		}
	}
	// Only what this bench answers: its commands do not test-print, and
	// there is no firmware command.
	for _, k := range []string{"test_print", "firmware"} {
		if _, ok := cmps[k]; ok {
			t.Errorf("discovery advertises %q, which this bench does not answer", k)
		}
	}

	// The same id pushed twice is one job.
	push := PushJob{ID: "order-7", Type: PushZPL, ZPL: zplFor("order-7")}
	publish(t, c, "packbench/bench-1/jobs/push", false, push)
	publish(t, c, "packbench/bench-1/jobs/push", false, push)
	// An invalid push is acknowledged and answered with push.rejected.
	publish(t, c, "packbench/bench-1/jobs/push", false, `{"id":"bad-1","type":"zpl","zpl":"^XA^XZ","copies":5000}`)
	publish(t, c, "packbench/bench-1/jobs/push", false, `{"id":"bad-2","type":"zpl","zpl":"^XA^XZ","colour":"red"}`)
	// Rejected by the intake (not by decoding).
	publish(t, c, "packbench/bench-1/jobs/push", false, `{"id":"bad-3","type":"zpl","zpl":"~JR"}`)
	// A marker after them: once its event is out, the earlier ones are handled.
	publish(t, c, "packbench/bench-1/jobs/push", false, PushJob{ID: "marker", Type: PushZPL, ZPL: zplFor("marker")})

	got := events.Wait(t, 10*time.Second, "marker's job.queued", func(m []paho.Message) bool {
		for _, ev := range decodeEvents(t, m) {
			if ev.Key == "mqtt:marker" {
				return true
			}
		}
		return false
	})
	var queued int
	rejected := map[string]RejectedData{}
	for _, ev := range decodeEvents(t, got) {
		switch ev.Type {
		case queue.EventJobQueued:
			if ev.Key == "mqtt:order-7" {
				queued++
			}
		case EventPushRejected:
			var rd RejectedData
			if err := json.Unmarshal(ev.Data, &rd); err != nil {
				t.Fatal(err)
			}
			rejected[rd.PushID] = rd
		}
	}
	if queued != 1 {
		t.Errorf("order-7 pushed twice: %d job.queued events, want 1", queued)
	}
	if n, _ := b.db.Counts(context.Background()); n[queue.StateQueued] != 2 {
		t.Errorf("queued jobs: %d, want 2 (order-7 once, marker)", n[queue.StateQueued])
	}
	for id, field := range map[string]string{"bad-1": "copies", "bad-2": "colour", "bad-3": "zpl"} {
		rd, ok := rejected[id]
		if !ok {
			t.Errorf("no push.rejected event for %s", id)
			continue
		}
		if rd.Field != field || rd.Rule == "" {
			t.Errorf("%s rejected with field %q rule %q, want field %q", id, rd.Field, rd.Rule, field)
		}
	}

	// Commands echo the caller's id.
	publish(t, c, "packbench/bench-1/cmd/ping", false, `{"id":"c1"}`)
	publish(t, c, "packbench/bench-1/cmd/tare", false, `{"id":"c2","args":{"x":1}}`)
	publish(t, c, "packbench/bench-1/cmd/launch", false, `{"id":"c3"}`)
	got = res.Wait(t, 10*time.Second, "3 responses", func(m []paho.Message) bool { return len(m) >= 3 })
	resp := map[string]Response{}
	for _, m := range got {
		var r Response
		if err := json.Unmarshal(m.Payload(), &r); err != nil {
			t.Fatal(err)
		}
		resp[strings.TrimPrefix(m.Topic(), "packbench/bench-1/res/")+"/"+r.ID] = r
	}
	if r := resp["ping/c1"]; !r.OK {
		t.Errorf("ping: %+v", r)
	}
	if r := resp["tare/c2"]; !r.OK || !strings.Contains(mustJSON(t, r.Result), `"x":1`) {
		t.Errorf("tare: %+v", r)
	}
	if r := resp["launch/c3"]; r.OK || !strings.Contains(r.Error, "unknown command verb") {
		t.Errorf("unknown verb: %+v", r)
	}

	// The same through Client.Command.
	cl, err := Dial(context.Background(), Config{URL: url}, "", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	out, err := cl.Command(context.Background(), "bench-1", VerbTare, map[string]int{"y": 2})
	if err != nil || !strings.Contains(string(out), `"y":2`) {
		t.Errorf("Command tare: %s %v", out, err)
	}
	if _, err := cl.Command(context.Background(), "bench-1", "launch", nil); err == nil || !strings.Contains(err.Error(), "unknown command verb") {
		t.Errorf("Command launch: %v", err)
	}

	// State is retained and carries the queue depth once it changed.
	b.link.StateChanged()
	state.Wait(t, 10*time.Second, "state with depth 2", func(m []paho.Message) bool {
		for _, msg := range m {
			var p statePayload
			if json.Unmarshal(msg.Payload(), &p) == nil && p.Queue.Depth == 2 && p.Firmware.Installed == "1.2.3" {
				return true
			}
		}
		return false
	})
	late, lateState := testClient(t, url, "late", true), uplinktest.NewRecorder()
	uplinktest.Subscribe(t, late, "packbench/bench-1/state", lateState)
	lateState.Wait(t, 10*time.Second, "retained state", func(m []paho.Message) bool { return len(m) > 0 && m[0].Retained() })

	// Weights: repeats are not published; a change is. The state above
	// came after the connect's republish signal; once the weight loop has
	// taken it, nothing but the readings below publishes a weight.
	waitFor(t, 10*time.Second, "the weight loop to see the connection", func() bool { return len(b.link.connects) == 0 })
	send := func(mg int64) {
		weights <- scale.Reading{Milligrams: mg, Status: scale.StatusStable, Source: "sim"}
	}
	send(1000)
	send(1000)
	send(1000)
	send(2500)
	weight.Wait(t, 10*time.Second, "weights 1000 and 2500", func(m []paho.Message) bool {
		return len(m) >= 2 && strings.Contains(string(m[len(m)-1].Payload()), `"milligrams":2500`)
	})
	var n1000 int
	for _, m := range weight.Snapshot() {
		if strings.Contains(string(m.Payload()), `"milligrams":1000,`) {
			n1000++
		}
	}
	if n1000 != 1 {
		t.Errorf("weight 1000 published %d times, want once", n1000)
	}
}

func mustJSON(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPushesInPublishOrder: hundreds of pushes published in one burst by
// one publisher at QoS 1 are committed in publish order (job ids rise with
// it), their job.queued events leave in that order, and the bench prints
// them in that order.
func TestPushesInPublishOrder(t *testing.T) {
	const n = 300
	url := startMochi(t)
	c := testClient(t, url, "cloud", true)
	events := uplinktest.NewRecorder()
	uplinktest.Subscribe(t, c, "packbench/bench-ord/events", events)
	b := startBench(t, url, "bench-ord", benchOptions{print: true})
	waitFor(t, 10*time.Second, "bench connected", b.link.Connected)

	publishMany(t, c, "packbench/bench-ord/jobs/push", pushPayloads(t, "ord", n))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b.emu.WaitLabels(ctx, n); err != nil {
		t.Fatalf("labels at the emulator: %v (got %d)", err, len(b.emu.Labels()))
	}

	var prev queue.JobID
	for i := range n {
		key := fmt.Sprintf("mqtt:ord-%04d", i)
		j, err := b.db.JobByKey(context.Background(), key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if i > 0 && j.ID <= prev {
			t.Fatalf("%s committed as job %v, not after %v: pushes were taken out of publish order", key, j.ID, prev)
		}
		prev = j.ID
	}
	for i, l := range b.emu.Labels() {
		if want := fmt.Sprintf("ord-%04d", i); labelID(l) != want {
			t.Fatalf("label %d is %q, want %q: printed out of publish order", i, labelID(l), want)
		}
	}
	got := events.Wait(t, 30*time.Second, "every job.queued event", func(m []paho.Message) bool {
		k := 0
		for _, ev := range decodeEvents(t, m) {
			if ev.Type == queue.EventJobQueued {
				k++
			}
		}
		return k >= n
	})
	i := 0
	for _, ev := range decodeEvents(t, got) {
		if ev.Type != queue.EventJobQueued {
			continue
		}
		if want := fmt.Sprintf("mqtt:ord-%04d", i); ev.Key != want {
			t.Fatalf("job.queued event %d is for %q, want %q", i, ev.Key, want)
		}
		i++
	}
}

// TestWeightRateLimit: on a manual clock, a burst of weights at one
// instant gives the first at once and only the newest after the interval;
// a change after a quiet interval goes out at once.
func TestWeightRateLimit(t *testing.T) {
	const interval = 50 * time.Millisecond
	url := startMochi(t)
	clk := clocktest.NewClock(time.Unix(1_700_000_000, 0))
	weights := make(chan scale.Reading)
	b := startBench(t, url, "bench-w", benchOptions{
		cfg:  func(c *Config) { c.WeightInterval = Duration(interval) },
		opts: &Options{Clock: clk},
		deps: func(d *Deps) { d.Weights = weights },
	})
	c := testClient(t, url, "tester", true)
	state, weight := uplinktest.NewRecorder(), uplinktest.NewRecorder()
	uplinktest.Subscribe(t, c, "packbench/bench-w/state", state)
	uplinktest.Subscribe(t, c, "packbench/bench-w/weight", weight)
	// The state is published after the connect's signal to the weight loop;
	// once the loop has taken that signal, no republish can interleave.
	state.Wait(t, 10*time.Second, "state", func(m []paho.Message) bool { return len(m) > 0 })
	waitFor(t, 10*time.Second, "the weight loop to see the connection", func() bool { return len(b.link.connects) == 0 })

	send := func(mg int64) {
		weights <- scale.Reading{Milligrams: mg, Status: scale.StatusStable, Source: "sim"}
	}
	mgs := func() []int64 {
		var out []int64
		for _, m := range weight.Snapshot() {
			var r struct {
				Milligrams int64 `json:"milligrams"`
			}
			if err := json.Unmarshal(m.Payload(), &r); err != nil {
				t.Fatalf("weight %q: %v", m.Payload(), err)
			}
			out = append(out, r.Milligrams)
		}
		return out
	}
	last := func(mg int64) func([]paho.Message) bool {
		return func(m []paho.Message) bool {
			return len(m) > 0 && strings.Contains(string(m[len(m)-1].Payload()), fmt.Sprintf(`"milligrams":%d,`, mg))
		}
	}

	for i := range 20 {
		send(int64(3000 + i))
	}
	send(3019) // a repeat: once the loop takes it, it has handled the burst
	clk.Advance(interval)
	weight.Wait(t, 10*time.Second, "the burst's newest weight", last(3019))
	if got := mgs(); !slices.Equal(got, []int64{3000, 3019}) {
		t.Fatalf("a burst of 20 weights at one instant published %v, want [3000 3019] (the first, then the newest one interval later)", got)
	}

	// A quiet interval later, a change goes out without waiting.
	send(3019) // a repeat again: the loop is done with the publish of 3019
	clk.Advance(interval)
	send(4000)
	weight.Wait(t, 10*time.Second, "4000 at once", last(4000))
	if got := mgs(); !slices.Equal(got, []int64{3000, 3019, 4000}) {
		t.Fatalf("weights %v, want [3000 3019 4000]", got)
	}
}

// TestOrderPushConflictOverMQTT: through the link and the bench's intake,
// an order pushed twice with the same id is one order; pushed again with
// different content it is refused with a push.rejected event naming the
// field, and the order keeps its first content.
func TestOrderPushConflictOverMQTT(t *testing.T) {
	url := startMochi(t)
	var st *station.Station
	b := startBench(t, url, "bench-oc", benchOptions{deps: func(d *Deps) {
		var err error
		if st, err = station.New(d.Queue, &station.Options{Printers: []string{"p1"}}); err != nil {
			t.Fatal(err)
		}
		if d.Intake, err = NewStationIntake(st, d.Queue, nil); err != nil {
			t.Fatal(err)
		}
	}})
	c := testClient(t, url, "cloud", true)
	events := uplinktest.NewRecorder()
	uplinktest.Subscribe(t, c, "packbench/bench-oc/events", events)
	waitFor(t, 10*time.Second, "bench connected", b.link.Connected)

	order := `{"ship_to":{"name":"Ada Lovelace","street1":"12 St James Sq","city":"London","zip":"SW1Y 4JH","country":"GB"}}`
	other := strings.Replace(order, "Ada Lovelace", "Charles Babbage", 1)
	for _, body := range []string{order, order, other} {
		publish(t, c, "packbench/bench-oc/jobs/push", false, PushJob{ID: "o-1", Type: PushOrder, Order: json.RawMessage(body)})
	}
	// Pushes are taken in order: once the marker's event is out, so is
	// every answer before it.
	publish(t, c, "packbench/bench-oc/jobs/push", false, PushJob{ID: "marker", Type: PushZPL, ZPL: zplFor("marker")})
	got := events.Wait(t, 10*time.Second, "the marker's job.queued", func(m []paho.Message) bool {
		return slices.ContainsFunc(decodeEvents(t, m), func(ev Event) bool { return ev.Key == "mqtt:marker" })
	})
	var created int
	var rejected []RejectedData
	for _, ev := range decodeEvents(t, got) {
		switch ev.Type {
		case station.EventOrderCreated:
			created++
		case EventPushRejected:
			var rd RejectedData
			if err := json.Unmarshal(ev.Data, &rd); err != nil {
				t.Fatal(err)
			}
			rejected = append(rejected, rd)
		}
	}
	if created != 1 {
		t.Errorf("%d order.created events, want 1", created)
	}
	if len(rejected) != 1 || rejected[0].PushID != "o-1" || rejected[0].Field != "order.ship_to" || !strings.Contains(rejected[0].Rule, "already pushed with a different ship_to") {
		t.Errorf("rejections %+v, want one for o-1 naming order.ship_to", rejected)
	}
	o, err := st.Order(context.Background(), "o-1")
	if err != nil || o.ShipTo.Name != "Ada Lovelace" {
		t.Errorf("order o-1: %+v %v, want its first content", o.ShipTo, err)
	}
}
