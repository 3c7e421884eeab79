package station

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/queue"
)

// Batch mode of JobSource (JobSourceOptions.Batch > 1): the worker's
// commits (claims, outcomes, holds) are grouped, and go through
// queue.DB.Batch or BatchUrgent, so they also share fsyncs with the
// station's. The write-ahead mark of each job is no commit: it goes to the
// queue's marks log (queue.DB.Transmitting).

// notOurs: the job was moved by someone else (an operator); the worker is
// done with it, as the single-job path treats it.
func notOurs(err error) bool {
	return errors.Is(err, queue.ErrInvalidTransition) || errors.Is(err, queue.ErrNotFound)
}

var _ device.BatchSource = (*JobSource)(nil)

// commitBatched runs fn in one shared commit together with the outcomes
// Done took. fn may run more than once (queue.DB.Batch): it sets, never
// accumulates, what it returns. Under wmu.
func (s *JobSource) commitBatched(fn func(tx *queue.Tx) error) error {
	return s.commitVia(s.db.Batch, fn)
}

// commitVia is commitBatched through commit (queue.DB.Batch, or BatchUrgent
// for a claim the printer waits on). Under wmu.
func (s *JobSource) commitVia(commit func(func(tx *queue.Tx) error) error, fn func(tx *queue.Tx) error) error {
	acks := s.acks
	err := s.commitAcks(commit, acks, fn)
	if err == nil {
		s.acks = nil
	}
	return err
}

// commitAcks commits the outcomes acks and fn, then tells OnDone and
// counts them done. It touches no field under wmu, so a background claim
// (prefetch) runs it without the lock.
func (s *JobSource) commitAcks(commit func(func(tx *queue.Tx) error) error, acks []jobAck, fn func(tx *queue.Tx) error) error {
	var recorded []jobAck
	err := commit(func(tx *queue.Tx) error {
		recorded = recorded[:0]
		for _, a := range acks {
			if _, err := tx.SetState(a.id, a.to, a.reason); err != nil {
				if notOurs(err) {
					continue // nothing was written for it: move checks first
				}
				return fmt.Errorf("job %s: %w", a.id, err)
			}
			recorded = append(recorded, a)
		}
		if fn == nil {
			return nil
		}
		return fn(tx)
	})
	if err != nil {
		return err
	}
	if s.onDone != nil {
		for _, a := range recorded {
			s.onDone(a.id, a.to)
		}
	}
	s.setBusy(-len(acks))
	return nil
}

