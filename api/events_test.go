package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/internal/clocktest"
	"github.com/packbench/packbench/queue"
)

// sseEvent is one parsed Server-Sent Event, or a comment.
type sseEvent struct {
	name, data, comment string
}

// stream is an open event stream read by a real HTTP client.
type stream struct {
	t      testing.TB
	events chan sseEvent
	done   chan error // the read error that ended the stream
	cancel context.CancelFunc
}

func (b *bench) openStream(query string, headers ...string) *stream {
	b.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", b.ts.URL+"/api/v1/scale/events"+query, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.ts.Client().Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-cache" {
		b.t.Fatalf("stream: %d %v", resp.StatusCode, resp.Header)
	}
	s := &stream{t: b.t, events: make(chan sseEvent, 1024), done: make(chan error, 1), cancel: cancel}
	go func() {
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		var ev sseEvent
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				close(s.events)
				s.done <- err
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				s.events <- ev
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.comment = strings.TrimSpace(line[1:])
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			}
		}
	}()
	b.t.Cleanup(cancel)
	return s
}

// next returns the next event for which ok is true; events it skips are
// handed to seen (may be nil).
func (s *stream) next(what string, ok func(sseEvent) bool, seen func(sseEvent)) sseEvent {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, open := <-s.events:
			if !open {
				s.t.Fatalf("stream ended waiting for %s", what)
			}
			if seen != nil {
				seen(ev)
			}
			if ok(ev) {
				return ev
			}
		case <-timeout:
			s.t.Fatalf("no %s event", what)
		}
	}
}

func named(name string) func(sseEvent) bool {
	return func(ev sseEvent) bool { return ev.name == name }
}

func TestEventStream(t *testing.T) {
	b := newBench(t, &benchOptions{opts: &api.Options{Heartbeat: 20 * time.Millisecond, ReadingInterval: time.Millisecond}})
	s := b.openStream("", "X-Api-Key", testKey)

	// First the state as it is: the latest reading (an empty scale) and the flow.
	var rd map[string]any
	ev := s.next("initial reading", named(api.EventReading), nil)
	if err := json.Unmarshal([]byte(ev.data), &rd); err != nil || rd["status"] != "zero" {
		t.Fatalf("initial reading %q (%v)", ev.data, err)
	}
	var fs map[string]any
	ev = s.next("initial flow", named(api.EventFlow), nil)
	if err := json.Unmarshal([]byte(ev.data), &fs); err != nil || fs["state"] != "idle" {
		t.Fatalf("initial flow %q (%v)", ev.data, err)
	}

	// The simulated scale changes: a reading event carries the new weight,
	// and a reading is sent only when something changed (the simulator
	// repeats itself every 100 ms).
	b.ok("POST", "/api/v1/scale/sim", `{"grams":1200}`, nil)
	var last string
	noRepeats := func(ev sseEvent) {
		if ev.name != api.EventReading {
			return
		}
		var r struct {
			Milligrams int64  `json:"milligrams"`
			Status     string `json:"status"`
		}
		json.Unmarshal([]byte(ev.data), &r)
		key := fmt.Sprint(r.Status, r.Milligrams)
		if key == last {
			t.Errorf("unchanged reading sent twice: %s", ev.data)
		}
		last = key
	}
	s.next("reading of 1200 g", func(ev sseEvent) bool {
		return ev.name == api.EventReading && strings.Contains(ev.data, `"milligrams":1200000`) && strings.Contains(ev.data, `"status":"stable"`)
	}, noRepeats)

	// A heartbeat comment comes while nothing else happens.
	s.next("heartbeat", func(ev sseEvent) bool { return ev.comment == "heartbeat" }, noRepeats)

	// A job committed to the queue shows up as a job event.
	j := b.enqueue("sse-job", "p1")
	ev = s.next("job event", named(api.EventJob), noRepeats)
	var qe queue.Event
	if err := json.Unmarshal([]byte(ev.data), &qe); err != nil || qe.JobID != j.ID || qe.Type != queue.EventJobQueued || qe.To != queue.StateQueued {
		t.Fatalf("job event %q (%v)", ev.data, err)
	}
	if _, err := b.db.Cancel(context.Background(), j.ID, "test"); err != nil {
		t.Fatal(err)
	}
	ev = s.next("job state event", named(api.EventJob), noRepeats)
	if err := json.Unmarshal([]byte(ev.data), &qe); err != nil || qe.From != queue.StateQueued || qe.To != queue.StateCancelled {
		t.Fatalf("job state event %q (%v)", ev.data, err)
	}

	// The client goes: the handler returns.
	s.cancel()
	select {
	case <-b.streams:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream handler did not end when the client went")
	}

	// A second stream, then the server shuts down: the client sees the
	// end and the handler returns.
	s2 := b.openStream("?key=" + testKey)
	s2.next("reading", named(api.EventReading), nil)
	b.srv.Close()
	select {
	case <-s2.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end at Close")
	}
	select {
	case <-b.streams:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream handler did not end at Close")
	}
}

