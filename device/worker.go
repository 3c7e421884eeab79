package device

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/packbench/packbench/internal/backoff"
	"github.com/packbench/packbench/internal/clock"
)

// Job is one printer-ready document taken from the queue.
type Job struct {
	ID     string
	Data   []byte // ZPL, already rendered
	Copies int    // <= 1 means one
	// CopiesSent is how many copies an earlier attempt already wrote (as
	// the source recorded through CopyRecorder); the worker sends the rest.
	CopiesSent int
}

// Outcome is what became of a job.
type Outcome string

// Outcomes reported to JobSource.Done.
const (
	// Printed: the printer's status showed its buffer empty and no label
	// left in the batch after the job was sent (or the spool file is durable).
	Printed Outcome = "printed"
	// Sent: every byte was accepted but the printer cannot confirm (no
	// status channel, or confirmation did not come within ConfirmTimeout).
	Sent Outcome = "sent"
	// Failed: a permanent error, or transient errors beyond MaxAttempts.
	Failed Outcome = "failed"
	// Uncertain: the connection broke after part of the job was written;
	// whether a label came out is unknown, so it is not resent by itself.
	Uncertain Outcome = "uncertain"
)

// Result is the end of one job.
type Result struct {
	Outcome  Outcome
	Reason   string // why, for anything but a clean Printed
	Attempts int    // sends tried, including the one that ended it
	Bytes    int    // bytes accepted by the transport in total
}

// JobSource is the queue as the worker sees it. The daemon adapts the bbolt
// queue to it; devicetest.Source is an in-memory one.
type JobSource interface {
	// Next blocks until a job for this printer is claimed (moved durably to
	// "sending") or ctx ends. It may return ErrEmpty instead of blocking;
	// the worker then waits PollInterval and asks again.
	Next(ctx context.Context) (Job, error)
	// Done records the job's outcome.
	Done(ctx context.Context, id string, r Result) error
	// Hold gives the job back to the front of the queue without using up a
	// retry: the printer cannot take it now (paper out, head open, paused,
	// silent, unreachable).
	Hold(ctx context.Context, id string, reason string) error
}

// CopyRecorder is implemented by a JobSource that keeps, durably, how many
// copies of a multi-copy job went out, so neither a restart nor a retry
// prints a copy twice. The worker calls CopySent after each copy the
// transport accepted and before it sends the next; sent counts all copies
// of the job written so far. If recording fails the worker sends no further
// copy and ends the job Uncertain.
type CopyRecorder interface {
	CopySent(ctx context.Context, id string, sent int) error
}

// TransmitRecorder is implemented by a JobSource that records, durably,
// when a claimed job may start reaching the printer, so that after a crash
// a job whose claim never got that far (the printer was out of paper) goes
// back to the queue instead of being left uncertain. The worker calls
// Transmitting once per claim, after the printer reported ready and before
// the first byte is written: write-ahead, since recorded after the write a
// crash in between would print the label twice. If it fails nothing is
// written, and the attempt counts as a send that failed before any byte.
type TransmitRecorder interface {
	Transmitting(ctx context.Context, id string) error
}

// BatchSource is implemented by a JobSource that claims several jobs in
// one go. TryNext hands out the next job it claimed, or claims the jobs
// already queued (a commit), never waiting for one to arrive; false when
// it has none at hand (or intake stopped). The worker
// then sends the batch's jobs back to back and confirms them with one
// status poll after the last: the printer's buffer empty after the last
// job means every job before it printed too.
type BatchSource interface {
	TryNext() (Job, bool)
}

// WorkerOptions tune a Worker; the zero value is the defaults.
type WorkerOptions struct {
	Logger   *slog.Logger
	Clock    Clock
	OnStatus func(Status) // called when the printer's state or reason changes; must not block

	MinBackoff     time.Duration // first wait after a failure or a hold; default 250ms
	MaxBackoff     time.Duration // longest wait; default 30s
	MaxAttempts    int           // transient send failures before a job fails; default 5
	ConfirmTimeout time.Duration // wait for the printer to finish a job; default 2m
	PollInterval   time.Duration // longest status poll while confirming (it starts at 5ms); default 200ms
	IdlePoll       time.Duration // status poll while idle, for OnStatus; default 10s, <0 off
}

