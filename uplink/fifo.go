package uplink

import (
	"context"
	"sync"

	paho "github.com/eclipse/paho.mqtt.golang"
)

type pushItem struct {
	gen uint64
	msg paho.Message
}

// fifo hands pushes from paho's handler to the intake worker without ever
// blocking the handler. It grows as needed up to max: the broker cannot
// have more than 65,535 unacknowledged QoS 1 messages on one connection,
// so a push only finds it full after a storm of reconnects.
type fifo struct {
	mu    sync.Mutex
	items []pushItem
	max   int
	ready chan struct{} // holds a token while items is not empty
}

func newFIFO(max int) *fifo { return &fifo{max: max, ready: make(chan struct{}, 1)} }

func (f *fifo) put(it pushItem) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.items) >= f.max {
		return false
	}
	f.items = append(f.items, it)
	kick(f.ready)
	return true
}

func (f *fifo) get(ctx context.Context) (pushItem, bool) {
	for {
		f.mu.Lock()
		if len(f.items) > 0 {
			it := f.items[0]
			f.items[0] = pushItem{}
			f.items = f.items[1:]
			if len(f.items) == 0 {
				f.items = nil // let the backing array go
			} else {
				kick(f.ready)
			}
			f.mu.Unlock()
			return it, true
		}
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return pushItem{}, false
		case <-f.ready:
		}
	}
}
