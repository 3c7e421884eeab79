package station

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/packbench/packbench/queue"
)

// TestOrderCacheSeesEveryWrite: the read paths' decoded-order cache never
// answers with an order the file no longer holds: not after the station's
// own writes, not after a write by anyone else, not after a write that was
// rolled back; and a caller changing the order it got changes nothing.
func TestOrderCacheSeesEveryWrite(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, Config{})
	ctx := context.Background()
	from := tonyDouglas
	from.Name = "Warehouse 3"
	a := mustCreate(t, st, Order{PartnerOrderID: "po-1", AssociatedIdentifiers: []string{"lpn:1", "tote:9"}, ShipFrom: &from,
		Lines: []Line{{SKU: "P1", Quantity: 2}}, Source: "shipium", Seed: json.RawMessage(`{"partnerOrderId":"po-1"}`)})

	find := func(code string) Order {
		t.Helper()
		o, err := st.FindOrder(ctx, code)
		if err != nil {
			t.Fatalf("FindOrder(%q): %v", code, err)
		}
		return o
	}
	first := find("po-1")
	if !reflect.DeepEqual(first, a) {
		t.Fatalf("FindOrder = %+v, want the created %+v", first, a)
	}
	hits := st.orders.hits.Load()
	second := find("po-1")
	if st.orders.hits.Load() != hits+1 || !reflect.DeepEqual(second, a) {
		t.Fatalf("second read: %d hits (want %d), %+v", st.orders.hits.Load(), hits+1, second)
	}

	// What a caller does to its copy stays its own.
	second.AssociatedIdentifiers[0], second.Lines[0].SKU, second.Seed[2], second.ShipFrom.Name = "x", "x", 'X', "x"
	for _, read := range []func() (Order, error){
		func() (Order, error) { return st.FindOrder(ctx, "tote:9") },
		func() (Order, error) { return st.Order(ctx, a.ID) },
		func() (Order, error) {
			p, err := st.ListOrders(ctx, ListOptions{Identifier: "po-1"})
			if err != nil || len(p.Orders) != 1 {
				return Order{}, fmt.Errorf("page %+v: %v", p, err)
			}
			return p.Orders[0], nil
		},
		func() (Order, error) {
			p, err := st.ListOrders(ctx, ListOptions{})
			if err != nil || len(p.Orders) != 1 {
				return Order{}, fmt.Errorf("page %+v: %v", p, err)
			}
			return p.Orders[0], nil
		},
	} {
		if o, err := read(); err != nil || !reflect.DeepEqual(o, a) {
			t.Fatalf("after the caller changed its copy: %+v, %v; want %+v", o, err, a)
		}
	}

	// The station's own write.
	if _, err := st.CancelOrder(ctx, a.ID, "test"); err != nil {
		t.Fatal(err)
	}
	if o := find("lpn:1"); o.Status != OrderCancelled {
		t.Fatalf("after cancel: status %q", o.Status)
	}

	// A write by another user of the file, then one rolled back after the
	// station read its uncommitted bytes.
	b := a
	b.Status, b.Service = OrderShipped, "written elsewhere"
	put := func(tx *queue.Tx, o Order) error {
		raw, err := json.Marshal(o)
		if err != nil {
			return err
		}
		return tx.PutRecord(kindOrders, o.ID, raw)
	}
	if err := db.Update(func(tx *queue.Tx) error { return put(tx, b) }); err != nil {
		t.Fatal(err)
	}
	if o := find("po-1"); !reflect.DeepEqual(o, b) {
		t.Fatalf("after another writer: %+v, want %+v", o, b)
	}
	errRollback := errors.New("roll back")
	c := b
	c.Service = "never committed"
	err := db.Update(func(tx *queue.Tx) error {
		if err := put(tx, c); err != nil {
			return err
		}
		var seen Order
		if _, err := st.orders.get(tx, c.ID, &seen); err != nil || seen.Service != c.Service {
			return fmt.Errorf("inside the transaction: %+v, %v", seen, err)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	if o := find("po-1"); !reflect.DeepEqual(o, b) {
		t.Fatalf("after a rolled-back write: %+v, want the committed %+v", o, b)
	}

	// And the file says the same to a fresh station.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dir, clk)
	st = newStation(t, db, clk, Config{})
	if o := find("tote:9"); !reflect.DeepEqual(o, b) {
		t.Fatalf("after reopen: %+v, want %+v", o, b)
	}
}

// TestOrderCacheBounded: the cache keeps at most its byte budget, and
// orders pushed out are read (decoded) again correctly.
func TestOrderCacheBounded(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	ctx := context.Background()
	const n = 40
	var want []Order
	for i := range n {
		want = append(want, mustCreate(t, st, Order{PartnerOrderID: fmt.Sprintf("po-%d", i)}))
	}
	var one []byte
	if err := db.View(func(tx *queue.Tx) error {
		var err error
		one, err = tx.GetRecord(kindOrders, want[0].ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	st.orders = newOrderCache(5 * (2*len(one) + 256)) // room for about five
	for round := range 3 {
		for i, w := range want {
			o, err := st.FindOrder(ctx, fmt.Sprintf("po-%d", i))
			if err != nil || !reflect.DeepEqual(o, w) {
				t.Fatalf("round %d, order %d: %+v, %v", round, i, o, err)
			}
			st.orders.mu.Lock()
			size, entries := st.orders.bytes, len(st.orders.entries)
			st.orders.mu.Unlock()
			if size > st.orders.max || entries > 6 {
				t.Fatalf("cache holds %d entries, %d bytes; budget %d", entries, size, st.orders.max)
			}
		}
	}
	if m := st.orders.misses.Load(); m < n {
		t.Errorf("%d misses for %d orders read three times through a cache of five: the budget is not kept", m, n)
	}
}

// TestOrderCacheConcurrent: readers running beside a writer each see the
// committed versions in order, never an older one after a newer one, and
// the last one once the writer is done.
func TestOrderCacheConcurrent(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	ctx := context.Background()
	o := mustCreate(t, st, Order{PartnerOrderID: "po-1", Service: "v0"})
	const versions = 50
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			last := -1
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				got, err := st.FindOrder(ctx, "po-1")
				var v int
				if err == nil {
					_, err = fmt.Sscanf(got.Service, "v%d", &v)
				}
				if err != nil || v < last {
					errs <- fmt.Errorf("read %q after v%d: %v", got.Service, last, err)
					return
				}
				last = v
			}
		}()
	}
	for v := 1; v <= versions; v++ {
		o.Service = fmt.Sprintf("v%d", v)
		raw, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(func(tx *queue.Tx) error { return tx.PutRecord(kindOrders, o.ID, raw) }); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got, err := st.FindOrder(ctx, "po-1"); err != nil || got.Service != fmt.Sprintf("v%d", versions) {
		t.Fatalf("after the writer: %q, %v", got.Service, err)
	}
}