// TryNext implements device.BatchSource: the next job claimed. While the
// worker sends, the jobs queued behind are claimed in the background
// whenever fewer than Batch are at hand (prefetch), so under load the
// worker waits for a claim's commit only when it outruns it (a commit
// takes milliseconds while the station commits labels: issue 13). False
// when nothing is claimed or queued, when intake stopped (Next then gives
// the rest back), when the claim fails (Next claims again and reports it),
// and always for a source without batches. It never waits for a job to
// arrive.
func (s *JobSource) TryNext() (device.Job, bool) {
	if s.batch <= 1 {
		return device.Job{}, false
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for {
		select {
		case <-s.stop:
			return device.Job{}, false
		default:
		}
		if j, ok := s.popClaimedLocked(); ok {
			if len(s.claimed) < s.batch {
				s.prefetchLocked(false)
			}
			return j, true
		}
		if s.prefetching == nil {
			s.prefetchLocked(true) // the printer waits for it
		}
		if s.prefetching == nil {
			return device.Job{}, false // nothing queued
		}
		if !s.joinPrefetchLocked() {
			return device.Job{}, false
		}
	}
}

// prefetchLocked starts claiming, in the background, the jobs queued now
// up to Batch (ClaimUnsent: each is marked only when its bytes are about
// to go, so a crash leaves uncertain only jobs whose bytes may have left;
// issue 12), with the outcomes taken so far; unless a claim runs already
// or nothing is queued. A claim ahead of need shares the station's next
// commit (queue.DB.Batch); one the printer waits for goes ahead of them
// (urgent). Under wmu.
func (s *JobSource) prefetchLocked(urgent bool) {
	if s.prefetching != nil {
		return
	}
	queued := false
	if err := s.db.View(func(tx *queue.Tx) error {
		queued = tx.Queued(s.printer)
		return nil
	}); err != nil || !queued {
		return
	}
	acks := s.acks
	s.acks = nil
	done := make(chan struct{})
	s.prefetching = done
	s.setBusy(1) // shutdown waits for it, as for a job in the worker's hands
	go func() {
		defer close(done)
		defer s.setBusy(-1)
		commit := s.db.Batch
		if urgent {
			commit = s.db.BatchUrgent
		}
		jobs, err := s.claimCommit(commit, acks, s.batch)
		s.wmu.Lock()
		defer s.wmu.Unlock()
		s.prefetching, s.prefetchErr = nil, err
		if err != nil {
			// Taken again for the next commit, unless Done replaced one.
			for _, a := range acks {
				if !slices.ContainsFunc(s.acks, func(b jobAck) bool { return b.id == a.id }) {
					s.acks = append(s.acks, a)
				}
			}
			return
		}
		s.claimed = append(s.claimed, jobs...)
	}()
}

// joinPrefetchLocked waits for a background claim, with wmu let go; false
// if it failed. Under wmu.
func (s *JobSource) joinPrefetchLocked() bool {
	done := s.prefetching
	if done == nil {
		return true
	}
	s.wmu.Unlock()
	<-done
	s.wmu.Lock()
	return s.prefetchErr == nil
}

// claimCommit claims up to n queued jobs in one commit (queue.DB.Batch for
// a claim ahead of need, sharing the station's commits; BatchUrgent when
// the printer waits on it) with the outcomes acks. No lock needed.
func (s *JobSource) claimCommit(commit func(func(*queue.Tx) error) error, acks []jobAck, n int) ([]queue.Job, error) {
	var jobs []queue.Job
	err := s.commitAcks(commit, acks, func(tx *queue.Tx) error {
		jobs = jobs[:0]
		for len(jobs) < n {
			j, err := tx.ClaimUnsent(s.printer)
			if errors.Is(err, queue.ErrEmpty) {
				break
			}
			if err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.setBusy(len(jobs))
	return jobs, nil
}

// claimLocked claims up to n queued jobs at once, after a background claim
// in flight. Under wmu.
func (s *JobSource) claimLocked(n int) error {
	if s.joinPrefetchLocked() && len(s.claimed) > 0 {
		return nil
	}
	jobs, err := s.claimCommit(s.db.BatchUrgent, s.acks, n)
	if err != nil {
		return err
	}
	s.acks = nil
	s.claimed = append(s.claimed, jobs...)
	return nil
}

// More tells the worker whether a claimed job is at hand behind the one
// it is sending (it then asks the printer's status early).
func (s *JobSource) More() bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return len(s.claimed) > 0
}

// popClaimedLocked hands out the next claimed job; one that is not ZPL
// fails without reaching the printer (its outcome goes with the next
// commit). Under wmu.
func (s *JobSource) popClaimedLocked() (device.Job, bool) {
	for len(s.claimed) > 0 {
		j := s.claimed[0]
		s.claimed = s.claimed[1:]
		if j.ContentType != queue.ContentZPL {
			// The station renders before enqueuing; anything else reaching a
			// printer is a bug upstream, and sending it could print garbage.
			reason := fmt.Sprintf("content type %q is not printer-ready ZPL (want %s)", j.ContentType, queue.ContentZPL)
			s.acks = append(s.acks, jobAck{id: j.ID, to: queue.StateFailed, reason: reason})
			continue
		}
		return device.Job{ID: j.ID.String(), Data: j.Payload, Copies: j.Copies, CopiesSent: j.CopiesSent}, true
	}
	return device.Job{}, false
}

// nextBatched hands out the jobs of the last claim in order and, when
// they are all out, claims the head of the queue alone (committing the
// outcomes taken meanwhile): the rest is claimed by TryNext once the head
// went to the printer, so a printer out of paper holds one job, as
// without batches.
func (s *JobSource) nextBatched(ctx context.Context) (device.Job, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for {
		select {
		case <-s.stop:
			// Intake is closed: give back what was claimed and not handed
			// out, record the outcomes, and idle until the worker stops.
			if err := s.giveBackLocked(0, "intake stopped"); err != nil {
				return device.Job{}, fmt.Errorf("printer %q: give back claimed jobs: %w", s.printer, err)
			}
			s.wmu.Unlock()
			<-ctx.Done()
			s.wmu.Lock()
			return device.Job{}, ctx.Err()
		default:
		}
		if j, ok := s.popClaimedLocked(); ok {
			return j, nil
		}
		if err := ctx.Err(); err != nil {
			return device.Job{}, err
		}
		ch := s.db.Wait(s.printer)
		if err := s.claimLocked(1); err != nil {
			return device.Job{}, fmt.Errorf("claim jobs for printer %q: %w", s.printer, err)
		}
		if len(s.claimed) > 0 {
			continue
		}
		// Idle: the commit that next queues a job for this printer claims
		// it for us (queue.Handoff), one commit less before its first
		// byte. Without a handoff (another source waits for the printer,
		// or the queue closed) Wait alone wakes us, as before.
		h, herr := s.db.Handoff(s.printer)
		var handed, coming <-chan struct{}
		if herr == nil {
			handed = h.Ready()
			if s.askStatus != nil {
				coming = h.Coming()
			}
		}
		s.wmu.Unlock()
	wait:
		for {
			select {
			case <-coming:
				s.askStatus(ctx) // during the commit that brings the job
				coming = nil
				continue
			case <-handed:
			case <-ch:
			case <-s.stop:
			case <-ctx.Done():
			}
			break wait
		}
		s.wmu.Lock()
		if herr == nil {
			if j, ok := h.Stop(); ok {
				s.setBusy(1)
				s.claimed = append(s.claimed, j)
			}
		}
	}
}

// doneBatched takes an outcome, to be committed with the source's next
// commit; at once when the worker is stopping (its context ended), with
// the jobs of the batch it will not hand out given back, so that what
// happened is on disk before the bench stops. Taking the same job's
// outcome again (the worker retries a failed Done) replaces it.
func (s *JobSource) doneBatched(ctx context.Context, a jobAck) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	i := slices.IndexFunc(s.acks, func(b jobAck) bool { return b.id == a.id })
	if i >= 0 {
		s.acks[i] = a
	} else {
		s.acks = append(s.acks, a)
	}
	if ctx.Err() == nil {
		return nil
	}
	return s.giveBackLocked(0, "worker stopped")
}

// holdBatched gives back the held job and every job of its batch not yet
// handed out (none of their bytes left), in one commit.
func (s *JobSource) holdBatched(ctx context.Context, id queue.JobID, reason string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.giveBackLocked(id, reason)
}

// giveBackLocked requeues id (unless 0) and the claimed jobs not handed
// out, and commits the outcomes taken. Under wmu.
func (s *JobSource) giveBackLocked(id queue.JobID, reason string) error {
	s.joinPrefetchLocked() // its jobs go back too
	back := make([]queue.JobID, 0, len(s.claimed)+1)
	if id != 0 {
		back = append(back, id)
	}
	for _, j := range s.claimed {
		back = append(back, j.ID)
	}
	if len(back) == 0 && len(s.acks) == 0 {
		return nil
	}
	var firstErr error
	err := s.commitBatched(func(tx *queue.Tx) error {
		firstErr = nil
		for _, b := range back {
			if _, err := tx.Requeue(b, reason); err != nil {
				if notOurs(err) {
					if b == id && firstErr == nil {
						firstErr = err
					}
					continue
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.claimed = nil
	s.setBusy(-len(back))
	return firstErr
}
