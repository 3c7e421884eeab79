package station

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/packbench/packbench/queue"
)

// orderCacheBytes bounds what the order cache keeps (stored bytes plus
// their decoded copy, estimated): about 1,300 Shipium orders of 1.5 KB.
const orderCacheBytes = 4 << 20

// orderCache keeps decoded orders of the read paths, keyed by order id
// and checked against the stored bytes on every use: an order whose
// record changed (by any writer, committed or not) no longer matches and
// is decoded afresh, so no write path has to invalidate anything. A hit
// costs a comparison of the record instead of a JSON decode of the order
// and its seed, which was most of a GET of a Shipium order.
type orderCache struct {
	mu      sync.Mutex
	entries map[string]*cachedOrder
	bytes   int
	max     int

	hits, misses atomic.Int64 // for tests and profiles
}

type cachedOrder struct {
	raw   []byte // the record as stored; never modified
	order Order  // decoded from raw; handed out only as clones
	cost  int
}

func newOrderCache(max int) *orderCache {
	return &orderCache{entries: map[string]*cachedOrder{}, max: max}
}

// get reads order id in tx into o, from the cache when the stored record
// is the one decoded before, and returns the record's length. Errors are
// getJSONLen's.
func (c *orderCache) get(tx *queue.Tx, id string, o *Order) (int, error) {
	b, err := tx.GetRecord(kindOrders, id) // a copy, valid after tx
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	e := c.entries[id]
	c.mu.Unlock()
	if e != nil && bytes.Equal(e.raw, b) {
		c.hits.Add(1)
		*o = e.order.clone()
		return len(b), nil
	}
	c.misses.Add(1)
	var d Order
	if err := json.Unmarshal(b, &d); err != nil {
		return 0, fmt.Errorf("decode %s %q: %w", kindOrders, id, err)
	}
	*o = d.clone()
	c.put(id, &cachedOrder{raw: b, order: d, cost: 2*len(b) + 256})
	return len(b), nil
}

func (c *orderCache) put(id string, e *cachedOrder) {
	if e.cost > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[id]; old != nil {
		c.bytes -= old.cost
	}
	c.entries[id] = e
	c.bytes += e.cost
	// Evict arbitrary others (map order) until it fits: the cache is an
	// accelerator, any victim is as good as another for uniform reads.
	for k, v := range c.entries {
		if c.bytes <= c.max {
			break
		}
		if k != id {
			delete(c.entries, k)
			c.bytes -= v.cost
		}
	}
}

// clone copies o's slices and pointers, so a caller that changes the
// order it got cannot change the cached one.
func (o Order) clone() Order {
	o.AssociatedIdentifiers = slices.Clone(o.AssociatedIdentifiers)
	o.Lines = slices.Clone(o.Lines)
	o.Seed = bytes.Clone(o.Seed)
	if o.ShipFrom != nil {
		a := *o.ShipFrom
		o.ShipFrom = &a
	}
	return o
}
