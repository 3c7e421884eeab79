package station

import (
	"context"
	"sync"
)

// orderLocks serialise the labelling of each order, and only of that
// order: an order's next package reference is decided by the order, so
// two Ships of the same order would ask the carrier for the same
// reference and race to commit it. Orders are independent; a slow carrier
// for one never holds up another. Waiting honours the caller's context.
type orderLocks struct {
	mu   sync.Mutex
	held map[string]*orderLock
}

// orderLock is one order's lock: a one-slot semaphore (so a waiter can
// also select on its context) and how many callers hold or await it.
type orderLock struct {
	sem  chan struct{}
	refs int
}

// lock takes the order's lock, or returns ctx.Err() if ctx ends first.
// The returned func releases it.
func (l *orderLocks) lock(ctx context.Context, orderID string) (unlock func(), err error) {
	l.mu.Lock()
	if l.held == nil {
		l.held = map[string]*orderLock{}
	}
	ol := l.held[orderID]
	if ol == nil {
		ol = &orderLock{sem: make(chan struct{}, 1)}
		l.held[orderID] = ol
	}
	ol.refs++
	l.mu.Unlock()

	select {
	case ol.sem <- struct{}{}:
	case <-ctx.Done():
		l.release(orderID, ol)
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-ol.sem
			l.release(orderID, ol)
		})
	}, nil
}

// release forgets the order's lock once nobody holds or awaits it, so the
// map holds only orders being labelled.
func (l *orderLocks) release(orderID string, ol *orderLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ol.refs--
	if ol.refs == 0 {
		delete(l.held, orderID)
	}
}