func TestEventStreamThrottlesReadings(t *testing.T) {
	// On a manual clock: a burst of changes right after a reading waits
	// for the interval, and each interval lets out one reading, the newest
	// the stream has; the last one out is the burst's newest.
	const interval = 300 * time.Millisecond
	clk := clocktest.NewClock(time.Unix(1_700_000_000, 0))
	b := newBench(t, &benchOptions{opts: &api.Options{ReadingInterval: interval, Clock: clk}})
	s := b.openStream("", "Authorization", "Bearer "+testKey)
	s.next("initial reading", named(api.EventReading), nil)
	s.next("ready", func(ev sseEvent) bool { return ev.comment == "ok" }, nil)
	// The initial reading was just sent and the clock does not move by
	// itself: each of these is within the interval of it.
	for _, g := range []string{"100", "200", "300", "400"} {
		b.ok("POST", "/api/v1/scale/sim", `{"grams":`+g+`}`, nil)
	}
	grams := func(ev sseEvent) int64 {
		var r struct {
			Milligrams int64 `json:"milligrams"`
		}
		if err := json.Unmarshal([]byte(ev.data), &r); err != nil {
			t.Fatalf("reading %q: %v", ev.data, err)
		}
		return r.Milligrams / 1000
	}
	var sent []int64
	for len(sent) == 0 || sent[len(sent)-1] != 400 {
		if len(sent) == 4 {
			t.Fatalf("readings %v: the burst's newest (400 g) never went out", sent)
		}
		// A held reading arms the throttle on the clock.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := clk.WaitWaiters(ctx, 1)
		cancel()
		if err != nil {
			t.Fatalf("after readings %v: no reading waits for the interval: %v", sent, err)
		}
		// Nothing gets out before the interval has passed.
		for drained := false; !drained; {
			select {
			case ev := <-s.events:
				if ev.name == api.EventReading {
					t.Fatalf("reading %s sent within the interval of the one before (sent so far %v)", ev.data, sent)
				}
			default:
				drained = true
			}
		}
		clk.Advance(interval)
		g := grams(s.next("the reading held for the interval", named(api.EventReading), nil))
		if len(sent) > 0 && g <= sent[len(sent)-1] {
			t.Fatalf("reading %d g after %v: an older reading went out after a newer one", g, sent)
		}
		sent = append(sent, g)
	}
}

func TestEventStreamOutlivesWriteTimeout(t *testing.T) {
	// The daemon's http.Server may have a WriteTimeout; a stream clears it
	// for itself and keeps going past it.
	const writeTimeout = 150 * time.Millisecond
	b := newBench(t, &benchOptions{writeTimeout: writeTimeout, opts: &api.Options{Heartbeat: 20 * time.Millisecond}})
	// An ordinary request still works under the timeout.
	b.ok("GET", "/api/v1/jobs", nil, nil)
	s := b.openStream("", "X-Api-Key", testKey)
	start := time.Now()
	for time.Since(start) < 3*writeTimeout {
		s.next("heartbeat", func(ev sseEvent) bool { return ev.comment == "heartbeat" }, nil)
	}
	b.ok("POST", "/api/v1/scale/sim", `{"grams":42}`, nil)
	s.next("reading after the write timeout", func(ev sseEvent) bool {
		return ev.name == api.EventReading && strings.Contains(ev.data, `"milligrams":42000`)
	}, nil)
}

func TestEventStreamsShareTheJobFeed(t *testing.T) {
	b := newBench(t, nil)
	before, err := b.db.Consumers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s1 := b.openStream("", "X-Api-Key", testKey)
	s2 := b.openStream("", "X-Api-Key", testKey)
	for _, s := range []*stream{s1, s2} {
		s.next("ready", func(ev sseEvent) bool { return ev.comment == "ok" }, nil)
	}
	j := b.enqueue("shared-1", "p1")
	// Open streams read the outbox without a consumer: they hold nothing back.
	cons, err := b.db.Consumers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(cons) != len(before) {
		t.Fatalf("open streams registered outbox consumers: %v, before them %v", cons, before)
	}
	for _, s := range []*stream{s1, s2} {
		ev := s.next("job event", named(api.EventJob), nil)
		if !strings.Contains(ev.data, `"job_id":"`+j.ID.String()+`"`) {
			t.Fatalf("job event %s", ev.data)
		}
	}
	// One stream goes; the other still gets job events.
	s1.cancel()
	<-b.streams
	j2 := b.enqueue("shared-2", "p1")
	ev := s2.next("job event after the other stream left", named(api.EventJob), nil)
	if !strings.Contains(ev.data, `"job_id":"`+j2.ID.String()+`"`) {
		t.Fatalf("job event %s", ev.data)
	}
}