func (o *WorkerOptions) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.OnStatus == nil {
		o.OnStatus = func(Status) {}
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 250 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.ConfirmTimeout <= 0 {
		o.ConfirmTimeout = 2 * time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	if o.IdlePoll == 0 {
		o.IdlePoll = 10 * time.Second
	}
}

// Worker drives one printer: it takes jobs from a JobSource in order, holds
// the queue while the printer needs a person, and confirms each job with the
// printer's status.
//
// The rules, in order:
//   - Before a job is sent the printer's status is read, and once the
//     printer is ready the source's TransmitRecorder (when it has one) is
//     told, durably, before the first byte is written. A blocking state
//     (paper out, head open, ribbon out, paused, over temperature, silent on
//     ~HS, unreachable) gives the job back with Hold — no retry is used — and
//     the worker polls the status with backoff until the printer is ready,
//     then takes the next job (the same one) again.
//   - A send that fails before any byte was written is retried with backoff,
//     up to MaxAttempts, then the job fails with the last error.
//   - A send that fails after some bytes were written ends the job as
//     Uncertain: resending could print a second label, not resending could
//     lose one, so a person decides (the queue keeps it for "reprint").
//   - A permanent error (see Permanent) fails the job at once.
//   - After all copies are written the worker polls status until the printer
//     reports no format in its buffer and no label remaining: Printed. A
//     printer that cannot report gives Sent; so does a confirmation that does
//     not come within ConfirmTimeout, or a connection lost after the last
//     byte was accepted (the reason says which).
//   - Copies are sent as separate documents (^PQ is left as the renderer
//     wrote it); copies already written are remembered across a Hold, and
//     recorded through the source's CopyRecorder (when it has one) after
//     each copy, so a retried or restarted job does not repeat them (the
//     job's CopiesSent). A spool printer gets all copies in one
//     <job-id>.zpl file.
type Worker struct {
	p   Printer
	src JobSource
	o   WorkerOptions

	statusMu sync.Mutex      // one status read (and OnStatus call) at a time
	holdBo   backoff.Backoff // waits while the printer is not ready; reset by a good send

	mu         sync.Mutex
	last       Status
	haveStatus bool
	busy       bool
	progress   map[string]jobProgress // copies written per job across holds and retries

	// ahead are jobs of a batch written in full and not yet confirmed
	// (BatchSource); only Run's goroutine touches it.
	ahead []aheadJob
	// askedEarly: a ~HS was asked before the last job's bytes (Ask), for
	// the next job's check; its reply is no confirmation. Run's goroutine.
	askedEarly bool
}

type aheadJob struct {
	id       string
	attempts int
	bytes    int
}

type jobProgress struct {
	copiesDone int
	attempts   int
	bytes      int
}

// NewWorker returns a worker for p fed by src. Options may be nil.
func NewWorker(p Printer, src JobSource, opts *WorkerOptions) *Worker {
	var o WorkerOptions
	if opts != nil {
		o = *opts
	}
	o.defaults()
	return &Worker{p: p, src: src, o: o, progress: map[string]jobProgress{},
		holdBo: backoff.New(o.MinBackoff, o.MaxBackoff)}
}

// Status returns the last status read from the printer.
func (w *Worker) Status() (Status, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last, w.haveStatus
}

// Run works until ctx ends; it returns ctx's error, after every goroutine
// it started has ended. It never gives up on the printer: connection loss,
// unplug and restarts are waited out.
func (w *Worker) Run(ctx context.Context) error {
	if w.o.IdlePoll > 0 {
		idleCtx, cancel := context.WithCancel(ctx)
		idleDone := make(chan struct{})
		go func() {
			defer close(idleDone)
			w.idleMonitor(idleCtx)
		}()
		// Joined, so nothing reads the printer or calls OnStatus once Run
		// returned (the printer's calls end with idleCtx).
		defer func() {
			cancel()
			<-idleDone
		}()
	}
	bo := backoff.New(w.o.MinBackoff, w.o.MaxBackoff)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		job, err := w.src.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !errors.Is(err, ErrEmpty) {
				w.o.Logger.Warn("printer worker: take job", "printer", w.p.Name(), "err", err)
				if err := w.wait(ctx, bo.Next()); err != nil {
					return err
				}
				continue
			}
			if err := w.wait(ctx, w.o.PollInterval); err != nil {
				return err
			}
			continue
		}
		bo.Reset()
		w.setBusy(true)
		for more := true; more && err == nil; {
			job, more, err = w.handle(ctx, job)
		}
		w.setBusy(false)
		if err != nil {
			return err
		}
	}
}

