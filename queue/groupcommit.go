package queue

import (
	"errors"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// groupCommit shares one bbolt commit (and its fsyncs) among concurrent
// Batch callers without a timer. The first caller leads: it commits every
// call pending when it starts; calls that arrive meanwhile wait, and the
// first of them leads the next commit. So a lone caller commits at once,
// and under load a commit holds whatever gathered during the previous
// fsync. bbolt's own Batch waits MaxBatchDelay for company instead, which
// put a printer worker's per-job write-ahead mark a timer tick apart from
// the next (issue 13: labels printed per second).
type groupCommit struct {
	mu      sync.Mutex
	pending []*groupCall
	leading bool // a caller is committing or about to
}

type groupCall struct {
	fn   func(*bolt.Tx) error
	done chan error    // the outcome (buffered)
	lead chan struct{} // closed when this call is to lead the next commit
}

// errTrySolo tells a call whose function failed inside a shared commit to
// run alone, so the error it returns is its own and not an artefact of the
// other functions' writes (bbolt's Batch does the same).
var errTrySolo = errors.New("queue: batch function failed, run alone")

// run commits fn together with the calls pending at the same time.
func (g *groupCommit) run(db *bolt.DB, fn func(*bolt.Tx) error) error {
	c := &groupCall{fn: fn, done: make(chan error, 1), lead: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	if g.leading {
		g.mu.Unlock()
		select {
		case err := <-c.done:
			return c.solo(db, err)
		case <-c.lead:
		}
	} else {
		g.leading = true
		g.mu.Unlock()
	}
	g.mu.Lock()
	calls := g.pending
	g.pending = nil
	g.mu.Unlock()

	commitAll(db, calls)

	g.mu.Lock()
	if len(g.pending) > 0 {
		close(g.pending[0].lead) // leading passes on; g.leading stays true
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	return c.solo(db, <-c.done)
}

// solo runs the call alone when its shared commit failed because of it.
func (c *groupCall) solo(db *bolt.DB, err error) error {
	if err == errTrySolo {
		return db.Update(c.fn)
	}
	return err
}

// commitAll commits calls in one transaction; a function that fails is
// taken out (told to run alone) and the rest committed again without it.
func commitAll(db *bolt.DB, calls []*groupCall) {
	for len(calls) > 0 {
		failed := -1
		err := db.Update(func(btx *bolt.Tx) error {
			for i, c := range calls {
				if err := c.fn(btx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			calls[failed].done <- errTrySolo
			calls = slices.Delete(calls, failed, failed+1)
			continue
		}
		for _, c := range calls {
			c.done <- err
		}
		return
	}
}
