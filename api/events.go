package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

// Event names on GET /api/v1/scale/events.
const (
	EventReading = "reading" // a scale.Reading (sent on change, at most every ReadingInterval)
	EventFlow    = "flow"    // the flow's state after a change
	EventJob     = "job"     // a queue outbox event: job.queued or job.state
)

// sseWriter writes Server-Sent Events and flushes each one.
type sseWriter struct {
	bw      *bufio.Writer
	rc      *http.ResponseController
	timeout time.Duration // per event: a client that stops reading is dropped
}

func (sw *sseWriter) event(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	// json.Marshal output has no raw newlines, so one data line suffices.
	fmt.Fprintf(sw.bw, "event: %s\ndata: %s\n\n", name, b)
	return sw.flush()
}

func (sw *sseWriter) comment(text string) error {
	fmt.Fprintf(sw.bw, ": %s\n\n", text)
	return sw.flush()
}

func (sw *sseWriter) flush() error {
	// A stream outlives one answer's deadline: each write gets its own.
	if err := sw.rc.SetWriteDeadline(time.Now().Add(sw.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if err := sw.bw.Flush(); err != nil {
		return err
	}
	return sw.rc.Flush()
}

// streamEvents serves the live stream until the client goes or the Server
// closes. Subscriptions are taken before the first state is written, so no
// change between the two is lost. The first events are the latest reading
// and the current flow state (the flow subscription delivers it at once).
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) error {
	release, ok := s.takeStream()
	if !ok {
		return errorf(http.StatusServiceUnavailable, CodeTooManyStreams,
			"%d event streams are open, the most this bench serves; close one, or poll GET /api/v1/flow", s.opt.MaxStreams)
	}
	defer release()
	readings, unsubReadings := s.deps.Scale.Subscribe(16)
	defer unsubReadings()
	jobs, unsubJobs := s.jobs.subscribe()
	defer unsubJobs()
	flows, unsubFlows := s.subscribeFlow()
	defer unsubFlows()

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sw := &sseWriter{bw: bufio.NewWriter(w), rc: rc, timeout: s.opt.WriteTimeout}

	var last scale.Reading
	var lastAt time.Time
	haveLast := false
	if rd, ok := s.deps.Scale.Latest(); ok {
		if sw.event(EventReading, rd) != nil {
			return nil
		}
		last, lastAt, haveLast = rd, s.opt.Clock.Now(), true
	}
	if sw.comment("ok") != nil {
		return nil
	}

	heartbeat := time.NewTicker(s.opt.Heartbeat)
	defer heartbeat.Stop()
	var throttle <-chan time.Time // armed while a reading waits out the interval
	var pending *scale.Reading
	send := func(rd scale.Reading) error {
		last, lastAt, haveLast, pending = rd, s.opt.Clock.Now(), true, nil
		return sw.event(EventReading, rd)
	}
	for {
		var err error
		select {
		case <-r.Context().Done():
			return nil
		case <-s.ctx.Done():
			return nil
		case rd := <-readings:
			if haveLast && rd.SameAs(last) {
				pending = nil // back to what the client already has
				continue
			}
			if wait := s.opt.ReadingInterval - s.opt.Clock.Now().Sub(lastAt); haveLast && wait > 0 {
				if throttle == nil {
					throttle = s.opt.Clock.After(wait)
				}
				pending = &rd
				continue
			}
			err = send(rd)
		case <-throttle:
			throttle = nil
			if pending != nil {
				err = send(*pending)
			}
		case ev, ok := <-jobs:
			if !ok {
				jobs = nil // queue closed: the stream goes on with the rest
				continue
			}
			err = sw.event(EventJob, ev)
		case fs, ok := <-flows:
			if !ok {
				flows = nil
				continue
			}
			err = sw.event(EventFlow, fs)
		case <-heartbeat.C:
			err = sw.comment("heartbeat")
		}
		if err != nil {
			return nil // the client went away
		}
	}
}

// jobFeed reads job events from the queue outbox and fans them out to the
// open streams. It runs only while a stream is open and reads without a
// consumer (queue.DB.EventsAfter), so it never holds events back.
type jobFeed struct {
	ctx context.Context
	q   *queue.DB
	log *slog.Logger

	mu      sync.Mutex
	subs    map[chan queue.Event]struct{}
	running bool
	done    chan struct{} // closed when the current run ends
	kick    chan struct{} // closed to wake run when subscribers leave
}

func newJobFeed(ctx context.Context, q *queue.DB, log *slog.Logger) *jobFeed {
	return &jobFeed{ctx: ctx, q: q, log: log, subs: map[chan queue.Event]struct{}{}, kick: make(chan struct{})}
}

// subscribe returns a channel of job events. A subscriber that falls 256
// events behind loses the newest ones; the stream is live, not an archive
// (GET /api/v1/jobs has the truth).
func (f *jobFeed) subscribe() (<-chan queue.Event, func()) {
	ch := make(chan queue.Event, 256)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[ch] = struct{}{}
	if !f.running && f.ctx.Err() == nil {
		f.running = true
		prev, done := f.done, make(chan struct{})
		f.done = done
		go f.run(prev, done)
	}
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.subs, ch)
			if len(f.subs) == 0 {
				close(f.kick)
				f.kick = make(chan struct{})
			}
			f.mu.Unlock()
		})
	}
}

// wait returns when no run is active (after Close cancelled the context).
func (f *jobFeed) wait() {
	f.mu.Lock()
	done := f.done
	f.mu.Unlock()
	if done != nil {
		<-done
	}
}

func (f *jobFeed) run(prev, done chan struct{}) {
	defer close(done)
	if prev != nil {
		<-prev // one run at a time, or subscribers would get events twice
	}
	stop := func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.subs) == 0 || f.ctx.Err() != nil {
			f.running = false
			return true
		}
		return false
	}
	// Start at the newest event: streams show what happens from now on.
	// The feed reads without a consumer, so it never holds events back.
	last, err := f.q.LastEventID(f.ctx)
	if err != nil {
		f.fail(err)
		return
	}
	for {
		wake := f.q.WaitEvents()
		if stop() {
			return
		}
		f.mu.Lock()
		kick := f.kick
		f.mu.Unlock()
		evs, err := f.q.EventsAfter(f.ctx, last, 256)
		if err != nil {
			f.fail(err)
			return
		}
		if len(evs) > 0 {
			f.fanout(evs)
			last = evs[len(evs)-1].ID
			continue
		}
		select {
		case <-wake:
		case <-kick:
		case <-f.ctx.Done():
		}
	}
}

// fail ends the feed: subscribers' channels close, so their streams carry
// on without job events (the queue is closing, or broken).
func (f *jobFeed) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running = false
	if f.ctx.Err() == nil && !errors.Is(err, queue.ErrClosed) {
		f.log.Warn("api: job event feed stopped", "err", err)
	}
	for ch := range f.subs {
		close(ch)
		delete(f.subs, ch)
	}
}

func (f *jobFeed) fanout(evs []queue.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ev := range evs {
		if ev.Type != queue.EventJobQueued && ev.Type != queue.EventJobState {
			continue
		}
		for ch := range f.subs {
			select {
			case ch <- ev:
			default:
			}
		}
	}
}