func (w *Worker) setBusy(b bool) {
	w.mu.Lock()
	w.busy = b
	w.mu.Unlock()
}

// handle takes one claimed job to an outcome or back to the queue. It returns
// only ctx's error. When the source is a BatchSource with another job at
// hand, a job written in full is left unconfirmed (w.ahead) and handle
// returns that next job with more set; any other end settles w.ahead first.
func (w *Worker) handle(ctx context.Context, job Job) (next Job, more bool, err error) {
	err = w.handleOne(ctx, job, &next, &more)
	return next, more, err
}

func (w *Worker) handleOne(ctx context.Context, job Job, next *Job, more *bool) error {
	log := w.o.Logger.With("printer", w.p.Name(), "job", job.ID)
	copies := max(job.Copies, 1)
	bo := backoff.New(w.o.MinBackoff, w.o.MaxBackoff)
	transmitting := false // recorded for this claim
	for {
		st, err := w.readStatus(ctx)
		w.askedEarly = false // that read took the reply, if one was asked
		if ctx.Err() != nil {
			w.settleAhead(ctx)
			return w.holdOnExit(job, "worker stopped")
		}
		if st.State.Blocking() {
			w.settleAhead(ctx)
			reason := st.Reason
			if reason == "" {
				reason = string(st.State)
			}
			if err != nil && st.State == StateOffline {
				reason = err.Error()
			}
			log.Info("printer not ready: holding the queue", "state", st.State, "reason", reason)
			if err := w.src.Hold(ctx, job.ID, reason); err != nil && ctx.Err() == nil {
				log.Error("hold job", "err", err)
			}
			return w.waitReady(ctx)
		}

		pr := w.getProgress(job.ID)
		pr.copiesDone = min(max(pr.copiesDone, job.CopiesSent), copies)
		var n int
		var sendErr, recErr error
		if !transmitting && pr.copiesDone < copies {
			w.askEarly(ctx)
			if sendErr = w.recordTransmitting(ctx, job.ID); sendErr == nil {
				transmitting = true
			} else {
				pr.attempts++
			}
		}
		for sendErr == nil && pr.copiesDone < copies {
			pr.attempts++
			var sent int
			n, sent, sendErr = w.send(ctx, job, copies-pr.copiesDone)
			pr.bytes += n
			if sendErr != nil {
				break
			}
			pr.copiesDone += sent
			if recErr = w.recordCopies(ctx, job.ID, copies, pr.copiesDone); recErr != nil {
				break
			}
		}
		w.setProgress(job.ID, pr)
		if recErr != nil {
			w.settleAhead(ctx)
			// Sending on without the count on disk could print a copy twice
			// after a restart: a person decides.
			log.Error("record copies sent", "copies", pr.copiesDone, "of", copies, "err", recErr)
			return w.finish(ctx, job.ID, Result{Outcome: Uncertain, Attempts: pr.attempts, Bytes: pr.bytes,
				Reason: fmt.Sprintf("%d of %d copies sent; recording the count failed: %v", pr.copiesDone, copies, recErr)})
		}
		if sendErr == nil {
			w.holdBo.Reset()
			if bs, ok := w.src.(BatchSource); ok && recErr == nil {
				if nj, ok := bs.TryNext(); ok {
					// Confirmed with the batch's last job (settleAhead).
					w.ahead = append(w.ahead, aheadJob{id: job.ID, attempts: pr.attempts, bytes: pr.bytes})
					w.mu.Lock()
					delete(w.progress, job.ID)
					w.mu.Unlock()
					*next, *more = nj, true
					return nil
				}
			}
			r := w.confirm(ctx)
			w.finishAhead(ctx, r)
			r.Attempts, r.Bytes = pr.attempts, pr.bytes
			return w.finish(ctx, job.ID, r)
		}
		// Anything but a clean send: the jobs written before this one are
		// confirmed and reported first.
		w.settleAhead(ctx)
		if ctx.Err() != nil && n == 0 {
			return w.holdOnExit(job, "worker stopped")
		}
		switch {
		case n == 0 && errors.Is(sendErr, ErrOffline):
			// Unreachable is a state of the printer, not of the job.
			pr.attempts--
			w.setProgress(job.ID, pr)
			log.Info("printer unreachable: holding the queue", "err", sendErr)
			if err := w.src.Hold(ctx, job.ID, sendErr.Error()); err != nil && ctx.Err() == nil {
				log.Error("hold job", "err", err)
			}
			return w.wait(ctx, w.holdBo.Next())
		case n > 0:
			log.Warn("connection lost mid-job: outcome unknown", "bytes", n, "of", len(job.Data), "err", sendErr)
			return w.finish(ctx, job.ID, Result{Outcome: Uncertain, Attempts: pr.attempts, Bytes: pr.bytes,
				Reason: fmt.Sprintf("connection lost after %d of %d bytes (copy %d of %d): %v", n, len(job.Data), pr.copiesDone+1, copies, sendErr)})
		case IsPermanent(sendErr):
			return w.finish(ctx, job.ID, Result{Outcome: Failed, Attempts: pr.attempts, Bytes: pr.bytes, Reason: sendErr.Error()})
		case pr.attempts >= w.o.MaxAttempts:
			reason := fmt.Sprintf("gave up after %d attempts: %v", pr.attempts, sendErr)
			if pr.copiesDone > 0 {
				reason += fmt.Sprintf(" (%d of %d copies were sent)", pr.copiesDone, copies)
			}
			return w.finish(ctx, job.ID, Result{Outcome: Failed, Attempts: pr.attempts, Bytes: pr.bytes, Reason: reason})
		}
		log.Warn("send failed before any byte: retrying", "attempt", pr.attempts, "err", sendErr)
		if err := w.wait(ctx, bo.Next()); err != nil {
			return w.holdOnExit(job, "worker stopped")
		}
	}
}

