package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/uplink/uplinktest"
)

// publishMany publishes payloads at QoS 1 from a few clients at once and
// waits for every PUBACK.
func publishMany(t testing.TB, c paho.Client, topic string, payloads [][]byte) {
	t.Helper()
	toks := make([]paho.Token, len(payloads))
	for i, p := range payloads {
		toks[i] = c.Publish(topic, 1, false, p)
	}
	for i, tok := range toks {
		if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d to %s: %v", i, topic, tok.Error())
		}
	}
}

func pushPayloads(t testing.TB, prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range n {
		id := fmt.Sprintf("%s-%04d", prefix, i)
		b, err := json.Marshal(PushJob{ID: id, Type: PushZPL, ZPL: zplFor(id)})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// countLabels maps each printed label's id to how often it printed.
func countLabels(labels [][]byte) map[string]int {
	m := map[string]int{}
	for _, l := range labels {
		m[labelID(l)]++
	}
	return m
}

// TestThousandPushesPrintOnce: 1,000 jobs pushed through mosquitto print
// 1,000 labels at the emulator, each exactly once, and their events
// (queued and printed) reach the events topic.
func TestThousandPushesPrintOnce(t *testing.T) {
	const n = 1000
	mq := uplinktest.StartMosquitto(t, "")
	c := testClient(t, mq.URL(), "tester", true)
	events := uplinktest.NewRecorder()
	uplinktest.Subscribe(t, c, "packbench/bench-a/events", events)
	b := startBench(t, mq.URL(), "bench-a", benchOptions{print: true})
	waitFor(t, 10*time.Second, "bench connected", b.link.Connected)

	publishMany(t, c, "packbench/bench-a/jobs/push", pushPayloads(t, "job", n))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b.emu.WaitLabels(ctx, n); err != nil {
		t.Fatalf("labels at the emulator: %v (got %d)", err, len(b.emu.Labels()))
	}
	got := countLabels(b.emu.Labels())
	for i := range n {
		if id := fmt.Sprintf("job-%04d", i); got[id] != 1 {
			t.Errorf("%s printed %d times", id, got[id])
		}
	}
	if len(got) != n {
		t.Errorf("%d distinct labels, want %d", len(got), n)
	}
	// Every job's queued and printed events arrive.
	events.Wait(t, 60*time.Second, "queued and printed events for every job", func(m []paho.Message) bool {
		if len(m) < 2*n {
			return false
		}
		queued, printed := map[string]bool{}, map[string]bool{}
		for _, ev := range decodeEvents(t, m) {
			switch {
			case ev.Type == queue.EventJobQueued:
				queued[ev.Key] = true
			case ev.Type == queue.EventJobState && ev.To == queue.StatePrinted:
				printed[ev.Key] = true
			}
		}
		return len(queued) == n && len(printed) == n
	})
	counts, err := b.db.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if counts[queue.StatePrinted] != n {
		t.Errorf("queue: %v, want %d printed", counts, n)
	}
}

// TestBrokerOutageDeliversEveryEvent: the broker stops, 5,000 events are
// produced meanwhile, and after it returns every event arrives at a
// persistent subscriber, in order; duplicates carry the same id.
func TestBrokerOutageDeliversEveryEvent(t *testing.T) {
	const n = 5000
	mq := uplinktest.StartMosquitto(t, "")
	watcher := testClient(t, mq.URL(), "watcher", false)
	events := uplinktest.NewRecorder()
	uplinktest.Subscribe(t, watcher, "packbench/bench-o/events", events)
	b := startBench(t, mq.URL(), "bench-o", benchOptions{})
	waitFor(t, 10*time.Second, "bench connected", b.link.Connected)

	appendTicks := func(from, to int) {
		for i := from; i < to; i += 500 {
			err := b.db.Update(func(tx *queue.Tx) error {
				for j := i; j < min(i+500, to); j++ {
					if _, err := tx.AppendEvent(queue.Event{Type: "test.tick", Reason: itoa(j)}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	appendTicks(0, 100)
	events.Wait(t, 20*time.Second, "the first 100 events", func(m []paho.Message) bool { return len(m) >= 100 })

	mq.Stop()
	waitFor(t, 10*time.Second, "bench to notice the outage", func() bool { return !b.link.Connected() })
	appendTicks(100, 100+n)
	mq.Start()
	waitFor(t, 30*time.Second, "bench back", b.link.Connected)

	last, _ := b.db.LastEventID(context.Background())
	got := events.Wait(t, 60*time.Second, fmt.Sprintf("every event up to %d", last), func(m []paho.Message) bool {
		return len(m) > 0 && decodeEvents(t, m[len(m)-1:])[0].ID == last
	})
	var prev uint64
	seen := map[uint64]bool{}
	dups := 0
	for _, ev := range decodeEvents(t, got) {
		if seen[ev.ID] {
			dups++
			continue
		}
		if ev.ID != prev+1 {
			t.Fatalf("event %d after %d: out of order or a gap", ev.ID, prev)
		}
		seen[ev.ID], prev = true, ev.ID
	}
	if prev != last {
		t.Fatalf("last event %d, want %d", prev, last)
	}
	t.Logf("%d events, %d duplicates (recognised by id)", len(seen), dups)
}

// TestPoolTwoBenches: 2,000 jobs on a site's pool split between two
// benches through the shared subscription; none lost, none printed twice.
func TestPoolTwoBenches(t *testing.T) {
	const n = 2000
	mq := uplinktest.StartMosquitto(t, "")
	pool := func(c *Config) { c.PoolSite = "hall-1"; c.PoolGroup = "packers" }
	b1 := startBench(t, mq.URL(), "bench-p1", benchOptions{print: true, cfg: pool})
	b2 := startBench(t, mq.URL(), "bench-p2", benchOptions{print: true, cfg: pool})
	waitFor(t, 10*time.Second, "benches connected", func() bool { return b1.link.Connected() && b2.link.Connected() })

	c := testClient(t, mq.URL(), "dispatcher", true)
	publishMany(t, c, PoolTopic("", "hall-1"), pushPayloads(t, "pool", n))
	waitFor(t, 90*time.Second, "2000 labels between the two benches", func() bool {
		return len(b1.emu.Labels())+len(b2.emu.Labels()) >= n
	})
	l1, l2 := countLabels(b1.emu.Labels()), countLabels(b2.emu.Labels())
	for i := range n {
		id := fmt.Sprintf("pool-%04d", i)
		if l1[id]+l2[id] != 1 {
			t.Errorf("%s printed %d times at bench 1 and %d at bench 2", id, l1[id], l2[id])
		}
	}
	if len(l1) == 0 || len(l2) == 0 {
		t.Errorf("the pool was not shared: %d and %d labels", len(l1), len(l2))
	}
	t.Logf("bench 1 printed %d, bench 2 printed %d", len(l1), len(l2))
}

// TestOnlineAfterBrokerRestart: after the broker restarts, the bench
// reconnects and says online again.
func TestOnlineAfterBrokerRestart(t *testing.T) {
	mq := uplinktest.StartMosquitto(t, "")
	b := startBench(t, mq.URL(), "bench-r", benchOptions{})
	waitFor(t, 10*time.Second, "bench connected", b.link.Connected)
	waitFor(t, 10*time.Second, "status connected", func() bool { return b.link.Status().Connected })
	if st := b.link.Status(); st.Error != "" || st.Since.IsZero() {
		t.Errorf("status while connected: %+v, want no error and a time", st)
	}
	mq.Stop()
	waitFor(t, 10*time.Second, "bench to notice", func() bool { return !b.link.Connected() })
	// The status names why the link is down once the next attempt failed.
	waitFor(t, 10*time.Second, "status with a reason", func() bool {
		st := b.link.Status()
		return !st.Connected && st.Error != ""
	})
	if st := b.link.Status(); !strings.Contains(st.Error, "uplink:") {
		t.Errorf("status while the broker is away: %+v, want the connect error", st)
	}
	mq.Start()
	c := testClient(t, mq.URL(), "tester", true)
	st := uplinktest.NewRecorder()
	uplinktest.Subscribe(t, c, "packbench/bench-r/status", st)
	st.Wait(t, 20*time.Second, "online after the restart", func(m []paho.Message) bool {
		return len(m) > 0 && string(m[len(m)-1].Payload()) == "online"
	})
}

// flakyIntake fails its first push with a transient error.
type flakyIntake struct {
	zplIntake
	failed atomic.Bool
}

func (f *flakyIntake) Push(ctx context.Context, j PushJob) (PushResult, error) {
	if f.failed.CompareAndSwap(false, true) {
		return PushResult{}, errors.New("disk on fire")
	}
	return f.zplIntake.Push(ctx, j)
}

// TestTransientIntakeErrorRedelivers: a push the intake cannot take now is
// left unacknowledged; the link reconnects, the broker redelivers it and
// it is committed once.
func TestTransientIntakeErrorRedelivers(t *testing.T) {
	mq := uplinktest.StartMosquitto(t, "")
	acked := make(chan PushResult, 4)
	var in *flakyIntake
	b := startBench(t, mq.URL(), "bench-f", benchOptions{
		opts: &Options{afterAck: func(_ PushJob, r PushResult) { acked <- r }},
		deps: func(d *Deps) { in = &flakyIntake{zplIntake: zplIntake{d.Queue}}; d.Intake = in },
	})
	waitFor(t, 10*time.Second, "bench connected", b.link.Connected)
	c := testClient(t, mq.URL(), "cloud", true)
	publish(t, c, "packbench/bench-f/jobs/push", false, PushJob{ID: "f-1", Type: PushZPL, ZPL: zplFor("f-1")})
	select {
	case r := <-acked:
		if !r.Created {
			t.Errorf("first ack: %+v, want the job created", r)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the push was never redelivered and acknowledged")
	}
	if !in.failed.Load() {
		t.Fatal("the intake never failed: the test proves nothing")
	}
	counts, _ := b.db.Counts(context.Background())
	if counts[queue.StateQueued] != 1 {
		t.Errorf("queue %v, want one job", counts)
	}
}

// failOnceIntake fails the push with one id once, as a full disk would.
type failOnceIntake struct {
	zplIntake
	id     string
	failed atomic.Bool
}

func (f *failOnceIntake) Push(ctx context.Context, j PushJob) (PushResult, error) {
	if j.ID == f.id && f.failed.CompareAndSwap(false, true) {
		return PushResult{}, errors.New("disk on fire")
	}
	return f.zplIntake.Push(ctx, j)
}

// TestTransientIntakeErrorKeepsOrder: in a burst, a push the intake cannot
// take now is redelivered, and no push published after it is committed
// before it: the jobs keep the publish order.
func TestTransientIntakeErrorKeepsOrder(t *testing.T) {
	const n = 60
	mq := uplinktest.StartMosquitto(t, "")
	in := &failOnceIntake{id: "t-0005"}
	b := startBench(t, mq.URL(), "bench-t", benchOptions{
		deps: func(d *Deps) { in.zplIntake = zplIntake{d.Queue}; d.Intake = in },
	})
	waitFor(t, 10*time.Second, "bench connected", b.link.Connected)
	c := testClient(t, mq.URL(), "cloud", true)
	publishMany(t, c, "packbench/bench-t/jobs/push", pushPayloads(t, "t", n))
	waitFor(t, 30*time.Second, fmt.Sprintf("%d jobs", n), func() bool {
		counts, err := b.db.Counts(context.Background())
		return err == nil && counts[queue.StateQueued] == n
	})
	if !in.failed.Load() {
		t.Fatal("the intake never failed: the test proves nothing")
	}
	var prev queue.JobID
	for i := range n {
		key := fmt.Sprintf("mqtt:t-%04d", i)
		j, err := b.db.JobByKey(context.Background(), key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if i > 0 && j.ID <= prev {
			t.Fatalf("%s committed as job %v, not after %v: a push overtook the one the intake failed", key, j.ID, prev)
		}
		prev = j.ID
	}
}
