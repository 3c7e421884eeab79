package uplink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/uplink/uplinktest"
)

// lockedBuffer is a log sink the link's goroutines write while the test
// reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// rejections returns the push.rejected events among msgs with their raw
// size on the wire (the stored event, as the outbox keeps it).
func rejections(t testing.TB, msgs []paho.Message) (evs []Event, data []RejectedData, sizes []int) {
	t.Helper()
	for _, m := range msgs {
		var ev Event
		if err := json.Unmarshal(m.Payload(), &ev); err != nil {
			t.Fatalf("event %.200q: %v", m.Payload(), err)
		}
		if ev.Type != EventPushRejected {
			continue
		}
		var rd RejectedData
		if err := json.Unmarshal(ev.Data, &rd); err != nil {
			t.Fatal(err)
		}
		evs, data, sizes = append(evs, ev), append(data, rd), append(sizes, len(m.Payload()))
	}
	return evs, data, sizes
}

// onlineBench starts a bench on the broker at url and the cloud's client
// with a recorder of the bench's events, once the bench is online.
func onlineBench(t *testing.T, url, id string, bo benchOptions) (*bench, paho.Client, *uplinktest.Recorder) {
	t.Helper()
	b := startBench(t, url, id, bo)
	c := testClient(t, url, "cloud-"+id, true)
	events, status := uplinktest.NewRecorder(), uplinktest.NewRecorder()
	uplinktest.Subscribe(t, c, "packbench/"+id+"/events", events)
	uplinktest.Subscribe(t, c, "packbench/"+id+"/status", status)
	status.Wait(t, 10*time.Second, "online", func(m []paho.Message) bool {
		return len(m) > 0 && string(m[len(m)-1].Payload()) == "online"
	})
	return b, c, events
}

func queuedKey(key string) func([]paho.Message) bool {
	return func(msgs []paho.Message) bool {
		for _, m := range msgs {
			var ev Event
			if json.Unmarshal(m.Payload(), &ev) == nil && ev.Type == queue.EventJobQueued && ev.Key == key {
				return true
			}
		}
		return false
	}
}

// TestOversizePushRefused: a push over the link's MaxMessage is streamed
// from the broker (mochi) at 40 times the limit, refused with one
// push.rejected event that gives its size and the limit, acknowledged (the
// broker keeps nothing in flight for the bench, so it is not redelivered),
// and the push after it is taken on the same connection.
func TestOversizePushRefused(t *testing.T) {
	const limit = 64 << 10
	srv, url := startMochiServer(t)
	b, c, events := onlineBench(t, url, "b1", benchOptions{opts: &Options{MaxMessage: limit}})
	// The link says online before it records its status: wait for both.
	waitFor(t, 10*time.Second, "link status connected", func() bool { return b.link.Status().Connected })
	since := b.link.Status().Since

	big := `{"id":"big-1","type":"zpl","zpl":"^XA` + strings.Repeat("x", 40*limit) + `^XZ"}`
	publish(t, c, "packbench/b1/jobs/push", false, big)
	publish(t, c, "packbench/b1/jobs/push", false, PushJob{ID: "after-1", Type: PushZPL, ZPL: zplFor("after-1")})
	got := events.Wait(t, 60*time.Second, "after-1 queued", queuedKey("mqtt:after-1"))

	_, rds, _ := rejections(t, got)
	want := fmt.Sprintf("push refused: %d bytes, limit %d", len(big), limit)
	if len(rds) != 1 || rds[0].Field != "$" || rds[0].Rule != want || rds[0].Topic != "packbench/b1/jobs/push" {
		t.Fatalf("rejections %+v, want one naming $ with %q", rds, want)
	}
	if n, _ := b.db.Counts(t.Context()); n[queue.StateQueued] != 1 {
		t.Errorf("queued jobs %v, want only after-1", n)
	}
	// Acknowledged: nothing stays in flight at the broker (polling the
	// in-process broker's session, which has no change notification).
	waitFor(t, 10*time.Second, "the bench's session with nothing in flight", func() bool {
		cl, ok := srv.Clients.Get("b1")
		return ok && cl.State.Inflight.Len() == 0
	})
	if st := b.link.Status(); !st.Connected || st.Since != since {
		t.Errorf("link status %+v, want the first connection still up (since %v)", st, since)
	}
}

