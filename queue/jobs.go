package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Enqueue commits a new job, or returns the job already committed with the
// same idempotency key (created is then false). Concurrent producers share
// commits; every successful return is on disk. A new job is refused with
// ErrDiskFull while free space is under Options.MinFree.
func (d *DB) Enqueue(ctx context.Context, nj NewJob) (job Job, created bool, err error) {
	if err := ctxErr(ctx); err != nil {
		return Job{}, false, err
	}
	// Validate outside the batch: a failing function costs the whole
	// batch a rollback and a rerun.
	if err := nj.validate(d.opts.MaxPayload); err != nil {
		return Job{}, false, fmt.Errorf("queue: enqueue: %w", err)
	}
	// A lone producer commits at once; concurrent ones share commits.
	err = d.Batch(func(tx *Tx) error {
		// Batch may run this twice: only results of the last run count.
		job, created, err = tx.enqueue(nj)
		return err
	})
	if err != nil {
		return Job{}, false, fmt.Errorf("queue: enqueue: %w", err)
	}
	return job, created, nil
}

// Enqueue commits a new job with the transaction (see DB.Enqueue).
func (tx *Tx) Enqueue(nj NewJob) (Job, bool, error) {
	if err := tx.writable(); err != nil {
		return Job{}, false, err
	}
	if err := nj.validate(tx.d.opts.MaxPayload); err != nil {
		return Job{}, false, fmt.Errorf("queue: enqueue: %w", err)
	}
	return tx.enqueue(nj)
}

func (tx *Tx) enqueue(nj NewJob) (Job, bool, error) {
	idem := tx.bucket(bIdem)
	if v := idem.Get([]byte(nj.Key)); v != nil {
		j, err := tx.job(jobIDFromKey(v), true)
		if err != nil {
			return Job{}, false, fmt.Errorf("key %q: %w", nj.Key, err)
		}
		return j, false, nil
	}
	// A repeated key answers above; only a new job needs room.
	if err := tx.CheckSpace(); err != nil {
		return Job{}, false, err
	}
	jobs := tx.bucket(bJobs)
	seq, err := jobs.NextSequence()
	if err != nil {
		return Job{}, false, err
	}
	j := Job{
		ID:          JobID(seq),
		Key:         nj.Key,
		Source:      nj.Source,
		Printer:     nj.Printer,
		ContentType: nj.ContentType,
		PayloadSize: len(nj.Payload),
		Copies:      nj.Copies,
		Ref:         nj.Ref,
		Origin:      nj.Origin,
		State:       StateQueued,
		CreatedAt:   tx.now,
		UpdatedAt:   tx.now,
	}
	ev, err := tx.appendEvent(Event{Type: EventJobQueued, JobID: j.ID, Key: j.Key, Printer: j.Printer, To: StateQueued})
	if err != nil {
		return Job{}, false, err
	}
	j.History = []Transition{{To: StateQueued, At: tx.now, EventID: ev.ID}}
	k := j.ID.key()
	if err := idem.Put([]byte(nj.Key), k); err != nil {
		return Job{}, false, err
	}
	if err := tx.bucket(bPayloads).Put(k, nj.Payload); err != nil {
		return Job{}, false, err
	}
	if err := tx.index(j.ID, "", StateQueued, j.Printer, time.Time{}, time.Time{}); err != nil {
		return Job{}, false, err
	}
	if err := tx.putJob(&j); err != nil {
		return Job{}, false, err
	}
	j.Payload = append([]byte(nil), nj.Payload...)
	return j, true, nil
}

// Job returns one job with its payload and history.
func (d *DB) Job(ctx context.Context, id JobID) (Job, error) {
	if err := ctxErr(ctx); err != nil {
		return Job{}, err
	}
	var j Job
	err := d.View(func(tx *Tx) error {
		var err error
		j, err = tx.Job(id)
		return err
	})
	return j, err
}

// Job returns one job with its payload and history.
func (tx *Tx) Job(id JobID) (Job, error) {
	j, err := tx.job(id, true)
	if err != nil {
		return Job{}, fmt.Errorf("queue: job %s: %w", id, err)
	}
	return j, nil
}

