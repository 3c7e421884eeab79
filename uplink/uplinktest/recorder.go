package uplinktest

import (
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Recorder keeps the messages of a subscription, for the cloud's side of a
// test. Wait is woken by each message, so tests never poll or sleep.
type Recorder struct {
	mu      sync.Mutex
	msgs    []paho.Message
	changed chan struct{}
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{changed: make(chan struct{})} }

// Handle is the paho message handler that records m.
func (r *Recorder) Handle(_ paho.Client, m paho.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Snapshot returns the messages so far.
func (r *Recorder) Snapshot() []paho.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]paho.Message(nil), r.msgs...)
}

// Wait blocks until ok holds for the messages so far, or fails the test
// after d, naming what it waited for.
func (r *Recorder) Wait(t testing.TB, d time.Duration, what string, ok func([]paho.Message) bool) []paho.Message {
	t.Helper()
	timeout := time.After(d)
	for {
		r.mu.Lock()
		msgs, ch := append([]paho.Message(nil), r.msgs...), r.changed
		r.mu.Unlock()
		if ok(msgs) {
			return msgs
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("timed out after %v waiting for %s (%d messages)", d, what, len(msgs))
		}
	}
}

// Subscribe subscribes c to topic at QoS 1, recording into r.
func Subscribe(t testing.TB, c paho.Client, topic string, r *Recorder) {
	t.Helper()
	if tok := c.Subscribe(topic, 1, r.Handle); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", topic, tok.Error())
	}
}