// settleAhead confirms and reports the jobs written ahead, if any.
func (w *Worker) settleAhead(ctx context.Context) {
	if len(w.ahead) == 0 {
		return
	}
	w.finishAhead(ctx, w.confirm(ctx))
}

// finishAhead reports r (a confirmation read after the last of them was
// written) for every job written ahead, in order, each with its own
// attempts and bytes.
func (w *Worker) finishAhead(ctx context.Context, r Result) {
	ahead := w.ahead
	w.ahead = nil
	for _, a := range ahead {
		ra := r
		ra.Attempts, ra.Bytes = a.attempts, a.bytes
		w.finish(ctx, a.id, ra) // an error is ctx's: the caller sees it too
	}
}

// send writes one copy, or for a spool printer all remaining copies as one
// file named after the job. It returns bytes written and copies sent.
func (w *Worker) send(ctx context.Context, job Job, copiesLeft int) (int, int, error) {
	if s, ok := w.p.(interface {
		SendJob(context.Context, string, []byte) (int, error)
	}); ok {
		n, err := s.SendJob(ctx, job.ID, bytes.Repeat(job.Data, copiesLeft))
		if err != nil {
			return n, 0, err
		}
		return n, copiesLeft, nil
	}
	send := w.p.Send
	if a, ok := w.p.(statusAsker); ok && copiesLeft == 1 && !w.askedEarly {
		// A status is read after the last copy (the next job's check or
		// the confirmation): asked now, its round trip overlaps the rest.
		send = a.SendAsk
	}
	n, err := send(ctx, job.Data)
	if err != nil {
		return n, 0, err
	}
	return n, 1, nil
}

