package station

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/queue"
)

// JobSource is one printer's view of the bbolt queue as a
// device.JobSource (and device.CopyRecorder and device.TransmitRecorder).
// It also knows whether a job is in the worker's hands, so shutdown can let
// that job finish before the worker is stopped.
type JobSource struct {
	db      *queue.DB
	printer string
	stop    <-chan struct{}
	onDone  func(id queue.JobID, st queue.State)
	batch   int
	// askStatus: JobSourceOptions.AskStatus.
	askStatus func(ctx context.Context)

	// Batch mode (batch > 1) state, touched only by the worker's calls,
	// which come one at a time; wmu guards it anyway.
	wmu     sync.Mutex
	claimed []queue.Job // claimed with the last batch, not yet handed out
	acks    []jobAck    // outcomes Done took, not yet committed
	// prefetching is closed when the background claim ends (nil: none
	// runs); prefetchErr is how it ended.
	prefetching chan struct{}
	prefetchErr error

	mu     sync.Mutex
	busy   int           // jobs claimed and not yet done or held
	idleCh chan struct{} // closed when busy drops to 0
}

var (
	_ device.JobSource        = (*JobSource)(nil)
	_ device.CopyRecorder     = (*JobSource)(nil)
	_ device.TransmitRecorder = (*JobSource)(nil)
)

// JobSourceOptions tune a JobSource; nil means none.
type JobSourceOptions struct {
	// Stop ends intake: once it is closed Next hands out no new job.
	Stop <-chan struct{}
	// OnDone, when set, learns each recorded outcome (the printers view).
	OnDone func(id queue.JobID, st queue.State)
	// Batch is how many jobs the worker claims per commit; 0 or 1 means
	// one, and every call commits on its own. With more, Next claims the
	// head of the queue (or, idle, has it handed over by the commit that
	// queues it: queue.Handoff); once that job went out, TryNext claims up
	// to Batch jobs behind it, and claims the next ones in the background
	// whenever fewer than Batch are at hand, so the worker rarely waits for
	// a commit. Each job is marked (write-ahead, the queue's marks log) just
	// before its bytes, so a crash leaves uncertain only jobs whose bytes
	// may have left and puts the others back in the queue. Done keeps the
	// outcome in memory and commits it with the source's next commit (the
	// next claim or hold, and before Next waits for work or intake stops).
	// A crash before that leaves a finished job uncertain, not reprinted.
	Batch int
	// AskStatus, when set, is called (by the worker's goroutine, in Next)
	// when the commit that will hand the idle worker its next job is about
	// to be made durable: the printer's status is then asked while it is
	// (device.AskStatus), and the job's check reads the reply.
	AskStatus func(ctx context.Context)
}

// DefaultJobBatch is the Batch the daemon uses. Outcomes ride on the
// claims, so after a crash up to about this many labels that did print
// may be found uncertain (never reprinted: a person decides); fewer,
// larger claims leave the station's commits more of the disk (issue 13:
// 16 printed 919 – 970 labels/s under 32 HTTP clients, 32 printed 1,011 –
// 1,085).
const DefaultJobBatch = 32

// jobAck is an outcome Done took in batch mode.
type jobAck struct {
	id     queue.JobID
	to     queue.State
	reason string
}

// NewJobSource returns the queue as the worker of printer sees it.
func NewJobSource(db *queue.DB, printer string, opts *JobSourceOptions) *JobSource {
	s := &JobSource{db: db, printer: printer, idleCh: make(chan struct{})}
	if opts != nil {
		s.stop, s.onDone, s.batch, s.askStatus = opts.Stop, opts.OnDone, opts.Batch, opts.AskStatus
	}
	close(s.idleCh)
	return s
}

// outcomeTimeout bounds recording an outcome (or a copy count) after
// shutdown began: the label is out, so it is recorded even though the
// worker's context ended.
const outcomeTimeout = 5 * time.Second