// JobByKey returns the job enqueued with an idempotency key.
func (d *DB) JobByKey(ctx context.Context, key string) (Job, error) {
	if err := ctxErr(ctx); err != nil {
		return Job{}, err
	}
	var j Job
	err := d.View(func(tx *Tx) error {
		var err error
		j, err = tx.JobByKey(key)
		return err
	})
	return j, err
}

// JobByKey returns the job enqueued with an idempotency key.
func (tx *Tx) JobByKey(key string) (Job, error) {
	v := tx.bucket(bIdem).Get([]byte(key))
	if v == nil {
		return Job{}, fmt.Errorf("queue: job with key %q: %w", key, ErrNotFound)
	}
	return tx.Job(jobIDFromKey(v))
}

func (tx *Tx) job(id JobID, payload bool) (Job, error) {
	v := tx.bucket(bJobs).Get(id.key())
	if v == nil {
		return Job{}, ErrNotFound
	}
	var j Job
	if err := json.Unmarshal(v, &j); err != nil {
		return Job{}, fmt.Errorf("decode job %s: %w", id, err)
	}
	if payload {
		j.Payload = bytes.Clone(tx.bucket(bPayloads).Get(id.key()))
	}
	return j, nil
}

func (tx *Tx) putJob(j *Job) error {
	b, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("encode job %s: %w", j.ID, err)
	}
	return tx.bucket(bJobs).Put(j.ID.key(), b)
}

func doneKey(at time.Time, id JobID) []byte {
	k := make([]byte, 16)
	copy(k, u64(uint64(at.UnixNano())))
	copy(k[8:], id.key())
	return k
}