// statusAsker is a Printer that can ask for its status ahead of reading
// it: right behind a job (streamPrinter.SendAsk) or now (Ask).
type statusAsker interface {
	SendAsk(ctx context.Context, data []byte) (int, error)
	Ask(ctx context.Context) error
}

// AskStatus asks p for its status now, if it can ask ahead of reading
// (a TCP, USB or serial printer with a back channel): the next status read
// takes the reply, if it is fresh. The queue hands a job to an idle worker
// in the commit that queues it and says so before that commit's fsync; a
// status asked then is in by the time the job is (issue 20).
func AskStatus(ctx context.Context, p Printer) {
	if a, ok := p.(statusAsker); ok {
		a.Ask(ctx) //nolint: the read that follows asks again if this failed
	}
}

// moreSource is a BatchSource that tells whether another job is at hand
// (claimed) behind the one being sent.
type moreSource interface {
	More() bool
}

// askEarly asks the printer's status before the job's write-ahead mark when
// another job is at hand: that job's check then reads a reply that came in
// during the mark's fsync, instead of waiting a round trip after this
// job's bytes (issue 13). The state it tells is from just before this
// job's bytes, as fresh for the next job's check as a request right after
// them; confirm never takes it as a confirmation.
func (w *Worker) askEarly(ctx context.Context) {
	a, ok := w.p.(statusAsker)
	if !ok || w.askedEarly {
		return
	}
	if m, ok := w.src.(moreSource); !ok || !m.More() {
		return
	}
	w.askedEarly = a.Ask(ctx) == nil
}

// recordTransmitting tells a TransmitRecorder source that the job's bytes
// may reach the printer from now on.
func (w *Worker) recordTransmitting(ctx context.Context, id string) error {
	r, ok := w.src.(TransmitRecorder)
	if !ok {
		return nil
	}
	if err := r.Transmitting(ctx, id); err != nil {
		return fmt.Errorf("record that the job is being sent: %w", err)
	}
	return nil
}

// recordCopies tells a CopyRecorder source how many copies of a
// multi-copy job are out (a single copy needs no count: the job's state
// says it).
func (w *Worker) recordCopies(ctx context.Context, id string, copies, sent int) error {
	r, ok := w.src.(CopyRecorder)
	if !ok || copies <= 1 {
		return nil
	}
	return r.CopySent(ctx, id, sent)
}

// holdOnExit returns a claimed job to the queue when the worker stops, so it
// is not left in "sending".
func (w *Worker) holdOnExit(job Job, reason string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.src.Hold(ctx, job.ID, reason); err != nil {
		w.o.Logger.Error("hold job on exit", "printer", w.p.Name(), "job", job.ID, "err", err)
	}
	return context.Canceled
}

func (w *Worker) getProgress(id string) jobProgress {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.progress[id]
}

func (w *Worker) setProgress(id string, p jobProgress) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.progress[id] = p
}

// finishAttempts bounds how often the worker tries to record an outcome.
const finishAttempts = 5

