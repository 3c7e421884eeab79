package devicetest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/packbench/packbench/device"
)

// Event is one call the worker made on a Source.
type Event struct {
	Kind   string // "claim", "transmit", "copy", "done" or "hold"
	ID     string
	Copies int           // for "copy": copies of the job sent so far
	Result device.Result // for "done"
	Reason string        // for "hold"
	At     time.Time
}

// Source is an in-memory FIFO device.JobSource that records every call. Safe
// for concurrent use; tests wait on its events instead of sleeping.
type Source struct {
	mu      sync.Mutex
	queue   []device.Job
	claimed map[string]device.Job
	events  []Event
	changed chan struct{}
}

// NewSource returns an empty source.
func NewSource() *Source {
	return &Source{claimed: map[string]device.Job{}, changed: make(chan struct{})}
}

// Add appends jobs to the back of the queue.
func (s *Source) Add(jobs ...device.Job) {
	s.mu.Lock()
	s.queue = append(s.queue, jobs...)
	s.notifyLocked()
	s.mu.Unlock()
}

func (s *Source) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Next implements device.JobSource: it blocks until a job is queued.
func (s *Source) Next(ctx context.Context) (device.Job, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			j := s.queue[0]
			s.queue = s.queue[1:]
			s.claimed[j.ID] = j
			s.events = append(s.events, Event{Kind: "claim", ID: j.ID, At: time.Now()})
			s.notifyLocked()
			s.mu.Unlock()
			return j, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return device.Job{}, ctx.Err()
		}
	}
}

// TryClaim claims the next queued job without blocking (false when none is
// queued), recorded as a "claim": a test wraps it as a device.BatchSource's
// TryNext.
func (s *Source) TryClaim() (device.Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return device.Job{}, false
	}
	j := s.queue[0]
	s.queue = s.queue[1:]
	s.claimed[j.ID] = j
	s.events = append(s.events, Event{Kind: "claim", ID: j.ID, At: time.Now()})
	s.notifyLocked()
	return j, true
}

// Done implements device.JobSource.
func (s *Source) Done(ctx context.Context, id string, r device.Result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.claimed[id]; !ok {
		return fmt.Errorf("devicetest source: done for job %q that is not claimed", id)
	}
	delete(s.claimed, id)
	s.events = append(s.events, Event{Kind: "done", ID: id, Result: r, At: time.Now()})
	s.notifyLocked()
	return nil
}

// CopySent implements device.CopyRecorder: the count goes with the job,
// so a held job taken again says how many copies are already out.
func (s *Source) CopySent(ctx context.Context, id string, sent int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.claimed[id]
	if !ok {
		return fmt.Errorf("devicetest source: copy sent for job %q that is not claimed", id)
	}
	j.CopiesSent = sent
	s.claimed[id] = j
	s.events = append(s.events, Event{Kind: "copy", ID: id, Copies: sent, At: time.Now()})
	s.notifyLocked()
	return nil
}

var _ device.CopyRecorder = (*Source)(nil)

// Transmitting implements device.TransmitRecorder.
func (s *Source) Transmitting(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.claimed[id]; !ok {
		return fmt.Errorf("devicetest source: transmitting for job %q that is not claimed", id)
	}
	s.events = append(s.events, Event{Kind: "transmit", ID: id, At: time.Now()})
	s.notifyLocked()
	return nil
}

var _ device.TransmitRecorder = (*Source)(nil)

// Hold implements device.JobSource: the job goes back to the front.
func (s *Source) Hold(ctx context.Context, id, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.claimed[id]
	if !ok {
		return fmt.Errorf("devicetest source: hold for job %q that is not claimed", id)
	}
	delete(s.claimed, id)
	s.queue = append([]device.Job{j}, s.queue...)
	s.events = append(s.events, Event{Kind: "hold", ID: id, Reason: reason, At: time.Now()})
	s.notifyLocked()
	return nil
}

// Events returns every call so far, in order.
func (s *Source) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Queued is the number of jobs waiting (not claimed).
func (s *Source) Queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Wait blocks until ok is true for the events so far, or ctx ends.
func (s *Source) Wait(ctx context.Context, what string, ok func([]Event) bool) error {
	for {
		s.mu.Lock()
		ev, ch := s.events, s.changed
		done := ok(ev)
		s.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("devicetest source: waiting for %s: %w", what, ctx.Err())
		}
	}
}

// WaitDone blocks until n jobs are done.
func (s *Source) WaitDone(ctx context.Context, n int) error {
	return s.Wait(ctx, fmt.Sprintf("%d jobs done", n), func(ev []Event) bool {
		return Count(ev, "done") >= n
	})
}

// WaitJob blocks until an event of kind for job id happened.
func (s *Source) WaitJob(ctx context.Context, kind, id string) (Event, error) {
	var found Event
	err := s.Wait(ctx, kind+" of "+id, func(ev []Event) bool {
		for _, e := range ev {
			if e.Kind == kind && e.ID == id {
				found = e
				return true
			}
		}
		return false
	})
	return found, err
}

// Count counts events of one kind.
func Count(ev []Event, kind string) int {
	n := 0
	for _, e := range ev {
		if e.Kind == kind {
			n++
		}
	}
	return n
}