// Next claims the oldest queued job, blocking until there is one. The wait
// channel is taken before Claim so a job queued in between is not missed.
// The claim is ClaimUnsent: until the worker calls Transmitting, a crash
// puts the job back in the queue rather than making it uncertain.
func (s *JobSource) Next(ctx context.Context) (device.Job, error) {
	if s.batch > 1 {
		return s.nextBatched(ctx)
	}
	for {
		select {
		case <-s.stop:
			<-ctx.Done() // intake is closed: idle until the worker is stopped
			return device.Job{}, ctx.Err()
		default:
		}
		ch := s.db.Wait(s.printer)
		j, err := s.db.ClaimUnsent(ctx, s.printer)
		if errors.Is(err, queue.ErrEmpty) {
			select {
			case <-ch:
				continue
			case <-s.stop:
				continue
			case <-ctx.Done():
				return device.Job{}, ctx.Err()
			}
		}
		if err != nil {
			return device.Job{}, fmt.Errorf("claim job for printer %q: %w", s.printer, err)
		}
		if j.ContentType != queue.ContentZPL {
			// The station renders before enqueuing; anything else reaching a
			// printer is a bug upstream, and sending it could print garbage.
			reason := fmt.Sprintf("content type %q is not printer-ready ZPL (want %s)", j.ContentType, queue.ContentZPL)
			if _, err := s.db.SetState(context.WithoutCancel(ctx), j.ID, queue.StateFailed, reason); err != nil {
				return device.Job{}, fmt.Errorf("fail job %s: %w", j.ID, err)
			}
			continue
		}
		s.setBusy(+1)
		return device.Job{ID: j.ID.String(), Data: j.Payload, Copies: j.Copies, CopiesSent: j.CopiesSent}, nil
	}
}

// CopySent records durably how many copies of the job are out, with a
// context detached from the worker's for the same reason as Done.
func (s *JobSource) CopySent(ctx context.Context, id string, sent int) error {
	jid, err := queue.ParseJobID(id)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), outcomeTimeout)
	defer cancel()
	_, err = s.db.CopySent(rctx, jid, sent)
	return err
}

// Transmitting records durably, before the worker writes the job's first
// byte, that the printer may receive it from now on (the queue's marks
// log: no commit, in batch mode as without). The worker's context is
// kept: if it ended, the worker writes nothing either.
func (s *JobSource) Transmitting(ctx context.Context, id string) error {
	jid, err := queue.ParseJobID(id)
	if err != nil {
		return err
	}
	_, err = s.db.Transmitting(ctx, jid)
	return err
}

// Done records the outcome. It uses a context detached from the worker's so
// that a label printed while the daemon stops is still recorded truthfully.
func (s *JobSource) Done(ctx context.Context, id string, r device.Result) error {
	jid, err := queue.ParseJobID(id)
	if err != nil {
		return err
	}
	var to queue.State
	switch r.Outcome {
	case device.Printed:
		to = queue.StatePrinted
	case device.Sent:
		to = queue.StateSent
	case device.Failed:
		to = queue.StateFailed
	case device.Uncertain:
		to = queue.StateUncertain
	default:
		return fmt.Errorf("job %s: unknown outcome %q", id, r.Outcome)
	}
	if s.batch > 1 {
		return s.doneBatched(ctx, jobAck{id: jid, to: to, reason: r.Reason})
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), outcomeTimeout)
	defer cancel()
	_, err = s.db.SetState(rctx, jid, to, r.Reason)
	if err == nil && s.onDone != nil {
		s.onDone(jid, to)
	}
	if err == nil || errors.Is(err, queue.ErrInvalidTransition) || errors.Is(err, queue.ErrNotFound) {
		// Recorded, or no longer ours to record (an operator moved it):
		// either way the worker is done with it.
		s.setBusy(-1)
	}
	return err
}

// Hold gives the job back to the front of the queue.
func (s *JobSource) Hold(ctx context.Context, id, reason string) error {
	jid, err := queue.ParseJobID(id)
	if err != nil {
		return err
	}
	if s.batch > 1 {
		return s.holdBatched(ctx, jid, reason)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), outcomeTimeout)
	defer cancel()
	_, err = s.db.Requeue(rctx, jid, reason)
	if err == nil || errors.Is(err, queue.ErrInvalidTransition) || errors.Is(err, queue.ErrNotFound) {
		s.setBusy(-1)
	}
	return err
}

func (s *JobSource) setBusy(d int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.busy
	s.busy = max(s.busy+d, 0)
	switch {
	case was == 0 && s.busy > 0:
		s.idleCh = make(chan struct{})
	case was > 0 && s.busy == 0:
		close(s.idleCh)
	}
}

// Idle returns a channel closed while no job is in the worker's hands.
func (s *JobSource) Idle() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idleCh
}