// finish reports the outcome, retrying a failed report a few times (the
// label is out: losing that fact could print it twice). If the queue still
// refuses, the job stays "sending" there, which the queue recovers as
// uncertain, never as a silent reprint; the worker moves on.
func (w *Worker) finish(ctx context.Context, id string, r Result) error {
	w.mu.Lock()
	delete(w.progress, id)
	w.mu.Unlock()
	bo := backoff.New(w.o.MinBackoff, w.o.MaxBackoff)
	for attempt := 1; ; attempt++ {
		err := w.src.Done(ctx, id, r)
		if err == nil {
			w.o.Logger.Info("job done", "printer", w.p.Name(), "job", id, "outcome", r.Outcome, "reason", r.Reason)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.o.Logger.Error("record job outcome", "printer", w.p.Name(), "job", id, "outcome", r.Outcome, "attempt", attempt, "err", err)
		if attempt == finishAttempts {
			return nil
		}
		if err := w.wait(ctx, bo.Next()); err != nil {
			return err
		}
	}
}

// confirm polls status after a job was written.
func (w *Worker) confirm(ctx context.Context) Result {
	if w.askedEarly {
		// That reply predates the last job's bytes: take it and drop it.
		w.askedEarly = false
		w.readStatus(ctx)
	}
	deadline := w.o.Clock.Now().Add(w.o.ConfirmTimeout)
	// A short label on a fast printer is out in milliseconds, a 6 in label
	// at 6 ips in a second: poll quickly first, then back off to PollInterval.
	every := min(confirmFirstPoll, w.o.PollInterval)
	var lastReason string
	for {
		st, err := w.readStatus(ctx)
		switch {
		case errors.Is(err, ErrNoStatus):
			return Result{Outcome: Sent, Reason: "printer cannot report status"}
		case err == nil && st.Idle() && !st.State.Blocking():
			return Result{Outcome: Printed}
		case st.State == StateOffline:
			return Result{Outcome: Sent, Reason: "not confirmed: " + st.Reason}
		}
		lastReason = st.Reason
		if lastReason == "" {
			lastReason = string(st.State)
		}
		if ctx.Err() != nil || !w.o.Clock.Now().Before(deadline) {
			return Result{Outcome: Sent, Reason: fmt.Sprintf("not confirmed within %v (last status: %s)", w.o.ConfirmTimeout, lastReason)}
		}
		if w.wait(ctx, every) != nil {
			return Result{Outcome: Sent, Reason: "not confirmed: worker stopped"}
		}
		every = min(2*every, w.o.PollInterval)
	}
}

// confirmFirstPoll is the first wait between status reads while confirming.
const confirmFirstPoll = 5 * time.Millisecond

// waitReady polls status with backoff until the printer can take a job.
func (w *Worker) waitReady(ctx context.Context) error {
	for {
		if err := w.wait(ctx, w.holdBo.Next()); err != nil {
			return err
		}
		st, _ := w.readStatus(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !st.State.Blocking() {
			w.holdBo.Reset()
			return nil
		}
	}
}

func (w *Worker) idleMonitor(ctx context.Context) {
	for {
		if w.wait(ctx, w.o.IdlePoll) != nil {
			return
		}
		w.mu.Lock()
		busy := w.busy
		w.mu.Unlock()
		if !busy {
			w.readStatus(ctx)
		}
	}
}

// readStatus reads the printer's status and tells OnStatus when it changed.
func (w *Worker) readStatus(ctx context.Context) (Status, error) {
	w.statusMu.Lock()
	defer w.statusMu.Unlock()
	st, err := w.p.Status(ctx)
	if ctx.Err() != nil {
		return st, err
	}
	if st.State == "" {
		st.State = StateUnknown
	}
	st.Time = w.o.Clock.Now()
	w.mu.Lock()
	changed := !w.haveStatus || w.last.State != st.State || w.last.Reason != st.Reason
	w.last, w.haveStatus = st, true
	w.mu.Unlock()
	if changed {
		w.o.OnStatus(st)
	}
	return st, err
}

func (w *Worker) wait(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-w.o.Clock.After(d):
		return nil
	}
}