// TestHugeIDBounded: a 5 MB push id (and a 1 MB member name) reaches the
// link when its message limit allows it; the push is refused naming the
// field, and neither the log nor the stored push.rejected event carries
// more than a short prefix of it.
func TestHugeIDBounded(t *testing.T) {
	var logs lockedBuffer
	_, c, events := onlineBench(t, startMochi(t), "b1", benchOptions{
		opts: &Options{MaxMessage: 16 << 20},
		deps: func(d *Deps) { d.Logger = slog.New(slog.NewTextHandler(&logs, nil)) },
	})

	huge := strings.Repeat("A", 5<<20)
	member := strings.Repeat("M", 1<<20)
	for _, p := range []string{
		`{"id":"` + huge + `","type":"zpl","zpl":"^XA^XZ"}`,          // refused by Validate
		`{"id":"` + huge + `","type":"zpl","colour":"red"}`,          // refused by decoding: the id is salvaged
		`{"id":"` + huge + "\x01" + `","type":"zpl","zpl":"^XA^XZ"}`, // not JSON: a control character
		`{"id":"ok-1","type":"zpl","zpl":"^XA^XZ","` + member + `":1}`,
	} {
		publish(t, c, "packbench/b1/jobs/push", false, p)
	}
	publish(t, c, "packbench/b1/jobs/push", false, PushJob{ID: "after-1", Type: PushZPL, ZPL: zplFor("after-1")})
	got := events.Wait(t, 60*time.Second, "after-1 queued", queuedKey("mqtt:after-1"))

	evs, rds, sizes := rejections(t, got)
	if len(rds) != 4 {
		t.Fatalf("%d push.rejected events, want 4: %+v", len(rds), rds)
	}
	prefix := huge[:32] + fmt.Sprintf("…(%d bytes)", len(huge))
	for i, want := range []struct{ id, field, key string }{
		{prefix, "id", ""},
		{prefix, "colour", ""},
		{"", "$", ""},
		{"ok-1", member[:256], "mqtt:ok-1"},
	} {
		if sizes[i] > 2048 {
			t.Errorf("rejection %d: a %d-byte event, want at most 2 KiB", i, sizes[i])
		}
		if rds[i].PushID != want.id || !strings.HasPrefix(rds[i].Field, want.field) || evs[i].Key != want.key {
			t.Errorf("rejection %d: push_id %.80q field %.80q key %.80q, want %.80q %.80q %.80q", i, rds[i].PushID, rds[i].Field, evs[i].Key, want.id, want.field, want.key)
		}
	}
	if l := logs.String(); len(l) > 16<<10 || strings.Contains(l, huge[:100]) || strings.Contains(l, member[:300]) {
		t.Errorf("the log holds %d bytes, or more than a prefix of the id or member: %.600s", len(l), l)
	}
}

// TestWatchOversize: the operator's Watch reads no message over
// DefaultMaxMessage either; it reports its size and goes on.
func TestWatchOversize(t *testing.T) {
	url := startMochi(t)
	cl, err := Dial(t.Context(), Config{URL: url}, "", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	raws := make(chan string, 64)
	go func() {
		_ = cl.Watch(t.Context(), "b1", func(raw []byte, _ Event) { raws <- string(raw) })
	}()
	c := testClient(t, url, "cloud", true)
	// Publish until Watch has subscribed (its first line arrives).
	deadline := time.After(10 * time.Second)
	for subscribed := false; !subscribed; {
		publish(t, c, "packbench/b1/events", false, `{"id":1,"type":"hello"}`)
		select {
		case <-raws:
			subscribed = true
		case <-time.After(100 * time.Millisecond): // publish again: Watch may not be subscribed yet
		case <-deadline:
			t.Fatal("watch received nothing")
		}
	}
	size := DefaultMaxMessage + 1
	publish(t, c, "packbench/b1/events", false, bytes.Repeat([]byte("x"), size))
	publish(t, c, "packbench/b1/events", false, `{"id":2,"type":"end"}`)
	want := fmt.Sprintf("(a %d-byte message on packbench/b1/events, over the %d-byte limit: not read)", size, DefaultMaxMessage)
	for _, w := range []string{want, `{"id":2,"type":"end"}`} {
		for got := ""; got != w; {
			select {
			case got = <-raws:
				if got != w && !strings.Contains(got, `"hello"`) { // a late hello from the loop above
					t.Fatalf("watch got %.120q, want %q", got, w)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("watch: nothing after the oversize message, want %q", w)
			}
		}
	}
}
