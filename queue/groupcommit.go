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
	fn     func(*bolt.Tx) error
	urgent bool          // BatchUrgent: commits ahead of the others waiting
	done   chan error    // the outcome (buffered)
	lead   chan struct{} // closed when this call is to lead the next commit
}

// errTrySolo tells a call whose function failed inside a shared commit to
// run alone, so the error it returns is its own and not an artefact of the
// other functions' writes (bbolt's Batch does the same).
var errTrySolo = errors.New("queue: batch function failed, run alone")

// run commits fn together with the calls pending at the same time, through
// update (bbolt's Update and what the DB adds: DB.boltUpdate). An
// urgent call (a printer worker's claim, which the printer waits on)
// goes in the next commit with the other urgent ones only, so it waits for
// the commit in flight and a small one, not for a large group of others.
func (g *groupCommit) run(update func(func(*bolt.Tx) error) error, fn func(*bolt.Tx) error, urgent bool) error {
	c := &groupCall{fn: fn, urgent: urgent, done: make(chan error, 1), lead: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, c)
	if g.leading {
		g.mu.Unlock()
		select {
		case err := <-c.done:
			return c.solo(update, err)
		case <-c.lead:
		}
		g.mu.Lock()
	} else {
		g.leading = true
	}
	// Lead until our own call is committed: a round may take only the
	// urgent calls and leave ours waiting.
	for mine := false; !mine; {
		var calls []*groupCall
		calls, g.pending, mine = takeRound(g.pending, c)
		g.mu.Unlock()
		commitAll(update, calls)
		g.mu.Lock()
	}
	if len(g.pending) > 0 {
		close(g.pending[0].lead) // leading passes on; g.leading stays true
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	return c.solo(update, <-c.done)
}

// takeRound splits pending into the calls of the next commit (the urgent
// ones if there are any, else all) and the rest; mine tells whether c is
// in the round.
func takeRound(pending []*groupCall, c *groupCall) (round, rest []*groupCall, mine bool) {
	if !slices.ContainsFunc(pending, func(p *groupCall) bool { return p.urgent }) {
		return pending, nil, true
	}
	for _, p := range pending {
		if p.urgent {
			round = append(round, p)
			mine = mine || p == c
		} else {
			rest = append(rest, p)
		}
	}
	return round, rest, mine
}

// solo runs the call alone when its shared commit failed because of it.
func (c *groupCall) solo(update func(func(*bolt.Tx) error) error, err error) error {
	if err == errTrySolo {
		return update(c.fn)
	}
	return err
}

// commitAll commits calls in one transaction; a function that fails is
// taken out (told to run alone) and the rest committed again without it.
func commitAll(update func(func(*bolt.Tx) error) error, calls []*groupCall) {
	for len(calls) > 0 {
		failed := -1
		err := update(func(btx *bolt.Tx) error {
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
