package uplink

import (
	"context"
	"testing"
)

func TestFIFO(t *testing.T) {
	f := newFIFO(3)
	for i := range 3 {
		if !f.put(pushItem{gen: uint64(i)}) {
			t.Fatalf("put %d refused below the limit", i)
		}
	}
	if f.put(pushItem{gen: 9}) {
		t.Fatal("put beyond the limit accepted: the handler must get false, not block")
	}
	ctx, cancel := context.WithCancel(context.Background())
	for i := range 3 {
		it, ok := f.get(ctx)
		if !ok || it.gen != uint64(i) {
			t.Fatalf("get %d: %v %v", i, it.gen, ok)
		}
	}
	cancel()
	if _, ok := f.get(ctx); ok {
		t.Fatal("get on an empty fifo with a cancelled ctx returned an item")
	}
	// A waiting get wakes on put.
	got := make(chan uint64)
	go func() {
		it, _ := f.get(context.Background())
		got <- it.gen
	}()
	f.put(pushItem{gen: 42})
	if g := <-got; g != 42 {
		t.Fatalf("woken get: %d", g)
	}
}
