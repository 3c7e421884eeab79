package uplink

import (
	"context"
	"testing"
	"time"
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

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		w *= time.Millisecond
		d := b.next()
		if d < w/2 || d > w {
			t.Errorf("step %d: %v, want within [%v, %v]", i, d, w/2, w)
		}
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Errorf("after reset: %v", d)
	}
}
