package station

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/packbench/packbench/queue"
)

// countingCarrier numbers packages and counts how often it was asked.
type countingCarrier struct{ calls atomic.Int32 }

func (c *countingCarrier) Label(_ context.Context, req LabelRequest) (LabelResult, error) {
	n := c.calls.Add(1)
	return LabelResult{TrackingNumber: "TRK" + req.Reference + "-" + string(rune('0'+n))}, nil
}

// TestNewWorkRefusedOnFullDisk: under the free-space floor a new order,
// a label and a reprint are refused with ErrDiskFull before anything is
// stored or the carrier asked; a repeated create still answers; with
// space back the same calls go through.
func TestNewWorkRefusedOnFullDisk(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	var free atomic.Uint64
	free.Store(1 << 30)
	disk := func(string) (queue.Space, error) { return queue.Space{Free: free.Load(), Total: 8 << 30}, nil }
	db, err := queue.Open(filepath.Join(t.TempDir(), "packbench.db"), &queue.Options{Clock: clk, DiskSpace: disk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	carrier := &countingCarrier{}
	st := newStation(t, db, clk, Config{}, func(o *Options) { o.Carrier = carrier })
	o := mustCreate(t, st, Order{ID: "SO-1", Packages: 2})
	first, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 1000}})
	if err != nil {
		t.Fatal(err)
	}

	free.Store(10 << 20) // under the default floor of 64 MiB
	isFull := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, queue.ErrDiskFull) || !strings.Contains(err.Error(), "10.0 MiB free") || !strings.Contains(err.Error(), "64.0 MiB") {
			t.Errorf("%s on a full disk: %v; want ErrDiskFull with the free space and the floor", what, err)
		}
	}
	_, err = st.CreateOrder(ctx, Order{ID: "SO-2", ShipTo: tonyDouglas})
	isFull("CreateOrder", err)
	_, err = st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 1000}})
	isFull("Ship", err)
	_, _, err = st.Reprint(ctx, first.Reference, "")
	isFull("Reprint", err)
	if n := carrier.calls.Load(); n != 1 {
		t.Errorf("carrier asked %d times; the refused label must not ask it", n)
	}
	// A repeated create is no new work: it answers as before.
	var exists *OrderExistsError
	if _, err := st.CreateOrder(ctx, Order{ID: "SO-1", Packages: 2, ShipTo: tonyDouglas}); !errors.As(err, &exists) || exists.Differs != "" {
		t.Errorf("repeated create on a full disk: %v; want the OrderExistsError of the same order", err)
	}
	got, err := st.Order(ctx, o.ID)
	if err != nil || got.LastIndex != 1 || got.Pending != 0 || got.Labelled != 1 {
		t.Errorf("order after refusals: %+v, %v; want nothing reserved", got, err)
	}
	if _, err := st.Order(ctx, "SO-2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("refused order stored: %v", err)
	}

	free.Store(1 << 30)
	if _, err := st.CreateOrder(ctx, Order{ID: "SO-2", ShipTo: tonyDouglas}); err != nil {
		t.Fatalf("CreateOrder with space back: %v", err)
	}
	if p, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 1000}}); err != nil || p.Index != 2 {
		t.Fatalf("Ship with space back: %+v, %v", p, err)
	}
}