// index moves a job between the state, FIFO and retention indexes.
func (tx *Tx) index(id JobID, from, to State, printer string, oldFinished, newFinished time.Time) error {
	k := id.key()
	states := tx.bucket(bByState)
	if from != "" {
		if b := states.Bucket([]byte(from)); b != nil {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	sb, err := states.CreateBucketIfNotExists([]byte(to))
	if err != nil {
		return err
	}
	sb.FillPercent = appendFill
	if err := sb.Put(k, nil); err != nil {
		return err
	}
	fifo := tx.bucket(bFIFO)
	if from == StateQueued {
		if b := fifo.Bucket([]byte(printer)); b != nil {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	if to == StateQueued {
		b, err := fifo.CreateBucketIfNotExists([]byte(printer))
		if err != nil {
			return err
		}
		b.FillPercent = appendFill
		if err := b.Put(k, nil); err != nil {
			return err
		}
		if tx.queued == nil {
			tx.queued = map[string]bool{}
		}
		tx.queued[printer] = true
	}
	done := tx.bucket(bDone)
	if !oldFinished.IsZero() {
		if err := done.Delete(doneKey(oldFinished, id)); err != nil {
			return err
		}
	}
	if !newFinished.IsZero() {
		if err := done.Put(doneKey(newFinished, id), nil); err != nil {
			return err
		}
	}
	return nil
}

// move is the one place a job changes state: it checks the transition
// table, updates the indexes, appends history and writes the event.
func (tx *Tx) move(id JobID, to State, reason string, check func(j *Job) error) (Job, error) {
	if err := tx.writable(); err != nil {
		return Job{}, err
	}
	j, err := tx.job(id, false)
	if err != nil {
		return Job{}, fmt.Errorf("job %s: %w", id, err)
	}
	from := j.State
	// Unsent and Claim describe one claim: any move ends it (ClaimUnsent's
	// check sets Claim again for the next).
	j.Unsent, j.Claim = false, 0
	if check != nil {
		if err := check(&j); err != nil {
			return Job{}, err
		}
	}
	if !allowed(from, to) {
		return Job{}, &TransitionError{ID: id, From: from, To: to}
	}
	reason = clipReason(reason)
	oldFinished := j.FinishedAt
	j.FinishedAt = time.Time{}
	if finished(to) {
		j.FinishedAt = tx.now
	}
	switch to {
	case StateSending:
		j.Attempts++
	case StateFailed, StateUncertain:
		j.LastError = reason
	case StatePrinted:
		// Printed is the end of the story: an earlier paper-out or timeout
		// stays in History, not as the job's "last error".
		j.LastError = ""
	}
	ev, err := tx.appendEvent(Event{Type: EventJobState, JobID: id, Key: j.Key, Printer: j.Printer, From: from, To: to, Reason: reason})
	if err != nil {
		return Job{}, err
	}
	j.State = to
	j.UpdatedAt = tx.now
	j.History = append(j.History, Transition{From: from, To: to, At: tx.now, Reason: reason, EventID: ev.ID})
	if err := tx.index(id, from, to, j.Printer, oldFinished, j.FinishedAt); err != nil {
		return Job{}, err
	}
	if err := tx.putJob(&j); err != nil {
		return Job{}, err
	}
	return j, nil
}

// Claim moves the oldest queued job of printer to sending (attempts+1) and
// returns it with its payload, or ErrEmpty. If the bench stops before the
// job leaves sending, Open makes it uncertain.
func (d *DB) Claim(ctx context.Context, printer string) (Job, error) {
	return d.claim(ctx, printer, false)
}

// ClaimUnsent is Claim for a worker that calls Transmitting before it
// writes the job's first byte: the claim is numbered (Job.Claim), and if
// the bench stops before the claim's mark is written, Open puts the job
// back at the front of its queue ("never sent") instead of making it
// uncertain. A printer worker that claims, then finds the printer out of
// paper, so leaves no trace of a label that never was.
func (d *DB) ClaimUnsent(ctx context.Context, printer string) (Job, error) {
	return d.claim(ctx, printer, true)
}

func (d *DB) claim(ctx context.Context, printer string, unsent bool) (Job, error) {
	if err := ctxErr(ctx); err != nil {
		return Job{}, err
	}
	var j Job
	err := d.update(batchNone, func(tx *Tx) error {
		var err error
		j, err = tx.claimJob(printer, unsent)
		return err
	})
	if err != nil {
		return Job{}, fmt.Errorf("queue: claim %s: %w", printer, err)
	}
	return j, nil
}

func (tx *Tx) claim(printer string) (Job, error) { return tx.claimJob(printer, false) }

// Queued says whether printer has a job waiting to be claimed: a printer
// worker looks before it commits a claim that could find nothing.
func (tx *Tx) Queued(printer string) bool {
	b := tx.bucket(bFIFO).Bucket([]byte(printer))
	if b == nil {
		return false
	}
	k, _ := b.Cursor().First()
	return k != nil
}

// ClaimUnsent is DB.ClaimUnsent inside a transaction: called n times it
// claims the n oldest queued jobs of printer, in order, in one commit.
func (tx *Tx) ClaimUnsent(printer string) (Job, error) {
	if err := tx.writable(); err != nil {
		return Job{}, err
	}
	return tx.claimJob(printer, true)
}

func (tx *Tx) claimJob(printer string, unsent bool) (Job, error) {
	b := tx.bucket(bFIFO).Bucket([]byte(printer))
	if b == nil {
		return Job{}, ErrEmpty
	}
	k, _ := b.Cursor().First()
	if k == nil {
		return Job{}, ErrEmpty
	}
	var claim uint64
	if unsent {
		var err error
		if claim, err = tx.NextCounter(claimCounter); err != nil {
			return Job{}, err
		}
	}
	j, err := tx.move(jobIDFromKey(k), StateSending, "", func(j *Job) error {
		j.Claim = claim
		return nil
	})
	if err != nil {
		return Job{}, err
	}
	j.Payload = bytes.Clone(tx.bucket(bPayloads).Get(k))
	return j, nil
}

// SetState records what the printer worker learnt: sent, printed, failed
// or uncertain. Going back to queued is Requeue or Retry; to sending, Claim.
func (d *DB) SetState(ctx context.Context, id JobID, to State, reason string) (Job, error) {
	if err := ctxErr(ctx); err != nil {
		return Job{}, err
	}
	var j Job
	err := d.update(batchNone, func(tx *Tx) error {
		var err error
		j, err = tx.SetState(id, to, reason)
		return err
	})
	return j, err
}

// SetState is DB.SetState inside a transaction.
func (tx *Tx) SetState(id JobID, to State, reason string) (Job, error) {
	var hint string
	switch to {
	case StateQueued:
		hint = "use Requeue or Retry"
	case StateSending:
		hint = "use Claim"
	case StateCancelled:
		hint = "use Cancel"
	}
	j, err := tx.move(id, to, reason, func(j *Job) error {
		if hint != "" {
			return &TransitionError{ID: id, From: j.State, To: to, Hint: hint}
		}
		return nil
	})
	if err != nil {
		return Job{}, fmt.Errorf("queue: set state: %w", err)
	}
	return j, nil
}

// CopySent records that sent copies of a job being sent are out (the
// printer worker calls it after each copy of a multi-copy job). The count
// only grows and never exceeds Copies. It is a field of the job record, with
// neither history entry nor event: those are for state changes, and a
// 1000-copy job would flood the outbox; the count shows in the job, in the
// reason a recovered job gets ("2 of 3 copies sent") and in Retry, which
// sends only the copies not yet out.
func (d *DB) CopySent(ctx context.Context, id JobID, sent int) (Job, error) {
	return d.updateSending(ctx, "copy sent", "copies are counted only while it is being sent", id, func(j *Job) (bool, error) {
		if sent < j.CopiesSent || sent > j.Copies {
			return false, invalidf("job %s: %d copies sent, want %d to %d", id, sent, j.CopiesSent, j.Copies)
		}
		changed := sent != j.CopiesSent
		j.CopiesSent = sent
		return changed, nil
	})
}

// Transmitting records, before the printer worker writes the first byte of
// a job it took with ClaimUnsent, that the printer may receive it from now
// on: from here a crash leaves the job uncertain, as after Claim. It must
// be on disk before the write (write-ahead): recorded after, a crash
// between the write and the record would reprint the label. The mark goes
// to the marks log (marks.go), one small write and one fdatasync that
// wait for no bbolt commit; the job record is not changed, and there is
// neither history entry nor event. A job not claimed with ClaimUnsent, or
// already marked in bbolt, is left as it is.
func (d *DB) Transmitting(ctx context.Context, id JobID) (Job, error) {
	if err := ctxErr(ctx); err != nil {
		return Job{}, err
	}
	var j Job
	err := d.View(func(tx *Tx) error {
		var err error
		j, err = tx.job(id, false)
		if err != nil {
			return fmt.Errorf("job %s: %w", id, err)
		}
		if j.State != StateSending {
			return fmt.Errorf("job %s is %s: %w (only a job being sent is transmitted)", id, j.State, ErrInvalidTransition)
		}
		return nil
	})
	if err == nil && j.Claim != 0 {
		err = d.mark(markKey{id: id, claim: j.Claim})
	}
	if err != nil {
		return Job{}, fmt.Errorf("queue: transmitting: %w", err)
	}
	return j, nil
}

// mark writes k to the marks log. The slot it takes may hold a mark of
// this process that is still needed (its job still sending under that
// claim, after a full turn of the ring): that one is made durable in bbolt
// first, by clearing the job's Claim.
func (d *DB) mark(k markKey) error {
	slot, old := d.marks.reserve(k)
	if old.id != 0 {
		err := d.update(batchNone, func(tx *Tx) error {
			j, err := tx.job(old.id, false)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			if err != nil || j.State != StateSending || j.Claim != old.claim {
				return err
			}
			_, err = tx.Transmitting(old.id)
			return err
		})
		if err != nil {
			return fmt.Errorf("keep mark of job %s: %w", old.id, err)
		}
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.bolt == nil {
		return d.gone()
	}
	return d.marks.write(slot, k)
}

// updateSending changes fields of a job in sending that are no state
// change (so no history entry, no event). set says whether it changed
// anything: if not, nothing is written. op names the operation in errors,
// notSending why a job in another state is refused.
func (d *DB) updateSending(ctx context.Context, op, notSending string, id JobID, set func(j *Job) (bool, error)) (Job, error) {
	if err := ctxErr(ctx); err != nil {
		return Job{}, err
	}
	var j Job
	err := d.update(batchNone, func(tx *Tx) error {
		var err error
		j, err = tx.updateSending(notSending, id, set)
		return err
	})
	if err != nil {
		return Job{}, fmt.Errorf("queue: %s: %w", op, err)
	}
	return j, nil
}

// Transmitting is DB.Transmitting inside a transaction, with the mark in
// the job record (its claim ended) rather than in the marks log: durable
// with the commit, and known to older versions.
func (tx *Tx) Transmitting(id JobID) (Job, error) {
	j, err := tx.updateSending("only a job being sent is transmitted", id, transmitting)
	if err != nil {
		return Job{}, fmt.Errorf("queue: transmitting: %w", err)
	}
	return j, nil
}

func transmitting(j *Job) (bool, error) {
	changed := j.Unsent || j.Claim != 0
	j.Unsent, j.Claim = false, 0
	return changed, nil
}

func (tx *Tx) updateSending(notSending string, id JobID, set func(j *Job) (bool, error)) (Job, error) {
	if err := tx.writable(); err != nil {
		return Job{}, err
	}
	j, err := tx.job(id, false)
	if err != nil {
		return Job{}, fmt.Errorf("job %s: %w", id, err)
	}
	if j.State != StateSending {
		return Job{}, fmt.Errorf("job %s is %s: %w (%s)", id, j.State, ErrInvalidTransition, notSending)
	}
	if changed, err := set(&j); err != nil || !changed {
		return j, err
	}
	j.UpdatedAt = tx.now
	return j, tx.putJob(&j)
}

// Requeue puts a job that is sending back in its printer's queue at its
// original place (the front, for a job just claimed) without counting the
// attempt: for "paper out, try again later".
func (d *DB) Requeue(ctx context.Context, id JobID, reason string) (Job, error) {
	return d.operate(ctx, "requeue", id, StateQueued, reason, requeueCheck(id, reason))
}

// Requeue is DB.Requeue inside a transaction: a printer worker gives back
// the jobs it claimed together in one commit.
func (tx *Tx) Requeue(id JobID, reason string) (Job, error) {
	j, err := tx.move(id, StateQueued, reason, requeueCheck(id, reason))
	if err != nil {
		return Job{}, fmt.Errorf("queue: requeue: %w", err)
	}
	return j, nil
}

func requeueCheck(id JobID, reason string) func(j *Job) error {
	return func(j *Job) error {
		if j.State != StateSending {
			return &TransitionError{ID: id, From: j.State, To: StateQueued, Hint: "Requeue is for a job being sent; use Retry"}
		}
		j.Attempts--
		j.LastError = clipReason(reason)
		return nil
	}
}

// Retry queues a failed, uncertain or sent job again (an operator's
// decision), at its original place in its printer's FIFO, with attempts
// reset to 0. A multi-copy job of which only some copies went out keeps
// its CopiesSent, so only the rest are printed; one whose copies all went
// out is printed again in full (to print a finished label again, see
// station's Reprint).
func (d *DB) Retry(ctx context.Context, id JobID, reason string) (Job, error) {
	return d.operate(ctx, "retry", id, StateQueued, orDefault(reason, "retried by operator"), func(j *Job) error {
		if j.State != StateFailed && j.State != StateUncertain && j.State != StateSent {
			return &TransitionError{ID: id, From: j.State, To: StateQueued, Hint: "only failed, uncertain or sent jobs can be retried"}
		}
		j.Attempts = 0
		if j.CopiesSent >= j.Copies {
			j.CopiesSent = 0
		}
		return nil
	})
}

// Cancel makes a queued, failed or uncertain job final without printing.
func (d *DB) Cancel(ctx context.Context, id JobID, reason string) (Job, error) {
	return d.operate(ctx, "cancel", id, StateCancelled, orDefault(reason, "cancelled by operator"), nil)
}

// Cancel is DB.Cancel inside a transaction (station cancelling an order's
// label together with the order).
func (tx *Tx) Cancel(id JobID, reason string) (Job, error) {
	j, err := tx.move(id, StateCancelled, orDefault(reason, "cancelled"), nil)
	if err != nil {
		return Job{}, fmt.Errorf("queue: cancel: %w", err)
	}
	return j, nil
}

// MarkPrinted records that a failed, uncertain or sent job did print (an
// operator saw the label).
func (d *DB) MarkPrinted(ctx context.Context, id JobID, reason string) (Job, error) {
	return d.operate(ctx, "mark printed", id, StatePrinted, orDefault(reason, "marked printed by operator"), func(j *Job) error {
		if j.State == StateSending {
			return &TransitionError{ID: id, From: j.State, To: StatePrinted, Hint: "the printer worker owns a job being sent"}
		}
		return nil
	})
}

func (d *DB) operate(ctx context.Context, op string, id JobID, to State, reason string, check func(j *Job) error) (Job, error) {
	if err := ctxErr(ctx); err != nil {
		return Job{}, err
	}
	var j Job
	err := d.update(batchNone, func(tx *Tx) error {
		var err error
		j, err = tx.move(id, to, reason, check)
		return err
	})
	if err != nil {
		return Job{}, fmt.Errorf("queue: %s: %w", op, err)
	}
	return j, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// unsentReason is the history entry of a job Open puts back in its queue.
const unsentReason = "never sent: the bench stopped before the first byte went to the printer; queued again"

// recoverSending turns every job left in sending into uncertain, except
// those still Unsent and those whose Claim has no mark in marks: no byte
// of them left, so they go back to their place in the queue, without
// counting the attempt (as Requeue).
func (tx *Tx) recoverSending(marks map[markKey]bool) (uncertain, requeued []JobID, err error) {
	b := tx.bucket(bByState).Bucket([]byte(StateSending))
	if b == nil {
		return nil, nil, nil
	}
	var ids []JobID
	// Collect first: never delete while walking a cursor.
	if err := b.ForEach(func(k, _ []byte) error {
		ids = append(ids, jobIDFromKey(k))
		return nil
	}); err != nil {
		return nil, nil, err
	}
	for _, id := range ids {
		j, err := tx.job(id, false)
		if err != nil {
			return nil, nil, fmt.Errorf("recover job %s: %w", id, err)
		}
		if j.Unsent || (j.Claim != 0 && !marks[markKey{id: id, claim: j.Claim}]) {
			if _, err := tx.move(id, StateQueued, unsentReason, func(j *Job) error {
				j.Attempts--
				j.LastError = unsentReason
				return nil
			}); err != nil {
				return nil, nil, fmt.Errorf("recover job %s: %w", id, err)
			}
			requeued = append(requeued, id)
			continue
		}
		reason := "was sending when the bench stopped; not reprinted"
		if j.Copies > 1 {
			reason = fmt.Sprintf("was sending when the bench stopped: %d of %d copies sent; not reprinted", j.CopiesSent, j.Copies)
		}
		if _, err := tx.move(id, StateUncertain, reason, nil); err != nil {
			return nil, nil, fmt.Errorf("recover job %s: %w", id, err)
		}
		uncertain = append(uncertain, id)
	}
	return uncertain, requeued, nil
}

// ListOptions filter List. Zero values mean no filter.
type ListOptions struct {
	State   State
	Printer string
	After   JobID // page: jobs with a larger id
	Limit   int   // 0: all
}

// List returns jobs in id order (without payloads).
func (d *DB) List(ctx context.Context, o ListOptions) ([]Job, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if o.State != "" {
		if _, err := ParseState(string(o.State)); err != nil {
			return nil, fmt.Errorf("queue: list: %w", err)
		}
	}
	var out []Job
	err := d.View(func(tx *Tx) error {
		var c *bolt.Cursor
		if o.State != "" {
			b := tx.bucket(bByState).Bucket([]byte(o.State))
			if b == nil {
				return nil
			}
			c = b.Cursor()
		} else {
			c = tx.bucket(bJobs).Cursor()
		}
		for k, _ := c.Seek(JobID(uint64(o.After) + 1).key()); k != nil; k, _ = c.Next() {
			j, err := tx.job(jobIDFromKey(k), false)
			if err != nil {
				return fmt.Errorf("job %s: %w", jobIDFromKey(k), err)
			}
			if o.Printer != "" && j.Printer != o.Printer {
				continue
			}
			out = append(out, j)
			if o.Limit > 0 && len(out) >= o.Limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queue: list: %w", err)
	}
	return out, nil
}

// Counts returns how many jobs are in each state.
func (d *DB) Counts(ctx context.Context) (map[State]int, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	out := map[State]int{}
	err := d.View(func(tx *Tx) error {
		for _, s := range States() {
			if b := tx.bucket(bByState).Bucket([]byte(s)); b != nil {
				out[s] = b.Stats().KeyN
			}
		}
		return nil
	})
	return out, err
}
