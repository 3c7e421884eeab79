package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// The cloud side of the MQTT tests: a paho client and a recorder of what it
// receives. The broker is uplinktest's mosquitto.

// recorder keeps the messages of a subscription; wait is woken by each.
type recorder struct {
	mu      sync.Mutex
	msgs    []paho.Message
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) handle(_ paho.Client, m paho.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) wait(t testing.TB, d time.Duration, what string, ok func([]paho.Message) bool) []paho.Message {
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

// testClient is the cloud's side: a plain paho client.
func testClient(t testing.TB, port int, id string) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(fmt.Sprintf("tcp://127.0.0.1:%d", port)).SetClientID(id).
		SetCleanSession(true).SetAutoReconnect(false).SetOrderMatters(true)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("test client connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func subscribe(t testing.TB, c paho.Client, topic string, r *recorder) {
	t.Helper()
	if tok := c.Subscribe(topic, 1, r.handle); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", topic, tok.Error())
	}
}
