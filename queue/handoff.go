package queue

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A Handoff is an idle printer worker waiting for its next job. The write
// transaction that leaves a job queued for the printer also claims the
// head of its queue for the worker (as ClaimUnsent), and once that commit
// is on disk the job is handed over: a label's first byte then waits for
// one commit (the one that made the job) instead of two (that one, then
// the worker's claim), which was a third of the time from a stable weight
// to the label (issue 20). The claim is an ordinary numbered claim: if
// the bench stops before the job's write-ahead mark, Open puts it back in
// its queue.
//
// A job made queued by a transaction that does not hand it over (one
// committed while an earlier hand-over was still settling, for one) wakes
// the worker through Wait as before; so the worker waits on both.
type Handoff struct {
	d       *DB
	printer string
	ready   chan struct{} // closed when a job was handed over
	coming  chan struct{} // closed when a transaction first claimed for it

	// Under d.nmu.
	inflight bool // a transaction claimed for it and is committing
	stopped  bool
	job      *Job // the job handed over
}

// handoffClaim is a job claimed for h in a transaction not yet committed.
type handoffClaim struct {
	h   *Handoff
	job Job
}

// errHandoffBusy: a printer has one worker, so one Handoff at a time.
var errHandoffBusy = errors.New("a worker already waits for this printer")

// Handoff registers the caller as the idle worker of printer. The caller
// waits for Ready (and for Wait(printer), taken before its last claim
// found the queue empty) and then calls Stop, which returns the job handed
// over, if any: from then on it holds that claim as if it had made it.
func (d *DB) Handoff(printer string) (*Handoff, error) {
	d.nmu.Lock()
	defer d.nmu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	if _, ok := d.handoffs[printer]; ok {
		return nil, fmt.Errorf("queue: handoff %s: %w", printer, errHandoffBusy)
	}
	h := &Handoff{d: d, printer: printer, ready: make(chan struct{}), coming: make(chan struct{})}
	d.handoffs[printer] = h
	return h, nil
}

// Ready is closed when a job was handed over (Stop returns it).
func (h *Handoff) Ready() <-chan struct{} { return h.ready }

// Coming is closed when a transaction claimed a job for the handoff, before
// it commits: the worker can ask its printer's status during the commit
// (the transaction may still roll back; Ready tells).
func (h *Handoff) Coming() <-chan struct{} { return h.coming }

// Stop ends the handoff and returns the job handed over, if any. A claim
// for it still committing is waited for, so that no claimed job is left
// without its worker.
func (h *Handoff) Stop() (Job, bool) {
	d := h.d
	d.nmu.Lock()
	defer d.nmu.Unlock()
	for h.inflight {
		d.handoffSettled.Wait()
	}
	h.stopped = true
	if d.handoffs[h.printer] == h {
		delete(d.handoffs, h.printer)
	}
	if h.job == nil {
		return Job{}, false
	}
	return *h.job, true
}

// claimForHandoffs runs last in every write transaction: for each worker
// waiting with no claim in flight whose printer now has a job queued, it
// claims the head of that queue in btx.
func (d *DB) claimForHandoffs(btx *bolt.Tx) ([]handoffClaim, error) {
	tx := d.newTx(btx)
	tx.log = d.changes // d.mu is held for reading by the caller's update
	d.nmu.Lock()
	var claims []handoffClaim
	for _, h := range d.handoffs {
		if !h.inflight && !h.stopped && h.job == nil && tx.Queued(h.printer) {
			h.inflight = true
			claims = append(claims, handoffClaim{h: h})
		}
	}
	d.nmu.Unlock()
	for i := range claims {
		j, err := tx.claimJob(claims[i].h.printer, true)
		if err != nil {
			d.settleHandoffs(claims, err)
			return nil, fmt.Errorf("claim for a waiting worker: %w", err)
		}
		claims[i].job = j
		d.nmu.Lock()
		select {
		case <-claims[i].h.coming:
		default:
			close(claims[i].h.coming)
		}
		d.nmu.Unlock()
	}
	return claims, nil
}

// settleHandoffs ends the claims of a transaction: handed over if it
// committed (err nil), forgotten if it rolled back.
func (d *DB) settleHandoffs(claims []handoffClaim, err error) {
	if len(claims) == 0 {
		return
	}
	d.nmu.Lock()
	defer d.nmu.Unlock()
	for _, c := range claims {
		c.h.inflight = false
		if err == nil {
			j := c.job
			c.h.job = &j
			close(c.h.ready)
			if d.handoffs[c.h.printer] == c.h {
				delete(d.handoffs, c.h.printer)
			}
		}
	}
	d.handoffSettled.Broadcast()
	if err == nil && !d.closed {
		// The claims wrote events (sending) the caller's transaction may
		// not have: wake the outbox's readers as notify does.
		close(d.eventWait)
		d.eventWait = make(chan struct{})
	}
}

// boltUpdate is bbolt's Update with the hand-over: fn, then the claims
// for waiting workers in the same transaction, settled by its outcome.
func (d *DB) boltUpdate(fn func(*bolt.Tx) error) error {
	var claims []handoffClaim
	err := d.bolt.Update(func(btx *bolt.Tx) error {
		if err := fn(btx); err != nil {
			return err
		}
		var err error
		claims, err = d.claimForHandoffs(btx)
		return err
	})
	d.settleHandoffs(claims, err)
	return err
}
